// Reading the build operation log (runs/ID/events.jsonl), one JSON object a
// line as native writes it (native/tracelog.h). The log can be large (a line
// per file a build opens), so it is read as a stream, a line at a time, and
// never held whole in memory.
import {open} from 'node:fs/promises'
import {createInterface} from 'node:readline'

import {errors} from '../lib/errors.js'

/** One line of the log. ts counts microseconds from the start of the run. */
export type LogEvent =
  /** The first process is traced; time is the wall clock (unix ms) at ts. */
  | {t: 'start'; ts: number; time: number; pid: number}
  /** A new process (not a thread); the first one's ppid is catbox's own pid. */
  | {t: 'proc'; ts: number; pid: number; ppid: number}
  | {t: 'exec'; ts: number; pid: number; path: string; argv: string[]; cwd: string}
  /** A process ended: code when it exited, signal when a signal killed it. */
  | {t: 'exit'; ts: number; pid: number; code?: number; signal?: number}
  /** A file opened for reading; ok false: a failed lookup (the file did not exist). */
  | {t: 'read'; ts: number; pid: number; op: string; path: string; ok: boolean}
  /** A file written, created, removed, renamed, or its metadata changed; ok false: denied. */
  | {t: 'write'; ts: number; pid: number; op: string; path: string; ok: boolean}

export type LogEventType = LogEvent['t']

const int = (v: unknown): boolean => Number.isInteger(v)
const str = (v: unknown): boolean => typeof v === 'string'

const SHAPES: Record<LogEventType, (e: Record<string, unknown>) => boolean> = {
  start: (e) => int(e.ts) && int(e.time) && int(e.pid),
  proc: (e) => int(e.ts) && int(e.pid) && int(e.ppid),
  exec: (e) => int(e.ts) && int(e.pid) && str(e.path) && str(e.cwd) && Array.isArray(e.argv) && e.argv.every(str),
  exit: (e) => int(e.ts) && int(e.pid) && (int(e.code) || int(e.signal)),
  read: (e) => int(e.ts) && int(e.pid) && str(e.op) && str(e.path) && typeof e.ok === 'boolean',
  write: (e) => int(e.ts) && int(e.pid) && str(e.op) && str(e.path) && typeof e.ok === 'boolean',
}

/** What reading the log found besides events. */
export interface ReadStats {
  /** Lines that were events. */
  events: number
  /** Lines that are not JSON, or not an event of a known shape (not counting a torn last line). */
  skipped: number
  /** Lines of a kind this catbox does not know (a newer catbox wrote them): ignored. */
  unknown: number
  /** The last line was cut short: catbox was killed while writing it. */
  tornTail: boolean
}

/** One line -> an event, 'unknown' for a well-formed line of another kind, null for garbage. */
export function parseLine(line: string): LogEvent | 'unknown' | null {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return null
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null
  const record = value as Record<string, unknown>
  if (typeof record.t !== 'string') return null
  const shape = SHAPES[record.t as LogEventType]
  if (!shape) return 'unknown'
  return shape(record) ? (record as unknown as LogEvent) : null
}

/**
 * The events of a log file in order, streamed. Paths with bytes that are not
 * UTF-8 come back with U+FFFD in their place (the rest of the line is kept).
 * A line that cannot be read is skipped and counted in stats; a cut-off last
 * line (catbox killed mid-write) is not an error.
 */
export async function* readEvents(file: string, stats: ReadStats = newReadStats()): AsyncGenerator<LogEvent> {
  // An unreadable log (permissions, a directory, EIO) is a clear error, not a stream's stack trace.
  const unreadable = (error: unknown) =>
    errors.badFile(file, `it cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, 'Check that it is a readable file.')
  let handle
  try {
    handle = await open(file, 'r')
  } catch (error) {
    throw unreadable(error)
  }
  const lines = createInterface({input: handle.createReadStream({encoding: 'utf8'}), crlfDelay: Infinity})
  // A bad line is only known to be "torn" once no other line follows it.
  let pendingBad = false
  try {
    for await (const line of lines) {
      if (pendingBad) {
        stats.skipped++
        pendingBad = false
      }
      if (line === '') continue
      const event = parseLine(line)
      if (event === null) pendingBad = true
      else if (event === 'unknown') stats.unknown++
      else {
        stats.events++
        yield event
      }
    }
  } catch (error) {
    throw unreadable(error)
  }
  if (pendingBad) stats.tornTail = true
}

export const newReadStats = (): ReadStats => ({events: 0, skipped: 0, unknown: 0, tornTail: false})
