// The operation log of a real build, end to end through the CLI: GNU hello
// from Debian's source archive, `./configure && make` traced with
// --trace=all in a named environment, then catbox report: the process tree,
// the real dependencies, the Chrome trace. One build, shared by the tests.
// Structure is asserted, never wall-clock values.
import {execFileSync} from 'node:child_process'
import {readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'

import type {ProcessJson, Summary} from '../src/report/summary.js'
import type {ChromeTrace, TraceEvent} from '../src/report/trace.js'
import {cliWithHome, json, projectRoot, tempDir} from './helpers/cli.js'
import {expectLanesNest} from './helpers/trace.js'

const work = tempDir('catbox-hello-')
const hello = join(work, 'hello')
const catbox = cliWithHome(hello)

interface PackageUse {
  name: string
  files: number
  examples: string[]
}

let report: Summary & {runDir: string}
let processes: ProcessJson[]

beforeAll(async () => {
  const source = execFileSync(join(projectRoot, 'test', 'fixtures', 'fetch-hello.sh'), {encoding: 'utf8'}).trim()
  execFileSync('cp', ['-a', source, hello])
  expect(await catbox(['env', 'create', 'hello', '--trace=all'])).toMatchObject({exitCode: 0})
  const build = await catbox(['exec', 'hello', '--', 'sh', '-c', './configure && make'])
  if (build.exitCode !== 0) throw new Error(`the hello build failed (${build.exitCode}):\n${String(build.stderr).slice(-3000)}`)
  const r = await catbox(['report', 'hello', '--json'])
  expect(r).toMatchObject({exitCode: 0, stderr: ''})
  report = json(r.stdout)
  processes = report.trace!.processes
}, 300_000)

const byId = (id: number | null) => (id === null ? undefined : processes[id])
const ends = (path: string | null, suffix: string) => path !== null && path.endsWith(suffix)

describe('the process tree of a real build', () => {
  test('the record names the log and its modes; the root is the command run', () => {
    expect(report.run).toMatchObject({environment: 'hello', status: 'finished', exitCode: 0, trace: {modes: ['exec', 'read', 'write'], eventLog: 'events.jsonl'}})
    expect(report.trace).toMatchObject({modes: ['exec', 'read', 'write'], log: {skipped: 0, tornTail: false}})
    const roots = processes.filter((p) => p.parent === null)
    expect(roots).toHaveLength(1)
    expect(roots[0].argv).toEqual(['sh', '-c', './configure && make'])
    expect(roots[0].exitCode).toBe(0)
  })

  test('the compiler compiles hello.c with its argv, under make', () => {
    const compile = processes.find((p) => ends(p.program, 'gcc-12') && p.argv?.includes('-c') && p.argv.some((a) => a.endsWith('hello.c')))
    expect(compile).toBeDefined()
    expect(compile!.argv).toEqual(expect.arrayContaining(['-o', 'src/hello.o']))
    expect(compile!.cwd).toBe(hello)
    expect(compile!.exitCode).toBe(0)
    // Its own children: the compiler proper and the assembler.
    const children = processes.filter((p) => p.parent === compile!.id).map((p) => p.program)
    expect(children).toEqual(expect.arrayContaining([expect.stringMatching(/\/cc1$/), expect.stringMatching(/-as$/)]))
    // Somewhere above it: make.
    const ancestors: string[] = []
    for (let p = byId(compile!.parent); p; p = byId(p.parent)) ancestors.push(p.argv?.[0] ?? '')
    expect(ancestors).toContain('make')
  })

  test('the link: gcc runs collect2, which runs ld with the output and the objects', () => {
    const collect2 = processes.find((p) => ends(p.program, '/collect2') && p.argv?.includes('hello') && p.argv.includes('src/hello.o'))
    expect(collect2).toBeDefined()
    expect(byId(collect2!.parent)?.program).toMatch(/gcc-12$/)
    const ld = processes.find((p) => p.parent === collect2!.id)
    expect(ld?.program).toMatch(/\/x86_64-linux-gnu-ld(\.bfd)?$/)
    expect(ld?.argv).toEqual(expect.arrayContaining(['-o', 'hello', 'src/hello.o']))
  })

  test('files: many read and written, failed lookups (headers searched in several directories)', () => {
    const files = report.trace!.files!
    expect(files.read).toBeGreaterThan(100)
    expect(files.written).toBeGreaterThan(10)
    expect(files.failedLookups).toBeGreaterThan(0)
  })

  test('the text summary shows the tree with the compiler and the slowest steps', async () => {
    const r = await catbox(['report', 'hello'])
    expect(r.exitCode).toBe(0)
    const text = String(r.stdout)
    expect(text).toMatch(/^Run \S+ in environment hello$/m)
    expect(text).toMatch(/^ {2}result +exit 0$/m)
    // Long command lines are cut to the width: the compile of hello.c shows by its assembler step.
    expect(text).toMatch(/^ {2}[│├└ ─]+gcc '-DLOCALEDIR=.*…/m)
    expect(text).toMatch(/^ {2}[│├└ ─]+as .*-o src\/hello\.o /m)
    expect(text).toMatch(/^Slowest steps \(own time: children excluded\):$/m)
    expect(text).toMatch(/… \d+ more: /)
    expect(text).toMatch(/^Files \(distinct paths\): \d+ read, \d+ failed lookups; \d+ written$/m)
  })
})

describe('the real dependencies of a real build', () => {
  let deps: {manager: string; packages: PackageUse[]; comparison?: Record<string, unknown>}
  beforeAll(async () => {
    const r = await catbox(['report', 'hello', '--deps', '--missing-from', join(hello, 'debian', 'control'), '--json'])
    expect(r).toMatchObject({exitCode: 0, stderr: ''})
    deps = json(r.stdout).deps
  }, 120_000)

  const pkg = (name: string) => deps.packages.find((p) => p.name === name)

  test('the compiler, libc development files and make, each with files that caused it', () => {
    expect(deps.manager).toBe('dpkg')
    expect(pkg('gcc-12')?.examples).toContain('/usr/bin/x86_64-linux-gnu-gcc-12')
    // The build ran gcc by the name "gcc": the gcc package's link counts too.
    expect(pkg('gcc')?.examples).toContain('/usr/bin/gcc')
    expect(pkg('libc6-dev')?.examples.some((f) => f.startsWith('/usr/include/'))).toBe(true)
    expect(pkg('make')?.examples).toContain('/usr/bin/make')
    // libc.so.6 is read under /usr/lib; dpkg (bookworm) has it under /lib.
    expect(pkg('libc6')?.files).toBeGreaterThan(0)
  })

  test('against debian/control: the compiler, libc6-dev and make are build-essential, not missing', () => {
    const cmp = deps.comparison as {kind: string; fields: string[]; undeclared: PackageUse[]; unused: Array<{declared: string}>}
    expect(cmp.kind).toBe('build-depends')
    expect(cmp.fields).toEqual(['Build-Depends'])
    const undeclared = cmp.undeclared.map((p) => p.name)
    for (const name of ['gcc', 'gcc-12', 'libc6-dev', 'make', 'libc6', 'coreutils']) expect(undeclared).not.toContain(name)
    // hello declares packaging tools the plain build does not use.
    expect(cmp.unused.map((u) => u.declared)).toEqual(expect.arrayContaining(['debhelper-compat (= 13)']))
  })

  test('as text: one line a package, then the comparison', async () => {
    const r = await catbox(['report', 'hello', '--deps', '--missing-from', join(hello, 'debian', 'control')])
    expect(r.exitCode).toBe(0)
    const text = String(r.stdout)
    expect(text).toMatch(/^Packages the build used \(dpkg\): \d+, owning \d+ files it read or ran$/m)
    expect(text).toMatch(/^ {2}make +\d+ files?: .*\/usr\/bin\/make/m)
    expect(text).toMatch(/^Compared with the Build-Depends of .*debian\/control \(3 entries\):$/m)
    expect(text).toMatch(/^Used but not declared: /m)
    expect(text).toMatch(/^Declared but not used: /m)
  })
})

describe('the trace file of a real build', () => {
  let trace: ChromeTrace
  let slices: TraceEvent[]
  beforeAll(async () => {
    const out = join(work, 'trace.json')
    const r = await catbox(['report', 'hello', '--trace-file', out])
    expect(r.exitCode).toBe(0)
    expect(String(r.stdout)).toMatch(new RegExp(`^Wrote the trace of ${processes.length} processes \\(\\d+ lanes?\\) to ${out}: open it in `))
    trace = JSON.parse(readFileSync(out, 'utf8'))
    slices = trace.traceEvents.filter((e) => e.ph === 'X')
  })

  test('valid trace-event JSON: one complete slice per process, argv in its args', () => {
    expect(trace.displayTimeUnit).toBe('ms')
    expect(slices).toHaveLength(processes.length)
    for (const s of slices) {
      expect(typeof s.ts).toBe('number')
      expect(s.dur).toBeGreaterThanOrEqual(0)
      expect(s.pid).toBe(1)
    }
    const ld = slices.find((s) => /-ld(\.bfd)?$/.test(String(s.args?.program)) && (s.args?.argv as string[]).includes('src/hello.o'))
    expect(ld?.args).toMatchObject({argv: expect.arrayContaining(['-o', 'hello']), cwd: hello, exitCode: 0})
  })

  test('slices nest in every lane, and the root slice spans the run, every other slice within it', () => {
    expectLanesNest(trace.traceEvents)
    const root = slices.find((s) => s.args?.pid === processes.find((p) => p.parent === null)!.pid)!
    expect(root.tid).toBe(1)
    expect(root.dur).toBe(report.trace!.durationUs)
    for (const s of slices) {
      expect(s.ts!).toBeGreaterThanOrEqual(root.ts!)
      expect(s.ts! + s.dur!).toBeLessThanOrEqual(root.ts! + root.dur!)
    }
    // Lanes are named for the viewer.
    const lanes = new Set(slices.map((s) => s.tid))
    const named = trace.traceEvents.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => e.tid)
    expect(new Set(named)).toEqual(lanes)
  })
})

describe('reading a run needs only its folder', () => {
  test('with env.json gone, the report is the same; a run is found by the start of its id', async () => {
    rmSync(join(catbox.home, 'envs', 'hello', 'env.json'))
    const id = report.run.id
    const r = await catbox(['report', 'hello', id.slice(0, 12), '--json'])
    expect(r).toMatchObject({exitCode: 0, stderr: ''})
    const again = json(r.stdout)
    expect(again.run.id).toBe(id)
    expect(again.trace.processes).toHaveLength(processes.length)
  })
})
