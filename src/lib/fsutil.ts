// File-system helpers for the store: atomic JSON writes, liveness of pids,
// sizes of trees.
import {chmodSync, closeSync, fsyncSync, lstatSync, openSync, readdirSync, renameSync, rmSync, writeSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'

import {errors} from './errors.js'

/**
 * Six random hex digits for names that must not collide; each name also has
 * the pid or a time in it and is made exclusively (O_EXCL, mkdir), so a
 * collision fails or is retried, never overwrites. Not node:crypto: loading
 * it cost catbox exec a fifth of its start-up.
 */
export const randomSuffix = (): string =>
  Math.floor(Math.random() * 0x1000000)
    .toString(16)
    .padStart(6, '0')

/**
 * Write value as JSON to file so that a reader sees either the old file or
 * the whole new one, never a part: write a temporary file next to it, flush
 * it, rename it over the target, flush the directory.
 */
export function writeJsonAtomic(file: string, value: unknown): void {
  const temp = join(dirname(file), `.${basename(file)}.tmp-${process.pid}-${randomSuffix()}`)
  try {
    const fd = openSync(temp, 'wx', 0o644)
    try {
      writeSync(fd, JSON.stringify(value, null, 2) + '\n')
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(temp, file)
  } catch (error) {
    rmSync(temp, {force: true})
    throw errors.storeFailed(file, error)
  }
  syncDirectory(dirname(file))
}

/** Make a rename or a new entry in dir durable. Best effort: not every file system allows it. */
export function syncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, 'r')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  } catch {
    // A directory that cannot be opened or synced loses nothing but durability.
  }
}

/**
 * rm -rf that also removes what a build left read-only: on EACCES or EPERM
 * the directories below path are made writable by their owner and the
 * removal is tried once more. Throws the second failure.
 */
export function removeTree(path: string): void {
  try {
    rmSync(path, {recursive: true, force: true})
    return
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'EACCES' && code !== 'EPERM') throw error
  }
  const unlock = (p: string): void => {
    let st
    try {
      st = lstatSync(p)
    } catch {
      return
    }
    if (!st.isDirectory()) return
    try {
      chmodSync(p, (st.mode & 0o7777) | 0o700)
    } catch {
      // Not ours: the retry reports it.
    }
    let entries: string[] = []
    try {
      entries = readdirSync(p)
    } catch {
      return
    }
    for (const entry of entries) unlock(join(p, entry))
  }
  unlock(path)
  rmSync(path, {recursive: true, force: true})
}

/** Whether a process with this pid exists (one we may not signal counts: it is alive). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Disk usage of what is inside the directory dir, in bytes (allocated blocks,
 * like du, without dir's own entry), not following links; what cannot be
 * read counts 0.
 */
export function diskUsage(dir: string): number {
  const entries = (p: string): string[] => {
    try {
      return readdirSync(p).map((entry) => join(p, entry))
    } catch {
      return []
    }
  }
  let total = 0
  const pending = entries(dir)
  for (let p = pending.pop(); p !== undefined; p = pending.pop()) {
    let st
    try {
      st = lstatSync(p)
    } catch {
      continue
    }
    total += st.blocks * 512
    if (st.isDirectory()) pending.push(...entries(p))
  }
  return total
}

/** "0 B", "12.0 KiB", "3.4 MiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`
}
