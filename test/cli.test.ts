// The real CLI (node bin/run.js, built dist/) in a child process.
import {existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {execa} from 'execa'

const root = fileURLToPath(new URL('..', import.meta.url))
const bin = join(root, 'bin', 'run.js')
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string

const T = realpathSync(mkdtempSync(join(tmpdir(), 'catbox-cli-')))
beforeAll(() => {
  mkdirSync(join(T, 'ok'))
  mkdirSync(join(T, 'no'))
})
afterAll(() => rmSync(T, {recursive: true, force: true}))

const catbox = (...args: string[]) =>
  execa('node', [bin, ...args], {cwd: T, reject: false, stdin: 'ignore', env: {CI: 'true'}})

/** Started in its own process group, like a foreground job of a shell. */
const catboxJob = (...args: string[]) =>
  execa('node', [bin, ...args], {cwd: T, reject: false, stdin: 'ignore', env: {CI: 'true'}, detached: true})

const firstOutput = (job: ReturnType<typeof catboxJob>) =>
  new Promise<void>((resolve) => job.stdout?.once('data', () => resolve()))

/** The one JSON object catbox prints last on stdout with --json. */
const lastJson = (stdout: string) => JSON.parse(stdout.trimEnd().split('\n').at(-1) ?? '')

describe('oclif basics', () => {
  test('--help lists the run command', async () => {
    const r = await catbox('--help')
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toMatch(/^COMMANDS\n(.*\n)*\s+run\s+Run a command/m)
  })

  test('run --help shows the usage with "--" and the rule syntax', async () => {
    const r = await catbox('run', '--help')
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toContain('-- CMD [ARGS...]')
    expect(r.stdout).toMatch(/A relative path is\s+taken from the current directory/)
  })

  test('--version prints the package version', async () => {
    const r = await catbox('--version')
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toMatch(new RegExp(`^catbox-sandbox/${version.replaceAll('.', '\\.')} linux-`))
  })
})

describe('the command line after "--" is passed verbatim', () => {
  test('catbox flags after "--" belong to the command', async () => {
    const r = await catbox('run', '--', 'sh', '-c', 'echo "$@"', 'x', '--json', '-v')
    expect(r).toMatchObject({exitCode: 0, stdout: '--json -v', stderr: ''})
  })

  test('duplicate tokens on both sides keep their order, and --help goes to the command', async () => {
    const r = await catbox('run', '--json', '--', 'sh', '-c', 'printf "%s|" "$@"; echo; exit 3', 'x', '--json', 'run', '--json', '--help', '--')
    expect(r.exitCode).toBe(3)
    const [own, json] = r.stdout.split('\n')
    expect(own).toBe('--json|run|--json|--help|--|')
    expect(JSON.parse(json)).toMatchObject({exitCode: 3, signal: null, violations: []})
  })

  test('an argument before "--" is refused with the fix', async () => {
    const r = await catbox('run', 'ls', 'x')
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('Put the command after "--", e.g.: catbox run --writable /tmp -- ls x')
  })

  test('--writable takes one rule each time', async () => {
    const r = await catbox('run', '--writable', '/tmp', 'extra', '--', 'true')
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toMatch(/^catbox: unexpected argument "extra" before "--"/)
  })

  test('a command\'s flag without "--" is refused with the fix', async () => {
    const r = await catbox('run', 'ls', '-l')
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toBe(
      'catbox: unknown flag -l, and no "--" in the command line.\n' +
        'If it belongs to the command, put the command after "--": catbox run [FLAGS] -- CMD [ARGS...]',
    )
  })

  test('no command is a usage error', async () => {
    const r = await catbox('run', '--')
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toMatch(/^catbox: no command given to run\./)
  })
})

describe('bad input stops before anything runs', () => {
  const marker = join(T, 'ran')
  const touch = ['--', 'sh', '-c', `echo > ${marker}`]
  afterEach(() => rmSync(marker, {force: true}))

  test('an unknown network mode: exit 2 with the choices', async () => {
    const r = await catbox('run', '--network', 'wifi', ...touch)
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toBe('catbox: invalid value "wifi" for --network.\nUse one of: full, loopback, none.')
    expect(existsSync(marker)).toBe(false)
  })

  test('a bad regular expression: exit 2 with its offset', async () => {
    const r = await catbox('run', '--writable', '~a(b', ...touch)
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('catbox: invalid regular expression in rule "~a(b": missing closing parenthesis at offset 3')
    expect(existsSync(marker)).toBe(false)
  })

  test('unbalanced braces: exit 2', async () => {
    const r = await catbox('run', '--writable', '/tmp/{a,b', ...touch)
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toContain('"{" at offset 5 is never closed')
    expect(existsSync(marker)).toBe(false)
  })

  test('a command that is not found: exit 127, the shell message, nothing on stdout', async () => {
    const r = await catbox('run', '--json', '--', 'catbox-no-such-command', 'x')
    expect(r).toMatchObject({exitCode: 127, stdout: '', stderr: 'catbox: catbox-no-such-command: command not found'})
  })
})

describe('a sandboxed run', () => {
  const write = (dir: string) => `echo x > ${join(T, dir, 'f')}`

  test('writes inside the rules happen, others are denied and reported', async () => {
    const r = await catbox('run', '--writable', join(T, 'ok'), '--json', '--', 'sh', '-c', `${write('ok')}; ${write('no')}; echo done`)
    expect(r.exitCode).toBe(0)
    expect(existsSync(join(T, 'ok', 'f'))).toBe(true)
    expect(existsSync(join(T, 'no', 'f'))).toBe(false)
    expect(r.stdout.split('\n')[0]).toBe('done')
    expect(r.stderr).toMatch(new RegExp(`^catbox: denied open(at)? ${join(T, 'no', 'f')} by sh\\[\\d+\\]: EACCES$`, 'm'))
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe('catbox: 1 violation (1 path)')
    const result = lastJson(r.stdout)
    expect(result).toMatchObject({exitCode: 0, signal: null})
    expect(result.violations).toEqual([
      expect.objectContaining({canonical: join(T, 'no', 'f'), program: 'sh', denied: true, error: 'EACCES'}),
    ])
    expect(result.stats).toEqual(expect.objectContaining({processes: expect.any(Number)}))
  })

  test('a relative rule is taken from the current directory', async () => {
    const r = await catbox('run', '--writable', 'ok', '--', 'sh', '-c', write('ok'))
    expect(r).toMatchObject({exitCode: 0, stderr: ''})
  })

  test('collect-only lets the write happen and reports it as allowed', async () => {
    const r = await catbox('run', '--collect-only', '--', 'sh', '-c', `echo y > ${join(T, 'no', 'g')}`)
    expect(r.exitCode).toBe(0)
    expect(existsSync(join(T, 'no', 'g'))).toBe(true)
    expect(r.stderr).toMatch(new RegExp(`^catbox: violation \\(allowed\\) open(at)? ${join(T, 'no', 'g')} by sh\\[\\d+\\]$`, 'm'))
  })

  test('--fail-on-violation: exit 1 when the command succeeded with violations', async () => {
    const r = await catbox('run', '--fail-on-violation', '--', 'sh', '-c', `{ ${write('no')}; } 2>/dev/null; true`)
    expect(r.exitCode).toBe(1)
  })

  test('--fail-on-violation keeps a failing command\'s own status', async () => {
    const r = await catbox('run', '--fail-on-violation', '--', 'sh', '-c', `{ ${write('no')}; } 2>/dev/null; exit 4`)
    expect(r.exitCode).toBe(4)
  })

  test('the exit status is the command\'s', async () => {
    expect((await catbox('run', '--', 'sh', '-c', 'exit 7')).exitCode).toBe(7)
  })

  test('killed by signal N: exit 128+N, and the signal in --json', async () => {
    const r = await catbox('run', '--json', '--', 'sh', '-c', 'kill -TERM $$')
    expect(r.exitCode).toBe(143)
    expect(lastJson(r.stdout)).toMatchObject({exitCode: 143, signal: 15})
  })

  test('the command\'s stdout and stderr pass through untouched', async () => {
    const r = await catbox('run', '--', 'sh', '-c', 'printf "a\\0b"; printf err >&2')
    expect(r.stdout).toBe('a\0b')
    expect(r.stderr).toBe('err')
  })

  test('Ctrl-C (SIGINT to the foreground group) goes to the command; catbox reports how it ended', async () => {
    const job = catboxJob('run', '--json', '--', 'sh', '-c', 'echo started; sleep 5; echo not reached')
    await firstOutput(job)
    process.kill(-job.pid!, 'SIGINT')
    const r = await job
    expect(r.exitCode).toBe(130)
    expect(r.stdout).not.toContain('not reached')
    expect(lastJson(r.stdout)).toMatchObject({exitCode: 130, signal: 2})
  })

  test('a SIGINT to catbox alone does not cut the command short', async () => {
    const job = catboxJob('run', '--', 'sh', '-c', 'echo started; sleep 0.5; echo finished')
    await firstOutput(job)
    process.kill(job.pid!, 'SIGINT')
    const r = await job
    expect(r).toMatchObject({exitCode: 0, stdout: 'started\nfinished'})
  })
})
