// The lock of one environment: held by a run for its whole length, and by rm
// and reset while they change the environment. proper-lockfile's lock is a
// directory (envs/NAME/lock) whose mtime the holder refreshes; a holder that
// was killed stops refreshing it, and the lock is taken over once it is
// LOCK_STALE_MS old. Next to it, holder.json says who holds it, so a refusal
// can name the process, and when that process is provably gone (killed with
// SIGKILL) the lock is taken over at once, without waiting for the expiry.
import {existsSync, readFileSync, readlinkSync, renameSync, rmSync} from 'node:fs'
import {dirname} from 'node:path'

import lockfile from 'proper-lockfile'

import {errors} from '../lib/errors.js'
import {pidAlive, writeJsonAtomic} from '../lib/fsutil.js'
import type {EnvPaths} from './home.js'

/** A lock not refreshed for this long is taken over. proper-lockfile refreshes it every half of it. */
export const LOCK_STALE_MS = 10_000

export const HOLDER_SCHEMA_VERSION = 1

export interface Holder {
  schemaVersion: typeof HOLDER_SCHEMA_VERSION
  pid: number
  /** What holds it, for people: "catbox exec", "catbox shell", "catbox env rm". */
  command: string
  /** ISO 8601. */
  since: string
  /**
   * Field 22 of /proc/PID/stat (start time in clock ticks after boot), the
   * kernel's boot id and the holder's pid namespace ("pid:[4026531836]"):
   * with them, a holder on this machine and in this pid namespace can be
   * told dead even when its pid was reused. Absent in holders written by an
   * older catbox.
   */
  startTime?: string
  bootId?: string
  pidNamespace?: string
}

export interface EnvLock {
  /** Release the lock; its holder.json goes first. Safe to call twice. */
  release(): Promise<void>
  /**
   * catbox is about to end by a signal: remove holder.json now. The lock
   * directory is removed by proper-lockfile's exit hook, synchronously, as
   * the process ends (an asynchronous release would not get to run).
   */
  abandon(): void
}

const options = (paths: EnvPaths) => ({lockfilePath: paths.lock, realpath: false, stale: LOCK_STALE_MS})

/**
 * Take the lock of the environment at paths, or throw: ENV_BUSY naming the
 * holder, ENV_NOT_FOUND when the environment is gone. onLost is called if
 * the lock is taken away later (its directory removed, or refreshed by
 * another process after this one stalled beyond LOCK_STALE_MS).
 */
export async function lockEnv(paths: EnvPaths, name: string, command: string, onLost: (why: string) => void): Promise<EnvLock> {
  // A holder that is alive keeps the lock even when it could not refresh it
  // (stopped with Ctrl-Z or SIGSTOP, or its event loop busy): staleness only
  // frees the lock of a holder that is gone.
  if (heldByLiveProcess(paths)) throw errors.envBusy(name, readHolder(paths))
  const take = () => lockfile.lock(paths.dir, {...options(paths), retries: 0, onCompromised: (error) => onLost(error.message)})
  let release: () => Promise<void>
  try {
    try {
      release = await take()
    } catch (error) {
      // A holder that is provably dead frees the lock now, as apt's and
      // dpkg's locks free themselves when their holder dies.
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED' || !takeOverFromDead(paths)) throw error
      release = await take()
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ELOCKED') throw busyError(paths, name)
    if (code === 'ENOENT' || code === 'ENOTDIR') throw errors.envNotFound(name, dirname(paths.dir))
    throw errors.storeFailed(paths.lock, error)
  }
  const holder: Holder = {schemaVersion: HOLDER_SCHEMA_VERSION, pid: process.pid, command, since: new Date().toISOString(), ...identity(process.pid)}
  try {
    writeJsonAtomic(paths.holder, holder)
  } catch (error) {
    await release().catch(() => {})
    throw error
  }
  let released = false
  return {
    async release() {
      if (released) return
      released = true
      // Only what is still ours: after a takeover both belong to the new holder.
      if (readHolder(paths)?.pid !== process.pid) return
      rmSync(paths.holder, {force: true})
      // After rm moved the directory away the lock is gone with it: nothing to release.
      await release().catch(() => {})
    },
    abandon() {
      if (readHolder(paths)?.pid === process.pid) rmSync(paths.holder, {force: true})
    },
  }
}

/** Whether a live (not stale) lock is held on the environment, or its holder is alive. */
export async function isLocked(paths: EnvPaths): Promise<boolean> {
  if (heldByLiveProcess(paths)) return true
  // A provably dead holder's lock is free: the next run takes it over at once.
  const holder = existsSync(paths.lock) ? readHolder(paths) : null
  if (holder && holder.pid !== process.pid && holderFate(holder) === 'dead') return false
  try {
    return await lockfile.check(paths.dir, options(paths))
  } catch {
    return false
  }
}

/** The lock directory exists and holder.json names another process that is still alive. */
function heldByLiveProcess(paths: EnvPaths): boolean {
  if (!existsSync(paths.lock)) return false
  const holder = readHolder(paths)
  return holder !== null && holder.pid !== process.pid && holderFate(holder) === 'alive'
}

/** This machine's boot and this process's pid namespace: where a pid and a start time mean one process. */
function here(): {bootId: string; pidNamespace: string} | null {
  try {
    return {bootId: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), pidNamespace: readlinkSync('/proc/self/ns/pid')}
  } catch {
    return null
  }
}

/** Field 22 of /proc/PID/stat, the process's start time; null when there is no such process. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // "PID (comm) S PPID ...": comm may hold spaces and ")", so count from the last ")"; its next field is the 3rd.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[22 - 3] ?? null
  } catch {
    return null
  }
}

function identity(pid: number): Pick<Holder, 'startTime' | 'bootId' | 'pidNamespace'> {
  const start = processStartTime(pid)
  const where = here()
  return start && where ? {startTime: start, ...where} : {}
}

/**
 * 'dead' only when provable: the holder ran on this boot of this machine, in
 * this pid namespace, and its pid is gone or now belongs to a process that
 * started at another time. 'unknown' when it cannot be checked (another host
 * or namespace, an older holder.json): then only the lock's expiry frees it.
 */
export function holderFate(holder: Holder): 'alive' | 'dead' | 'unknown' {
  const where = here()
  const checkable = holder.startTime !== undefined && where !== null && holder.bootId === where.bootId && holder.pidNamespace === where.pidNamespace
  if (!checkable) return pidAlive(holder.pid) ? 'alive' : 'unknown'
  const start = processStartTime(holder.pid)
  return start !== null && start === holder.startTime ? 'alive' : 'dead'
}

/**
 * The lock is held and its holder.json names a holder that is provably dead:
 * remove the lock so that it can be taken. Of several catboxes doing this at
 * once, one wins: holder.json is claimed by renaming it (only one rename of
 * one file succeeds), and the claimed file must still be the dead holder's
 * (else it is a new holder's, put back). Returns whether the lock was freed.
 */
function takeOverFromDead(paths: EnvPaths): boolean {
  const dead = readHolder(paths)
  if (!dead || holderFate(dead) !== 'dead') return false
  const claim = `${paths.holder}.takeover-${process.pid}`
  try {
    renameSync(paths.holder, claim)
  } catch {
    return false
  }
  let claimed: Holder | null = null
  try {
    claimed = JSON.parse(readFileSync(claim, 'utf8')) as Holder
  } catch {
    // unreadable: not the file judged above
  }
  if (claimed?.pid !== dead.pid || claimed.startTime !== dead.startTime) {
    try {
      renameSync(claim, paths.holder)
    } catch {
      // it only serves messages
    }
    return false
  }
  rmSync(paths.lock, {recursive: true, force: true})
  rmSync(claim, {force: true})
  return true
}

/** holder.json, or null when it is missing or unreadable (it only serves messages). */
export function readHolder(paths: EnvPaths): Holder | null {
  try {
    const value = JSON.parse(readFileSync(paths.holder, 'utf8')) as Partial<Holder>
    if (typeof value.pid !== 'number' || typeof value.command !== 'string') return null
    return value as Holder
  } catch {
    return null
  }
}

function busyError(paths: EnvPaths, name: string) {
  const holder = readHolder(paths)
  if (holder && holderFate(holder) !== 'alive') return errors.envLockStale(name, holder, LOCK_STALE_MS / 1000)
  return errors.envBusy(name, holder)
}
