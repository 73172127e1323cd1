// catbox report on small runs: which run, what a run without a log gives,
// tolerance of a cut-off log, and what wrong input says.
import {appendFileSync, readFileSync, truncateSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {cliWithHome, json, lastJson, tempDir} from './helpers/cli.js'

const work = tempDir('catbox-report-')
const catbox = cliWithHome(work)
const runDir = (env: string, id: string) => join(catbox.home, 'envs', env, 'runs', id)

/** exec --json, returning the run's id. */
async function exec(env: string, ...args: string[]): Promise<string> {
  const r = await catbox(['exec', env, '--json', ...args])
  return lastJson(r.stdout).runId
}

describe('choosing the run', () => {
  let first: string
  let second: string
  beforeAll(async () => {
    expect((await catbox(['env', 'create', 'two', '--trace'])).exitCode).toBe(0)
    first = await exec('two', '--', 'sh', '-c', 'exit 3')
    second = await exec('two', '--', 'true')
  })

  test('the latest by default; another by its id or the start of it', async () => {
    expect(json((await catbox(['report', 'two', '--json'])).stdout).run.id).toBe(second)
    expect(json((await catbox(['report', 'two', first, '--json'])).stdout).run).toMatchObject({id: first, exitCode: 3})
  })

  test('the environment\'s trace setting applies to every run: exec only, as a bare --trace says', async () => {
    const config = JSON.parse(readFileSync(join(catbox.home, 'envs', 'two', 'env.json'), 'utf8'))
    expect(config.trace).toEqual(['exec'])
    const report = json((await catbox(['report', 'two', first, '--json'])).stdout)
    expect(report.trace).toMatchObject({modes: ['exec'], files: null})
    expect(report.trace.processes[0]).toMatchObject({argv: ['sh', '-c', 'exit 3'], exitCode: 3, parent: null})
  })

  test('an unknown run, an ambiguous prefix, an environment without runs or none at all', async () => {
    const unknown = await catbox(['report', 'two', 'nope'])
    expect(unknown).toMatchObject({exitCode: 1, stdout: ''})
    expect(unknown.stderr).toBe(`catbox: environment "two" has no run "nope".\nIts latest runs: ${second}, ${first} (catbox env show two lists them)`)
    const ambiguous = await catbox(['report', 'two', '2'])
    expect(ambiguous.exitCode).toBe(1)
    expect(ambiguous.stderr).toMatch(/^catbox: "2" is the start of 2 runs of environment "two": .*\nGive more of the run id\.$/)
    expect((await catbox(['env', 'create', 'empty'])).exitCode).toBe(0)
    expect((await catbox(['report', 'empty'])).stderr).toMatch(/^catbox: environment "empty" has no runs to report on .*\nRun a command in it first: catbox exec empty --trace -- make$/)
    expect((await catbox(['report', 'ghost'])).stderr).toMatch(/^catbox: there is no environment "ghost"/)
  })
})

describe('a run without an operation log', () => {
  let id: string
  beforeAll(async () => {
    expect((await catbox(['env', 'create', 'plain'])).exitCode).toBe(0)
    id = await exec('plain', '--', 'sh', '-c', 'echo x > /etc/catbox-report-test; true')
  })

  test('the summary has the run and its violations by directory, and says how to trace', async () => {
    const r = await catbox(['report', 'plain'])
    expect(r.exitCode).toBe(0)
    expect(r.stdout).toContain(`Run ${id} in environment plain\n`)
    expect(r.stdout).toMatch(/^Violations: 1 in 1 directory\n {2}\/etc {2}1 violation, 1 path \(openat\) by sh: \/etc\/catbox-report-test$/m)
    expect(r.stdout).toMatch(/^ {2}trace +not recorded \(catbox exec NAME --trace \.\.\. records one\)$/m)
    expect(json((await catbox(['report', 'plain', '--json'])).stdout)).toMatchObject({trace: null, violations: {count: 1}})
  })

  test('--deps and --trace-file say how to record what they need', async () => {
    const deps = await catbox(['report', 'plain', '--deps'])
    expect(deps).toMatchObject({exitCode: 1, stdout: ''})
    expect(deps.stderr).toBe(
      `catbox: run ${id} of environment "plain" did not record the files it read, so its dependencies are unknown.\n` +
        'Record them in the next run: catbox exec plain --trace=read -- CMD',
    )
    const trace = await catbox(['report', 'plain', '--trace-file', join(work, 't.json')])
    expect(trace.exitCode).toBe(1)
    expect(trace.stderr).toMatch(/did not record its processes, so there is no trace to write\.\nRecord them in the next run: catbox exec plain --trace -- CMD$/)
  })

  test('--trace=none turns off the environment\'s tracing for one run', async () => {
    expect((await catbox(['env', 'create', 'traced', '--trace=all'])).exitCode).toBe(0)
    const off = await exec('traced', '--trace=none', '--', 'true')
    expect(JSON.parse(readFileSync(join(runDir('traced', off), 'report.json'), 'utf8'))).not.toHaveProperty('trace')
  })
})

describe('a damaged log', () => {
  test('a cut-off last line and a garbage line are skipped and noted; the rest is reported', async () => {
    expect((await catbox(['env', 'create', 'torn'])).exitCode).toBe(0)
    const id = await exec('torn', '--trace=all', '--', 'sh', '-c', 'cat /etc/hostname > /dev/null')
    const log = join(runDir('torn', id), 'events.jsonl')
    const text = readFileSync(log, 'utf8')
    writeFileSync(log, text.replace('\n', '\nnot json\n'))
    appendFileSync(log, '{"t":"read","ts":99999999,"pid":1,"op":"ope')
    const report = json((await catbox(['report', 'torn', '--json'])).stdout)
    expect(report.trace.log).toMatchObject({skipped: 1, tornTail: true})
    expect(report.trace.processes.map((p: {argv: string[] | null}) => p.argv?.[0])).toEqual(['sh', 'cat'])
    const r = await catbox(['report', 'torn'])
    expect(r.stdout).toMatch(/note: 1 unreadable line skipped; the last line was cut short \(catbox ended while writing it\)/)
    truncateSync(log, 0)
    expect(json((await catbox(['report', 'torn', '--json'])).stdout).trace.processes).toEqual([])
  })
})

describe('wrong input', () => {
  test('an unknown trace mode is a usage error that lists the modes', async () => {
    const r = await catbox(['exec', 'default', '--trace=files', '--', 'true'])
    expect(r).toMatchObject({exitCode: 2, stdout: ''})
    expect(r.stderr).toBe('catbox: unknown trace mode "files".\nUse exec, read, write or all, several separated by commas: --trace=exec,read')
  })

  test('--missing-from a file that cannot be read', async () => {
    expect((await catbox(['env', 'create', 'mf'])).exitCode).toBe(0)
    await exec('mf', '--trace=read', '--', 'true')
    const r = await catbox(['report', 'mf', '--missing-from', join(work, 'no-such-control')])
    expect(r.exitCode).toBe(2)
    expect(r.stderr).toMatch(/^catbox: cannot read .*no-such-control: ENOENT\.\n--missing-from takes a debian\/control file/)
  })
})
