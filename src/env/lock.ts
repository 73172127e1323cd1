// The lock of one environment: held by a run for its whole length, and by rm
// and reset while they change the environment. proper-lockfile's lock is a
// directory (envs/NAME/lock) whose mtime the holder refreshes; a holder that
// was killed stops refreshing it, and the lock is taken over once it is
// LOCK_STALE_MS old. Next to it, holder.json says who holds it, so a refusal
// can name the process.
import {existsSync, readFileSync, rmSync} from 'node:fs'
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
  let release: () => Promise<void>
  try {
    release = await lockfile.lock(paths.dir, {...options(paths), retries: 0, onCompromised: (error) => onLost(error.message)})
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ELOCKED') throw busyError(paths, name)
    if (code === 'ENOENT' || code === 'ENOTDIR') throw errors.envNotFound(name, dirname(paths.dir))
    throw errors.storeFailed(paths.lock, error)
  }
  const holder: Holder = {schemaVersion: HOLDER_SCHEMA_VERSION, pid: process.pid, command, since: new Date().toISOString()}
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
  return holder !== null && holder.pid !== process.pid && pidAlive(holder.pid)
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
  if (holder && !pidAlive(holder.pid)) return errors.envLockStale(name, holder, LOCK_STALE_MS / 1000)
  return errors.envBusy(name, holder)
}
