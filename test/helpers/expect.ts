// Assertions shared by the integration tests: outcomes of a driver run and the
// state of files before and after it.
import {expect} from '@jest/globals'
import {lstatSync, readdirSync, readFileSync, readlinkSync} from 'node:fs'

import type {DriverOutcome} from './driver.js'

export interface Expected {
  operation: string
  /** The path as the driver gave it; omitted for calls that name no path (fd forms). */
  path?: string
  canonical: string
}

function violation(o: DriverOutcome, v: Expected, denied: boolean): object {
  return {
    operation: v.operation,
    path: v.path ?? expect.any(String),
    canonical: v.canonical,
    pid: o.pid,
    program: o.driver,
    denied,
    error: denied ? 'EACCES' : '',
  }
}

/** Refused with EACCES, recorded as the one violation of the run. */
export function expectDenied(o: DriverOutcome, v: Expected): void {
  expect({out: o.out, exitCode: o.result.exitCode}).toEqual({out: 'err EACCES', exitCode: 0})
  expect(o.result.violations).toEqual([violation(o, v, true)])
}

/** Collect-only: the call succeeded and was recorded, not denied. */
export function expectCollected(o: DriverOutcome, v: Expected): void {
  expect({out: o.out, exitCode: o.result.exitCode}).toEqual({out: 'ok', exitCode: 0})
  expect(o.result.violations).toEqual([violation(o, v, false)])
}

/** Let through, nothing recorded. */
export function expectAllowed(o: DriverOutcome): void {
  expect({out: o.out, exitCode: o.result.exitCode, violations: o.result.violations}).toEqual({
    out: 'ok',
    exitCode: 0,
    violations: [],
  })
}

/** The kernel's own answer, and nothing recorded. */
export function expectErrno(o: DriverOutcome, errno: string): void {
  expect({out: o.out, exitCode: o.result.exitCode, violations: o.result.violations}).toEqual({
    out: `err ${errno}`,
    exitCode: 0,
    violations: [],
  })
}

export interface FsState {
  exists: boolean
  kind?: 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'other'
  mode?: string
  uid?: number
  gid?: number
  nlink?: number
  size?: number
  mtimeNs?: string
  ctimeNs?: string
  /** File content, directory entries, or symlink target. */
  content?: string
}

/** What a write could change about path (lstat: symlinks are not followed). */
export function fsState(path: string): FsState {
  let st
  try {
    st = lstatSync(path, {bigint: true})
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {exists: false}
    throw error
  }
  const kind = st.isFile()
    ? 'file'
    : st.isDirectory()
      ? 'dir'
      : st.isSymbolicLink()
        ? 'symlink'
        : st.isFIFO()
          ? 'fifo'
          : st.isSocket()
            ? 'socket'
            : 'other'
  const content =
    kind === 'file'
      ? readFileSync(path, 'utf8')
      : kind === 'dir'
        ? readdirSync(path).sort().join('/')
        : kind === 'symlink'
          ? readlinkSync(path)
          : undefined
  return {
    exists: true,
    kind,
    mode: (Number(st.mode) & 0o7777).toString(8),
    uid: Number(st.uid),
    gid: Number(st.gid),
    nlink: Number(st.nlink),
    size: Number(st.size),
    mtimeNs: st.mtimeNs.toString(),
    ctimeNs: st.ctimeNs.toString(),
    content,
  }
}
