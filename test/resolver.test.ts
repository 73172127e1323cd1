// Table tests for the native path resolver: the canonical path the kernel
// would act on, resolved in a process's view (here this Node process itself).
import {closeSync, mkdirSync, mkdtempSync, openSync, realpathSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {constants, tmpdir} from 'node:os'
import {join} from 'node:path'

import {loadNative} from '../src/run/native.js'

const native = loadNative()
const AT_FDCWD = -100
const {ENOENT, ENOTDIR, ELOOP} = constants.errno

// T/real/deep/      directories
// T/real/file       a file
// T/abs -> T/real/deep     an absolute symlink
// T/rel -> real/deep       a relative one
// T/dangling -> T/real/new
// T/loop1 <-> T/loop2
const T = realpathSync(mkdtempSync(join(tmpdir(), 'catbox-resolver-')))
beforeAll(() => {
  mkdirSync(join(T, 'real', 'deep'), {recursive: true})
  writeFileSync(join(T, 'real', 'file'), 'x')
  symlinkSync(join(T, 'real', 'deep'), join(T, 'abs'))
  symlinkSync('real/deep', join(T, 'rel'))
  symlinkSync(join(T, 'real', 'new'), join(T, 'dangling'))
  symlinkSync('loop2', join(T, 'loop1'))
  symlinkSync('loop1', join(T, 'loop2'))
})
afterAll(() => rmSync(T, {recursive: true, force: true}))

const resolve = (path: string, follow = true, dirfd = AT_FDCWD) => native.resolvePath(process.pid, dirfd, path, follow)
const at = (p: string) => p.replace('@', T)

describe('lexical traps', () => {
  test.each<[string, string, string]>([
    ['plain', '@/real/file', '@/real/file'],
    ['doubled slashes', '@//real///file', '@/real/file'],
    ['"." components', '@/./real/./file', '@/real/file'],
    ['".." climbs one component', '@/real/deep/../file', '@/real/file'],
    ['".." never climbs above /', '/../../..@/real/file', '@/real/file'],
    ['a trailing slash on a directory', '@/real/deep/', '@/real/deep'],
    ['the root', '/', '/'],
  ])('%s: %s', (_name, path, expected) => {
    const r = resolve(at(path))
    expect(r).toMatchObject({path: at(expected), error: 0, exists: true})
  })
})

describe('symlinks', () => {
  test('a symlink in the last component is followed when the call follows', () => {
    expect(resolve(at('@/abs'), true)).toMatchObject({path: at('@/real/deep'), exists: true})
  })

  test('and names the link itself when it does not (lchown, unlink, O_NOFOLLOW)', () => {
    expect(resolve(at('@/abs'), false)).toMatchObject({path: at('@/abs'), exists: true})
  })

  test('a symlink in the middle is always followed', () => {
    expect(resolve(at('@/rel/x'), false)).toMatchObject({path: at('@/real/deep/x'), exists: false, error: 0})
  })

  test('".." after a symlink climbs from its target, as the kernel does (not lexically)', () => {
    expect(resolve(at('@/abs/../file'))).toMatchObject({path: at('@/real/file'), exists: true})
  })

  test('a trailing slash makes the kernel follow even a nofollow call', () => {
    expect(resolve(at('@/abs/'), false)).toMatchObject({path: at('@/real/deep'), exists: true})
  })

  test('a dangling symlink resolves to where a create would land', () => {
    expect(resolve(at('@/dangling'), true)).toMatchObject({path: at('@/real/new'), exists: false, error: 0})
  })

  test('a symlink loop fails with ELOOP', () => {
    expect(resolve(at('@/loop1'), true).error).toBe(-ELOOP)
  })
})

describe('failures the kernel would give', () => {
  test('a missing parent is ENOENT', () => {
    expect(resolve(at('@/nope/x')).error).toBe(-ENOENT)
  })

  test('a file used as a directory is ENOTDIR', () => {
    expect(resolve(at('@/real/file/x')).error).toBe(-ENOTDIR)
  })

  test('an empty path is ENOENT', () => {
    expect(resolve('').error).toBe(-ENOENT)
  })
})

describe('the process view: cwd, dirfd and /proc', () => {
  test('a relative path starts at the cwd', () => {
    expect(resolve('x/y')).toMatchObject({path: join(realpathSync(process.cwd()), 'x/y')})
  })

  test('a relative path starts at the dirfd when one is given', () => {
    const fd = openSync(join(T, 'real', 'deep'), 'r')
    try {
      expect(resolve('../file', true, fd)).toMatchObject({path: at('@/real/file'), exists: true})
    } finally {
      closeSync(fd)
    }
  })

  test('/proc/self means the traced process, not the supervisor', () => {
    expect(resolve('/proc/self/cwd', true).path).toBe(realpathSync(process.cwd()))
    expect(resolve('/proc/self', false).path).toBe(`/proc/${process.pid}`)
    expect(resolve('/proc/thread-self', false).path).toBe(`/proc/${process.pid}/task/${process.pid}`)
  })

  test('/proc/self/fd/N resolves to the open file, and knows whether it is open for writing', () => {
    const ro = openSync(join(T, 'real', 'file'), 'r')
    const rw = openSync(join(T, 'real', 'file'), 'r+')
    try {
      expect(resolve(`/proc/self/fd/${ro}`)).toMatchObject({path: at('@/real/file'), reopensWritableFd: false})
      expect(resolve(`/dev/fd/${rw}`)).toMatchObject({path: at('@/real/file'), reopensWritableFd: true})
    } finally {
      closeSync(ro)
      closeSync(rw)
    }
  })

  test('a magic link to a socket or pipe is an anonymous object, not a path', () => {
    // Node's own stdio or its libuv signal pipe: find one fd that is not a file.
    let anonFd = -1
    for (let fd = 0; fd < 64 && anonFd < 0; fd++) {
      const r = resolve(`/proc/self/fd/${fd}`)
      if (r.error === 0 && r.anon) anonFd = fd
    }
    expect(anonFd).toBeGreaterThanOrEqual(0)
    expect(resolve(`/proc/self/fd/${anonFd}`).path).toMatch(/^(pipe|socket|anon_inode):/)
  })
})
