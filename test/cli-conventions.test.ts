// The conventions of the CLIs people already know, on the real CLI (node
// bin/run.js): -h everywhere, -v and catbox version, "did you mean" for a
// mistyped command or flag, every mistake said in catbox's one form, the
// aliases, and shell completion that completes.
import {Config} from '@oclif/core'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {execa} from 'execa'

import {cliWithHome, projectRoot, tempDir} from './helpers/cli.js'

const T = tempDir('catbox-conventions-')
const catbox = cliWithHome(T)
const version = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')).version as string

type Result = {exitCode?: number; stdout: string; stderr: string}
const run = async (args: string[], env: Record<string, string> = {}): Promise<Result> => {
  const r = await catbox(args, {env})
  return {exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr)}
}

/**
 * catbox run and exec go through the quick path first (src/cli/quick.ts);
 * their command lines are run both ways, which must answer alike.
 */
const bothPaths = async (args: string[]): Promise<Result> => {
  const quick = await run(args, {CATBOX_QUICK: '1'})
  if (args[0] !== 'run' && args[0] !== 'exec') return quick
  expect(quick).toEqual(await run(args, {CATBOX_QUICK: '0'}))
  return quick
}

const spoken = (id: string) => id.split(':')

// Every command, alias and topic, catbox's own and its plugins', with its --help.
let config: Config
const longHelp = new Map<string, Result>()
beforeAll(async () => {
  config = await Config.load(projectRoot)
  const ids = [...config.commands.filter((c) => !c.hidden).map((c) => c.id), ...config.topics.filter((t) => !t.hidden).map((t) => t.name)]
  for (const id of ids) longHelp.set(id, await run([...spoken(id), '--help']))
}, 120_000)

describe('-h everywhere', () => {
  test('catbox -h is catbox --help, and so is catbox with no arguments', async () => {
    const long = await run(['--help'])
    expect(long).toMatchObject({exitCode: 0, stderr: ''})
    expect(long.stdout).toMatch(/^USAGE\n {2}\$ catbox \[COMMAND\]$/m)
    expect(await run(['-h'])).toEqual(long)
    expect(await run([])).toEqual(long)
  })

  test('every command, alias and topic: -h prints what --help prints', async () => {
    // catbox's commands, the aliases, the plugins' commands, the topic.
    expect([...longHelp.keys()]).toEqual(expect.arrayContaining(['run', 'exec', 'shell', 'env:create', 'env:ls', 'env:remove', 'version', 'help', 'autocomplete', 'env']))
    for (const [id, long] of longHelp) {
      expect({id, exitCode: long.exitCode, stderr: long.stderr}).toEqual({id, exitCode: 0, stderr: ''})
      // (catbox help --help is the help of catbox, as in every oclif CLI.)
      if (id !== 'help') expect(long.stdout).toContain(`$ catbox ${spoken(id).join(' ')}`)
      expect({id, ...(await run([...spoken(id), '-h']))}).toEqual({id, ...long})
    }
  })

  test('catbox help COMMAND prints the same', async () => {
    for (const id of ['run', 'exec', 'env:create', 'env:ls', 'env']) {
      expect({id, ...(await run(['help', ...spoken(id)]))}).toEqual({id, ...longHelp.get(id)})
    }
  })

  test('run -h and exec NAME -h: the quick path leaves help to oclif', async () => {
    expect(await bothPaths(['run', '-h'])).toEqual(longHelp.get('run'))
    expect(await bothPaths(['exec', 'default', '-h'])).toEqual(longHelp.get('exec'))
  })

  test('-h and -v after "--" belong to the command', async () => {
    const r = await bothPaths(['run', '--', 'sh', '-c', 'echo "$@"', 'x', '-h', '-v'])
    expect(r).toEqual({exitCode: 0, stdout: '-h -v', stderr: ''})
  })

  test('exec --help shows its argument as NAME, not NAME...: one word, the command goes after "--"', async () => {
    const exec = longHelp.get('exec')?.stdout
    expect(exec).toMatch(/^ARGUMENTS\n {2}NAME {2}the environment/m)
    expect(exec).not.toContain('NAME...')
    for (const [id, help] of longHelp) {
      const args = /^ARGUMENTS\n((?: {2}.*\n?)*)/m.exec(help.stdout)?.[1] ?? ''
      expect({id, repeatable: args.match(/^ {2}\S+\.\.\./gm)}).toEqual({id, repeatable: null})
    }
  })
})

describe('-v, --version and catbox version', () => {
  test('all three print the same line: package, version, platform, Node.js', async () => {
    const line = `catbox-sandbox/${version} ${process.platform}-${process.arch} node-${process.version}`
    for (const args of [['-v'], ['--version'], ['version']]) {
      expect({args, ...(await run(args))}).toEqual({args, exitCode: 0, stdout: line, stderr: ''})
    }
  })

  test('catbox version --json', async () => {
    const r = await run(['version', '--json'])
    expect(r.exitCode).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({name: 'catbox-sandbox', version, node: process.versions.node, platform: process.platform, arch: process.arch})
  })
})

describe('did you mean', () => {
  test.each([
    [['exce'], 'catbox: "exce" is not a catbox command.\nDid you mean "catbox exec"? (catbox --help lists the commands)'],
    [['exce', 'default', '--', 'true'], 'catbox: "exce" is not a catbox command.\nDid you mean "catbox exec"? (catbox --help lists the commands)'],
    [['env', 'creat', 'x'], 'catbox: "env creat" is not a catbox command.\nDid you mean "catbox env create"? (catbox env --help lists the env commands)'],
    [['env', 'shwo', 'x'], 'catbox: "env shwo" is not a catbox command.\nDid you mean "catbox env show"? (catbox env --help lists the env commands)'],
    [['repotr'], 'catbox: "repotr" is not a catbox command.\nDid you mean "catbox report"? (catbox --help lists the commands)'],
    [['sh'], 'catbox: "sh" is not a catbox command.\nDid you mean "catbox shell"? (catbox --help lists the commands)'],
    [['help', 'exce'], 'catbox: "exce" is not a catbox command.\nDid you mean "catbox exec"? (catbox --help lists the commands)'],
    [['exce', '--help'], 'catbox: "exce" is not a catbox command.\nDid you mean "catbox exec"? (catbox --help lists the commands)'],
    [['exce', '-h'], 'catbox: "exce" is not a catbox command.\nDid you mean "catbox exec"? (catbox --help lists the commands)'],
    [
      ['frobnicate'],
      'catbox: "frobnicate" is not a catbox command.\nThe commands are: autocomplete, env, exec, help, pack, report, run, shell, version (catbox --help says what each does).',
    ],
    [
      ['env', 'frobnicate'],
      'catbox: "env frobnicate" is not a catbox command.\nThe env commands are: create, diff, list, ls, remove, reset, rm, show (catbox env --help says what each does).',
    ],
    [['--verison'], 'catbox: unknown flag --verison.\nDid you mean --version? Before a command, catbox takes only --help (-h) and --version (-v).'],
  ])('catbox %j', async (args, message) => {
    expect(await run(args)).toEqual({exitCode: 2, stdout: '', stderr: message})
  })

  test('catbox run --writeable: the flag it means, and nothing runs (quick path and oclif alike)', async () => {
    const marker = join(T, 'ran')
    const r = await bothPaths(['run', '--writeable', T, '--', 'sh', '-c', `echo > ${marker}`])
    expect(r).toEqual({exitCode: 2, stdout: '', stderr: 'catbox: run has no flag --writeable.\nDid you mean --writable? catbox run --help lists its flags.'})
    expect(existsSync(marker)).toBe(false)
  })

  test('without "--" too, when the flag is near one of catbox\'s', async () => {
    const r = await bothPaths(['run', '--jsn'])
    expect(r.stderr).toBe('catbox: run has no flag --jsn.\nDid you mean --json? catbox run --help lists its flags.')
  })

  test.each([
    [['exec', 'default', '--colect-only', '--', 'true'], 'catbox: exec has no flag --colect-only.\nDid you mean --collect-only? catbox exec --help lists its flags.'],
    [['exec', 'default', '--no-colect-only', '--', 'true'], 'catbox: exec has no flag --no-colect-only.\nDid you mean --no-collect-only? catbox exec --help lists its flags.'],
    [['exec', 'default', '--trcae', '--', 'true'], 'catbox: exec has no flag --trcae.\nDid you mean --trace? catbox exec --help lists its flags.'],
    [['exec', 'default', '--bogus', '--', 'true'], 'catbox: exec has no flag --bogus.\ncatbox exec --help lists its flags.'],
    [['env', 'create', 'x', '--writeable', '/tmp'], 'catbox: env create has no flag --writeable.\nDid you mean --writable? catbox env create --help lists its flags.'],
    [['env', 'list', '--jsno'], 'catbox: env list has no flag --jsno.\nDid you mean --json? catbox env list --help lists its flags.'],
    [['report', 'x', '--dep'], 'catbox: report has no flag --dep.\nDid you mean --deps? catbox report --help lists its flags.'],
  ])('catbox %j', async (args, message) => {
    expect(await bothPaths(args)).toEqual({exitCode: 2, stdout: '', stderr: message})
    expect(existsSync(join(catbox.home, 'envs', 'x'))).toBe(false)
  })
})

describe('one error style: "catbox: what happened", then what to do', () => {
  // Every mistake oclif's parser can report, on catbox's commands and on the plugins'.
  test.each([
    [['exec'], 'catbox: exec needs NAME: the environment ("default" is created on first use).\nUsage: catbox exec NAME [--json] '],
    [['env', 'show'], 'catbox: env show needs NAME: the environment.\nUsage: catbox env show NAME [FLAGS]'],
    [['pack', 'x'], 'catbox: pack needs OUT: the archive to write (.tar, .tar.gz, .tar.zst).\nUsage: catbox pack NAME OUT [FLAGS]'],
    [['env', 'show', 'a', 'b'], 'catbox: unexpected argument "b" to env show.\nUsage: catbox env show NAME [FLAGS]'],
    [['env', 'list', 'x', 'y'], 'catbox: unexpected arguments "x" "y" to env list.\nUsage: catbox env list [FLAGS]'],
    [['env', 'ls', 'x'], 'catbox: unexpected argument "x" to env ls.\nUsage: catbox env ls [FLAGS]'],
    [['run', '--network', 'wifi', '--', 'true'], 'catbox: invalid value "wifi" for --network.\nUse one of: full, loopback, none.'],
    [['pack', 'x', 'y.zip', '--format', 'zip'], 'catbox: invalid value "zip" for --format.\nUse one of: tar, tar.gz, tar.zst.'],
    [['exec', 'x', '--network', 'none', '--network', 'full', '--', 'true'], 'catbox: flag --network can only be specified once.\ncatbox exec --help says what exec takes.'],
    [['run', '-w'], 'catbox: flag --writable expects a value.\ncatbox run --help says what run takes.'],
    [['-x'], 'catbox: unknown flag -x.\nBefore a command, catbox takes only --help (-h) and --version (-v).'],
    [['help', '--bogus'], 'catbox: help has no flag --bogus.\ncatbox help --help lists its flags.'],
    [['autocomplete', 'fish'], 'catbox: cannot use "fish".\nUse one of: zsh, bash, powershell.'],
    [['run', 'ls', '-l'], 'catbox: unknown flag -l, and no "--" in the command line.\nIf it belongs to the command, put the command after "--": catbox run [FLAGS] -- CMD [ARGS...]'],
  ])('catbox %j', async (args, message) => {
    const r = await bothPaths(args)
    expect({exitCode: r.exitCode, stdout: r.stdout}).toEqual({exitCode: 2, stdout: ''})
    expect(r.stderr.startsWith(message)).toBe(true)
    // Not oclif's form: no " ›   Error:", no help page after it, no internal ids.
    expect(r.stderr).not.toMatch(/›|Error:|See more help|[a-z]:[a-z]/)
    expect(r.stderr.split('\n')).toHaveLength(2)
  })
})

describe('aliases', () => {
  test('env ls is env list; env remove is env rm', async () => {
    expect((await catbox(['env', 'create', 'gone'])).exitCode).toBe(0)
    const [ls, list] = [await run(['env', 'ls', '--json']), await run(['env', 'list', '--json'])]
    expect(ls.exitCode).toBe(0)
    expect(ls.stdout).toBe(list.stdout)
    expect(JSON.parse(ls.stdout).map((e: {name: string}) => e.name)).toEqual(['gone'])
    const rm = await catbox(['env', 'remove', 'gone', '--force'])
    expect({code: rm.exitCode, err: rm.stderr}).toEqual({code: 0, err: ''})
    expect(existsSync(join(catbox.home, 'envs', 'gone'))).toBe(false)
  })

  test('the topic\'s help lists each command once and names the aliases', async () => {
    const r = longHelp.get('env')
    expect(r?.stdout).toContain('Named build environments: create, list (ls), show, diff, rm (remove), reset.')
    expect(r?.stdout).not.toMatch(/^ {2}env (ls|remove) /m)
    expect(longHelp.get('env:ls')?.stdout).toMatch(/^ALIASES\n {2}\$ catbox env ls$/m)
  })
})

describe('shell completion (bash)', () => {
  test('the script catbox autocomplete gives completes commands, sub-commands and flags', async () => {
    const cache = tempDir('catbox-complete-')
    const env = {XDG_CACHE_HOME: cache}
    // What the user does: catbox autocomplete (which makes the scripts), then
    // adds the line catbox autocomplete script bash prints to ~/.bashrc.
    expect((await run(['autocomplete', 'bash'], env)).exitCode).toBe(0)
    const setup = await run(['autocomplete', 'script', 'bash'], env)
    expect(setup.exitCode).toBe(0)
    expect(setup.stdout).toContain(join(cache, 'catbox', 'autocomplete', 'bash_setup'))
    // A real bash sources what the user's ~/.bashrc would, then asks the completion function.
    const complete = (line: string) =>
      execa(
        'bash',
        [
          '-c',
          `${setup.stdout}\nread -ra COMP_WORDS <<< "$1"; [[ "$1" == *" " ]] && COMP_WORDS+=(""); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _catbox_autocomplete; printf '%s\\n' "\${COMPREPLY[@]}" | sort -u`,
          'bash',
          line,
        ],
        {env: {...env, PATH: process.env.PATH}, reject: false},
      ).then((r) => (r.exitCode === 0 ? String(r.stdout).split('\n').filter(Boolean) : [`exit ${r.exitCode}: ${r.stderr}`]))
    expect(await complete('catbox ex')).toEqual(['exec'])
    expect(await complete('catbox ')).toEqual(['autocomplete', 'env', 'exec', 'help', 'pack', 'report', 'run', 'shell', 'version'])
    expect(await complete('catbox env ')).toEqual(['create', 'diff', 'list', 'ls', 'remove', 'reset', 'rm', 'show'])
    expect(await complete('catbox env cr')).toEqual(['create'])
    expect(await complete('catbox run --wr')).toEqual(['--writable'])
    expect(await complete('catbox exec --col')).toEqual(['--collect-only'])
  })
})
