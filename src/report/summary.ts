// `catbox report NAME [RUN]`: one run's record and operation log, summed up
// for people (text) and for scripts (--json). Everything comes from the run's
// own directory: report.json and the event log next to it.
import {existsSync} from 'node:fs'
import {join} from 'node:path'

import type {RunRecord} from '../run/record.js'
import type {TraceMode} from '../run/types.js'
import {newReadStats, readEvents, type ReadStats} from './events.js'
import {buildModel, duration, lastExec, type RunModel} from './model.js'
import {commandLine, formatDuration, renderSteps, renderTree, signalName, slowestSteps, type TreeOptions} from './tree.js'
import {groupViolationLog, groupViolations, renderViolationGroups, type ViolationGroup} from './violations.js'

/** The fields of report.json a report uses (docs/run-record.md); any run record has them. */
export type RunInfo = Pick<
  RunRecord,
  'id' | 'environment' | 'command' | 'cwd' | 'status' | 'start' | 'end' | 'durationMs' | 'exitCode' | 'signal' | 'violations' | 'error' | 'trace'
> &
  Partial<Pick<RunRecord, 'violationCount' | 'violationLog'>>

export interface ProcessJson {
  /** Index in processes; parent refers to it. */
  id: number
  parent: number | null
  pid: number
  ppid: number
  argv: string[] | null
  program: string | null
  cwd: string | null
  /** µs since the run started. */
  startUs: number
  endUs: number | null
  durationUs: number
  exitCode: number | null
  signal: number | null
  filesRead: number
  filesWritten: number
  failedLookups: number
}

/** What `catbox report --json` prints. */
export interface Summary {
  run: RunInfo
  violations: {count: number; byDirectory: ViolationGroup[]}
  /** null when the run was not traced. */
  trace: null | {
    modes: TraceMode[]
    eventLog: string
    log: ReadStats
    durationUs: number
    processes: ProcessJson[]
    slowest: Array<{id: number; argv: string[] | null; ownUs: number; totalUs: number}>
    /** Distinct paths; null for what was not traced. */
    files: null | {read: number; written: number; failedLookups: number; deniedWrites: number}
  }
}

export interface Loaded {
  summary: Summary
  /** The model, for --deps and --trace-file; null when the run was not traced. */
  model: RunModel | null
}

/** The event log of a run directory: the record's name for it, else the default name if present. */
export function eventLogOf(runDir: string, run: RunInfo): string | null {
  const name = run.trace?.eventLog ?? 'events.jsonl'
  const file = join(runDir, name)
  return existsSync(file) ? file : null
}

/** Read a run's log (streamed) and sum it up with its record. */
export async function loadRun(runDir: string, run: RunInfo, steps = 10): Promise<Loaded> {
  // Every violation is in the run's violation log; the record keeps only the first ones.
  const violationLog = run.violationLog ? join(runDir, run.violationLog) : null
  const violations =
    violationLog && existsSync(violationLog)
      ? await groupViolationLog(violationLog)
      : {count: run.violationCount ?? run.violations.length, byDirectory: groupViolations(run.violations)}
  const logFile = eventLogOf(runDir, run)
  if (!logFile) return {summary: {run, violations, trace: null}, model: null}
  const stats = newReadStats()
  const model = await buildModel(readEvents(logFile, stats))
  const modes = run.trace?.modes ?? inferModes(model)
  const files =
    modes.includes('read') || modes.includes('write')
      ? {
          read: model.filesRead.size,
          written: model.filesWritten.size,
          failedLookups: model.failedLookups.size,
          deniedWrites: model.deniedWrites.size,
        }
      : null
  const processes = model.processes.map((p): ProcessJson => {
    const exec = lastExec(p)
    return {
      id: p.id,
      parent: p.parent,
      pid: p.pid,
      ppid: p.ppid,
      argv: exec?.argv ?? null,
      program: exec?.path ?? null,
      cwd: exec?.cwd ?? null,
      startUs: p.start,
      endUs: p.end,
      durationUs: duration(model, p),
      exitCode: p.exitCode,
      signal: p.signal,
      filesRead: p.reads,
      filesWritten: p.writes,
      failedLookups: p.failedLookups,
    }
  })
  const slowest = slowestSteps(model, steps).map((s) => ({
    id: s.process.id,
    argv: lastExec(s.process)?.argv ?? null,
    ownUs: s.own,
    totalUs: s.total,
  }))
  return {
    summary: {
      run,
      violations,
      trace: {
        modes,
        eventLog: logFile,
        log: stats,
        durationUs: model.end - model.start,
        processes,
        slowest,
        files,
      },
    },
    model,
  }
}

/** A log without a record of its modes (written by hand, or an older record): what its lines show. */
function inferModes(model: RunModel): TraceMode[] {
  const modes: TraceMode[] = []
  if (model.counts.procs + model.counts.execs > 0) modes.push('exec')
  if (model.counts.reads > 0) modes.push('read')
  if (model.counts.writes > 0) modes.push('write')
  return modes
}

export interface TextOptions extends TreeOptions {
  steps?: number
}

/** The readable summary, line by line. */
export function renderSummary({summary, model}: Loaded, options: TextOptions = {}): string[] {
  const {run, violations, trace} = summary
  const out: string[] = []
  const field = (name: string, value: string) => out.push(`  ${name.padEnd(9)} ${value}`)
  out.push(`Run ${run.id} in environment ${run.environment}`)
  field('command', commandLine(run.command))
  field('cwd', run.cwd)
  field('started', run.start)
  field('duration', run.durationMs === null ? '(still running)' : formatDuration(run.durationMs * 1000))
  field('result', resultText(run))
  field('trace', trace ? `${trace.modes.join(', ') || 'nothing'} (${trace.eventLog})` : 'not recorded (catbox exec NAME --trace ... records one)')
  if (trace && (trace.log.skipped > 0 || trace.log.tornTail)) {
    const problems = [
      trace.log.skipped > 0 ? `${trace.log.skipped} unreadable line${trace.log.skipped === 1 ? '' : 's'} skipped` : '',
      trace.log.tornTail ? 'the last line was cut short (catbox ended while writing it)' : '',
    ].filter(Boolean)
    field('', `note: ${problems.join('; ')}`)
  }

  out.push('')
  if (violations.count === 0) out.push('Violations: none')
  else {
    const dirs = violations.byDirectory.length
    out.push(`Violations: ${violations.count} in ${dirs} director${dirs === 1 ? 'y' : 'ies'}`)
    for (const line of renderViolationGroups(violations.byDirectory)) out.push(`  ${line}`)
  }

  if (!trace || !model) return out
  out.push('')
  if (model.processes.length === 0) {
    out.push('Processes: none recorded (the log has no exec events: trace with exec to get the process tree)')
  } else {
    const programs = new Set(model.processes.flatMap((p) => p.execs.map((e) => e.path))).size
    out.push(`Processes: ${model.processes.length} running ${programs} distinct programs, over ${formatDuration(trace.durationUs)}`)
    for (const line of renderTree(model, options)) out.push(`  ${line}`)
    const steps = slowestSteps(model, options.steps ?? 10)
    out.push('')
    out.push('Slowest steps (own time: children excluded):')
    for (const line of renderSteps(model, steps, options.width)) out.push(`  ${line}`)
  }
  out.push('')
  if (trace.files) {
    const f = trace.files
    const read = trace.modes.includes('read') ? `${f.read} read, ${f.failedLookups} failed lookups` : 'reads not traced'
    const written = trace.modes.includes('write') ? `${f.written} written${f.deniedWrites ? `, ${f.deniedWrites} denied` : ''}` : 'writes not traced'
    out.push(`Files (distinct paths): ${read}; ${written}`)
  } else {
    out.push('Files: not traced (catbox exec NAME --trace=all records reads and writes)')
  }
  return out
}

function resultText(run: RunInfo): string {
  switch (run.status) {
    case 'running':
      return 'still running'
    case 'failed':
      return `did not start: ${firstLine(run.error)}`
    case 'interrupted':
      return `interrupted: ${firstLine(run.error)}`
  }
  if (run.signal !== null) return `killed by ${signalName(run.signal)} (exit status ${run.exitCode})`
  return `exit ${run.exitCode}`
}

const firstLine = (text: string | null): string => (text ?? '').split('\n')[0].replace(/^catbox: /, '')
