// The quick path (src/cli/quick.ts) runs `catbox run` and `catbox exec`
// without loading oclif. It may decline a command line, never read it
// differently: its parse is compared with oclif's own parser on the real
// command definitions, and whole runs with CATBOX_QUICK=0 (oclif only).
import {Parser} from '@oclif/core'
import {mkdtempSync, readFileSync, realpathSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {execa} from 'execa'

import {type ManifestCommand, quickParse} from '../src/cli/quick.js'
import Exec from '../src/commands/exec.js'
import Run from '../src/commands/run.js'
import {bareTrace} from '../src/lib/flags.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const bin = join(root, 'bin', 'run.js')
const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, ManifestCommand>}

const oclifParse = async (command: {flags: object; args: object}, own: string[]) => {
  const {flags, args, argv} = await Parser.parse(own, {flags: command.flags as never, args: command.args as never, strict: false})
  return {flags, args, argv}
}

describe('the parse agrees with oclif where it answers', () => {
  test.each([
    [[]],
    [['--json']],
    [['-w', '/tmp', '--writable', 'build', '--writable=/var/tmp/**']],
    [['--network', 'none', '--collect-only', '--fail-on-violation']],
    [['--network=loopback', '-w', '~^/tmp/x[0-9]+$']],
    [['extra']],
  ])('run %j', async (own) => {
    const quick = quickParse(manifest.commands.run, own)
    expect(quick).not.toBeNull()
    expect(quick).toEqual(await oclifParse(Run, own))
  })

  test.each([
    [['default']],
    [['myenv', '--json', '--no-collect-only', '--fail-on-violation']],
    [['--network', 'none', 'myenv', '--collect-only']],
    [['myenv', '--trace']],
    [['myenv', '--trace', 'read,write', '--no-fail-on-violation']],
    [['myenv', '--trace=all', 'stray']],
  ])('exec %j', async (given) => {
    const own = bareTrace(given)
    const quick = quickParse(manifest.commands.exec, own)
    expect(quick).not.toBeNull()
    expect(quick).toEqual(await oclifParse(Exec, own))
  })
})

describe('it declines what it is not sure of, and oclif answers', () => {
  test.each([
    ['run', ['--help']],
    ['run', ['-h']],
    ['run', ['--bogus']],
    ['run', ['-w']],
    ['run', ['-w', '--json']],
    ['run', ['-wfoo']],
    ['run', ['-w', 'a', 'b']],
    ['run', ['--network', 'bogus']],
    ['run', ['--json=1']],
    ['run', ['--writable=--json']],
    ['run', ['--writable=-w']],
    ['run', ['--writable=']],
    ['exec', ['NAME', '--trace=--json']],
    ['run', ['--json', '--json']],
    ['run', ['--no-json']],
    ['exec', []],
    ['exec', ['--json']],
    ['exec', ['NAME', '--network', 'none', '--network', 'full']],
    ['run', ['-v']],
    ['run', ['--version']],
    ['run', ['--writeable', '/tmp']],
    ['exec', ['NAME', '-h']],
    ['exec', ['NAME', '--colect-only']],
  ])('%s %j', (id, own) => {
    expect(quickParse(manifest.commands[id], own)).toBeNull()
  })
})

describe('whole runs: the same output and exit status as with oclif alone', () => {
  const T = realpathSync(mkdtempSync(join(tmpdir(), 'catbox-quick-')))
  afterAll(() => rmSync(T, {recursive: true, force: true}))
  const home = join(T, 'home')

  const both = async (args: string[]) => {
    const go = (quick: string) =>
      execa('node', [bin, ...args], {cwd: T, reject: false, stdin: 'ignore', env: {CI: 'true', CATBOX_HOME: home, CATBOX_QUICK: quick}})
    const [a, b] = [await go('1'), await go('0')]
    // Pids and run ids differ between two runs.
    const same = (s: string) => s.replace(/\d+/g, 'N').replace(/"runId":"[^"]*"/, '"runId":"X"')
    return {quick: {code: a.exitCode, out: same(a.stdout), err: same(a.stderr)}, oclif: {code: b.exitCode, out: same(b.stdout), err: same(b.stderr)}}
  }

  test.each([
    [['run', '--json', '-w', 'ok', '--', 'sh', '-c', 'echo > /etc/catbox-quick; echo done']],
    [['run', '--fail-on-violation', '--', 'sh', '-c', 'echo > /etc/catbox-quick']],
    [['run', '--', 'sh', '-c', 'exit 3']],
    [['run', '--', 'catbox-no-such-command']],
    [['run', '--network', 'none']],
    [['run', '--writable=--json', '--', 'true']],
    [['run', 'make']],
    [['exec', 'default', '--json', '--', 'sh', '-c', 'echo > /etc/catbox-quick']],
    [['exec', 'no-such-env', '--', 'true']],
    [['run', '-h']],
    [['run', '-v', '--', 'true']],
    [['run', '--writeable', '/tmp', '--', 'true']],
    [['run', '--jsn']],
    [['exec', 'default', '-h']],
    [['exec', 'default', '--colect-only', '--', 'true']],
    [['exec']],
  ])('%j', async (args) => {
    const {quick, oclif} = await both(args)
    expect(quick).toEqual(oclif)
  })
})

describe('what it saves', () => {
  // NODE_DEBUG=esm makes node name every ES module it loads, on stderr.
  const loadsOclif = async (args: string[], quick = '1') => {
    const r = await execa('node', [bin, ...args], {reject: false, stdin: 'ignore', env: {CI: 'true', NODE_DEBUG: 'esm', CATBOX_QUICK: quick}})
    return /node_modules\/@oclif\/core\//.test(r.stderr)
  }

  test('catbox run -- true loads no module of oclif; CATBOX_QUICK=0 and run --help do', async () => {
    expect(await loadsOclif(['run', '--', 'true'])).toBe(false)
    expect(await loadsOclif(['run', '--', 'true'], '0')).toBe(true)
    expect(await loadsOclif(['run', '--help'])).toBe(true)
  })
})
