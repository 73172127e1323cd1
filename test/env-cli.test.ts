// Named environments through the real CLI (--json), each test file with its
// own CATBOX_HOME: env create/list/show/rm/reset, exec, non-interactive shell,
// run records, locking, and what bad input and broken files give.
import {existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {execa} from 'execa'

import {cliWithHome, json, lastJson, tempDir, waitFor} from './helpers/cli.js'

const work = tempDir('catbox-envcli-')
const catbox = cliWithHome(work)
const envs = join(catbox.home, 'envs')
const envDir = (name: string) => join(envs, name)

/** The entries of envs/, hidden ones (staging, trash) included. */
const storeEntries = () => (existsSync(envs) ? readdirSync(envs).sort() : [])

/** What JSON.parse says about text (its wording is Node's). */
function jsonError(text: string): string {
  try {
    JSON.parse(text)
  } catch (error) {
    return (error as Error).message
  }
  throw new Error('valid JSON')
}

/** A pid that belonged to a process that has ended. */
async function deadPid(): Promise<number> {
  const child = execa('true')
  await child
  return child.pid!
}

describe('the life of an environment', () => {
  const project = join(work, 'project')
  beforeAll(() => mkdirSync(project))

  test('create, list, show, exec, reset, rm', async () => {
    const created = await catbox(['env', 'create', 'life', '--json'])
    expect(created).toMatchObject({exitCode: 0, stderr: ''})
    expect(json(created.stdout)).toMatchObject({
      name: 'life',
      path: envDir('life'),
      status: 'idle',
      holder: null,
      config: {schemaVersion: 1, name: 'life', template: 'default', writable: ['$CWD', '/tmp', '/var/tmp', '/dev/shm', '$HOME/.cache'], network: 'full'},
      rootBytes: 0,
      runCount: 0,
      lastRun: null,
    })
    expect(readdirSync(envDir('life')).sort()).toEqual(['env.json', 'root', 'runs'])

    const list = await catbox(['env', 'list', '--json'])
    expect(list.exitCode).toBe(0)
    expect(json(list.stdout)).toEqual([expect.objectContaining({name: 'life', status: 'idle', runCount: 0})])

    // $CWD is where exec runs: the project directory is writable, /etc is not.
    const exec = await catbox(['exec', 'life', '--json', '--', 'sh', '-c', 'echo built > out; echo x > /etc/catbox-denied; echo "$CATBOX_ENV"'], {cwd: project})
    expect(exec.exitCode).toBe(0)
    expect(readFileSync(join(project, 'out'), 'utf8')).toBe('built\n')
    expect(existsSync('/etc/catbox-denied')).toBe(false)
    expect(exec.stderr).toMatch(/^catbox: denied open(at)? \/etc\/catbox-denied by sh\[\d+\]: EACCES$/m)
    expect(String(exec.stderr).trimEnd().split('\n').at(-1)).toBe('catbox: 1 violation (1 path)')
    expect(String(exec.stdout).split('\n')[0]).toBe('life')
    const result = lastJson(exec.stdout)
    expect(result).toMatchObject({environment: 'life', exitCode: 0, signal: null, runId: expect.any(String)})
    expect(result.violations).toEqual([expect.objectContaining({canonical: '/etc/catbox-denied', denied: true, error: 'EACCES'})])

    // The run's record, as later commands read it.
    const record = JSON.parse(readFileSync(join(envDir('life'), 'runs', result.runId, 'report.json'), 'utf8'))
    expect(record).toMatchObject({
      schemaVersion: 1,
      id: result.runId,
      environment: 'life',
      command: ['sh', '-c', expect.stringContaining('echo built')],
      cwd: project,
      status: 'finished',
      exitCode: 0,
      signal: null,
      error: null,
      violations: result.violations,
    })
    expect(typeof record.durationMs).toBe('number')
    expect(Date.parse(record.end)).toBeGreaterThanOrEqual(Date.parse(record.start))

    const show = json((await catbox(['env', 'show', 'life', '--json'])).stdout)
    expect(show).toMatchObject({name: 'life', status: 'idle', runCount: 1})
    expect(show.runs).toEqual([expect.objectContaining({id: result.runId, status: 'finished', exitCode: 0, violations: 1})])
    expect(show.lastRun).toEqual(show.runs[0])

    // reset empties root/ and keeps env.json and the run records.
    writeFileSync(join(envDir('life'), 'root', 'leftover'), 'x'.repeat(10000))
    expect(json((await catbox(['env', 'show', 'life', '--json'])).stdout).rootBytes).toBeGreaterThan(0)
    const config = readFileSync(join(envDir('life'), 'env.json'), 'utf8')
    const reset = await catbox(['env', 'reset', 'life', '--force', '--json'])
    expect(reset.exitCode).toBe(0)
    expect(json(reset.stdout)).toMatchObject({name: 'life', rootBytes: 0, runCount: 1})
    expect(readdirSync(join(envDir('life'), 'root'))).toEqual([])
    expect(readFileSync(join(envDir('life'), 'env.json'), 'utf8')).toBe(config)

    const rm = await catbox(['env', 'rm', 'life', '--force', '--json'])
    expect(rm.exitCode).toBe(0)
    expect(json(rm.stdout)).toEqual({name: 'life', removed: true})
    expect(storeEntries()).not.toContain('life')
    expect(json((await catbox(['env', 'list', '--json'])).stdout)).toEqual([])
  })

  test('the human outputs name what matters', async () => {
    expect((await catbox(['env', 'create', 'human'])).stdout).toMatch(new RegExp(`^Created environment human in ${envDir('human')}\n`))
    const list = await catbox(['env', 'list'])
    expect(list.stdout).toMatch(/^NAME\s+TEMPLATE\s+RULES\s+ROOT SIZE\s+LAST RUN\s+STATUS\nhuman\s+default\s+5\s+0 B\s+never\s+idle$/m)
    const show = await catbox(['env', 'show', 'human'])
    expect(show.stdout).toMatch(/^writable:\s+\$CWD\n\s+\/tmp\n/m)
    expect((await catbox(['env', 'rm', 'human', '--force'])).stdout).toBe('Removed environment human.')
  })
})

describe('the default environment', () => {
  test('catbox exec default works on a fresh machine: it is created on first use', async () => {
    const fresh = cliWithHome(work)
    expect(existsSync(fresh.home)).toBe(false)
    const r = await fresh(['exec', 'default', '--', 'sh', '-c', 'echo ok > here; echo hi'])
    expect(r).toMatchObject({exitCode: 0, stdout: 'hi', stderr: ''})
    expect(readFileSync(join(work, 'here'), 'utf8')).toBe('ok\n')
    expect(json((await fresh(['env', 'list', '--json'])).stdout)).toEqual([
      expect.objectContaining({name: 'default', config: expect.objectContaining({template: 'default'}), runCount: 1}),
    ])
  })

  test('another environment is not created on first use', async () => {
    const r = await catbox(['exec', 'nosuch', '--', 'true'])
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toBe(`catbox: there is no environment "nosuch" (in ${envs}).\nCreate it with: catbox env create nosuch   (catbox env list shows the ones there are)`)
  })
})

describe('exec', () => {
  beforeAll(async () => {
    expect((await catbox(['env', 'create', 'ex'])).exitCode).toBe(0)
  })

  test('the exit status, signals and stdio are the command\'s', async () => {
    expect((await catbox(['exec', 'ex', '--', 'sh', '-c', 'exit 7'])).exitCode).toBe(7)
    const killed = await catbox(['exec', 'ex', '--json', '--', 'sh', '-c', 'kill -TERM $$'])
    expect(killed.exitCode).toBe(143)
    expect(lastJson(killed.stdout)).toMatchObject({exitCode: 143, signal: 15})
    const io = await catbox(['exec', 'ex', '--', 'sh', '-c', 'cat; printf err >&2'], {input: 'in', stdin: 'pipe'})
    expect(io).toMatchObject({stdout: 'in', stderr: 'err'})
  })

  test('the command line after "--" is passed verbatim; arguments before it are refused', async () => {
    const r = await catbox(['exec', 'ex', '--', 'sh', '-c', 'echo "$@"', 'x', '--json', '--', '-v'])
    expect(r).toMatchObject({exitCode: 0, stdout: '--json -- -v'})
    const bad = await catbox(['exec', 'ex', 'make', 'install'])
    expect(bad.exitCode).toBe(2)
    expect(bad.stderr).toContain('Put the command after "--", e.g.: catbox exec ex -- make install')
    const none = await catbox(['exec', 'ex', '--'])
    expect(none).toMatchObject({exitCode: 2, stderr: expect.stringMatching(/^catbox: no command given to run\./)})
  })

  test('a command that is not found: 127, recorded as a failed run', async () => {
    const r = await catbox(['exec', 'ex', '--json', '--', 'catbox-no-such-command'])
    expect(r).toMatchObject({exitCode: 127, stdout: '', stderr: 'catbox: catbox-no-such-command: command not found'})
    const {lastRun} = json((await catbox(['env', 'show', 'ex', '--json'])).stdout)
    expect(lastRun).toMatchObject({status: 'failed', exitCode: 127, error: 'catbox: catbox-no-such-command: command not found'})
  })

  test('the environment\'s settings apply, and exec flags override them', async () => {
    const out = join(work, 'strict-out')
    mkdirSync(out)
    const created = await catbox(['env', 'create', 'st', '--template', 'strict', '--writable', out, '--env', 'GREETING=hi $NAME', '--cwd', out])
    expect(created.exitCode).toBe(0)
    // fail-on-violation from the template; cwd and env from the flags.
    const r = await catbox(['exec', 'st', '--', 'sh', '-c', 'pwd; echo "$GREETING"; echo x > /etc/catbox-denied 2>/dev/null; true'])
    expect(r.stdout).toBe(`${out}\nhi st`)
    expect(r.exitCode).toBe(1)
    expect((await catbox(['exec', 'st', '--no-fail-on-violation', '--', 'sh', '-c', 'echo x > /etc/catbox-denied 2>/dev/null; true'])).exitCode).toBe(0)
    // --collect-only lets the write happen.
    const collected = await catbox(['exec', 'st', '--collect-only', '--no-fail-on-violation', '--', 'sh', '-c', `echo x > ${work}/collected`])
    expect(collected.exitCode).toBe(0)
    expect(existsSync(join(work, 'collected'))).toBe(true)
    expect(collected.stderr).toMatch(/^catbox: violation \(allowed\) /m)
  })

  test('network none from the template: an IP connect is a violation', async () => {
    const r = await catbox(['exec', 'st', '--json', '--no-fail-on-violation', '--', 'bash', '-c', 'exec 3<>/dev/tcp/127.0.0.1/9 2>/dev/null; true'])
    expect(r.exitCode).toBe(0)
    expect(lastJson(r.stdout).violations).toEqual([expect.objectContaining({operation: 'connect', denied: true, error: 'EACCES'})])
  })

  test('the pisi template: fake root, the root overlay and a read-only map apply', async () => {
    expect((await catbox(['env', 'create', 'pk', '--template', 'pisi', '--map', `${work}:/src:ro`])).exitCode).toBe(0)
    const script = 'id -u; ls /src >/dev/null && echo mapped; echo x > /src/new || true; mkdir -p /var/tmp/pk && echo built > /var/tmp/pk/out; cat /var/tmp/pk/out'
    const r = await catbox(['exec', 'pk', '--', 'sh', '-c', script])
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toBe('0\nmapped\nbuilt')
    expect(r.stderr).toMatch(/Read-only file system/)
    expect(r.stderr).not.toMatch(/warning/)
    // The build's output is in the environment's root, not on the host.
    expect(readFileSync(join(catbox.home, 'envs', 'pk', 'root', 'var', 'tmp', 'pk', 'out'), 'utf8')).toBe('built\n')
    expect(existsSync('/var/tmp/pk/out')).toBe(false)
    expect(existsSync(join(work, 'new'))).toBe(false)
    const show = json((await catbox(['env', 'show', 'pk', '--json'])).stdout)
    expect(show.config).toMatchObject({fakeRoot: true, overlay: true, maps: [{host: work, guest: '/src', mode: 'ro'}]})
  })
})

describe('shell without a terminal', () => {
  test('reads its commands from stdin and exits with their status', async () => {
    const r = await catbox(['shell', 'ex'], {input: 'echo "in $CATBOX_ENV"\necho x > /etc/catbox-denied\nexit 4\n', stdin: 'pipe', env: {SHELL: '/bin/sh'}})
    expect(r.exitCode).toBe(4)
    expect(r.stdout).toBe('in ex')
    expect(r.stderr).toMatch(/^catbox: denied open(at)? \/etc\/catbox-denied by sh\[\d+\]: EACCES$/m)
  })
})

describe('bad input is refused with the rule, and nothing is created', () => {
  const fresh = cliWithHome(work)
  afterEach(() => {
    expect(existsSync(join(fresh.home, 'envs')) ? readdirSync(join(fresh.home, 'envs')) : []).toEqual([])
  })

  test.each([
    [['a/b'], 'catbox: invalid environment name "a/b": it contains "/".'],
    [['..'], 'catbox: invalid environment name "..": it starts with ".".'],
    [[''], 'catbox: invalid environment name "": it is empty.'],
    [['x'.repeat(65)], `catbox: invalid environment name "${'x'.repeat(65)}": it is 65 characters long.`],
    [['ok', '--map', '/catbox-no-such-dir:/src'], 'catbox: invalid map "/catbox-no-such-dir:/src": the host path /catbox-no-such-dir does not exist.'],
    [['ok', '--map', 'src:/src'], 'catbox: invalid map "src:/src": the host path "src" is relative.'],
    [['ok', '--map', '/tmp:src'], 'catbox: invalid map "/tmp:src": the guest path "src" is relative.'],
    [['ok', '--writable', '~a(b'], 'catbox: invalid regular expression in rule "~a(b": missing closing parenthesis at offset 3'],
    [['ok', '--writable', '/tmp/{a,b'], 'catbox: invalid write rule "/tmp/{a,b": "{" at offset 5 is never closed'],
    [['ok', '--template', 'nope'], 'catbox: unknown template "nope".'],
    [['ok', '--template', '../x'], 'catbox: invalid template name "../x": it contains "/".'],
    [['ok', '--env', 'NOEQUALS'], 'catbox: invalid --env "NOEQUALS": it has no "=".'],
  ])('env create %j', async (args, message) => {
    const r = await fresh(['env', 'create', ...args, '--json'])
    expect(r.exitCode).toBe(2)
    expect(r.stdout).toBe('')
    expect(String(r.stderr).split('\n')[0]).toBe(message)
  })

  test('an unknown network mode lists the choices', async () => {
    const r = await fresh(['env', 'create', 'ok', '--network', 'wifi'])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toBe('catbox: invalid value "wifi" for --network.\nUse one of: full, loopback, none.')
  })

  test('every name-taking command checks the name', async () => {
    for (const command of [['env', 'show'], ['env', 'rm'], ['env', 'reset'], ['exec'], ['shell']]) {
      const r = await fresh([...command, 'a/b', ...(command[0] === 'exec' ? ['--', 'true'] : [])])
      expect({command, exitCode: r.exitCode, first: String(r.stderr).split('\n')[0]}).toEqual({
        command,
        exitCode: 2,
        first: 'catbox: invalid environment name "a/b": it contains "/".',
      })
    }
  })
})

describe('names are unique', () => {
  test('creating an existing environment is refused and changes nothing', async () => {
    expect((await catbox(['env', 'create', 'dup', '--network', 'none'])).exitCode).toBe(0)
    const before = readFileSync(join(envDir('dup'), 'env.json'), 'utf8')
    const r = await catbox(['env', 'create', 'dup'])
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toBe('catbox: environment "dup" already exists.\nUse it (catbox exec dup -- CMD), or remove it first: catbox env rm dup')
    expect(readFileSync(join(envDir('dup'), 'env.json'), 'utf8')).toBe(before)
  })

  test('of several creates of one name at once, exactly one wins; no staging folder is left', async () => {
    const racers = 6
    for (let round = 0; round < 3; round++) {
      const name = `race${round}`
      const results = await Promise.all(
        Array.from({length: racers}, (_, i) => catbox(['env', 'create', name, '--json', '--env', `RACER=${i}`])),
      )
      const winners = results.filter((r) => r.exitCode === 0)
      expect(winners).toHaveLength(1)
      for (const loser of results.filter((r) => r.exitCode !== 0)) {
        expect({exitCode: loser.exitCode, stderr: loser.stderr, stdout: loser.stdout}).toEqual({
          exitCode: 1,
          stderr: `catbox: environment "${name}" already exists.\nUse it (catbox exec ${name} -- CMD), or remove it first: catbox env rm ${name}`,
          stdout: '',
        })
      }
      // The environment on disk is the winner's, whole.
      const winner = json(winners[0].stdout)
      const show = json((await catbox(['env', 'show', name, '--json'])).stdout)
      expect(show.config).toEqual(winner.config)
      expect(storeEntries().filter((e) => e.startsWith('.'))).toEqual([])
    }
  })
})

describe('a run with many violations', () => {
  test('the record keeps the first 1000 and the count; violations.jsonl has every one; show and report count them all', async () => {
    const dir = join(work, 'many')
    mkdirSync(join(dir, 'ok'), {recursive: true})
    mkdirSync(join(dir, 'no'))
    expect((await catbox(['env', 'create', 'many', '--collect-only', '--writable', join(dir, 'ok')])).exitCode).toBe(0)
    const exec = await catbox(['exec', 'many', '--json', '--', 'sh', '-c', `i=0; while [ $i -lt 2500 ]; do : >> ${dir}/no/f; i=$((i+1)); done`])
    expect(exec.exitCode).toBe(0)
    // onViolation (the CLI's line per violation) saw every one.
    expect(String(exec.stderr).split('\n').filter((line) => line.startsWith('catbox: violation (allowed)'))).toHaveLength(2500)
    expect(String(exec.stderr).trimEnd().split('\n').at(-1)).toBe('catbox: 2500 violations (1 path in the first 1000)')
    const result = lastJson(exec.stdout)
    expect({kept: result.violations.length, count: result.violationCount}).toEqual({kept: 1000, count: 2500})

    const runDir = join(envDir('many'), 'runs', result.runId)
    const record = JSON.parse(readFileSync(join(runDir, 'report.json'), 'utf8'))
    expect({kept: record.violations.length, count: record.violationCount, log: record.violationLog}).toEqual({kept: 1000, count: 2500, log: 'violations.jsonl'})
    const logged = readFileSync(join(runDir, 'violations.jsonl'), 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line))
    expect(logged).toHaveLength(2500)
    expect(logged.slice(0, 1000)).toEqual(record.violations)
    for (const v of logged) expect(v).toMatchObject({canonical: join(dir, 'no/f'), denied: false, error: ''})

    const show = json((await catbox(['env', 'show', 'many', '--json'])).stdout)
    expect(show.lastRun).toMatchObject({id: result.runId, violations: 2500})
    const report = json((await catbox(['report', 'many', '--json'])).stdout)
    expect(report.violations).toMatchObject({count: 2500, byDirectory: [expect.objectContaining({directory: join(dir, 'no'), count: 2500, paths: 1})]})
  })
})

describe('one run at a time per environment', () => {
  const stop = join(work, 'stop-busy')

  test('rm, reset, exec and shell are refused while a run is in the environment, naming it', async () => {
    expect((await catbox(['env', 'create', 'busy'])).exitCode).toBe(0)
    const job = catbox(['exec', 'busy', '--', 'sh', '-c', `echo started; while [ ! -e ${stop} ]; do sleep 0.05; done`])
    await new Promise<void>((resolve) => job.stdout?.once('data', () => resolve()))
    const busy = `catbox: environment "busy" is busy: catbox exec (pid ${job.pid}) is running in it.\nOne run at a time per environment: wait for it to end, or use another environment.`

    for (const args of [['env', 'rm', 'busy', '--force'], ['env', 'reset', 'busy', '--force'], ['exec', 'busy', '--', 'true'], ['shell', 'busy']]) {
      const r = await catbox(args)
      expect({args, exitCode: r.exitCode, stderr: r.stderr}).toEqual({args, exitCode: 1, stderr: busy})
    }
    const listed = json((await catbox(['env', 'list', '--json'])).stdout).find((e: {name: string}) => e.name === 'busy')
    expect(listed).toMatchObject({status: 'busy', holder: {pid: job.pid, command: 'catbox exec'}, lastRun: {status: 'running'}})
    expect(existsSync(envDir('busy'))).toBe(true)

    writeFileSync(stop, '')
    expect((await job).exitCode).toBe(0)
    expect((await catbox(['env', 'rm', 'busy', '--force'])).exitCode).toBe(0)
    expect(existsSync(envDir('busy'))).toBe(false)
  })

  test('SIGTERM ends catbox and the command; the run is recorded as interrupted and the lock is released', async () => {
    expect((await catbox(['env', 'create', 'term'])).exitCode).toBe(0)
    const job = catbox(['exec', 'term', '--', 'sh', '-c', 'echo started; exec sleep 100'])
    await new Promise<void>((resolve) => job.stdout?.once('data', () => resolve()))
    process.kill(job.pid!, 'SIGTERM')
    const r = await job
    expect(r.signal).toBe('SIGTERM')
    const {lastRun} = json((await catbox(['env', 'show', 'term', '--json'])).stdout)
    expect(lastRun).toMatchObject({status: 'interrupted', error: 'catbox received SIGTERM', command: ['sh', '-c', expect.any(String)]})
    expect((await catbox(['exec', 'term', '--', 'true'])).exitCode).toBe(0)
  })

  test('SIGHUP is passed on to the command, which ends as it chooses; the run is recorded in full', async () => {
    expect((await catbox(['env', 'create', 'hup'])).exitCode).toBe(0)
    const job = catbox(['exec', 'hup', '--', 'sh', '-c', 'trap "echo got-hup; exit 7" HUP; echo started; while :; do sleep 0.05; done'])
    await new Promise<void>((resolve) => job.stdout?.once('data', () => resolve()))
    process.kill(job.pid!, 'SIGHUP')
    const r = await job
    expect(r).toMatchObject({exitCode: 7, stdout: 'started\ngot-hup'})
    const {lastRun} = json((await catbox(['env', 'show', 'hup', '--json'])).stdout)
    expect(lastRun).toMatchObject({status: 'finished', exitCode: 7, error: null})
  })

  /** The pids still alive of those given. */
  const alive = (pids: number[]) =>
    pids.filter((pid) => {
      try {
        process.kill(pid, 0)
        return true
      } catch {
        return false
      }
    })
  const ppidOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1])
  const holderFile = (name: string) => join(envDir(name), 'holder.json')

  test('after kill -9 of catbox, the next run takes the lock at once: its holder is provably dead', async () => {
    expect((await catbox(['env', 'create', 'killed'])).exitCode).toBe(0)
    const job = catbox(['exec', 'killed', '--', 'sh', '-c', 'echo $$; exec sleep 100'])
    const commandPid = await new Promise<number>((resolve) => job.stdout?.once('data', (chunk) => resolve(Number(String(chunk).trim()))))
    const reaperPid = ppidOf(commandPid)
    const holder = json(readFileSync(holderFile('killed'), 'utf8'))
    expect(holder).toMatchObject({pid: job.pid, startTime: expect.stringMatching(/^\d+$/), bootId: expect.any(String), pidNamespace: expect.stringMatching(/^pid:\[\d+\]$/)})
    // Control: while catbox lives, the environment is busy.
    expect((await catbox(['exec', 'killed', '--', 'true'])).exitCode).toBe(1)

    process.kill(job.pid!, 'SIGKILL')
    expect((await job).signal).toBe('SIGKILL')
    // The build and the reaper end with catbox (or are ended here: what is tested is the lock).
    for (const pid of alive([commandPid, reaperPid].filter((pid) => pid !== job.pid && pid > 1))) process.kill(pid, 'SIGKILL')
    // The lock directory is still there, fresh: only the dead holder frees it, not the expiry.
    expect(existsSync(join(envDir('killed'), 'lock'))).toBe(true)
    expect(json((await catbox(['env', 'show', 'killed', '--json'])).stdout)).toMatchObject({status: 'idle'})
    const next = await catbox(['exec', 'killed', '--', 'sh', '-c', 'echo next'])
    expect({exitCode: next.exitCode, stdout: next.stdout, stderr: next.stderr}).toEqual({exitCode: 0, stdout: 'next', stderr: ''})
  })

  test('a holder whose pid now belongs to another process (another start time) is dead too', async () => {
    expect((await catbox(['env', 'create', 'reused'])).exitCode).toBe(0)
    mkdirSync(join(envDir('reused'), 'lock'))
    // This test's own pid is alive, but it started at another time than the holder recorded.
    const [bootId, pidNamespace] = [readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), readlinkSync('/proc/self/ns/pid')]
    const recorded = {schemaVersion: 1, pid: process.pid, command: 'catbox exec', since: new Date().toISOString(), startTime: '1', bootId, pidNamespace}
    writeFileSync(holderFile('reused'), JSON.stringify(recorded))
    expect((await catbox(['exec', 'reused', '--', 'true'])).exitCode).toBe(0)
    // Control: with its true start time, the same holder is alive and keeps the lock.
    mkdirSync(join(envDir('reused'), 'lock'))
    const startTime = readFileSync(`/proc/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ')[19]
    writeFileSync(holderFile('reused'), JSON.stringify({...recorded, startTime}))
    const busy = await catbox(['exec', 'reused', '--', 'true'])
    expect(busy).toMatchObject({exitCode: 1, stderr: expect.stringContaining(`is busy: catbox exec (pid ${process.pid})`)})
    rmSync(join(envDir('reused'), 'lock'), {recursive: true})
    rmSync(holderFile('reused'))
  })

  test('a holder that cannot be checked (another pid namespace) keeps the lock until it expires', async () => {
    expect((await catbox(['env', 'create', 'elsewhere'])).exitCode).toBe(0)
    mkdirSync(join(envDir('elsewhere'), 'lock'))
    const pid = await deadPid()
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    writeFileSync(holderFile('elsewhere'), JSON.stringify({schemaVersion: 1, pid, command: 'catbox exec', since: new Date().toISOString(), startTime: '1', bootId, pidNamespace: 'pid:[1]'}))
    const r = await catbox(['exec', 'elsewhere', '--', 'true'])
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toContain(`is still locked by catbox exec (pid ${pid}), which ended without releasing it.`)
    expect(existsSync(join(envDir('elsewhere'), 'lock'))).toBe(true)
  })

  test('a run left "running" by a catbox that is gone reads back as interrupted', async () => {
    expect((await catbox(['env', 'create', 'ghost'])).exitCode).toBe(0)
    const pid = await deadPid()
    const dir = join(envDir('ghost'), 'runs', '20000101T000000000Z-abcdef')
    mkdirSync(dir)
    const record = {
      schemaVersion: 1,
      id: '20000101T000000000Z-abcdef',
      environment: 'ghost',
      command: ['make'],
      cwd: '/',
      catboxPid: pid,
      status: 'running',
      start: '2000-01-01T00:00:00.000Z',
      end: null,
      durationMs: null,
      exitCode: null,
      signal: null,
      violations: [],
      error: null,
    }
    writeFileSync(join(dir, 'report.json'), JSON.stringify(record))
    const {lastRun} = json((await catbox(['env', 'show', 'ghost', '--json'])).stdout)
    expect(lastRun).toMatchObject({status: 'interrupted', error: `catbox (pid ${pid}) ended before the run did`})
    expect(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')).status).toBe('running')
  })
})

describe('rm and reset ask first', () => {
  test('without a terminal to ask on, they refuse and say to pass --force', async () => {
    expect((await catbox(['env', 'create', 'keep'])).exitCode).toBe(0)
    const rm = await catbox(['env', 'rm', 'keep'])
    expect(rm.exitCode).toBe(2)
    expect(rm.stderr).toBe(
      'catbox: not going to remove environment "keep" without confirmation, and stdin is not a terminal to ask on.\nTo remove it, run: catbox env rm keep --force',
    )
    const reset = await catbox(['env', 'reset', 'keep'])
    expect(reset.exitCode).toBe(2)
    expect(reset.stderr).toContain('To reset it, run: catbox env reset keep --force')
    expect(existsSync(join(envDir('keep'), 'env.json'))).toBe(true)
  })

  test('rm of an environment that does not exist', async () => {
    const r = await catbox(['env', 'rm', 'never-made', '--force'])
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toMatch(/^catbox: there is no environment "never-made"/)
  })
})

describe('broken files are reported, never overwritten', () => {
  test('a corrupt env.json: a clear error naming the file; list shows it broken; rm removes it', async () => {
    expect((await catbox(['env', 'create', 'corrupt'])).exitCode).toBe(0)
    // Control: shown with 0 while its env.json is sound.
    expect((await catbox(['env', 'show', 'corrupt'])).exitCode).toBe(0)
    const file = join(envDir('corrupt'), 'env.json')
    const garbage = '{"schemaVersion": 1, "name": "corr'
    writeFileSync(file, garbage)
    const message =
      `catbox: cannot use ${file}: it is not valid JSON (${jsonError(garbage)}).\n` +
      'catbox left it as it is. Repair the file, or remove the environment: catbox env rm corrupt --force'
    for (const args of [['exec', 'corrupt', '--', 'true'], ['env', 'reset', 'corrupt', '--force'], ['shell', 'corrupt'], ['env', 'create', 'corrupt']]) {
      const r = await catbox(args)
      const expected = args[1] === 'create' ? expect.stringContaining('already exists') : message
      expect({args, exitCode: r.exitCode, stderr: r.stderr}).toEqual({args, exitCode: 1, stderr: expected})
    }
    const listed = json((await catbox(['env', 'list', '--json'])).stdout).find((e: {name: string}) => e.name === 'corrupt')
    expect(listed).toMatchObject({status: 'broken', config: null, problem: message})
    // show prints what it can, and its status says the environment cannot be used (README: 1 when broken).
    const show = await catbox(['env', 'show', 'corrupt', '--json'])
    expect(show.exitCode).toBe(1)
    expect(json(show.stdout)).toMatchObject({status: 'broken', problem: message})
    const shown = await catbox(['env', 'show', 'corrupt'])
    expect(shown.exitCode).toBe(1)
    expect(shown.stdout).toContain(message)
    expect(readFileSync(file, 'utf8')).toBe(garbage)
    expect((await catbox(['env', 'rm', 'corrupt', '--force'])).exitCode).toBe(0)
    expect(existsSync(envDir('corrupt'))).toBe(false)
  })

  test('an env.json of a newer schema version is refused and left as it is', async () => {
    expect((await catbox(['env', 'create', 'future'])).exitCode).toBe(0)
    const file = join(envDir('future'), 'env.json')
    const future = JSON.stringify({...JSON.parse(readFileSync(file, 'utf8')), schemaVersion: 2, somethingNew: true})
    writeFileSync(file, future)
    const r = await catbox(['exec', 'future', '--', 'true'])
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toBe(
      `catbox: ${file} has schema version 2, and this catbox reads only version 1: a newer catbox wrote it.\n` +
        'catbox left it as it is. Use the newer catbox, or upgrade this one.',
    )
    expect(readFileSync(file, 'utf8')).toBe(future)
  })

  test('a crash in the middle of create leaves a staging folder that the next command removes', async () => {
    const pid = await deadPid()
    mkdirSync(envs, {recursive: true})
    const staging = join(envs, `.staging-half-${pid}-0a1b2c`)
    const trash = join(envs, `.trash-gone-${pid}-3d4e5f`)
    for (const dir of [staging, trash]) {
      mkdirSync(join(dir, 'root'), {recursive: true})
      writeFileSync(join(dir, 'env.json'), '{')
    }
    // A staging folder of a live process is someone's create in progress: kept.
    const live = join(envs, `.staging-busy-${process.pid}-6a7b8c`)
    mkdirSync(live)
    const r = await catbox(['env', 'list', '--json'])
    expect(r.exitCode).toBe(0)
    expect(json(r.stdout).map((e: {name: string}) => e.name)).not.toContain('half')
    expect([existsSync(staging), existsSync(trash), existsSync(live)]).toEqual([false, false, true])
  })
})

describe('--help', () => {
  test('lists exec, shell and the env topic', async () => {
    const r = await catbox(['--help'])
    expect(r.stdout).toMatch(/^\s+env\s+Named build environments/m)
    expect(r.stdout).toMatch(/^\s+exec\s+Run a command in a named environment/m)
    expect(r.stdout).toMatch(/^\s+shell\s+Start a shell inside a named environment/m)
  })

  test.each(['exec', 'shell', 'env create', 'env list', 'env show', 'env rm', 'env reset'])('%s --help has examples', async (command) => {
    const r = await catbox([...command.split(' '), '--help'])
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toMatch(/^EXAMPLES\n/m)
    expect(r.stdout).toContain(`$ catbox ${command}`)
  })

  test('exec --help says one run at a time per environment', async () => {
    expect((await catbox(['exec', '--help'])).stdout).toMatch(/One run at a time per environment/)
  })
})
