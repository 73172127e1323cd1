// The known ways around a ptrace sandbox are closed (test/drivers/escapes.c):
// other syscall ABIs, io_uring, children the tracer would not see, a seccomp
// listener of the build's own, reaching other processes, opening by handle,
// and changing what paths mean.
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals'
import {spawn} from 'node:child_process'
import type {ChildProcess} from 'node:child_process'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {BUILDS, runBare, runDriver} from '../helpers/driver.js'
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
