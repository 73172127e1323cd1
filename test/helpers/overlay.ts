// The guest view (root overlay and maps) under real programs: a fresh
// fixture per test, a run with stdout/stderr captured, and a fingerprint of a
// host tree to prove the host did not change.
import {expect} from '@jest/globals'
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import type {GuestView, RunOptions, RunResult} from '../../src/index.js'
import {runCaptured} from './driver.js'
import {makeTmpDirs} from './tmp.js'
import type {TmpDirs} from './tmp.js'

/** Programs found from here only: not a pyenv shim under /root, which catboxci cannot read. */
export const PATH = '/usr/local/bin:/usr/bin:/bin'
export const PYTHON = '/usr/bin/python3'

export interface OverlayFixture {
  tmp: TmpDirs
  /** The host tree the tests read and try to change (guest path = host path). */
  host: string
  /** The environment's root directory (upper). */
  upper: string
  whiteouts: string
  cache: string
}

/** base/{host,upper,cache} and base/whiteouts (not created: catbox creates it). */
export function makeOverlay(): OverlayFixture {
  const tmp = makeTmpDirs()
  const at = (name: string) => join(tmp.base, name)
  const fx = {tmp, host: at('host'), upper: at('upper'), whiteouts: at('whiteouts'), cache: at('cache')}
  mkdirSync(fx.host)
  mkdirSync(fx.upper)
  return fx
}

/** Writes files (content string) and directories (null) below root; parents made as needed. */
export function makeTree(root: string, entries: Record<string, string | null>): void {
  for (const [rel, content] of Object.entries(entries)) {
    const path = join(root, rel)
    if (content === null) {
      mkdirSync(path, {recursive: true})
    } else {
      mkdirSync(join(path, '..'), {recursive: true})
      writeFileSync(path, content)
    }
  }
}

export interface GuestRun {
  stdout: string
  stderr: string
  result: RunResult
}

export interface GuestRunOptions {
  maps?: NonNullable<GuestView['maps']>
  /** Default ['/']. */
  writable?: string[]
  collectOnly?: boolean
  /** Guest cwd; default fx.host. */
  cwd?: string
  env?: Record<string, string>
  /** false: maps only, no root overlay. */
  root?: boolean
  /** Skip the check that no output names upper or the cache (a test that prints them on purpose). */
  allowHostPaths?: boolean
}

/**
 * Runs `sh -c script` (or argv) in the guest view of fx. stdout and stderr go
 * to files in tmp.io, which a read-write map shows at its own path, so they
 * reach the host whatever the overlay does. Checks that nothing printed names
 * upper or the cache: the guest sees guest paths only.
 */
export async function runGuest(fx: OverlayFixture, script: string | string[], options: GuestRunOptions = {}): Promise<GuestRun> {
  const command = typeof script === 'string' ? ['/bin/sh', '-c', script] : script
  const guestView: GuestView = {
    ...(options.root === false ? {} : {root: {dir: fx.upper, whiteouts: fx.whiteouts}}),
    maps: [{host: fx.tmp.io, guest: fx.tmp.io, mode: 'rw'}, ...(options.maps ?? [])],
    cache: fx.cache,
  }
  const run = await runCaptured(fx.tmp, {
    command,
    writable: options.writable ?? ['/'],
    collectOnly: options.collectOnly,
    cwd: options.cwd ?? fx.host,
    env: {PATH, LC_ALL: 'C', ...options.env},
    guestView,
  } satisfies Omit<RunOptions, 'command'> & {command: string[]})
  if (!options.allowHostPaths) {
    expect(run.stdout).not.toContain(fx.upper)
    expect(run.stdout).not.toContain(fx.cache)
    expect(run.stderr).not.toContain(fx.upper)
    expect(run.stderr).not.toContain(fx.cache)
  }
  return run
}

/** Expects exit 0 and no violations, showing stderr when not. */
export function expectClean(run: GuestRun): void {
  expect({exitCode: run.result.exitCode, violations: run.result.violations, stderr: run.stderr}).toEqual({
    exitCode: 0,
    violations: [],
    stderr: '',
  })
}

/**
 * Everything a write could change below root, by relative path: type, mode,
 * size, nlink, mtime, ctime, content hash or link target (atime left out:
 * reading changes it).
 */
export function fingerprint(root: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (path: string, rel: string) => {
    const st = lstatSync(path, {bigint: true})
    const mode = (Number(st.mode) & 0o7777).toString(8)
    const common = `mode=${mode} nlink=${st.nlink} mtime=${st.mtimeNs} ctime=${st.ctimeNs}`
    if (st.isSymbolicLink()) {
      out[rel] = `link ${readlinkSync(path)} ${common}`
    } else if (st.isDirectory()) {
      out[rel] = `dir ${common}`
      for (const name of readdirSync(path).sort()) walk(join(path, name), rel === '.' ? name : `${rel}/${name}`)
    } else if (st.isFile()) {
      const hash = createHash('sha256').update(readFileSync(path)).digest('hex')
      out[rel] = `file size=${st.size} sha256=${hash} ${common}`
    } else {
      out[rel] = `other ${common}`
    }
  }
  walk(root, '.')
  return out
}

/** The whiteouts journal: each record is a guest path ending in NUL. */
export function whiteoutsOf(fx: OverlayFixture): string {
  return existsSync(fx.whiteouts) ? readFileSync(fx.whiteouts, 'latin1') : ''
}

/** Where guest path g of the root overlay lands in upper. */
export const inUpper = (fx: OverlayFixture, g: string) => join(fx.upper, g)

/** Compiles C source into dir/name with gcc, outside catbox; returns the program's path. */
export function compileC(dir: string, name: string, source: string): string {
  const src = join(dir, `${name}.c`)
  const out = join(dir, name)
  writeFileSync(src, source)
  execFileSync('gcc', ['-O0', '-Wall', '-o', out, src], {stdio: ['ignore', 'ignore', 'inherit']})
  return out
}
