// The one boundary between TypeScript and the native supervisor.
// TypeScript hands native one fully validated NativeSpec; native hands back
// batches of plain events and one final NativeResult (DESIGN.md, "Layers").
import {createRequire} from 'node:module'
import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

/** A parsed write rule. Globs are already brace-expanded; prefixes are canonical. */
export interface NativeRule {
  kind: 'prefix' | 'glob' | 'pcre'
  pattern: string
}

export type NetworkMode = 'full' | 'loopback' | 'none'

export interface NativeSpec {
  /** Absolute path of the program to execute (PATH already searched). */
  file: string
  /** argv as the program will see it (argv[0] included). */
  argv: string[]
  /** Environment as "KEY=VALUE" strings. */
  env: string[]
  /** Absolute working directory of the first process. */
  cwd: string
  /** Write rules; a write is allowed when any rule matches the canonical path. */
  writable: NativeRule[]
  /** Paths whose *content* may be written (open for write) but not their metadata: /dev/null, ttys... */
  devices: NativeRule[]
  /** Record violations but let the calls happen. */
  collectOnly: boolean
  network: NetworkMode
  /** When true, native waits for the JS onChildInitialized hook before a new process continues. */
  hookChildInitialized: boolean
  /**
   * Follow every process by ptrace even when no question needs a ptrace stop
   * (the childInitialized and childDiedUnexpectedly events need it). Without
   * it, enforce mode without tracing runs the build untraced: every question
   * by user notification, the processes kept together by a reaper.
   */
  followProcesses?: boolean
  /**
   * Ask every question by ptrace stop, never by seccomp user notification
   * (which enforce mode uses when it can): to compare the two (CATBOX_NO_USER_NOTIF=1).
   */
  ptraceOnly?: boolean
  /** When true, the process that caused a violation waits until onEvents has taken it (so it is printed first). */
  syncViolations?: boolean
  /** At most this many violation events are sent; the rest are only counted (stats.violations). Absent: all. */
  violationEvents?: number
  /** What the operation log records; nothing when absent. */
  trace?: TraceOptions
  /** Absolute path of the JSON-lines operation log native appends to (required when trace is on). */
  eventLog?: string
  /** Fake root: identity calls see uid/gid, chown/chmod/mknod are recorded in db (an append-only journal). */
  fakeRoot?: {uid: number; gid: number; db: string}
  /** The guest view; file and cwd are guest paths then. All paths absolute and canonical. */
  guestView?: {upper?: {dir: string; whiteouts: string}; merged: string; maps: {host: string; guest: string; rw: boolean}[]}
}

export interface TraceOptions {
  /** The process tree: every process, exec (path, argv, cwd) and exit, with times. */
  exec: boolean
  /** Files opened for reading, and failed lookups (a missing file). */
  read: boolean
  /** Files written, created, removed, renamed, and their metadata changed. */
  write: boolean
}

export type NativeEvent =
  /** The first process is traced and about to exec the command. */
  | {type: 'start'; pid: number}
  | {
      type: 'violation'
      /** System call name, e.g. "openat", "connect". */
      operation: string
      /** The path (or address) as the program gave it. */
      path: string
      /** Canonical absolute path the kernel would have acted on ("" for network). */
      canonical: string
      pid: number
      /** Short program name (comm). */
      program: string
      /** True when the call was refused; false in collect-only mode. */
      denied: boolean
      /** errno returned when denied (EACCES=13 ...). */
      errno: number
    }
  | {type: 'childInitialized'; pid: number; ppid: number}
  | {type: 'childDiedUnexpectedly'; pid: number; signal: number}
  | {type: 'exec'; pid: number; path: string}

export interface NativeStats {
  /** Processes and threads followed; 0 when the build ran unfollowed (enforce mode without tracing). */
  processes: number
  seccompStops: number
  /** Questions answered by seccomp user notification (enforce mode) instead of a ptrace stop. */
  notifications: number
  eventStops: number
  /** Syscall-exit stops (fake root rewrites stat results there). */
  exitStops: number
  signalsForwarded: number
  violations: number
  /** Lines written to the operation log. */
  logLines: number
  /** Overlay: host files copied into the environment before a write. */
  copyUps: number
  /** Overlay: host entries hidden (removed or renamed in the guest view). */
  whiteouts: number
  /** Overlay: merged directory listings made. */
  mergedViews: number
}

export interface NativeResult {
  /** The first process's exit status; 128+N when killed by signal N. */
  exitCode: number
  /** Signal number that killed the first process, or null. */
  signal: number | null
  stats: NativeStats
}

export interface ResolveResult {
  /** Canonical path, or "" when resolution failed. */
  path: string
  /** 0 or a negative errno (-ENOENT for a missing parent, -ELOOP ...). */
  error: number
  /** Whether the final object exists (lstat when not following). */
  exists: boolean
  /** A pipe, socket or anonymous inode reached through /proc/PID/fd/N: path is its name. */
  anon: boolean
  /** Reached through /proc/self/fd/N for an fd the process holds open for writing. */
  reopensWritableFd: boolean
}

export interface NativeAddon {
  /**
   * Run spec under the supervisor. onEvents receives batches in order.
   * onChildInitialized (only called when spec.hookChildInitialized) runs while the child is held.
   */
  run(
    spec: NativeSpec,
    onEvents: (events: NativeEvent[]) => void,
    onChildInitialized?: (pid: number, ppid: number) => void,
  ): Promise<NativeResult>
  /** Compile a PCRE2 pattern; null when fine, else the error with its offset. */
  checkPcre(pattern: string): null | {message: string; offset: number}
  hasPcre2: boolean
  /** Test hooks for the pure units. */
  matchRules(rules: NativeRule[], path: string): boolean
  resolvePath(pid: number, dirfd: number, path: string, follow: boolean): ResolveResult
}

let cached: NativeAddon | undefined

export function loadNative(): NativeAddon {
  if (cached) return cached
  const here = dirname(fileURLToPath(import.meta.url))
  // dist/run or src/run -> project root
  const root = join(here, '..', '..')
  const dir = join(root, 'native')
  const require = createRequire(import.meta.url)
  // node-gyp-build picks native/build/Release (a local build) first, else the
  // prebuilt addon the npm package ships in native/prebuilds/linux-x64/.
  const locate = require('node-gyp-build') as {path(dir: string): string}
  let file: string
  try {
    file = locate.path(dir)
  } catch {
    throw new Error(
      `catbox: the native supervisor is not built: ${dir} has neither build/Release/catbox_native.node nor a prebuilt addon for ` +
        `${process.platform}-${process.arch}.\n` +
        `Build it with: ${rebuildHint(root)}   (needs python3, make, g++; libpcre2-dev for ~REGEX rules)`,
    )
  }
  try {
    cached = require(file) as NativeAddon
  } catch (error) {
    throw new Error(
      `catbox: the native supervisor could not be loaded: ${(error as Error).message}\n` +
        `Build it for this machine with: ${rebuildHint(root)}`,
    )
  }
  return cached
}

/** In a checkout (it has src/) the npm script; in an installed package, npm rebuild. */
function rebuildHint(root: string): string {
  return existsSync(join(root, 'src')) ? 'npm run build:native' : 'npm rebuild catbox-sandbox'
}
