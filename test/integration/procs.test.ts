// Every process of the tree is supervised (test/drivers/procs.c): forks,
// threads, vfork+exec, exec from a non-leader thread, and a daemon that
// double-forks, calls setsid() and writes after the first process has exited.
// Exit statuses pass through. All of it twice: untraced (enforce mode, every
// question by user notification, a reaper keeps the tree) and with every
// process followed by ptrace (what the library's process hooks need).
import {describe, expect, test} from '@jest/globals'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {BUILDS, driverPath, runBare, runCaptured, runDriver} from '../helpers/driver.js'
import type {Build, DriverOutcome} from '../helpers/driver.js'
import {fsState} from '../helpers/expect.js'
import {makeTmpDirs} from '../helpers/tmp.js'
import type {TmpDirs} from '../helpers/tmp.js'

/** "EACCES@123 ok@124" -> [{result, pid}] */
function tokens(out: string): {result: string; pid: number}[] {
  return out.split(' ').map((token) => {
    const [result, pid] = token.split('@')
    return {result, pid: Number(pid)}
  })
}

type Mode = 'allowed' | 'denied' | 'collect'
const MODES: Mode[] = ['allowed', 'denied', 'collect']

/** None when allowed; else one, for operation on path, by a process other than the first. */
function expectChildViolation(o: DriverOutcome, mode: Mode, operation: string, path: string): void {
  if (mode === 'allowed') {
    expect(o.result.violations).toEqual([])
    return
  }
  expect(o.result.violations).toEqual([expect.objectContaining({operation, canonical: path, program: 'procs', denied: mode === 'denied'})])
  expect(o.result.violations[0].pid).not.toBe(o.pid)
}

type Follow = 'unfollowed' | 'followed'
const FOLLOW: Follow[] = ['unfollowed', 'followed']
const following = (follow: Follow) => (follow === 'followed' ? {onChildDiedUnexpectedly: () => {}} : {})

describe.each(FOLLOW)('%s', (follow) => {
  function procs(build: Build, t: TmpDirs, mode: Mode, args: (dir: string) => string[]): Promise<DriverOutcome> {
    return runDriver(t, {
      driver: 'procs',
      build,
      args: args(mode === 'allowed' ? t.allowed : t.outside),
      cwd: t.base,
      collectOnly: mode === 'collect',
      ...following(follow),
    })
  }

  describe.each(BUILDS)('%s build', (build) => {
    describe.each(MODES)('%s', (mode) => {
      test('a fork tree of 7 processes: each one is checked', async () => {
        const t = makeTmpDirs()
        const o = await procs(build, t, mode, (dir) => ['tree', join(dir, 't'), '2', '2'])
        const results = tokens(o.out)
        const dir = mode === 'allowed' ? t.allowed : t.outside
        expect(results.map((r) => r.result)).toEqual(Array(7).fill(mode === 'denied' ? 'EACCES' : 'ok'))
        expect(new Set(results.map((r) => r.pid)).size).toBe(7)
        const expected =
          mode === 'allowed'
            ? []
            : results.map((r, i) => ({
                operation: 'openat',
                path: join(dir, `t.${i}`),
                canonical: join(dir, `t.${i}`),
                pid: r.pid,
                program: 'procs',
                denied: mode === 'denied',
                error: mode === 'denied' ? 'EACCES' : '',
              }))
        const byPath = (a: {canonical: string}, b: {canonical: string}) => a.canonical.localeCompare(b.canonical)
        expect([...o.result.violations].sort(byPath)).toEqual(expected.sort(byPath))
        for (let i = 0; i < 7; i++) expect(fsState(join(dir, `t.${i}`)).exists).toBe(mode !== 'denied')
      })

      test('4 threads: each one is checked', async () => {
        const t = makeTmpDirs()
        const o = await procs(build, t, mode, (dir) => ['threads', join(dir, 'th'), '4'])
        const results = tokens(o.out)
        const dir = mode === 'allowed' ? t.allowed : t.outside
        expect(results.map((r) => r.result)).toEqual(Array(4).fill(mode === 'denied' ? 'EACCES' : 'ok'))
        const violations = [...o.result.violations].sort((a, b) => a.canonical.localeCompare(b.canonical))
        expect(violations.map((v) => v.canonical)).toEqual(mode === 'allowed' ? [] : [0, 1, 2, 3].map((i) => join(dir, `th.${i}`)))
        violations.forEach((v, i) => {
          expect(v).toMatchObject({operation: 'openat', program: 'procs', denied: mode === 'denied'})
          // A thread's violation names the thread or its process.
          expect([results[i].pid, o.pid]).toContain(v.pid)
        })
        for (let i = 0; i < 4; i++) expect(fsState(join(dir, `th.${i}`)).exists).toBe(mode !== 'denied')
      })

      test('vfork, then exec in the child: the new program is checked', async () => {
        const t = makeTmpDirs()
        const o = await procs(build, t, mode, (dir) => ['vfork_exec', join(dir, 'x')])
        const dir = mode === 'allowed' ? t.allowed : t.outside
        expect(o.out).toBe(mode === 'denied' ? 'err EACCES' : 'ok')
        expectChildViolation(o, mode, 'creat', join(dir, 'x'))
        expect(fsState(join(dir, 'x')).exists).toBe(mode !== 'denied')
      })

      test('exec from a non-leader thread: the new program is checked, under the leader pid', async () => {
        const t = makeTmpDirs()
        const o = await procs(build, t, mode, (dir) => ['exec_thread', join(dir, 'x')])
        const dir = mode === 'allowed' ? t.allowed : t.outside
        expect(o.out).toBe(mode === 'denied' ? 'err EACCES' : 'ok')
        expect(o.result.violations).toEqual(
          mode === 'allowed'
            ? []
            : [
                {
                  operation: 'creat',
                  path: join(dir, 'x'),
                  canonical: join(dir, 'x'),
                  pid: o.pid,
                  program: 'procs',
                  denied: mode === 'denied',
                  error: mode === 'denied' ? 'EACCES' : '',
                },
              ],
        )
        expect(fsState(join(dir, 'x')).exists).toBe(mode !== 'denied')
      })

      test('a double-forked setsid() daemon that writes after the first process exited is checked, and waited for', async () => {
        const t = makeTmpDirs()
        const result = join(t.allowed, 'daemon-result')
        const o = await procs(build, t, mode, (dir) => ['daemon', join(dir, 'x'), result])
        const dir = mode === 'allowed' ? t.allowed : t.outside
        expect({out: o.out, exitCode: o.result.exitCode}).toEqual({out: 'parent-exit', exitCode: 0})
        // run() resolved, so the daemon has finished: its result is there.
        expect(readFileSync(result, 'utf8')).toBe(mode === 'denied' ? 'err EACCES\n' : 'ok\n')
        expectChildViolation(o, mode, 'openat', join(dir, 'x'))
        expect(fsState(join(dir, 'x')).exists).toBe(mode !== 'denied')
      })
    })

    describe('exit statuses', () => {
      test.each([0, 7, 255])('exit(%i) gives exitCode %i and no signal', async (code) => {
        const o = await runDriver(makeTmpDirs(), {driver: 'procs', build, args: ['exit', String(code)], ...following(follow)})
        expect({exitCode: o.result.exitCode, signal: o.result.signal}).toEqual({exitCode: code, signal: null})
      })

      test.each([
        ['SIGKILL', 9],
        ['SIGUSR1', 10],
        ['SIGTERM', 15],
      ])('killed by %s (%i) gives exitCode 128+N and the signal', async (_name, signal) => {
        const o = await runDriver(makeTmpDirs(), {driver: 'procs', build, args: ['signal', String(signal)], ...following(follow)})
        expect({exitCode: o.result.exitCode, signal: o.result.signal}).toEqual({exitCode: 128 + signal, signal})
      })
    })
  })
})

describe('every process followed: each death and each denied call reported exactly once', () => {
  test('200 children, each killed with SIGKILL at a random point (some before they ever ran): each reported once, with 9', async () => {
    // Control, without catbox: the driver starts and kills 200 children.
    expect(runBare('procs', ['kill_children', '200', '99']).split(' ')).toHaveLength(200)
    for (const seed of [1, 2, 3]) {
      const died: number[] = []
      const deaths: Array<[number, number]> = []
      const {stdout, result} = await runCaptured(makeTmpDirs(), {
        command: [driverPath('procs'), 'kill_children', '200', String(seed)],
        onChildDiedUnexpectedly: (pid, signal) => {
          died.push(pid)
          deaths.push([pid, signal])
        },
      })
      expect(result.exitCode).toBe(0)
      const children = stdout.trim().split(' ').map(Number)
      expect(new Set(children).size).toBe(200)
      // Exactly the children, each once, each with SIGKILL.
      expect([...died].sort((a, b) => a - b)).toEqual([...children].sort((a, b) => a - b))
      for (const [, signal] of deaths) expect(signal).toBe(9)
    }
  }, 120_000)

  test.each(['denied', 'collect'] as const)(
    'a tree of 3280 processes (3^7 leaves), each writing while its children end: %s writes recorded once each, run after run',
    async (mode) => {
      for (let i = 0; i < 4; i++) {
        const t = makeTmpDirs()
        let initialized = 0
        const paths: string[] = []
        const {stdout, result} = await runCaptured(t, {
          command: [driverPath('procs'), 'tree_late', join(t.outside, 'w'), '7', '3'],
          collectOnly: mode === 'collect',
          onChildInitialized: () => {
            initialized++
          },
          // Every one (the result keeps the first 1000).
          onViolation: (v) => paths.push(v.canonical),
        })
        expect(result.exitCode).toBe(0)
        expect(stdout.trim()).toBe(mode === 'denied' ? 'writes 3280 denied 3280' : 'writes 3280 denied 0')
        // Every process was followed (and the shell that execs the driver).
        expect(initialized).toBeGreaterThanOrEqual(3279)
        expect({run: i, violations: paths.length, distinct: new Set(paths).size, counted: result.violationCount}).toEqual({
          run: i,
          violations: 3280,
          distinct: 3280,
          counted: 3280,
        })
      }
    },
    300_000,
  )
})
