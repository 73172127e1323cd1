// The npm package as a user gets it: `npm pack` of this checkout (prepack
// builds the prebuilt addon), installed into a clean project with no compiler,
// make or python3 on PATH and --offline, then used through its bin and its
// library API.
//
// The registry is not reachable from a test, and a clean project has no
// lockfile for npm to take the dependencies' tarballs from its cache by
// integrity. So the dependencies (catbox's runtime closure, as package-lock.json
// lists it) are copied into the clean project's node_modules from this
// checkout's first; npm then installs the tarball itself, runs its install
// script and links its bin, all offline.
import {spawnSync} from 'node:child_process'
import type {SpawnSyncReturns} from 'node:child_process'
import {cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {basename, delimiter, join} from 'node:path'

const REPO = process.cwd()
const T = realpathSync(mkdtempSync(join(tmpdir(), 'catbox-install-')))
const BIN = join(T, 'bin')
const COMPILERS = ['cc', 'gcc', 'g++', 'c++', 'make', 'python3', 'python', 'pkg-config']
let tarball = ''

function which(name: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name)
  }
  return undefined
}

/** The environment of every step after the pack: PATH is BIN alone (node, npm, npx, sh, true). */
function bare(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    HOME: process.env.HOME ?? T,
    PATH: BIN,
    TMPDIR: T,
    CATBOX_HOME: join(T, 'catbox-home'),
    npm_config_cache: join(T, 'npm-cache'),
    npm_config_update_notifier: 'false',
    ...extra,
  }
}

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, {cwd, env, encoding: 'utf8', timeout: 240_000})
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0) throw new Error(`${what}: exit ${r.status} (${r.error?.message ?? ''})\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

/** A clean project with catbox's runtime dependencies in node_modules, copied from this checkout. */
function cleanProject(name: string): string {
  const app = join(T, name)
  mkdirSync(join(app, 'node_modules'), {recursive: true})
  writeFileSync(join(app, 'package.json'), JSON.stringify({name, version: '1.0.0', private: true, type: 'module'}))
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, {dev?: boolean; devOptional?: boolean; link?: boolean}>
  }
  for (const [key, entry] of Object.entries(lock.packages)) {
    // Top-level packages only: a nested node_modules comes along with its parent.
    if (!/^node_modules\/(@[^/]+\/)?[^/]+$/.test(key) || entry.dev || entry.devOptional || entry.link) continue
    const from = join(REPO, key)
    if (!existsSync(from)) continue
    cpSync(from, join(app, key), {recursive: true})
    // Their bin links too: npm would otherwise fetch each package with a bin again.
    const {name, bin} = JSON.parse(readFileSync(join(from, 'package.json'), 'utf8')) as {name: string; bin?: string | Record<string, string>}
    const bins = typeof bin === 'string' ? {[name.replace(/^@[^/]+\//, '')]: bin} : (bin ?? {})
    for (const [cmd, file] of Object.entries(bins)) {
      mkdirSync(join(app, 'node_modules', '.bin'), {recursive: true})
      symlinkSync(join('..', key.slice('node_modules/'.length), file), join(app, 'node_modules', '.bin', cmd))
    }
  }
  return app
}

/** npm install --offline of the tarball (or, with no spec, of what package.json names); at log level info npm says which scripts it runs. */
function install(app: string, extra: string[] = [], spec: string[] = [tarball]): SpawnSyncReturns<string> {
  return sh(join(BIN, 'npm'), ['install', '--offline', '--no-audit', '--no-fund', '--no-save', '--loglevel=info', ...extra, ...spec], app, bare())
}

const RAN_INSTALL_SCRIPT = /npm info run catbox-sandbox@\S+ install /

const catbox = (app: string, args: string[]) => sh(join(BIN, 'npx'), ['--offline', '--no-install', 'catbox', ...args], app, bare())

beforeAll(() => {
  // The pack runs in a copy of the checkout, so its prepack (which rebuilds
  // native/build) leaves the addon the other tests load alone.
  const src = join(T, 'src')
  mkdirSync(src)
  for (const entry of ['package.json', 'package-lock.json', 'README.md', 'LICENSE', 'tsconfig.json', 'bin', 'src', 'native', 'templates', 'docs', 'scripts']) {
    cpSync(join(REPO, entry), join(src, entry), {
      recursive: true,
      filter: (path) => !/\/native\/(build|prebuilds)(\/|$)/.test(path),
    })
  }
  symlinkSync(join(REPO, 'node_modules'), join(src, 'node_modules'))
  const env: NodeJS.ProcessEnv = {...process.env, TMPDIR: T, npm_config_update_notifier: 'false'}
  // node-gyp takes the Node headers from here instead of downloading them.
  if (!env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h')) env.npm_config_nodedir = '/usr'
  const out = ok(sh('npm', ['pack', '--offline', '--json', '--pack-destination', T], src, env), 'npm pack')
  // The scripts' output (make's) comes first on stdout; npm's JSON is the last thing, from a line "[" on.
  const json = out.slice(out.search(/^\[\s*$/m))
  tarball = join(T, (JSON.parse(json) as Array<{filename: string}>)[0].filename)

  // The bin dir: node and npm, and the two programs the runs below start. No compiler.
  mkdirSync(BIN)
  const npmCli = realpathSync(which('npm', process.env.PATH ?? '')!)
  writeFileSync(join(BIN, 'npm'), `#!/bin/sh\nexec "${process.execPath}" "${npmCli}" "$@"\n`, {mode: 0o755})
  writeFileSync(join(BIN, 'npx'), `#!/bin/sh\nexec "${process.execPath}" "${join(npmCli, '..', 'npx-cli.js')}" "$@"\n`, {mode: 0o755})
  symlinkSync(process.execPath, join(BIN, 'node'))
  for (const tool of ['sh', 'true']) symlinkSync(which(tool, process.env.PATH ?? '')!, join(BIN, tool))
}, 300_000)
afterAll(() => { if (!process.env.KEEP) rmSync(T, {recursive: true, force: true}) })

test('the tarball holds the prebuilt addon (PCRE2 linked in), LICENSE, the man page and the docs the README links to', () => {
  const list = ok(sh('tar', ['-tzf', tarball], T, process.env), 'tar -t').split('\n')
  const prebuild = list.find((f) => /^package\/native\/prebuilds\/linux-x64\/[^/]+\.node$/.test(f))
  expect(prebuild).toBeDefined()
  expect(list).toContain('package/LICENSE')
  expect(list).toContain('package/man/catbox.1')
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8')
  const linked = [...readme.matchAll(/\]\((docs\/[^)#]+)/g)].map((m) => `package/${m[1]}`)
  expect(linked.length).toBeGreaterThan(0)
  for (const doc of linked) expect(list).toContain(doc)
  expect(list.some((f) => f.startsWith('package/native/build/'))).toBe(false)
  // The prebuilt addon needs no libpcre2 on the machine it is installed on.
  const x = join(T, 'x')
  mkdirSync(x)
  ok(sh('tar', ['-xzf', tarball, '-C', x, prebuild!], T, process.env), 'tar -x')
  const ldd = sh('ldd', [join(x, prebuild!)], T, process.env)
  if (ldd.status === 0) expect(ldd.stdout).not.toMatch(/pcre/)
})

test('the bin dir has no compiler: a build from source could not work there', () => {
  for (const tool of COMPILERS) expect(which(tool, BIN)).toBeUndefined()
  expect(which('node', BIN)).toBeDefined()
})

describe('installed with its install script, offline, no compiler on PATH', () => {
  let app = ''
  beforeAll(() => {
    app = cleanProject('app')
    const r = install(app)
    ok(r, 'npm install')
    // The control for the blocked installs below: here the script ran.
    expect(r.stderr).toMatch(RAN_INSTALL_SCRIPT)
  }, 300_000)

  test('the install script built nothing: the prebuilt addon is what loads', () => {
    const pkg = join(app, 'node_modules', 'catbox-sandbox')
    expect(existsSync(join(pkg, 'native', 'build'))).toBe(false)
    expect(readdirSync(join(pkg, 'native', 'prebuilds', 'linux-x64')).some((f) => f.endsWith('.node'))).toBe(true)
  })

  test('npx catbox run -- true exits 0, and a denied write is still denied', () => {
    const r = catbox(app, ['run', '--', 'true'])
    expect({status: r.status, stderr: r.stderr}).toEqual({status: 0, stderr: ''})
    const denied = catbox(app, ['run', '--', 'sh', '-c', `echo x > ${join(app, 'denied')}`])
    expect(denied.status).not.toBe(0)
    expect(denied.stderr).toContain(`catbox: denied openat ${join(app, 'denied')}`)
    expect(existsSync(join(app, 'denied'))).toBe(false)
  })

  test("import {run} from 'catbox-sandbox' runs a command, with a PCRE rule (the static libpcre2)", () => {
    const script = `
      import {run} from 'catbox-sandbox'
      const dir = process.argv[1]
      const a = await run({command: ['true']})
      const b = await run({command: ['sh', '-c', 'echo > re-ok; echo > re-no'], cwd: dir, writable: ['~' + dir + '/re-ok$']})
      console.log(JSON.stringify({a: a.exitCode, b: b.violations.map((v) => v.canonical)}))
    `
    const r = sh(join(BIN, 'node'), ['--input-type=module', '-e', script, app], app, bare())
    // The library prints nothing of its own: the one line is sh's, about the denied write.
    expect(r.stderr).toMatch(/^sh: [^\n]*re-no: Permission denied\n$/)
    expect(JSON.parse(ok(r, 'node -e import'))).toEqual({a: 0, b: [join(app, 're-no')]})
    expect(existsSync(join(app, 're-ok'))).toBe(true)
    expect(existsSync(join(app, 're-no'))).toBe(false)
  })

  test('import {run} needs none of the CLI packages (oclif)', () => {
    rmSync(join(app, 'node_modules', '@oclif'), {recursive: true})
    const script = `import {run} from 'catbox-sandbox'; console.log((await run({command: ['true']})).exitCode)`
    const r = sh(join(BIN, 'node'), ['--input-type=module', '-e', script], app, bare())
    expect({status: r.status, stdout: r.stdout, stderr: r.stderr}).toEqual({status: 0, stdout: '0\n', stderr: ''})
  })
})

describe('installed with --ignore-scripts (an install script blocked)', () => {
  let app = ''
  beforeAll(() => {
    app = cleanProject('app-noscripts')
    const r = install(app, ['--ignore-scripts'])
    ok(r, 'npm install --ignore-scripts')
    expect(r.stderr).not.toMatch(RAN_INSTALL_SCRIPT)
  }, 300_000)

  test('catbox still works: the prebuilt addon needs no install step', () => {
    const r = catbox(app, ['run', '--', 'true'])
    expect({status: r.status, stderr: r.stderr}).toEqual({status: 0, stderr: ''})
  })

  test('with no prebuilt addon for the machine, the error names what to run', () => {
    rmSync(join(app, 'node_modules', 'catbox-sandbox', 'native', 'prebuilds'), {recursive: true})
    const r = catbox(app, ['run', '--', 'true'])
    expect(r.status).not.toBe(0)
    expect(r.stderr).toContain('catbox: the native supervisor is not built')
    expect(r.stderr).toContain('npm rebuild catbox-sandbox')
  })
})

describe('node-gyp stays the fallback', () => {
  test('the control: a build from source fails with BIN as PATH, so the installs above got the prebuilt addon', () => {
    const app = cleanProject('app-nocc')
    const r = install(app, ['--build-from-source'])
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(RAN_INSTALL_SCRIPT)
    // node-gyp itself fails (it finds no python3 first).
    expect(r.stderr).toContain('gyp ERR!')
    expect(existsSync(join(app, 'node_modules', 'catbox-sandbox', 'native', 'build', 'Release', 'catbox_native.node'))).toBe(false)
  }, 300_000)

  test('npm_config_build_from_source=true builds the addon from the tarball\'s sources, which then loads', () => {
    const app = cleanProject('app-source')
    // This one has the compiler: the machine's PATH after BIN.
    const env = bare({PATH: `${BIN}${delimiter}${process.env.PATH ?? ''}`, npm_config_build_from_source: 'true', CATBOX_PCRE2: '1'})
    if (!env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h')) env.npm_config_nodedir = '/usr'
    const r = sh(join(BIN, 'npm'), ['install', '--offline', '--no-audit', '--no-fund', '--no-save', '--loglevel=info', tarball], app, env)
    ok(r, 'npm install (build from source)')
    expect(r.stderr).toMatch(RAN_INSTALL_SCRIPT)
    const built = join(app, 'node_modules', 'catbox-sandbox', 'native', 'build', 'Release', 'catbox_native.node')
    expect(existsSync(built)).toBe(true)
    const script = `import {createRequire} from 'node:module'
      const gyp = createRequire(import.meta.url)('node-gyp-build')
      console.log(gyp.path(process.argv[1]))`
    const where = sh(join(BIN, 'node'), ['--input-type=module', '-e', script, join(app, 'node_modules', 'catbox-sandbox', 'native')], app, env)
    expect(ok(where, 'node-gyp-build path').trim()).toBe(built)
    const run = catbox(app, ['run', '--', 'true'])
    expect({status: run.status, stderr: run.stderr}).toEqual({status: 0, stderr: ''})
  }, 300_000)
})

// npm 11.16 and later warn about a dependency's install script that the
// project's allowScripts does not cover; a denial there skips the script.
const npmAllowScripts = spawnSync('npm', ['install-scripts', '--help'], {encoding: 'utf8'}).status === 0
;(npmAllowScripts ? describe : describe.skip)('installed with its install script denied by allowScripts (npm 11.16 or later; skipped with an older npm, which has no allowScripts)', () => {
  test('npm skips the script without a warning, and catbox works', () => {
    const app = cleanProject('app-denied')
    const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as Record<string, unknown>
    // What `npm install-scripts deny catbox-sandbox` writes: a tarball dependency is named by its resolved spec.
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({...pkg, dependencies: {'catbox-sandbox': `file:${tarball}`}, allowScripts: {[`file:${tarball}`]: false}}),
    )
    const r = install(app, [], [])
    ok(r, 'npm install')
    expect(r.stderr).not.toMatch(RAN_INSTALL_SCRIPT)
    expect(r.stderr).not.toContain('allowScripts')
    const run = catbox(app, ['run', '--', 'true'])
    expect({status: run.status, stderr: run.stderr}).toEqual({status: 0, stderr: ''})
  }, 300_000)
})

test('the tarball name is the package name and version', () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {name: string; version: string}
  expect(basename(tarball)).toBe(`${pkg.name}-${pkg.version}.tgz`)
})
