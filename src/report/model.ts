// The run as a process tree, built from the operation log in one pass.
// Memory grows with the number of processes and of distinct paths, not with
// the number of log lines.
import type {LogEvent} from './events.js'

export interface ExecInfo {
  /** µs since the start of the run. */
  ts: number
  /** The program, as a canonical path. */
  path: string
  argv: string[]
  cwd: string
}

export interface ProcessInfo {
  /** Index in RunModel.processes (pids can be reused within a long run; ids cannot). */
  id: number
  pid: number
  /** The parent's pid as the kernel gave it (catbox's own pid for the first process). */
  ppid: number
  /** The parent's id, or null for a root. */
  parent: number | null
  children: number[]
  /** µs since the start of the run. */
  start: number
  /** µs; null when the log has no exit for it (still running when the run ended, or a thread-only log). */
  end: number | null
  exitCode: number | null
  signal: number | null
  /** Every program the process ran, in order; empty for a fork that never exec'd. */
  execs: ExecInfo[]
  /** Log lines of each kind for this process (distinct paths per program, as native de-duplicates). */
  reads: number
  writes: number
  failedLookups: number
}

export interface RunModel {
  /** Wall clock (unix ms) at ts 0, from the log's start line; null when it has none. */
  startTime: number | null
  processes: ProcessInfo[]
  /** Processes without a known parent: normally one, the command catbox ran. */
  roots: number[]
  /** µs: when the first root started, and when it ended (or the last event, if the log has no exit for it). */
  start: number
  end: number
  /** µs: the last timestamp in the log. */
  lastTs: number
  /** Distinct paths read successfully -> id of the first process that read (or exec'd) it; -1 when none is known. */
  filesRead: Map<string, number>
  /** Distinct paths written (ok) -> id of the first process, as above. */
  filesWritten: Map<string, number>
  /** Distinct paths looked up and not found. */
  failedLookups: Set<string>
  /** Distinct paths whose write was denied. */
  deniedWrites: Set<string>
  /** Lines of each kind. */
  counts: {procs: number; execs: number; exits: number; reads: number; writes: number}
}

/** Collects events into a RunModel; feed it every event in log order, then call finish(). */
export class ModelBuilder {
  private readonly model: RunModel = {
    startTime: null,
    processes: [],
    roots: [],
    start: 0,
    end: 0,
    lastTs: 0,
    filesRead: new Map(),
    filesWritten: new Map(),
    failedLookups: new Set(),
    deniedWrites: new Set(),
    counts: {procs: 0, execs: 0, exits: 0, reads: 0, writes: 0},
  }
  /** pid -> id of the process that has it now. */
  private readonly current = new Map<number, number>()

  add(event: LogEvent): void {
    const m = this.model
    if (event.ts > m.lastTs) m.lastTs = event.ts
    switch (event.t) {
      case 'start':
        m.startTime = event.time - event.ts / 1000
        break
      case 'proc':
        m.counts.procs++
        this.newProcess(event.pid, event.ppid, event.ts)
        break
      case 'exec': {
        m.counts.execs++
        const p = this.processOf(event.pid, event.ts)
        p.execs.push({ts: event.ts, path: event.path, argv: event.argv, cwd: event.cwd})
        if (!m.filesRead.has(event.path)) m.filesRead.set(event.path, p.id)
        break
      }
      case 'exit': {
        m.counts.exits++
        const p = this.processOf(event.pid, event.ts)
        p.end = event.ts
        p.exitCode = event.code ?? null
        p.signal = event.signal ?? null
        break
      }
      case 'read': {
        m.counts.reads++
        const id = this.current.get(event.pid) ?? -1
        const p = m.processes[id]
        if (event.ok) {
          if (p) p.reads++
          if (!m.filesRead.has(event.path)) m.filesRead.set(event.path, id)
        } else {
          if (p) p.failedLookups++
          m.failedLookups.add(event.path)
        }
        break
      }
      case 'write': {
        m.counts.writes++
        const id = this.current.get(event.pid) ?? -1
        const p = m.processes[id]
        if (event.ok) {
          if (p) p.writes++
          if (!m.filesWritten.has(event.path)) m.filesWritten.set(event.path, id)
        } else {
          m.deniedWrites.add(event.path)
        }
        break
      }
    }
  }

  finish(): RunModel {
    const m = this.model
    const first = m.roots.length > 0 ? m.processes[m.roots[0]] : undefined
    m.start = first?.start ?? 0
    m.end = first?.end ?? m.lastTs
    return m
  }

  private newProcess(pid: number, ppid: number, ts: number): ProcessInfo {
    const m = this.model
    const parentId = this.current.get(ppid)
    const p: ProcessInfo = {
      id: m.processes.length,
      pid,
      ppid,
      parent: parentId ?? null,
      children: [],
      start: ts,
      end: null,
      exitCode: null,
      signal: null,
      execs: [],
      reads: 0,
      writes: 0,
      failedLookups: 0,
    }
    m.processes.push(p)
    if (parentId === undefined) m.roots.push(p.id)
    else m.processes[parentId].children.push(p.id)
    this.current.set(pid, p.id)
    return p
  }

  /** The process that has pid now; one made up (parent unknown) when the log did not announce it. */
  private processOf(pid: number, ts: number): ProcessInfo {
    const id = this.current.get(pid)
    return id === undefined ? this.newProcess(pid, -1, ts) : this.model.processes[id]
  }
}

/** A model from events (an array or the stream readEvents gives). */
export async function buildModel(events: AsyncIterable<LogEvent> | Iterable<LogEvent>): Promise<RunModel> {
  const builder = new ModelBuilder()
  for await (const event of events) builder.add(event)
  return builder.finish()
}

/** µs the process lived; one that never ended lasts to the end of the run. */
export function duration(model: RunModel, p: ProcessInfo): number {
  return Math.max(0, (p.end ?? Math.max(model.end, model.lastTs)) - p.start)
}

/** µs of p's life not covered by any of its children: what it spent itself (or waiting on nothing traced). */
export function ownTime(model: RunModel, p: ProcessInfo): number {
  const end = p.start + duration(model, p)
  const spans = p.children
    .map((id) => model.processes[id])
    .map((c) => [Math.max(c.start, p.start), Math.min(c.start + duration(model, c), end)] as const)
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0])
  let covered = 0
  let reach = p.start
  for (const [a, b] of spans) {
    if (b <= reach) continue
    covered += b - Math.max(a, reach)
    reach = b
  }
  return end - p.start - covered
}

/** The argv a process is best known by: its last exec's. A fork that never exec'd has none. */
export const lastExec = (p: ProcessInfo): ExecInfo | undefined => p.execs.at(-1)

/** A short name: the last exec's argv[0] without its directory; "(fork of NAME)" for a fork without exec. */
export function programName(model: RunModel, p: ProcessInfo): string {
  const exec = lastExec(p)
  if (exec) return basename(exec.argv[0] || exec.path)
  for (let q = p.parent; q !== null; q = model.processes[q].parent) {
    const up = lastExec(model.processes[q])
    if (up) return `(fork of ${basename(up.argv[0] || up.path)})`
  }
  return `(pid ${p.pid})`
}

const basename = (path: string): string => path.slice(path.lastIndexOf('/') + 1) || path
