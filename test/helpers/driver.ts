// Run a C driver (test/drivers) under catbox's library run() and collect what it printed.
import {beforeAll} from '@jest/globals'
import {execFileSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {run} from '../../src/index.js'
import type {NetworkMode, RunOptions, RunResult} from '../../src/index.js'
import type {TmpDirs} from './tmp.js'

export type Build = 'dyn' | 'static'
export const BUILDS: Build[] = ['dyn', 'static']

export type DriverName =
  | 'fs_open'
  | 'fs_create'
  | 'fs_remove'
  | 'fs_meta'
  | 'net'
  | 'escapes'
  | 'procs'
  | 'statids'
  | 'hardening'
  | 'lease'
  | 'modes'
  | 'ports'
  | 'dirid'
  | 'races'
  | 'acting'
  | 'fdraces'

const driversDir = fileURLToPath(new URL('../drivers/', import.meta.url))

export function driverPath(name: DriverName, build: Build = 'dyn'): string {
  return join(driversDir, 'build', build, name)
}

// `npm test` builds the drivers first; a direct `jest` run builds them here (incremental).
beforeAll(() => {
  execFileSync('make', ['-s', '-C', driversDir], {stdio: 'inherit'})
})

export interface RunDriverOptions {
  driver: DriverName
  args: string[]
  build?: Build
  /** Write rules; default [tmp.allowed]. The output files are always added. */
  writable?: string[]
  collectOnly?: boolean
  network?: NetworkMode
  cwd?: string
  env?: Record<string, string>
  /** Called when a process of the build dies of a signal; given, every process is followed by ptrace. */
  onChildDiedUnexpectedly?: (pid: number, signal: number) => void
  /** Fake root, with its ownership journal. */
  fakeRoot?: RunOptions['fakeRoot']
}

export interface DriverOutcome {
  /** The driver's name, which is also its program name (comm) in violations. */
  driver: DriverName
  /** First line the driver printed: "ok", "err EACCES", ... */
  out: string
  /** Everything it printed on stdout. */
  stdout: string
  /** Its pid (the driver prints "pid N" on stderr first). */
  pid: number
  result: RunResult
}

let serial = 0

/** Run `command` under run() with its stdout and stderr sent to files in tmp.io. */
export async function runCaptured(
  tmp: TmpDirs,
  options: Omit<RunOptions, 'command'> & {command: string[]},
): Promise<{stdout: string; stderr: string; result: RunResult}> {
  const n = ++serial
  const stdoutFile = join(tmp.io, `${n}.out`)
  const stderrFile = join(tmp.io, `${n}.err`)
  writeFileSync(stdoutFile, '')
  writeFileSync(stderrFile, '')
  const [program, ...args] = options.command
  const result = await run({
    ...options,
    command: ['/bin/sh', '-c', 'exec "$0" "$@" >"$CATBOX_TEST_OUT" 2>"$CATBOX_TEST_ERR"', program, ...args],
    writable: [...(options.writable ?? [tmp.allowed]), stdoutFile, stderrFile],
    env: {...process.env, ...options.env, CATBOX_TEST_OUT: stdoutFile, CATBOX_TEST_ERR: stderrFile},
  })
  return {stdout: readFileSync(stdoutFile, 'utf8'), stderr: readFileSync(stderrFile, 'utf8'), result}
}

export async function runDriver(tmp: TmpDirs, options: RunDriverOptions): Promise<DriverOutcome> {
  const {driver, args, build, ...rest} = options
  const {stdout, stderr, result} = await runCaptured(tmp, {...rest, command: [driverPath(driver, build), ...args]})
  const pid = Number(/^pid (\d+)$/m.exec(stderr)?.[1] ?? NaN)
  if (!Number.isInteger(pid)) {
    throw new Error(`driver ${driver} ${args.join(' ')} printed no pid (exit ${result.exitCode}); stderr: ${stderr}`)
  }
  return {driver, out: stdout.split('\n')[0], stdout, pid, result}
}

/** Run a driver directly, without catbox (setup and control experiments). Returns its first line. */
export function runBare(driver: DriverName, args: string[], build: Build = 'dyn'): string {
  const stdout = execFileSync(driverPath(driver, build), args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']})
  return stdout.split('\n')[0]
}

/** The value of xattr NAME of PATH ("" when it has none), read without catbox. */
export function xattrOf(path: string, name: string): string {
  const stdout = execFileSync(driverPath('fs_meta'), ['getxattr', path, name], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  })
  const line = stdout.split('\n')[0]
  if (line === 'err ENODATA') return ''
  if (!line.startsWith('value ')) throw new Error(`getxattr ${path} ${name}: ${line}`)
  return line.slice('value '.length)
}

/** Wait until cond() holds, or fail after about 30 s or when `stop` settles first. */
export async function waitFor(cond: () => boolean, what: string, stop?: Promise<unknown>): Promise<void> {
  let stopped = false
  void stop?.then(
    () => (stopped = true),
    () => (stopped = true),
  )
  for (let i = 0; i < 3000; i++) {
    if (cond()) return
    if (stopped) throw new Error(`gave up waiting for ${what}: the run ended first`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`gave up waiting for ${what}`)
}

/**
 * The three ways a build is supervised, for tests that must hold in each:
 * untraced (questions by user notification, a reaper keeps the tree),
 * followed by ptrace (the library's process hooks; questions still by
 * notification), and every question a ptrace stop (CATBOX_NO_USER_NOTIF=1).
 * Pass each entry's options to run()/runDriver() inside supervised(entry, ...).
 */
export type Supervision = readonly [name: string, options: {onChildDiedUnexpectedly?: () => void}, ptraceOnly: boolean]
export const SUPERVISIONS: readonly Supervision[] = [
  ['untraced', {}, false],
  ['followed by ptrace', {onChildDiedUnexpectedly: () => {}}, false],
  ['every question a ptrace stop', {}, true],
]

/**
 * Runs f with CATBOX_NO_USER_NOTIF=1 (every question a ptrace stop) when
 * ptraceOnly, without it otherwise, and puts the variable back after (tests of
 * a file run one at a time).
 */
export async function asking<T>(ptraceOnly: boolean, f: () => Promise<T>): Promise<T> {
  const before = process.env.CATBOX_NO_USER_NOTIF
  if (ptraceOnly) process.env.CATBOX_NO_USER_NOTIF = '1'
  else delete process.env.CATBOX_NO_USER_NOTIF
  try {
    return await f()
  } finally {
    if (before === undefined) delete process.env.CATBOX_NO_USER_NOTIF
    else process.env.CATBOX_NO_USER_NOTIF = before
  }
}

/** Runs f as entry s of SUPERVISIONS asks: CATBOX_NO_USER_NOTIF=1 for the ptrace-only entry. */
export const supervised = <T>(s: Supervision, f: () => Promise<T>): Promise<T> => asking(s[2], f)
