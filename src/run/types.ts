// The library API's shapes: `import {run} from 'catbox-sandbox'`.
import type {NativeStats, NetworkMode} from './native.js'

export type {NetworkMode} from './native.js'

/** How many violations a RunResult (and a run record) keeps in memory: the first ones. */
export const VIOLATION_SAMPLE = 1000

/** What the operation log can record; see RunOptions.trace. */
export type TraceMode = 'exec' | 'read' | 'write'

export interface RunOptions {
  /** The command and its arguments: ['make', 'install']. Searched in PATH like a shell. */
  command: string[]
  /** Write rules: "/abs/prefix", a glob ("/tmp/build-*", "/src/**\/*.o", "{a,b}"), or "~PCRE". */
  writable?: string[]
  /** Record violations but do not deny them. */
  collectOnly?: boolean
  /** full (default), loopback (IP only to loopback addresses) or none (no IP at all; AF_UNIX works). */
  network?: NetworkMode
  /** Working directory of the command (default: process.cwd()). */
  cwd?: string
  /** Environment of the command (default: process.env). */
  env?: Record<string, string | undefined>
  /**
   * What the operation log records (docs/operation-log.md): 'exec' the process
   * tree, 'read' files opened for reading and failed lookups, 'write' files
   * written. Nothing when absent or empty; eventLog is then required.
   */
  trace?: TraceMode[]
  /** The file the operation log is appended to, one JSON object a line (a relative path is taken from cwd). */
  eventLog?: string
  /**
   * Fake root: the command sees itself as root (or uid/gid); chown, chmod and
   * device nodes are recorded in the ownership journal `db` (created if
   * missing, appended to) instead of being performed, and stat shows them.
   */
  fakeRoot?: {db: string; uid?: number; gid?: number}
  /**
   * The guest view (docs/overlay.md). With `root`, a root overlay: the command
   * sees `root.dir` laid over the host as `/`, and what it writes lands in
   * root.dir (host files are copied up first; removed host entries are
   * recorded in the `root.whiteouts` journal and hidden). `maps` show a host
   * path at a guest path, read-only or read-write. `cache` is a directory
   * catbox owns for merged directory listings (emptied at start). cwd, the
   * command and the write rules are guest paths then.
   */
  guestView?: GuestView
  /** Called once the command's first process exists (before it executes the command), with its pid. */
  onStart?: (pid: number) => void
  /** Called for each violation as it happens: every one, however many (the result keeps a sample). */
  onViolation?: (violation: Violation) => void
  /** Called after a new traced process is set up, before it continues (it is held until this returns). */
  onChildInitialized?: (pid: number, ppid: number) => void
  /** Called when a traced process is killed by a signal. */
  onChildDiedUnexpectedly?: (pid: number, signal: number) => void
}

export interface GuestView {
  root?: {dir: string; whiteouts: string}
  maps?: {host: string; guest: string; mode: 'ro' | 'rw'}[]
  cache: string
}

export interface Violation {
  /** System call name: "openat", "unlinkat", "connect"... */
  operation: string
  /** The path (or network address) as the program gave it. */
  path: string
  /** The canonical absolute path the kernel would have acted on ("" for network). */
  canonical: string
  pid: number
  /** Program name (comm) of the process. */
  program: string
  /** True when refused; false in collect-only mode. */
  denied: boolean
  /** The errno name the call failed with ("EACCES"), or "" when not denied. */
  error: string
}

export interface RunResult {
  /** The first process's exit status; 128+N when it was killed by signal N. */
  exitCode: number
  /** The signal that killed the first process, or null. */
  signal: number | null
  /**
   * The first VIOLATION_SAMPLE (1000) violations, in order: all of them when
   * there were no more. A run's memory does not grow with its violations;
   * onViolation sees every one, and violationCount counts them.
   */
  violations: Violation[]
  /** How many violations there were in all (stats.violations too). */
  violationCount: number
  stats: NativeStats
}
