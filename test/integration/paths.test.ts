// Paths are judged as the kernel resolves them: cwd, dirfds, "..", "//",
// symlinks (followed or not, per call), /proc/self, /proc/PID/cwd,
// /proc/self/fd/N; rules match whole components.
import {describe, expect, test} from '@jest/globals'
import {mkdirSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {BUILDS, runDriver} from '../helpers/driver.js'
import type {DriverName} from '../helpers/driver.js'
import {expectAllowed, expectDenied, expectErrno, fsState} from '../helpers/expect.js'
import {makeTmpDirs} from '../helpers/tmp.js'
import type {TmpDirs} from '../helpers/tmp.js'

interface PathCase {
  name: string
  driver: DriverName
  /** Make the tree the call needs. */
  setup?: (t: TmpDirs) => void
  args: (t: TmpDirs) => string[]
  cwd?: (t: TmpDirs) => string
  writable?: (t: TmpDirs) => string[]
  /** Refused: the violation's operation, path as given (omit to accept any), canonical path. */
  denied?: {operation: string; path?: (t: TmpDirs) => string; canonical: (t: TmpDirs) => string}
  /** Let through, or answered by the kernel with this errno without a violation. */
  errno?: string
  /** Paths that must be unchanged when refused, or the effect when let through. */
  watch?: (t: TmpDirs) => string[]
  effect?: (t: TmpDirs) => void
}

const O = (t: TmpDirs, ...p: string[]) => join(t.outside, ...p)
const A = (t: TmpDirs, ...p: string[]) => join(t.allowed, ...p)
const created = (path: (t: TmpDirs) => string) => (t: TmpDirs) => expect(fsState(path(t)).kind).toBe('file')
const withOutsideFile = (t: TmpDirs) => writeFileSync(O(t, 'f'), 'original', {mode: 0o644})
const withLinks = (t: TmpDirs) => {
  withOutsideFile(t)
  symlinkSync(O(t, 'f'), A(t, 'lfile'))
  symlinkSync(t.outside, A(t, 'ldir'))
  symlinkSync(O(t, 'new'), A(t, 'dangling'))
  symlinkSync('../outside/f', A(t, 'relative'))
  symlinkSync(A(t, 'lfile'), A(t, 'chain'))
}

const cases: PathCase[] = [
  // --- cwd, "..", "//" ---
  {
    name: 'a relative path in an outside cwd is outside',
    driver: 'fs_open',
    args: () => ['creat', 'x'],
    cwd: (t) => t.outside,
    denied: {operation: 'creat', path: () => 'x', canonical: (t) => O(t, 'x')},
    watch: (t) => [O(t, 'x')],
  },
  {
    name: 'a relative path in an allowed cwd is inside',
    driver: 'fs_open',
    args: () => ['creat', 'x'],
    cwd: (t) => t.allowed,
    effect: created((t) => A(t, 'x')),
  },
  {
    name: '".." out of the allowed directory',
    driver: 'fs_open',
    args: (t) => ['creat', `${t.allowed}/../outside/x`],
    denied: {operation: 'creat', path: (t) => `${t.allowed}/../outside/x`, canonical: (t) => O(t, 'x')},
    watch: (t) => [O(t, 'x')],
  },
  {
    name: '".." into the allowed directory',
    driver: 'fs_open',
    args: (t) => ['creat', `${t.outside}/../allowed/x`],
    effect: created((t) => A(t, 'x')),
  },
  {
    name: 'a relative ".." path from an allowed cwd',
    driver: 'fs_open',
    args: () => ['creat', '../outside/x'],
    cwd: (t) => t.allowed,
    denied: {operation: 'creat', path: () => '../outside/x', canonical: (t) => O(t, 'x')},
    watch: (t) => [O(t, 'x')],
  },
  {
    name: '"//" and "/./" are normalised',
    driver: 'fs_open',
    args: (t) => ['creat', `${t.outside}//./x`],
    denied: {operation: 'creat', path: (t) => `${t.outside}//./x`, canonical: (t) => O(t, 'x')},
    watch: (t) => [O(t, 'x')],
  },
  // --- dirfds ---
  {
    name: 'a dirfd of an outside directory',
    driver: 'fs_open',
    args: (t) => ['openat', `dir:${t.outside}`, 'x', 'O_WRONLY|O_CREAT'],
    denied: {operation: 'openat', path: () => 'x', canonical: (t) => O(t, 'x')},
    watch: (t) => [O(t, 'x')],
  },
  {
    name: '".." from a dirfd of the allowed directory',
    driver: 'fs_open',
    args: (t) => ['openat', `dir:${t.allowed}`, '../outside/x', 'O_WRONLY|O_CREAT'],
    denied: {operation: 'openat', path: () => '../outside/x', canonical: (t) => O(t, 'x')},
    watch: (t) => [O(t, 'x')],
  },
  {
    name: 'an absolute path ignores an allowed dirfd',
    driver: 'fs_open',
    args: (t) => ['openat', `dir:${t.allowed}`, O(t, 'x'), 'O_WRONLY|O_CREAT'],
    denied: {operation: 'openat', path: (t) => O(t, 'x'), canonical: (t) => O(t, 'x')},
    watch: (t) => [O(t, 'x')],
  },
  // --- whole components ---
  {
    name: 'the rule /…/allowed does not allow /…/allowedx',
    driver: 'fs_open',
    setup: (t) => mkdirSync(`${t.allowed}x`),
    args: (t) => ['creat', `${t.allowed}x/f`],
    denied: {operation: 'creat', path: (t) => `${t.allowed}x/f`, canonical: (t) => `${t.allowed}x/f`},
    watch: (t) => [`${t.allowed}x/f`],
  },
  {
    name: 'the rule /…/allowed/foo does not allow /…/allowed/foobar',
    driver: 'fs_open',
    setup: (t) => (mkdirSync(A(t, 'foo')), mkdirSync(A(t, 'foobar'))),
    writable: (t) => [A(t, 'foo')],
    args: (t) => ['creat', A(t, 'foobar', 'f')],
    denied: {operation: 'creat', path: (t) => A(t, 'foobar', 'f'), canonical: (t) => A(t, 'foobar', 'f')},
    watch: (t) => [A(t, 'foobar', 'f')],
  },
  {
    name: 'the rule /…/allowed/foo allows /…/allowed/foo/f',
    driver: 'fs_open',
    setup: (t) => mkdirSync(A(t, 'foo')),
    writable: (t) => [A(t, 'foo')],
    args: (t) => ['creat', A(t, 'foo', 'f')],
    effect: created((t) => A(t, 'foo', 'f')),
  },
  // --- symlinks ---
  {
    name: 'creating through a symlinked directory that points outside',
    driver: 'fs_open',
    setup: withLinks,
    args: (t) => ['creat', A(t, 'ldir', 'x')],
    denied: {operation: 'creat', path: (t) => A(t, 'ldir', 'x'), canonical: (t) => O(t, 'x')},
    watch: (t) => [O(t, 'x')],
  },
  {
    name: 'writing through a symlink to an outside file',
    driver: 'fs_open',
    setup: withLinks,
    args: (t) => ['open', A(t, 'lfile'), 'O_WRONLY|O_TRUNC'],
    denied: {operation: 'open', path: (t) => A(t, 'lfile'), canonical: (t) => O(t, 'f')},
    watch: (t) => [O(t, 'f')],
  },
  {
    name: 'creating through a dangling symlink that points outside',
    driver: 'fs_open',
    setup: withLinks,
    args: (t) => ['open', A(t, 'dangling'), 'O_WRONLY|O_CREAT'],
    denied: {operation: 'open', path: (t) => A(t, 'dangling'), canonical: (t) => O(t, 'new')},
    watch: (t) => [O(t, 'new')],
  },
  {
    name: 'writing through a relative symlink (../outside/f)',
    driver: 'fs_open',
    setup: withLinks,
    args: (t) => ['open', A(t, 'relative'), 'O_WRONLY'],
    denied: {operation: 'open', path: (t) => A(t, 'relative'), canonical: (t) => O(t, 'f')},
    watch: (t) => [O(t, 'f')],
  },
  {
    name: 'writing through a chain of two symlinks',
    driver: 'fs_open',
    setup: withLinks,
    args: (t) => ['open', A(t, 'chain'), 'O_RDWR'],
    denied: {operation: 'open', path: (t) => A(t, 'chain'), canonical: (t) => O(t, 'f')},
    watch: (t) => [O(t, 'f')],
  },
  {
    name: 'O_NOFOLLOW does not follow the symlink: the kernel says ELOOP',
    driver: 'fs_open',
    setup: withLinks,
    args: (t) => ['open', A(t, 'lfile'), 'O_WRONLY|O_NOFOLLOW'],
    errno: 'ELOOP',
    watch: (t) => [O(t, 'f')],
  },
  {
    name: 'an outside symlink to the allowed directory leads inside',
    driver: 'fs_open',
    setup: (t) => symlinkSync(t.allowed, O(t, 'lin')),
    args: (t) => ['creat', O(t, 'lin', 'x')],
    effect: created((t) => A(t, 'x')),
  },
  {
    name: 'chmod follows a symlink',
    driver: 'fs_meta',
    setup: withLinks,
    args: (t) => ['chmod', A(t, 'lfile'), '600'],
    denied: {operation: 'chmod', path: (t) => A(t, 'lfile'), canonical: (t) => O(t, 'f')},
    watch: (t) => [O(t, 'f')],
  },
  {
    name: 'truncate follows a symlink',
    driver: 'fs_open',
    setup: withLinks,
    args: (t) => ['truncate', A(t, 'lfile'), '0'],
    denied: {operation: 'truncate', path: (t) => A(t, 'lfile'), canonical: (t) => O(t, 'f')},
    watch: (t) => [O(t, 'f')],
  },
  {
    name: 'utimensat follows a symlink without AT_SYMLINK_NOFOLLOW',
    driver: 'fs_meta',
    setup: withLinks,
    args: (t) => ['utimensat', 'cwd', A(t, 'lfile'), '0'],
    denied: {operation: 'utimensat', path: (t) => A(t, 'lfile'), canonical: (t) => O(t, 'f')},
    watch: (t) => [O(t, 'f')],
  },
  {
    name: 'utimensat AT_SYMLINK_NOFOLLOW changes the symlink itself',
    driver: 'fs_meta',
    setup: withLinks,
    args: (t) => ['utimensat', 'cwd', A(t, 'lfile'), 'AT_SYMLINK_NOFOLLOW'],
    effect: (t) => {
      expect(fsState(A(t, 'lfile')).mtimeNs).toBe('1000000000000000000')
      expect(fsState(O(t, 'f')).mtimeNs).not.toBe('1000000000000000000')
    },
  },
  {
    name: 'lchown changes the symlink itself',
    driver: 'fs_meta',
    setup: withLinks,
    args: (t) => ['lchown', A(t, 'lfile'), String(process.getuid!()), String(process.getgid!())],
    watch: (t) => [O(t, 'f')],
  },
  {
    name: 'fchownat AT_SYMLINK_NOFOLLOW changes the symlink itself',
    driver: 'fs_meta',
    setup: withLinks,
    args: (t) => ['fchownat', 'cwd', A(t, 'lfile'), String(process.getuid!()), '-1', 'AT_SYMLINK_NOFOLLOW'],
    watch: (t) => [O(t, 'f')],
  },
  {
    name: 'fchownat without AT_SYMLINK_NOFOLLOW follows',
    driver: 'fs_meta',
    setup: withLinks,
    args: (t) => ['fchownat', 'cwd', A(t, 'lfile'), String(process.getuid!()), '-1', '0'],
    denied: {operation: 'fchownat', path: (t) => A(t, 'lfile'), canonical: (t) => O(t, 'f')},
    watch: (t) => [O(t, 'f')],
  },
  {
    name: 'unlink removes the symlink, not its outside target',
    driver: 'fs_remove',
    setup: withLinks,
    args: (t) => ['unlink', A(t, 'lfile')],
    effect: (t) => {
      expect(fsState(A(t, 'lfile')).exists).toBe(false)
      expect(fsState(O(t, 'f')).content).toBe('original')
    },
  },
  {
    name: 'rename moves the symlink, not its outside target',
    driver: 'fs_remove',
    setup: withLinks,
    args: (t) => ['rename', A(t, 'lfile'), A(t, 'moved')],
    effect: (t) => expect(fsState(A(t, 'moved')).kind).toBe('symlink'),
  },
  {
    name: 'linkat AT_SYMLINK_FOLLOW of a symlink to an outside file links the outside file',
    driver: 'fs_create',
    setup: withLinks,
    args: (t) => ['linkat', 'cwd', A(t, 'lfile'), 'cwd', A(t, 'hl'), 'AT_SYMLINK_FOLLOW'],
    denied: {operation: 'linkat', path: (t) => A(t, 'lfile'), canonical: (t) => O(t, 'f')},
    watch: (t) => [O(t, 'f'), A(t, 'hl')],
  },
  {
    name: 'linkat without AT_SYMLINK_FOLLOW links the symlink itself',
    driver: 'fs_create',
    setup: withLinks,
    args: (t) => ['linkat', 'cwd', A(t, 'lfile'), 'cwd', A(t, 'hl'), '0'],
    effect: (t) => expect(fsState(A(t, 'hl'))).toMatchObject({kind: 'symlink', content: O(t, 'f')}),
  },
  // --- /proc ---
  {
    name: '/proc/self/cwd with an outside cwd',
    driver: 'fs_open',
    args: () => ['creat', '/proc/self/cwd/x'],
    cwd: (t) => t.outside,
    denied: {operation: 'creat', path: () => '/proc/self/cwd/x', canonical: (t) => O(t, 'x')},
    watch: (t) => [O(t, 'x')],
  },
  {
    name: '/proc/self/cwd with an allowed cwd',
    driver: 'fs_open',
    args: () => ['creat', '/proc/self/cwd/x'],
    cwd: (t) => t.allowed,
    effect: created((t) => A(t, 'x')),
  },
  {
    name: '/proc/PID/cwd with an outside cwd',
    driver: 'fs_open',
    args: () => ['creat', '/proc/{pid}/cwd/x'],
    cwd: (t) => t.outside,
    denied: {operation: 'creat', canonical: (t) => O(t, 'x')},
    watch: (t) => [O(t, 'x')],
  },
  {
    name: '/proc/self/fd/N of an outside directory',
    driver: 'fs_open',
    args: (t) => ['withfd', `dir:${t.outside}`, 'creat', '/proc/self/fd/{fd}/x'],
    denied: {operation: 'creat', canonical: (t) => O(t, 'x')},
    watch: (t) => [O(t, 'x')],
  },
  {
    name: '/proc/self/fd/N of the allowed directory',
    driver: 'fs_open',
    args: (t) => ['withfd', `dir:${t.allowed}`, 'creat', '/proc/self/fd/{fd}/x'],
    effect: created((t) => A(t, 'x')),
  },
  {
    name: 're-opening a read-only fd of an outside file for writing via /proc/self/fd/N',
    driver: 'fs_open',
    setup: withOutsideFile,
    args: (t) => ['withfd', `ro:${O(t, 'f')}`, 'open', '/proc/self/fd/{fd}', 'O_WRONLY|O_TRUNC'],
    denied: {operation: 'open', canonical: (t) => O(t, 'f')},
    watch: (t) => [O(t, 'f')],
  },
  {
    name: 're-opening an O_PATH fd of an outside file for writing via /proc/PID/fd/N',
    driver: 'fs_open',
    setup: withOutsideFile,
    args: (t) => ['withfd', `path:${O(t, 'f')}`, 'open', '/proc/{pid}/fd/{fd}', 'O_WRONLY'],
    denied: {operation: 'open', canonical: (t) => O(t, 'f')},
    watch: (t) => [O(t, 'f')],
  },
]

describe.each(BUILDS)('%s build', (build) => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const t = makeTmpDirs()
    c.setup?.(t)
    const watched = c.watch?.(t) ?? []
    const before = watched.map(fsState)
    const o = await runDriver(t, {
      driver: c.driver,
      build,
      args: c.args(t),
      cwd: c.cwd?.(t) ?? t.base,
      writable: c.writable?.(t),
    })
    if (c.denied) {
      expectDenied(o, {operation: c.denied.operation, path: c.denied.path?.(t), canonical: c.denied.canonical(t)})
    } else if (c.errno) {
      expectErrno(o, c.errno)
    } else {
      expectAllowed(o)
    }
    if (c.denied || c.errno || !c.effect) expect(watched.map(fsState)).toEqual(before)
    c.effect?.(t)
  })
})
