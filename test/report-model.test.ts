// The operation log as a model, a tree for people and a trace for viewers:
// pure logic, on hand-written logs.
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {newReadStats, parseLine, readEvents, type LogEvent} from '../src/report/events.js'
import {buildModel, duration, ownTime, programName, type RunModel} from '../src/report/model.js'
import {assignLanes, chromeTrace, writeChromeTrace, type TraceEvent} from '../src/report/trace.js'
import {commandLine, formatDuration, renderTree, slowestSteps} from '../src/report/tree.js'
import {groupViolations, NETWORK_GROUP} from '../src/report/violations.js'
import type {Violation} from '../src/run/types.js'
import {expectLanesNest} from './helpers/trace.js'

const T = mkdtempSync(join(tmpdir(), 'catbox-report-'))
afterAll(() => rmSync(T, {recursive: true, force: true}))

/** A log builder: proc/exec/exit lines in time order, as native writes them. */
class Log {
  readonly events: LogEvent[] = [{t: 'start', ts: 0, time: 1_700_000_000_000, pid: 100}]
  proc(ts: number, pid: number, ppid: number, argv?: string[]): this {
    this.events.push({t: 'proc', ts, pid, ppid})
    if (argv) this.exec(ts, pid, argv)
    return this
  }
  exec(ts: number, pid: number, argv: string[], cwd = '/build'): this {
    this.events.push({t: 'exec', ts, pid, path: `/usr/bin/${argv[0]}`, argv, cwd})
    return this
  }
  exit(ts: number, pid: number, code = 0): this {
    this.events.push({t: 'exit', ts, pid, code})
    return this
  }
  kill(ts: number, pid: number, signal: number): this {
    this.events.push({t: 'exit', ts, pid, signal})
    return this
  }
  read(ts: number, pid: number, path: string, ok = true): this {
    this.events.push({t: 'read', ts, pid, op: 'openat', path, ok})
    return this
  }
  write(ts: number, pid: number, path: string, ok = true): this {
    this.events.push({t: 'write', ts, pid, op: 'openat', path, ok})
    return this
  }
  model(): Promise<RunModel> {
    return buildModel([...this.events].sort((a, b) => a.ts - b.ts))
  }
}

/** make -> (cc -> cc1, as), (cc -> cc1, as), ld; in seconds as µs. */
function buildLog(): Log {
  const s = 1_000_000
  return new Log()
    .proc(0, 100, 99, ['make', '-j2'])
    .proc(1 * s, 101, 100, ['cc', '-c', 'a.c'])
    .proc(1.1 * s, 102, 101, ['cc1', 'a.c'])
    .exit(3 * s, 102)
    .proc(3 * s, 103, 101, ['as', 'a.s'])
    .exit(3.5 * s, 103)
    .exit(3.6 * s, 101)
    .proc(1.2 * s, 104, 100, ['cc', '-c', 'b.c'])
    .proc(1.3 * s, 105, 104, ['cc1', 'b.c'])
    .exit(2 * s, 105)
    .exit(2.1 * s, 104)
    .proc(4 * s, 106, 100, ['ld', '-o', 'prog', 'a.o', 'b.o'])
    .exit(5 * s, 106, 1)
    .exit(5.5 * s, 100, 2)
}

describe('reading the log', () => {
  test('a well-formed line becomes an event; garbage and wrong shapes do not', () => {
    expect(parseLine('{"t":"proc","ts":5,"pid":2,"ppid":1}')).toEqual({t: 'proc', ts: 5, pid: 2, ppid: 1})
    expect(parseLine('{"t":"proc","ts":5,"pid":"2","ppid":1}')).toBeNull()
    expect(parseLine('{"t":"exit","ts":5,"pid":2}')).toBeNull()
    expect(parseLine('[1,2]')).toBeNull()
    expect(parseLine('{"t":"read","ts":1,"pid":2,"op":"open')).toBeNull()
    expect(parseLine('{"t":"mmap","ts":1}')).toBe('unknown')
  })

  test('a torn last line is noted, a bad line in the middle is skipped, the rest is read', async () => {
    const file = join(T, 'torn.jsonl')
    writeFileSync(
      file,
      [
        '{"t":"start","ts":0,"time":1,"pid":7}',
        '{"t":"proc","ts":1,"pid":7,"ppid":1}',
        'not json',
        '{"t":"future","ts":2}',
        '{"t":"exit","ts":3,"pid":7,"code":0}',
        '{"t":"read","ts":4,"pid":7,"op":"op',
      ].join('\n'),
    )
    const stats = newReadStats()
    const events: LogEvent[] = []
    for await (const e of readEvents(file, stats)) events.push(e)
    expect(events.map((e) => e.t)).toEqual(['start', 'proc', 'exit'])
    expect(stats).toEqual({events: 3, skipped: 1, unknown: 1, tornTail: true})
  })

  test('a path with bytes that are not UTF-8 keeps the rest of its line', async () => {
    const file = join(T, 'bytes.jsonl')
    const line = (path: Buffer) =>
      Buffer.concat([Buffer.from('{"t":"read","ts":1,"pid":7,"op":"openat","path":"'), path, Buffer.from('","ok":true}\n')])
    writeFileSync(file, Buffer.concat([line(Buffer.from([0x2f, 0x61, 0xff, 0x62])), line(Buffer.from('/ok'))]))
    const paths: string[] = []
    for await (const e of readEvents(file)) if (e.t === 'read') paths.push(e.path)
    expect(paths).toEqual(['/a\ufffdb', '/ok'])
  })
})

describe('the model', () => {
  test('processes nest by parent, with times, exits and signals', async () => {
    const m = await buildLog().model()
    const byPid = (pid: number) => m.processes.find((p) => p.pid === pid)!
    expect(m.roots).toEqual([byPid(100).id])
    expect(byPid(100).children.map((id) => m.processes[id].pid)).toEqual([101, 104, 106])
    expect(byPid(101).children.map((id) => m.processes[id].pid)).toEqual([102, 103])
    expect(byPid(106)).toMatchObject({start: 4_000_000, end: 5_000_000, exitCode: 1, signal: null})
    expect(m.start).toBe(0)
    expect(m.end).toBe(5_500_000)
    expect(m.startTime).toBe(1_700_000_000_000)
  })

  test('a reused pid is a new process; a killed one has its signal', async () => {
    const m = await new Log()
      .proc(0, 10, 1, ['sh'])
      .proc(1, 11, 10, ['true'])
      .exit(2, 11)
      .proc(3, 11, 10, ['sleep', '9'])
      .kill(4, 11, 9)
      .exit(5, 10)
      .model()
    expect(m.processes.map((p) => [p.pid, programName(m, p), p.exitCode, p.signal])).toEqual([
      [10, 'sh', 0, null],
      [11, 'true', 0, null],
      [11, 'sleep', null, 9],
    ])
  })

  test('a fork that never exec\'d is named after the program it is a copy of', async () => {
    const m = await new Log().proc(0, 10, 1, ['sh', '-c', 'x']).proc(1, 11, 10).proc(2, 12, 11).exit(3, 12).exit(4, 11).exit(5, 10).model()
    expect(programName(m, m.processes[2])).toBe('(fork of sh)')
  })

  test('reads and writes count per process and as distinct paths; failed lookups and denials apart', async () => {
    const m = await new Log()
      .proc(0, 10, 1, ['cc'])
      .read(1, 10, '/usr/include/stdio.h')
      .read(2, 10, '/usr/local/include/foo.h', false)
      .read(3, 10, '/usr/include/foo.h', false)
      .proc(4, 11, 10, ['cc1'])
      .read(5, 11, '/usr/include/stdio.h')
      .write(6, 11, '/build/a.o')
      .write(7, 11, '/etc/passwd', false)
      .exit(8, 11)
      .exit(9, 10)
      .model()
    expect(m.processes.map((p) => [p.reads, p.writes, p.failedLookups])).toEqual([
      [1, 0, 2],
      [1, 1, 0],
    ])
    // Programs run count as files read: their package is a dependency too.
    expect([...m.filesRead.keys()]).toEqual(['/usr/bin/cc', '/usr/include/stdio.h', '/usr/bin/cc1'])
    expect([...m.filesWritten.keys()]).toEqual(['/build/a.o'])
    expect([...m.failedLookups]).toEqual(['/usr/local/include/foo.h', '/usr/include/foo.h'])
    expect([...m.deniedWrites]).toEqual(['/etc/passwd'])
  })

  test('a process without an exit lasts to the end of the run', async () => {
    const m = await new Log().proc(0, 10, 1, ['sh']).proc(10, 11, 10, ['daemon']).exit(50, 10).read(60, 11, '/x').model()
    expect(m.end).toBe(50)
    expect(duration(m, m.processes[1])).toBe(50)
  })

  test('own time leaves out the time children ran, overlapping children counted once', async () => {
    const m = await buildLog().model()
    const make = m.processes[0]
    // make lives 5.5 s; children cover [1, 3.6] ∪ [1.2, 2.1] ∪ [4, 5] = 3.6 s.
    expect(ownTime(m, make)).toBe(1_900_000)
    const ld = m.processes.find((p) => p.pid === 106)!
    expect(ownTime(m, ld)).toBe(1_000_000)
    expect(slowestSteps(m, 2).map((s) => programName(m, s.process))).toEqual(['make', 'cc1'])
  })
})

describe('the tree for people', () => {
  test('one line a process, nested, with durations and how it ended', async () => {
    const lines = renderTree(await buildLog().model())
    expect(lines).toEqual([
      'make -j2   5.50 s, exit 2',
      '├─ cc -c a.c   2.60 s',
      '│  ├─ cc1 a.c   1.90 s',
      '│  └─ as a.s   500 ms',
      '├─ cc -c b.c   900 ms',
      '│  └─ cc1 b.c   700 ms',
      '└─ ld -o prog a.o b.o   1.00 s, exit 1',
    ])
  })

  test('many children: the slowest are shown in start order, the rest summed up by program', async () => {
    const log = new Log().proc(0, 10, 1, ['make'])
    for (let i = 0; i < 40; i++) {
      const pid = 100 + i
      log.proc(i * 1000, pid, 10, [i % 4 === 0 ? 'sh' : 'cc', `f${i}.c`]).exit(i * 1000 + (i === 7 ? 900 : 10 + i), pid)
    }
    log.exit(50_000, 10)
    const lines = renderTree(await log.model(), {maxChildren: 4})
    expect(lines).toHaveLength(5)
    // The three slowest: f7 (900 µs), f39, f38.
    expect(lines.slice(1, 4).map((l) => l.split('   ')[0])).toEqual(['├─ cc f7.c', '├─ cc f38.c', '├─ cc f39.c'])
    expect(lines[4]).toMatch(/^└─ … 37 more: cc ×27, sh ×10 \(37 processes, [\d.]+ ms summed\)$/)
  })

  test('past the depth limit a subtree is one line', async () => {
    const log = new Log()
    for (let i = 0; i < 6; i++) log.proc(i, 10 + i, 9 + i, ['sh', `${i}`])
    for (let i = 5; i >= 0; i--) log.exit(20 - i, 10 + i)
    const lines = renderTree(await log.model(), {maxDepth: 2})
    expect(lines).toEqual(['sh 0   0.02 ms', '└─ sh 1   0.02 ms', '   └─ … sh ×4 (4 processes, 0.05 ms summed)'])
  })

  test('command lines are quoted like a shell and cut to the width', () => {
    expect(commandLine(['sh', '-c', "echo 'hi' && make", ''])).toBe(`sh -c 'echo '\\''hi'\\'' && make' ''`)
    expect(commandLine(['gcc', '-DVERSION="2.10"', '-o', 'hello'], 16)).toBe(`gcc '-DVERSION=…`)
    // A newline would break the tree's lines: such words are written as $'...'.
    expect(commandLine(['sed', "s/a/b/\n's/\\/x/\t\x01"])).toBe(`sed $'s/a/b/\\n\\'s/\\\\/x/\\t\\x01'`)
  })

  test('durations are readable at every scale', () => {
    expect([12, 4_200, 42_000, 1_234_567, 12_345_678, 125_000_000].map(formatDuration)).toEqual([
      '0.01 ms',
      '4.2 ms',
      '42 ms',
      '1.23 s',
      '12.3 s',
      '2 min 5 s',
    ])
  })
})

describe('the trace for viewers', () => {
  test('the nesting check itself fails on two overlapping slices in one lane', () => {
    const slice = (ts: number): TraceEvent => ({name: 'x', ph: 'X', pid: 1, tid: 1, ts, dur: 10})
    expect(() => expectLanesNest([slice(0), slice(5)])).toThrow()
    expect(() => expectLanesNest([slice(0), {...slice(5), tid: 2}])).not.toThrow()
  })

  test('a child shares its parent\'s lane unless a sibling is still open there', async () => {
    const m = await buildLog().model()
    const lanes = assignLanes(m)
    const lane = (pid: number) => lanes[m.processes.find((p) => p.pid === pid)!.id]
    // make, the first cc and its children in lane 0; the second cc overlaps the first: lane 1.
    expect([100, 101, 102, 103, 106].map(lane)).toEqual([0, 0, 0, 0, 0])
    expect([104, 105].map(lane)).toEqual([1, 1])
  })

  test('a child that outlives its parent cannot nest in it and goes to a free lane', async () => {
    const m = await new Log().proc(0, 10, 1, ['sh']).proc(1, 11, 10, ['sh']).proc(2, 12, 11, ['daemon']).exit(3, 11).exit(10, 12).exit(20, 10).model()
    expect(assignLanes(m)).toEqual([0, 0, 1])
    expectLanesNest(chromeTrace(m, 't').traceEvents)
  })

  test('a random parallel build: lanes always nest, the root slice covers the run', async () => {
    let seed = 42
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n)
    const log = new Log().proc(0, 1000, 1, ['make'])
    const open: Array<{pid: number; end: number}> = [{pid: 1000, end: 1_000_000}]
    let pid = 1001
    const events: Array<[number, () => void]> = []
    for (let i = 0; i < 300; i++) {
      const parent = open[rand(open.length)]
      const start = parent.end - 1 - rand(Math.max(1, Math.floor(parent.end / 4)))
      const end = Math.min(parent.end, start + 1 + rand(50_000))
      const p = pid++
      const ppid = parent.pid
      events.push([start, () => log.proc(start, p, ppid, [rand(3) ? 'cc' : 'sh', `${p}`])], [end, () => log.exit(end, p)])
      open.push({pid: p, end})
    }
    // Parents are announced before children: order by time, then by pid at equal times.
    events.sort((a, b) => a[0] - b[0])
    for (const [, add] of events) add()
    log.exit(1_000_000, 1000)
    const m = await log.model()
    const trace = chromeTrace(m, 'random')
    expectLanesNest(trace.traceEvents)
    const root = trace.traceEvents.find((e) => e.ph === 'X' && (e.args as {pid: number}).pid === 1000)!
    expect(root.ts! + root.dur!).toBe(m.end)
    expect(root.dur).toBe(m.end - m.start)
    expect(new Set(trace.traceEvents.filter((e) => e.ph === 'X').map((e) => e.tid)).size).toBeGreaterThan(1)
  })

  test('the file is trace-event JSON: one X slice per process with argv, lanes named', async () => {
    const m = await buildLog().model()
    const file = join(T, 'trace.json')
    writeChromeTrace(file, m, 'catbox make', {run: 'r1'})
    const trace = JSON.parse(readFileSync(file, 'utf8'))
    expect(trace).toMatchObject({displayTimeUnit: 'ms', otherData: {run: 'r1'}})
    const slices = trace.traceEvents.filter((e: TraceEvent) => e.ph === 'X')
    expect(slices).toHaveLength(m.processes.length)
    expect(slices.find((s: TraceEvent) => s.name === 'ld')).toMatchObject({
      cat: 'process',
      ts: 4_000_000,
      dur: 1_000_000,
      args: {pid: 106, ppid: 100, argv: ['ld', '-o', 'prog', 'a.o', 'b.o'], cwd: '/build', exitCode: 1, status: 'exit 1'},
    })
    const names = trace.traceEvents.filter((e: TraceEvent) => e.name === 'thread_name').map((e: TraceEvent) => e.args?.name)
    expect(names).toEqual(['build', 'parallel 1'])
    expect(chromeTrace(m, 'catbox make', {run: 'r1'})).toEqual(trace)
  })
})

describe('violations by directory', () => {
  const v = (operation: string, canonical: string, program = 'sh', path = canonical): Violation => ({
    operation,
    path,
    canonical,
    pid: 1,
    program,
    denied: true,
    error: 'EACCES',
  })

  test('grouped by the canonical path\'s directory, the biggest group first; addresses apart', () => {
    const groups = groupViolations([
      v('openat', '/etc/a'),
      v('unlinkat', '/usr/share/doc/x/1', 'rm'),
      v('openat', '/usr/share/doc/x/2', 'install'),
      v('openat', '/usr/share/doc/x/2', 'install'),
      v('connect', '', 'curl', '1.2.3.4:443'),
    ])
    expect(groups.map((g) => [g.directory, g.count, g.paths, g.programs])).toEqual([
      ['/usr/share/doc/x', 3, 2, ['rm', 'install']],
      [NETWORK_GROUP, 1, 1, ['curl']],
      ['/etc', 1, 1, ['sh']],
    ])
    expect(groups[0].operations).toEqual({unlinkat: 1, openat: 2})
    expect(groups[0].examples).toEqual(['/usr/share/doc/x/1', '/usr/share/doc/x/2'])
  })
})
