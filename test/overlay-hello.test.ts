// A real autotools build in a root overlay, end to end through the CLI: GNU
// hello from Debian's source archive, `./configure --prefix=/usr && make &&
// make install` in an environment with the overlay and fake root. The build
// believes it installed into /usr; the files are in the environment's root;
// the host's /usr and the source tree are untouched; env diff lists them.
import {execFileSync} from 'node:child_process'
import {existsSync, lstatSync, readdirSync, readFileSync, statSync} from 'node:fs'
import {createHash} from 'node:crypto'
import {join} from 'node:path'

import {cliWithHome, json, projectRoot, tempDir} from './helpers/cli.js'

const work = tempDir('catbox-ovhello-')
const source = join(work, 'hello')
const catbox = cliWithHome(source)

/** Every entry below dir: type, mode, size, mtime and a hash of the content. */
function fingerprint(dir: string): string[] {
  const out: string[] = []
  const walk = (path: string): void => {
    const st = lstatSync(path)
    let content = ''
    if (st.isFile()) content = createHash('sha256').update(readFileSync(path)).digest('hex')
    out.push(`${path} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${content}`)
    if (st.isDirectory()) for (const name of readdirSync(path).sort()) walk(join(path, name))
  }
  walk(dir)
  return out
}

/** The names in the host directories make install writes to (not their content: too big). */
function hostUsr(): string[] {
  return ['/usr/bin', '/usr/share/info', '/usr/share/man/man1'].flatMap((dir) =>
    existsSync(dir) ? [`${dir} ${statSync(dir).mtimeMs}`, ...readdirSync(dir).sort().map((name) => `${dir}/${name}`)] : [],
  )
}

let sourceBefore: string[]
let usrBefore: string[]
let build: Awaited<ReturnType<typeof catbox>>

beforeAll(async () => {
  const cached = execFileSync(join(projectRoot, 'test', 'fixtures', 'fetch-hello.sh'), {encoding: 'utf8'}).trim()
  execFileSync('cp', ['-a', cached, source])
  sourceBefore = fingerprint(source)
  usrBefore = hostUsr()
  const create = await catbox(['env', 'create', 'ob', '--overlay', '--fake-root', '--writable', '/usr', '--writable', '/tmp', '--writable', source])
  expect(create.exitCode).toBe(0)
  build = await catbox(['exec', 'ob', '--', 'sh', '-c', './configure --prefix=/usr && make -j2 && make install'])
}, 600_000)

test('the build succeeds and what it installed runs from the guest /usr', async () => {
  if (build.exitCode !== 0) throw new Error(`the build failed (${build.exitCode}):\n${String(build.stderr).slice(-3000)}`)
  const r = await catbox(['exec', 'ob', '--', 'sh', '-c', 'command -v hello; hello; stat -c "%U %a" /usr/bin/hello'])
  expect(r).toMatchObject({exitCode: 0, stderr: ''})
  expect(String(r.stdout).split('\n')).toEqual(['/usr/bin/hello', 'Hello, world!', 'root 755'])
})

test("the installed files are in the environment's root, the host's /usr did not change", () => {
  const root = join(catbox.home, 'envs', 'ob', 'root')
  expect(statSync(join(root, 'usr', 'bin', 'hello')).isFile()).toBe(true)
  expect(statSync(join(root, 'usr', 'share', 'man', 'man1', 'hello.1')).isFile()).toBe(true)
  expect(existsSync('/usr/bin/hello') && !usrBefore.includes('/usr/bin/hello')).toBe(false)
  expect(hostUsr()).toEqual(usrBefore)
})

test('the source tree on the host is untouched: the objects were written into the root', () => {
  expect(fingerprint(source)).toEqual(sourceBefore)
  expect(existsSync(join(source, 'src', 'hello.o'))).toBe(false)
  expect(statSync(join(catbox.home, 'envs', 'ob', 'root', source.slice(1), 'src', 'hello.o')).isFile()).toBe(true)
})

test('env diff lists what the build added', async () => {
  const text = await catbox(['env', 'diff', 'ob'])
  expect(text.exitCode).toBe(0)
  const lines = String(text.stdout).split('\n')
  expect(lines).toEqual(expect.arrayContaining(['C /usr', 'C /usr/bin', 'A /usr/bin/hello', 'A /usr/share/man/man1/hello.1', `A ${source}/src/hello.o`]))
  expect(lines).not.toContain('A /usr/bin')
  const changes = json((await catbox(['env', 'diff', 'ob', '--json'])).stdout) as {change: string; path: string}[]
  expect(changes).toEqual(expect.arrayContaining([expect.objectContaining({change: 'A', path: '/usr/bin/hello'})]))
})

test('env reset empties the root: the guest sees the host again', async () => {
  expect((await catbox(['env', 'reset', 'ob', '--force'])).exitCode).toBe(0)
  const r = await catbox(['exec', 'ob', '--', 'sh', '-c', 'test -e /usr/bin/hello && echo present || echo absent'])
  expect(String(r.stdout)).toBe(usrBefore.includes('/usr/bin/hello') ? 'present' : 'absent')
  expect((await catbox(['env', 'diff', 'ob'])).stdout).toBe('')
})
