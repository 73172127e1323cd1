// Opening for write, creating by open, and truncating: open, openat, creat,
// openat2, truncate, ftruncate (test/drivers/fs_open.c).
import {describe, expect, test} from '@jest/globals'
import {randomBytes} from 'node:crypto'
import {existsSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {writeCaseTests} from '../helpers/cases.js'
import type {WriteCase} from '../helpers/cases.js'
import {BUILDS, runDriver, waitFor} from '../helpers/driver.js'
import {expectAllowed, expectDenied, expectErrno, fsState} from '../helpers/expect.js'
import {makeTmpDirs} from '../helpers/tmp.js'

const ORIGINAL = 'original'
const put = (path: string) => writeFileSync(path, ORIGINAL)
const content = (path: string) => readFileSync(path, 'utf8')

interface OpenCase {
  name: string
  operation: 'open' | 'openat' | 'creat'
  /** Driver arguments; target is the absolute path, dir its directory. */
  args: (target: string, dir: string) => string[]
  /** The path as given, when it is not the absolute target (a dirfd-relative name). */
  given?: string
  /** The file's content afterwards. */
  after: string
}

/** A write-open of the existing file dir/f (content "original"). */
function existing(c: OpenCase): WriteCase {
  return {
    name: c.name,
    driver: 'fs_open',
    setup: (dir) => put(join(dir, 'f')),
    args: (dir) => c.args(join(dir, 'f'), dir),
    operation: c.operation,
    given: (dir) => c.given ?? join(dir, 'f'),
    canonical: (dir) => join(dir, 'f'),
    effect: (dir) => expect(content(join(dir, 'f'))).toBe(c.after),
  }
}

/** An open or creat that makes the new file dir/new. */
function creating(c: OpenCase): WriteCase {
  return {
    name: c.name,
    driver: 'fs_open',
    args: (dir) => c.args(join(dir, 'new'), dir),
    operation: c.operation,
    given: (dir) => c.given ?? join(dir, 'new'),
    canonical: (dir) => join(dir, 'new'),
    effect: (dir) => expect(fsState(join(dir, 'new'))).toMatchObject({kind: 'file', content: c.after}),
  }
}

const cases: WriteCase[] = [
  existing({name: 'open O_WRONLY, then write', operation: 'open', args: (f) => ['open', f, 'O_WRONLY', 'XY'], after: 'XYiginal'}),
  existing({name: 'open O_RDWR, then write', operation: 'open', args: (f) => ['open', f, 'O_RDWR', 'XY'], after: 'XYiginal'}),
  existing({
    name: 'open O_WRONLY|O_APPEND, then write',
    operation: 'open',
    args: (f) => ['open', f, 'O_WRONLY|O_APPEND', 'XY'],
    after: 'originalXY',
  }),
  existing({name: 'open O_RDONLY|O_TRUNC truncates', operation: 'open', args: (f) => ['open', f, 'O_RDONLY|O_TRUNC'], after: ''}),
  existing({name: 'open O_WRONLY|O_TRUNC truncates', operation: 'open', args: (f) => ['open', f, 'O_WRONLY|O_TRUNC'], after: ''}),
  existing({
    name: 'openat AT_FDCWD O_RDWR|O_TRUNC',
    operation: 'openat',
    args: (f) => ['openat', 'cwd', f, 'O_RDWR|O_TRUNC'],
    after: '',
  }),
  existing({
    name: 'openat dirfd "f" O_WRONLY, then write',
    operation: 'openat',
    args: (_f, dir) => ['openat', `dir:${dir}`, 'f', 'O_WRONLY', 'XY'],
    given: 'f',
    after: 'XYiginal',
  }),
  existing({name: 'creat of an existing file truncates', operation: 'creat', args: (f) => ['creat', f, 'XY'], after: 'XY'}),
  creating({name: 'open O_WRONLY|O_CREAT, then write', operation: 'open', args: (p) => ['open', p, 'O_WRONLY|O_CREAT', 'XY'], after: 'XY'}),
  creating({name: 'open O_RDONLY|O_CREAT creates', operation: 'open', args: (p) => ['open', p, 'O_RDONLY|O_CREAT'], after: ''}),
  creating({
    name: 'openat AT_FDCWD O_WRONLY|O_CREAT|O_EXCL',
    operation: 'openat',
    args: (p) => ['openat', 'cwd', p, 'O_WRONLY|O_CREAT|O_EXCL'],
    after: '',
  }),
  creating({
    name: 'openat dirfd "new" O_RDONLY|O_CREAT',
    operation: 'openat',
    args: (_p, dir) => ['openat', `dir:${dir}`, 'new', 'O_RDONLY|O_CREAT'],
    given: 'new',
    after: '',
  }),
  creating({name: 'creat', operation: 'creat', args: (p) => ['creat', p, 'XY'], after: 'XY'}),
  {
    name: 'truncate',
    driver: 'fs_open',
    setup: (dir) => put(join(dir, 'f')),
    args: (dir) => ['truncate', join(dir, 'f'), '3'],
    operation: 'truncate',
    given: (dir) => join(dir, 'f'),
    canonical: (dir) => join(dir, 'f'),
    effect: (dir) => expect(content(join(dir, 'f'))).toBe('ori'),
  },
  {
    name: 'open O_TMPFILE|O_WRONLY in a directory, then write',
    driver: 'fs_open',
    args: (dir) => ['open', dir, 'O_TMPFILE|O_WRONLY', 'XY'],
    operation: 'open',
    given: (dir) => dir,
    canonical: (dir) => dir,
    watch: (dir) => [dir],
    // The file has no name: the open and the write through it succeeding is the effect.
    effect: (dir) => expect(fsState(dir).content).toBe(''),
  },
]

describe('write-opens and truncation', () => {
  writeCaseTests(cases)
})

describe.each(BUILDS)('%s build', (build) => {
  test('a read-only open outside the rules is not a write', async () => {
    const tmp = makeTmpDirs()
    put(join(tmp.outside, 'f'))
    const o = await runDriver(tmp, {driver: 'fs_open', build, args: ['open', join(tmp.outside, 'f'), 'O_RDONLY'], cwd: tmp.base})
    expectAllowed(o)
  })

  test.each(['O_WRONLY', 'O_RDWR', 'O_WRONLY|O_TRUNC'])(
    'a %s open of a missing file outside the rules fails with ENOENT, no violation',
    async (flags) => {
      const tmp = makeTmpDirs()
      const path = join(tmp.outside, 'missing')
      const o = await runDriver(tmp, {driver: 'fs_open', build, args: ['open', path, flags], cwd: tmp.base})
      expectErrno(o, 'ENOENT')
      expect(existsSync(path)).toBe(false)
    },
  )

  test.each([
    ['a new file inside the rules', 'allowed', 'O_WRONLY|O_CREAT'],
    ['a new file outside the rules', 'outside', 'O_WRONLY|O_CREAT'],
    ['an existing file, read-only', 'allowed', 'O_RDONLY'],
  ] as const)('openat2 is answered ENOSYS and never runs: %s', async (_what, where, flags) => {
    const tmp = makeTmpDirs()
    const dir = where === 'allowed' ? tmp.allowed : tmp.outside
    const path = join(dir, flags === 'O_RDONLY' ? 'f' : 'new')
    if (flags === 'O_RDONLY') put(path)
    const before = fsState(path)
    const o = await runDriver(tmp, {driver: 'fs_open', build, args: ['openat2', 'cwd', path, flags], cwd: tmp.base})
    expect(o.out).toBe('err ENOSYS')
    expect(fsState(path)).toEqual(before)
  })

  describe('ftruncate is judged by the file its fd points to', () => {
    test('let through on a file inside the rules', async () => {
      const tmp = makeTmpDirs()
      const path = join(tmp.allowed, 'f')
      put(path)
      const o = await runDriver(tmp, {driver: 'fs_open', build, args: ['ftruncate', `rw:${path}`, '2'], cwd: tmp.base})
      expectAllowed(o)
      expect(content(path)).toBe('or')
    })

    test('refused when the file was moved outside the rules after the open', async () => {
      const tmp = makeTmpDirs()
      const inside = join(tmp.allowed, 'f')
      const moved = join(tmp.outside, 'f')
      put(inside)
      const ready = join(tmp.io, 'ready')
      const go = join(tmp.io, 'go')
      const running = runDriver(tmp, {
        driver: 'fs_open',
        build,
        args: ['ftruncate', `rw:${inside}`, '0'],
        cwd: tmp.base,
        writable: [tmp.allowed, ready],
        env: {CATBOX_DRV_READY: ready, CATBOX_DRV_GO: go},
      })
      await waitFor(() => existsSync(ready), 'the driver to open the file', running)
      renameSync(inside, moved)
      writeFileSync(go, '')
      const o = await running
      expectDenied(o, {operation: 'ftruncate', canonical: moved})
      expect(content(moved)).toBe(ORIGINAL)
    })

    test('in collect-only mode both the open and the ftruncate are recorded, and happen', async () => {
      const tmp = makeTmpDirs()
      const path = join(tmp.outside, 'f')
      put(path)
      const o = await runDriver(tmp, {
        driver: 'fs_open',
        build,
        args: ['ftruncate', `rw:${path}`, '0'],
        cwd: tmp.base,
        collectOnly: true,
      })
      expect(o.out).toBe('ok')
      expect(o.result.violations).toEqual([
        expect.objectContaining({operation: 'openat', path, canonical: path, denied: false, error: ''}),
        expect.objectContaining({operation: 'ftruncate', canonical: path, pid: o.pid, denied: false, error: ''}),
      ])
      expect(content(path)).toBe('')
    })
  })
})

describe('a file in /etc', () => {
  // As root nothing but the sandbox stops this write; as a user the kernel would too,
  // but the sandbox must still refuse it first and record it.
  test(`cannot be created (running as ${process.getuid?.() === 0 ? 'root' : 'a user'})`, async () => {
    const tmp = makeTmpDirs()
    const path = `/etc/catbox-test-${randomBytes(6).toString('hex')}`
    try {
      const o = await runDriver(tmp, {driver: 'fs_open', args: ['open', path, 'O_WRONLY|O_CREAT', 'x'], cwd: tmp.base})
      expectDenied(o, {operation: 'open', path, canonical: path})
      expect(existsSync(path)).toBe(false)
    } finally {
      rmSync(path, {force: true})
    }
  })

  test('cannot be truncated', async () => {
    const tmp = makeTmpDirs()
    // As root, a file of the test's own (a failing sandbox must not cost the machine
    // its /etc/passwd); as a user, /etc/passwd, which the kernel protects anyway.
    const isRoot = process.getuid?.() === 0
    const path = isRoot ? `/etc/catbox-test-${randomBytes(6).toString('hex')}` : '/etc/passwd'
    if (isRoot) writeFileSync(path, ORIGINAL)
    try {
      const before = fsState(path)
      const o = await runDriver(tmp, {driver: 'fs_open', args: ['truncate', path, '0'], cwd: tmp.base})
      expectDenied(o, {operation: 'truncate', path, canonical: path})
      expect(fsState(path)).toEqual(before)
    } finally {
      if (isRoot) rmSync(path, {force: true})
    }
  })
})
