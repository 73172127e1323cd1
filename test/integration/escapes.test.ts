// The known ways around a ptrace sandbox are closed (test/drivers/escapes.c):
// other syscall ABIs, io_uring, children the tracer would not see, a seccomp
// listener of the build's own, reaching other processes, opening by handle,
// and changing what paths mean.
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals'
import {execFileSync, spawn} from 'node:child_process'
import type {ChildProcess} from 'node:child_process'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {BUILDS, driverPath, runBare, runDriver, SUPERVISIONS, supervised} from '../helpers/driver.js'
import {fsState} from '../helpers/expect.js'
import {makeTmpDirs} from '../helpers/tmp.js'
import type {TmpDirs} from '../helpers/tmp.js'

type Where = 'allowed' | 'outside'
const dirOf = (t: TmpDirs, where: Where) => (where === 'allowed' ? t.allowed : t.outside)

async function escape(build: (typeof BUILDS)[number], t: TmpDirs, args: string[]) {
  const o = await runDriver(t, {driver: 'escapes', build, args, cwd: t.base})
  expect(o.result.exitCode).toBe(0)
  return o
}

// Without catbox the same calls work here, so what the sandboxed runs see is catbox's doing.
describe('controls, without catbox', () => {
  test('int 0x80 creat creates the file (the kernel has IA-32 emulation)', () => {
    const t = makeTmpDirs()
    expect(runBare('escapes', ['int80', 'creat', join(t.outside, 'x')])).toBe('ok')
    expect(fsState(join(t.outside, 'x')).kind).toBe('file')
  })

  test('a CLONE_UNTRACED child creates its file', () => {
    const t = makeTmpDirs()
    expect(runBare('escapes', ['clone_untraced', join(t.outside, 'x')])).toBe('child ok')
    expect(fsState(join(t.outside, 'x')).kind).toBe('file')
  })

  test('clone3, a seccomp listener and a user namespace are available', () => {
    const t = makeTmpDirs()
    expect(runBare('escapes', ['clone3', join(t.outside, 'x')])).toBe('child ok')
    expect(runBare('escapes', ['seccomp_listener'])).toBe('ok')
    expect(runBare('escapes', ['unshare', 'user'])).toBe('ok')
  })
})

let victim: ChildProcess

beforeAll(() => {
  // A process outside the sandbox, same user, for ptrace and process_vm_writev.
  victim = spawn('sleep', ['600'], {stdio: 'ignore'})
})

afterAll(() => {
  victim.kill('SIGKILL')
})

const tracerOf = (pid: number) => Number(/^TracerPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])

describe.each(BUILDS)('%s build', (build) => {
  describe('other syscall ABIs', () => {
    const calls = ['open', 'creat', 'mkdir'] as const
    const wheres: Where[] = ['allowed', 'outside']
    const table = calls.flatMap((call) => wheres.map((where) => [call, where] as const))

    test.each(table)('int 0x80 (i386) %s in the %s directory fails with ENOSYS and makes nothing', async (call, where) => {
      const t = makeTmpDirs()
      const path = join(dirOf(t, where), 'x')
      const o = await escape(build, t, ['int80', call, path])
      expect(o.out).toBe('err ENOSYS')
      expect(fsState(path).exists).toBe(false)
    })

    test.each(wheres)('int 0x80 (i386) chmod in the %s directory fails with ENOSYS, mode unchanged', async (where) => {
      const t = makeTmpDirs()
      const path = join(dirOf(t, where), 'f')
      writeFileSync(path, 'x', {mode: 0o644})
      const before = fsState(path)
      const o = await escape(build, t, ['int80', 'chmod', path])
      expect(o.out).toBe('err ENOSYS')
      expect(fsState(path)).toEqual(before)
    })

    test.each(table)('x32 %s in the %s directory fails with ENOSYS and makes nothing', async (call, where) => {
      const t = makeTmpDirs()
      const path = join(dirOf(t, where), 'x')
      const o = await escape(build, t, ['x32', call, path])
      expect(o.out).toBe('err ENOSYS')
      expect(fsState(path).exists).toBe(false)
    })
  })

  test('io_uring_setup fails with ENOSYS', async () => {
    expect((await escape(build, makeTmpDirs(), ['io_uring_setup'])).out).toBe('err ENOSYS')
  })

  describe('children the tracer would not see', () => {
    test('a CLONE_UNTRACED child cannot create a file outside the rules', async () => {
      const t = makeTmpDirs()
      const path = join(t.outside, 'x')
      const o = await escape(build, t, ['clone_untraced', path])
      // Either the clone is refused, or the child is traced all the same.
      expect(['err EPERM', 'child err EACCES']).toContain(o.out)
      expect(fsState(path).exists).toBe(false)
    })

    test('a CLONE_UNTRACED child, if made, still works inside the rules', async () => {
      const t = makeTmpDirs()
      const path = join(t.allowed, 'x')
      const o = await escape(build, t, ['clone_untraced', path])
      expect(['err EPERM', 'child ok']).toContain(o.out)
      expect(fsState(path).exists).toBe(o.out === 'child ok')
    })

    test.each([
      ['plain', []],
      ['with CLONE_UNTRACED', ['untraced']],
    ])('clone3 (%s) fails with ENOSYS: no child runs', async (_what, extra) => {
      const t = makeTmpDirs()
      const inside = join(t.allowed, 'x')
      const outside = join(t.outside, 'x')
      const o1 = await escape(build, t, ['clone3', inside, ...extra])
      const o2 = await escape(build, t, ['clone3', outside, ...extra])
      expect([o1.out, o2.out]).toEqual(['err ENOSYS', 'err ENOSYS'])
      expect([fsState(inside).exists, fsState(outside).exists]).toEqual([false, false])
    })
  })

  test('seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER) fails with EPERM', async () => {
    expect((await escape(build, makeTmpDirs(), ['seccomp_listener'])).out).toBe('err EPERM')
  })

  describe('other processes', () => {
    test('ptrace(PTRACE_ATTACH) on a process outside the sandbox fails with EPERM', async () => {
      const o = await escape(build, makeTmpDirs(), ['ptrace_attach', String(victim.pid)])
      expect(o.out).toBe('err EPERM')
      expect(tracerOf(victim.pid!)).toBe(0)
    })

    test('process_vm_writev into a process outside the sandbox fails with EPERM', async () => {
      // Aimed at an unmapped address: without catbox the answer would be EFAULT.
      expect((await escape(build, makeTmpDirs(), ['process_vm_writev', String(victim.pid)])).out).toBe('err EPERM')
    })
  })

  test('open_by_handle_at fails with EPERM', async () => {
    const t = makeTmpDirs()
    const path = join(t.outside, 'f')
    writeFileSync(path, 'original')
    const before = fsState(path)
    const o = await escape(build, t, ['open_by_handle_at', path, `dir:${t.outside}`])
    expect(o.out).toBe('err EPERM')
    expect(fsState(path)).toEqual(before)
  })

  describe('what changes the meaning of a path', () => {
    const table: [string, (t: TmpDirs) => string[]][] = [
      ['mount of a tmpfs', (t) => ['mount', join(t.allowed, 'mnt')]],
      ['umount2', (t) => ['umount2', join(t.allowed, 'mnt')]],
      ['chroot', (t) => ['chroot', t.allowed]],
      ['pivot_root', (t) => ['pivot_root', join(t.allowed, 'mnt'), join(t.allowed, 'mnt')]],
      ['unshare(CLONE_NEWUSER)', () => ['unshare', 'user']],
      ['unshare(CLONE_NEWNS)', () => ['unshare', 'mount']],
      ['unshare(CLONE_NEWNET)', () => ['unshare', 'net']],
      ['setns', () => ['setns', '/proc/self/ns/net']],
    ]
    test.each(table)('%s fails with EPERM', async (_name, args) => {
      const t = makeTmpDirs()
      mkdirSync(join(t.allowed, 'mnt'))
      const o = await escape(build, t, args(t))
      expect(o.out).toBe('err EPERM')
      expect(fsState(join(t.allowed, 'mnt')).content).toBe('')
    })
  })
})

// Calls aimed at another process's scheduling, memory or events reach the
// build's own processes only. The sharpest: a perf breakpoint with sigtrap on
// a function another process runs kills it with SIGTRAP (aimed at catbox's
// node process, it ended the run). Each is shown working bare on a process
// of ours outside the build, refused under catbox (EPERM, recorded), and
// answered as bare when aimed at the build's own child.
describe("other processes' scheduling, memory and events", () => {
  const isRoot = process.getuid!() === 0
  const paranoid = Number(readFileSync('/proc/sys/kernel/perf_event_paranoid', 'utf8'))
  // 3 and above (some distributions) refuse perf_event_open to users altogether.
  const perfForUs = isRoot || paranoid <= 2
  const calls = [
    'sched_setattr',
    'sched_setparam',
    'sched_setscheduler',
    'sched_setaffinity',
    'setpriority',
    'ioprio_set',
    'migrate_pages',
    'move_pages',
    'get_robust_list',
    'kcmp',
    'process_madvise',
    'process_mrelease',
  ]
  // What the kernel answers bare, aimed at an outside process of ours.
  const bareAnswer = (call: string) =>
    call === 'process_mrelease'
      ? 'err EINVAL' // it reaches the process: only one already dying can be reaped
      : call === 'process_madvise' && !isRoot
        ? 'err EPERM' // a user needs CAP_SYS_NICE for another process's memory
        : 'ok'

  /** A sacrificial process outside the build (never jest's worker): calls victim_tick() in a loop. */
  async function startVictim(): Promise<ChildProcess> {
    const v = spawn(driverPath('escapes'), ['victim'], {stdio: ['ignore', 'pipe', 'ignore']})
    await new Promise<void>((resolve, reject) => {
      v.stdout!.once('data', () => resolve())
      v.once('exit', (code, signal) => reject(new Error(`victim ended early: ${code ?? signal}`)))
    })
    return v
  }
  const ended = (v: ChildProcess) => new Promise<NodeJS.Signals | number | null>((resolve) => {
    if (v.exitCode !== null || v.signalCode !== null) resolve(v.signalCode ?? v.exitCode)
    else v.once('exit', (code, signal) => resolve(signal ?? code))
  })

  let outsider: ChildProcess
  beforeAll(async () => {
    outsider = await startVictim()
  })
  afterAll(() => {
    outsider.kill('SIGKILL')
  })

  describe('bare, without catbox', () => {
    test.each(calls)('%s reaches an outside process', (call) => {
      expect(runBare('escapes', ['other', call, String(outsider.pid)])).toBe(bareAnswer(call))
    })

    ;(perfForUs ? test : test.skip)('perf_event_open: a breakpoint with sigtrap kills an outside process with SIGTRAP', async () => {
      const victim = await startVictim()
      try {
        const out = execFileSync(driverPath('escapes'), ['perf', String(victim.pid), 'sigtrap'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']})
        expect(out).toBe('ok\ntarget gone\n')
        expect(await ended(victim)).toBe('SIGTRAP')
      } finally {
        victim.kill('SIGKILL')
      }
    })

    test(`perf_event_open of every process on a CPU: ${isRoot ? 'works (root)' : 'EACCES from the kernel at this perf_event_paranoid (not root)'}`, () => {
      expect(runBare('escapes', ['perf', '-1', 'count'])).toBe(isRoot || paranoid < 1 ? 'ok' : 'err EACCES')
    })
  })

  describe.each(SUPERVISIONS)('under catbox, %s', (...how) => {
    const attack = (args: string[]) => {
      const t = makeTmpDirs()
      return supervised(how, () => runDriver(t, {driver: 'escapes', args, cwd: t.base, ...how[1]}))
    }

    test.each(calls)('%s of an outside process fails with EPERM and is recorded', async (call) => {
      const o = await attack(['other', call, String(outsider.pid)])
      expect(o.out).toBe('err EPERM')
      // Asked the way this supervision asks: a ptrace stop, or a notification.
      expect(how[2] ? o.result.stats.seccompStops : o.result.stats.notifications).toBeGreaterThan(0)
      expect(o.result.violations).toEqual([
        expect.objectContaining({operation: call, path: `pid ${outsider.pid}`, denied: true, error: 'EPERM'}),
      ])
    })

    test.each(calls)("%s of the build's own child is answered as bare", async (call) => {
      const o = await attack(['other', call, 'child'])
      expect({out: o.out, violations: o.result.violations}).toEqual({out: runBare('escapes', ['other', call, 'child']), violations: []})
    })

    test('perf_event_open with sigtrap on an outside process fails with EPERM; the process lives on', async () => {
      const victim = await startVictim()
      try {
        const o = await attack(['perf', String(victim.pid), 'sigtrap'])
        expect(o.stdout).toBe('err EPERM\n')
        expect(o.result.violations).toEqual([
          expect.objectContaining({operation: 'perf_event_open', path: `pid ${victim.pid}`, denied: true, error: 'EPERM'}),
        ])
        expect(victim.exitCode).toBeNull()
        expect(victim.signalCode).toBeNull()
      } finally {
        victim.kill('SIGKILL')
      }
    })

    test('perf_event_open of every process on a CPU fails with EPERM', async () => {
      const o = await attack(['perf', '-1', 'count'])
      expect(o.out).toBe('err EPERM')
      expect(o.result.violations).toEqual([
        expect.objectContaining({operation: 'perf_event_open', path: 'every process on cpu 0', denied: true, error: 'EPERM'}),
      ])
    })

    ;(perfForUs ? test : test.skip)("perf_event_open with sigtrap on the build's own child works (it dies of SIGTRAP)", async () => {
      const o = await attack(['perf', 'child', 'sigtrap'])
      expect({stdout: o.stdout, violations: o.result.violations}).toEqual({stdout: 'ok\ntarget signal 5\n', violations: []})
    })

    test.each([
      ['setpriority of the caller itself (nice)', ['other', 'setpriority', '0'], 'ok', []],
      ["setpriority of the caller's process group (catbox's)", ['other', 'setpriority_pgrp', '0'], 'err EPERM', ['setpriority']],
      ["setpriority of every process of the caller's user", ['other', 'setpriority_user', '0'], 'err EPERM', ['setpriority']],
    ])('%s', async (_what, args, answer, operations) => {
      const o = await attack(args)
      expect(o.out).toBe(answer)
      expect(o.result.violations.map((v) => v.operation)).toEqual(operations)
    })
  })
})
