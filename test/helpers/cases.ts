// The three-way table test every write family shares: for each case and each
// driver build, the call is made (1) where the rules allow it, (2) outside the
// rules, where it must fail with EACCES, leave the files as they were and be
// recorded, and (3) outside the rules in collect-only mode, where it must take
// effect and be recorded as not denied.
import {describe, expect, test} from '@jest/globals'
import {join} from 'node:path'

import {BUILDS, runDriver} from './driver.js'
import type {DriverName} from './driver.js'
import {expectAllowed, expectCollected, expectDenied, fsState} from './expect.js'
import {makeTmpDirs} from './tmp.js'
import type {TmpDirs} from './tmp.js'

export interface WriteCase {
  name: string
  driver: DriverName
  /** Create what the call needs inside dir (tmp.allowed or tmp.outside). */
  setup?: (dir: string, tmp: TmpDirs) => void
  args: (dir: string, tmp: TmpDirs) => string[]
  operation: string
  /** The path as the driver passes it; omit for calls on an fd. */
  given?: (dir: string, tmp: TmpDirs) => string
  /** The path the kernel acts on. */
  canonical: (dir: string, tmp: TmpDirs) => string
  /** Paths that a refused call must leave as they were; default [canonical, dir]. */
  watch?: (dir: string, tmp: TmpDirs) => string[]
  /** Something else a refused call must leave as it was (an xattr): compared before and after. */
  same?: (dir: string, tmp: TmpDirs) => unknown
  /** Assert that the call took effect (dir is where it was made). */
  effect: (dir: string, tmp: TmpDirs) => void
}

export function writeCaseTests(cases: WriteCase[]): void {
  describe.each(BUILDS)('%s build', (build) => {
    describe.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
      test('is let through inside the rules', async () => {
        const tmp = makeTmpDirs()
        c.setup?.(tmp.allowed, tmp)
        const o = await runDriver(tmp, {driver: c.driver, build, args: c.args(tmp.allowed, tmp), cwd: tmp.base})
        expectAllowed(o)
        c.effect(tmp.allowed, tmp)
      })

      test('is refused with EACCES outside the rules, and recorded', async () => {
        const tmp = makeTmpDirs()
        c.setup?.(tmp.outside, tmp)
        const watched = c.watch?.(tmp.outside, tmp) ?? [c.canonical(tmp.outside, tmp), tmp.outside]
        const before = watched.map(fsState)
        const sameBefore = c.same?.(tmp.outside, tmp)
        const o = await runDriver(tmp, {driver: c.driver, build, args: c.args(tmp.outside, tmp), cwd: tmp.base})
        expectDenied(o, {
          operation: c.operation,
          path: c.given?.(tmp.outside, tmp),
          canonical: c.canonical(tmp.outside, tmp),
        })
        expect(watched.map(fsState)).toEqual(before)
        expect(c.same?.(tmp.outside, tmp)).toEqual(sameBefore)
      })

      test('takes effect in collect-only mode, recorded as not denied', async () => {
        const tmp = makeTmpDirs()
        c.setup?.(tmp.outside, tmp)
        const o = await runDriver(tmp, {
          driver: c.driver,
          build,
          args: c.args(tmp.outside, tmp),
          cwd: tmp.base,
          collectOnly: true,
        })
        expectCollected(o, {
          operation: c.operation,
          path: c.given?.(tmp.outside, tmp),
          canonical: c.canonical(tmp.outside, tmp),
        })
        c.effect(tmp.outside, tmp)
      })
    })
  })
}

/**
 * A call with two paths (rename, link): source SRC = srcDir/a, destination
 * DST = dstDir/b. Each side is tried outside the rules while the other is inside.
 */
export interface TwoSidedCase {
  name: string
  driver: DriverName
  operation: string
  /** Create what the call needs (the source, and the destination if it must exist). */
  setup: (src: string, dst: string) => void
  args: (src: string, dst: string, srcDir: string, dstDir: string) => string[]
  /** The paths as the driver passes them, when not the absolute ones; null: an fd, any path. */
  givenSrc?: string | null
  givenDst?: string | null
  /** Assert that the call took effect. */
  effect: (src: string, dst: string) => void
}

const given = (as: string | null | undefined, path: string): string | undefined =>
  as === null ? undefined : (as ?? path)

export function twoSidedTests(cases: TwoSidedCase[]): void {
  describe.each(BUILDS)('%s build', (build) => {
    describe.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
      const paths = (tmp: TmpDirs, srcIn: boolean, dstIn: boolean) => {
        const srcDir = srcIn ? tmp.allowed : tmp.outside
        const dstDir = dstIn ? tmp.allowed : tmp.outside
        return {srcDir, dstDir, src: join(srcDir, 'a'), dst: join(dstDir, 'b')}
      }

      test('is let through when both sides are inside the rules', async () => {
        const tmp = makeTmpDirs()
        const {src, dst, srcDir, dstDir} = paths(tmp, true, true)
        c.setup(src, dst)
        const o = await runDriver(tmp, {driver: c.driver, build, args: c.args(src, dst, srcDir, dstDir), cwd: tmp.base})
        expectAllowed(o)
        c.effect(src, dst)
      })

      test.each([
        ['destination', true, false],
        ['source', false, true],
      ] as const)('is refused when the %s is outside the rules', async (side, srcIn, dstIn) => {
        const tmp = makeTmpDirs()
        const {src, dst, srcDir, dstDir} = paths(tmp, srcIn, dstIn)
        c.setup(src, dst)
        const watched = [src, dst, tmp.allowed, tmp.outside]
        const before = watched.map(fsState)
        const o = await runDriver(tmp, {driver: c.driver, build, args: c.args(src, dst, srcDir, dstDir), cwd: tmp.base})
        expectDenied(
          o,
          side === 'source'
            ? {operation: c.operation, path: given(c.givenSrc, src), canonical: src}
            : {operation: c.operation, path: given(c.givenDst, dst), canonical: dst},
        )
        expect(watched.map(fsState)).toEqual(before)
      })

      test('is refused when both sides are outside the rules', async () => {
        const tmp = makeTmpDirs()
        const {src, dst, srcDir, dstDir} = paths(tmp, false, false)
        c.setup(src, dst)
        const watched = [src, dst, tmp.outside]
        const before = watched.map(fsState)
        const o = await runDriver(tmp, {driver: c.driver, build, args: c.args(src, dst, srcDir, dstDir), cwd: tmp.base})
        expect(o.out).toBe('err EACCES')
        expect(o.result.violations.length).toBeGreaterThanOrEqual(1)
        for (const v of o.result.violations) {
          expect(v).toMatchObject({operation: c.operation, pid: o.pid, denied: true, error: 'EACCES'})
          expect([src, dst]).toContain(v.canonical)
        }
        expect(watched.map(fsState)).toEqual(before)
      })

      test.each([
        ['destination', true, false],
        ['source', false, true],
      ] as const)('takes effect in collect-only mode with the %s outside, recorded', async (side, srcIn, dstIn) => {
        const tmp = makeTmpDirs()
        const {src, dst, srcDir, dstDir} = paths(tmp, srcIn, dstIn)
        c.setup(src, dst)
        const o = await runDriver(tmp, {
          driver: c.driver,
          build,
          args: c.args(src, dst, srcDir, dstDir),
          cwd: tmp.base,
          collectOnly: true,
        })
        expectCollected(
          o,
          side === 'source'
            ? {operation: c.operation, path: given(c.givenSrc, src), canonical: src}
            : {operation: c.operation, path: given(c.givenDst, dst), canonical: dst},
        )
        c.effect(src, dst)
      })
    })
  })
}
