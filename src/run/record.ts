// Run records: envs/NAME/runs/ID/report.json, one per run in an environment
// (schema: docs/run-record.md). Written when the run starts, with status
// "running", and replaced atomically by the final record when it ends. A
// record still "running" whose catbox process is gone reads back as
// "interrupted": catbox was killed before it could finish the record.
import {closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeSync} from 'node:fs'
import {join} from 'node:path'

import {CatboxError, errors} from '../lib/errors.js'
import {pidAlive, randomSuffix, writeJsonAtomic} from '../lib/fsutil.js'
import {VIOLATION_SAMPLE} from './types.js'
import type {RunResult, TraceMode, Violation} from './types.js'

/** Every violation of a run, one JSON object a line, in the run's directory. */
export const VIOLATION_LOG = 'violations.jsonl'
/** What the violation log gathers before it writes (a write per violation would cost a system call each). */
const VIOLATION_BUFFER = 64 * 1024

export const RECORD_SCHEMA_VERSION = 1

export type RunStatus = 'running' | 'finished' | 'failed' | 'interrupted'

export interface RunRecord {
  schemaVersion: typeof RECORD_SCHEMA_VERSION
  /** The run's directory name: start time (UTC, sortable) and a random suffix. */
  id: string
  environment: string
  /** The command and its arguments as run. */
  command: string[]
  /** Its working directory. */
  cwd: string
  /** The catbox process that ran it. */
  catboxPid: number
  status: RunStatus
  /** ISO 8601. */
  start: string
  /** ISO 8601; null while running. */
  end: string | null
  durationMs: number | null
  /** The command's exit status (128+N for signal N); for "failed", catbox's status (127 not found...). */
  exitCode: number | null
  signal: number | null
  /** The first VIOLATION_SAMPLE (1000) violations; all of them are in violationLog. */
  violations: Violation[]
  /** How many violations in all. Absent in records of an older catbox: then violations has them all. */
  violationCount?: number
  /** The file with every violation, relative to the run directory ("violations.jsonl"); absent or null: none. */
  violationLog?: string | null
  /** Why it failed to start ("failed"), or what ended catbox ("interrupted"); else null. */
  error: string | null
  /** The operation log (docs/operation-log.md): what it records, and its file in the run directory. Absent or null: not traced. */
  trace?: RunTrace | null
}

export interface RunTrace {
  modes: TraceMode[]
  /** The log's file name, relative to the run directory: "events.jsonl". */
  eventLog: string
}

export const recordFile = (runDir: string): string => join(runDir, 'report.json')

/** The record of one run, kept up to date on disk. */
export class RunRecorder {
  private startedAt = performance.now()
  private record: RunRecord
  private sample: Violation[] = []
  private count = 0
  private log: number | null = null
  private pending = ''

  private constructor(
    readonly dir: string,
    record: RunRecord,
  ) {
    this.record = record
  }

  /**
   * Make runs/ID for a run in the environment; start() writes its first
   * record. (The directory comes first so the run can keep files in it, such
   * as a shell's rc file, that its command line names.)
   */
  static create(runsDir: string, environment: string): RunRecorder {
    const start = new Date()
    const stamp = start.toISOString().replace(/[-:.]/g, '')
    for (;;) {
      const id = `${stamp}-${randomSuffix()}`
      const dir = join(runsDir, id)
      try {
        mkdirSync(runsDir, {recursive: true})
        mkdirSync(dir)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue
        throw errors.storeFailed(dir, error)
      }
      return new RunRecorder(dir, {
        schemaVersion: RECORD_SCHEMA_VERSION,
        id,
        environment,
        command: [],
        cwd: '',
        catboxPid: process.pid,
        status: 'running',
        start: start.toISOString(),
        end: null,
        durationMs: null,
        exitCode: null,
        signal: null,
        violations: [],
        error: null,
      })
    }
  }

  /** Write the "running" record: the command is about to run. */
  start(run: {command: string[]; cwd: string; trace?: RunTrace}): void {
    this.record = {
      ...this.record,
      command: [...run.command],
      cwd: run.cwd,
      start: new Date().toISOString(),
      ...(run.trace ? {trace: {modes: [...run.trace.modes], eventLog: run.trace.eventLog}} : {}),
    }
    this.startedAt = performance.now()
    this.write()
  }

  get id(): string {
    return this.record.id
  }

  /**
   * One violation, as it happens: appended to the violation log (buffered),
   * and kept in memory only while it is among the first VIOLATION_SAMPLE.
   */
  violation(v: Violation): void {
    this.count++
    if (this.sample.length < VIOLATION_SAMPLE) this.sample.push(v)
    this.pending += `${JSON.stringify(v)}\n`
    if (this.pending.length >= VIOLATION_BUFFER) this.flush()
  }

  /** The command ran to its end. */
  finish(result: RunResult): RunRecord {
    return this.end({status: 'finished', exitCode: result.exitCode, signal: result.signal})
  }

  /** The command could not be run (not found, bad rule...). */
  fail(error: CatboxError): RunRecord {
    return this.end({status: 'failed', exitCode: error.exitCode, error: error.message})
  }

  /** catbox is being ended before the command: keep what is known (synchronous: it runs in a signal handler). */
  interrupt(reason: string): RunRecord {
    return this.end({status: 'interrupted', error: reason})
  }

  private flush(): void {
    if (this.pending === '') return
    try {
      this.log ??= openSync(join(this.dir, VIOLATION_LOG), 'a', 0o644)
      const data = Buffer.from(this.pending)
      for (let at = 0; at < data.length; ) at += writeSync(this.log, data, at)
    } catch (error) {
      throw errors.storeFailed(join(this.dir, VIOLATION_LOG), error)
    } finally {
      this.pending = ''
    }
  }

  private end(change: Partial<RunRecord>): RunRecord {
    this.flush()
    if (this.log !== null) {
      closeSync(this.log)
      this.log = null
    }
    this.record = {
      ...this.record,
      violations: this.sample,
      violationCount: this.count,
      violationLog: this.count > 0 ? VIOLATION_LOG : null,
      ...change,
      end: new Date().toISOString(),
      durationMs: Math.round(performance.now() - this.startedAt),
    }
    this.write()
    return this.record
  }

  private write(): void {
    writeJsonAtomic(recordFile(this.dir), this.record)
  }
}

const RECORD_FIELDS: Record<keyof Omit<RunRecord, 'schemaVersion'>, (v: unknown) => boolean> = {
  id: (v) => typeof v === 'string',
  environment: (v) => typeof v === 'string',
  command: (v) => Array.isArray(v) && v.every((a) => typeof a === 'string'),
  cwd: (v) => typeof v === 'string',
  catboxPid: (v) => Number.isInteger(v),
  status: (v) => ['running', 'finished', 'failed', 'interrupted'].includes(v as string),
  start: (v) => typeof v === 'string',
  end: (v) => v === null || typeof v === 'string',
  durationMs: (v) => v === null || typeof v === 'number',
  exitCode: (v) => v === null || Number.isInteger(v),
  signal: (v) => v === null || Number.isInteger(v),
  violations: (v) => Array.isArray(v) && v.every((x) => typeof x === 'object' && x !== null),
  violationCount: (v) => v === undefined || (Number.isInteger(v) && (v as number) >= 0),
  violationLog: (v) => v === undefined || v === null || typeof v === 'string',
  error: (v) => v === null || typeof v === 'string',
  trace: (v) =>
    v === undefined ||
    v === null ||
    (typeof v === 'object' &&
      Array.isArray((v as RunTrace).modes) &&
      (v as RunTrace).modes.every((m) => typeof m === 'string') &&
      typeof (v as RunTrace).eventLog === 'string'),
}

/**
 * Read and validate a report.json. Throws CatboxError (BAD_FILE, NEWER_FILE)
 * naming the file. A "running" record whose catbox is gone is returned as
 * "interrupted" (the file is not changed).
 */
export function readRecord(file: string): RunRecord {
  let value: Record<string, unknown>
  try {
    value = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'it is missing' : code ? `it cannot be read (${code})` : `it is not valid JSON (${(error as Error).message})`
    throw errors.badFile(file, why, 'Remove its run directory to drop it.')
  }
  const broken = (why: string) => errors.badFile(file, why, 'Remove its run directory to drop it.')
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw broken('it does not hold a JSON object')
  const version = value.schemaVersion
  if (!Number.isInteger(version) || (version as number) < 1) throw broken('it has no valid "schemaVersion"')
  if ((version as number) > RECORD_SCHEMA_VERSION) throw errors.newerFile(file, version as number, RECORD_SCHEMA_VERSION)
  for (const [key, valid] of Object.entries(RECORD_FIELDS)) {
    if (!valid(value[key])) throw broken(`the field "${key}" is missing or not valid`)
  }
  const record = value as unknown as RunRecord
  if (record.status === 'running' && !pidAlive(record.catboxPid)) {
    return {...record, status: 'interrupted', error: `catbox (pid ${record.catboxPid}) ended before the run did`}
  }
  return record
}

/** One run directory: its record, or why it cannot be read. */
export type RunEntry = {id: string; record: RunRecord} | {id: string; problem: string}

/** The run directories of an environment, newest first (ids sort by start time). */
export function runIds(runsDir: string): string[] {
  try {
    return readdirSync(runsDir, {withFileTypes: true})
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
      .map((entry) => entry.name)
      .sort()
      .reverse()
  } catch {
    return []
  }
}

export function readRun(runsDir: string, id: string): RunEntry {
  try {
    return {id, record: readRecord(recordFile(join(runsDir, id)))}
  } catch (error) {
    if (error instanceof CatboxError) return {id, problem: error.message.split('\n')[0]}
    throw error
  }
}
