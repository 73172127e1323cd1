// Making names: mkdir(at), mknod(at), symlink(at), link(at), bind of a unix
// socket, and naming an O_TMPFILE file with linkat (test/drivers/fs_create.c).
import {describe, expect, test} from '@jest/globals'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {twoSidedTests, writeCaseTests} from '../helpers/cases.js'
import type {WriteCase} from '../helpers/cases.js'
import {BUILDS, runCaptured, runDriver} from '../helpers/driver.js'
import {expectAllowed, expectErrno, fsState} from '../helpers/expect.js'
import {makeTmpDirs} from '../helpers/tmp.js'

const isRoot = process.getuid?.() === 0

/** A call that creates dir/NAME of the given kind. */
function making(
  name: string,
  operation: string,
  node: string,
  kind: string,
  args: (path: string, dir: string) => string[],
  given?: string,
): WriteCase {
  return {
    name,
    driver: 'fs_create',
    args: (dir) => args(join(dir, node), dir),
    operation,
    given: (dir) => given ?? join(dir, node),
    canonical: (dir) => join(dir, node),
    effect: (dir) => expect(fsState(join(dir, node)).kind).toBe(kind),
  }
}

const cases: WriteCase[] = [
  making('mkdir', 'mkdir', 'd', 'dir', (p) => ['mkdir', p]),
  making('mkdirat with a dirfd', 'mkdirat', 'd', 'dir', (_p, dir) => ['mkdirat', `dir:${dir}`, 'd'], 'd'),
  making('mknod of a fifo', 'mknod', 'p', 'fifo', (p) => ['mknod', p, 'fifo']),
  making('mknod of a regular file', 'mknod', 'r', 'file', (p) => ['mknod', p, 'reg']),
  making('mknodat of a fifo with a dirfd', 'mknodat', 'p', 'fifo', (_p, dir) => ['mknodat', `dir:${dir}`, 'p', 'fifo'], 'p'),
  // A symlink is judged by the link's own path; its target does not matter.
  making('symlink (the link path is checked)', 'symlink', 'l', 'symlink', (p) => ['symlink', '/etc/passwd', p]),
  making('symlinkat with a dirfd', 'symlinkat', 'l', 'symlink', (_p, dir) => ['symlinkat', '/etc/passwd', `dir:${dir}`, 'l'], 'l'),
  making('bind of a unix socket', 'bind', 's', 'socket', (p) => ['bind', p]),
  ...(['empty', 'proc'] as const).map(
    (how): WriteCase => ({
      name: `linkat naming an O_TMPFILE file (${how === 'empty' ? 'AT_EMPTY_PATH' : '/proc/self/fd/N, AT_SYMLINK_FOLLOW'})`,
      driver: 'fs_create',
      // The unnamed file is always made inside the rules; only its name is tried outside.
      args: (dir, tmp) => ['tmpfile_link', tmp.allowed, join(dir, 'named'), how],
      operation: 'linkat',
      given: (dir) => join(dir, 'named'),
      canonical: (dir) => join(dir, 'named'),
      effect: (dir) => expect(fsState(join(dir, 'named'))).toMatchObject({kind: 'file', content: 'tmp'}),
    }),
  ),
]

describe('making names', () => {
  writeCaseTests(cases)
})

const put = (src: string) => writeFileSync(src, 'original')
const linked = (src: string, dst: string) => {
  expect(fsState(dst)).toMatchObject({kind: 'file', content: 'original', nlink: 2})
  expect(fsState(src).nlink).toBe(2)
}

// The source of a hard link is checked as a write too: a link from outside into
// the allowed tree would let the build write the outside file through it.
describe('hard links, both sides', () => {
  twoSidedTests([
    {name: 'link', driver: 'fs_create', operation: 'link', setup: put, args: (s, d) => ['link', s, d], effect: linked},
    {
      name: 'linkat with dirfds',
      driver: 'fs_create',
      operation: 'linkat',
      setup: put,
      args: (_s, _d, sd, dd) => ['linkat', `dir:${sd}`, 'a', `dir:${dd}`, 'b', '0'],
      givenSrc: 'a',
      givenDst: 'b',
      effect: linked,
    },
    {
      name: 'linkat AT_EMPTY_PATH from an O_PATH fd',
      driver: 'fs_create',
      operation: 'linkat',
      setup: put,
      args: (s, d) => ['linkat', `path:${s}`, '', 'cwd', d, 'AT_EMPTY_PATH'],
      givenSrc: null,
      effect: linked,
    },
  ])
})

describe.each(BUILDS)('%s build', (build) => {
  test.each([
    ['mkdir', (dir: string) => ['mkdir', join(dir, 'd')]],
    ['mkdirat', (dir: string) => ['mkdirat', `dir:${dir}`, 'd']],
  ])('%s of an existing directory outside the rules fails with EEXIST, no violation', async (_op, args) => {
    const tmp = makeTmpDirs()
    mkdirSync(join(tmp.outside, 'd'))
    const before = fsState(tmp.outside)
    const o = await runDriver(tmp, {driver: 'fs_create', build, args: args(tmp.outside), cwd: tmp.base})
    expectErrno(o, 'EEXIST')
    expect(fsState(tmp.outside)).toEqual(before)
  })

  test('mkdir of the directory above the allowed one fails with EEXIST, no violation', async () => {
    const tmp = makeTmpDirs()
    const o = await runDriver(tmp, {driver: 'fs_create', build, args: ['mkdir', tmp.base], cwd: tmp.base})
    expectErrno(o, 'EEXIST')
  })

  test('a symlink inside the rules may point outside them', async () => {
    const tmp = makeTmpDirs()
    const link = join(tmp.allowed, 'l')
    const o = await runDriver(tmp, {driver: 'fs_create', build, args: ['symlink', join(tmp.outside, 'x'), link], cwd: tmp.base})
    expectAllowed(o)
    expect(fsState(link)).toMatchObject({kind: 'symlink', content: join(tmp.outside, 'x')})
    expect(fsState(join(tmp.outside, 'x')).exists).toBe(false)
  })

  // Only root may make device nodes, and not even root under catbox outside
  // fake root: a device node is the device wherever it lives (hardening.test.ts).
  test(`mknod of a character device inside the rules: ${isRoot ? 'EPERM, recorded (root)' : 'EPERM from the kernel (not root)'}`, async () => {
    const tmp = makeTmpDirs()
    const path = join(tmp.allowed, 'null')
    const o = await runDriver(tmp, {driver: 'fs_create', build, args: ['mknod', path, 'chr'], cwd: tmp.base})
    if (isRoot) {
      expect(o.out).toBe('err EPERM')
      expect(o.result.violations).toEqual([expect.objectContaining({operation: 'mknod', canonical: path, denied: true, error: 'EPERM'})])
      expect(fsState(path).exists).toBe(false)
    } else {
      expectErrno(o, 'EPERM')
      expect(fsState(path).exists).toBe(false)
    }
  })
})

describe('mkdir -p', () => {
  test('makes a path inside the rules whose parents exist outside them', async () => {
    const tmp = makeTmpDirs()
    const path = join(tmp.allowed, 'a', 'b', 'c')
    const {stderr, result} = await runCaptured(tmp, {command: ['mkdir', '-p', path], cwd: tmp.base})
    expect({stderr, exitCode: result.exitCode, violations: result.violations}).toEqual({
      stderr: '',
      exitCode: 0,
      violations: [],
    })
    expect(fsState(path).kind).toBe('dir')
  })

  test('of a directory that exists outside the rules succeeds without a violation', async () => {
    const tmp = makeTmpDirs()
    mkdirSync(join(tmp.outside, 'd'))
    const {result} = await runCaptured(tmp, {command: ['mkdir', '-p', join(tmp.outside, 'd')], cwd: tmp.base})
    expect({exitCode: result.exitCode, violations: result.violations}).toEqual({exitCode: 0, violations: []})
  })

  test('of a new directory outside the rules fails and is recorded', async () => {
    const tmp = makeTmpDirs()
    const path = join(tmp.outside, 'new', 'deeper')
    const {result} = await runCaptured(tmp, {command: ['mkdir', '-p', path], cwd: tmp.base})
    expect(result.exitCode).not.toBe(0)
    expect(result.violations).toEqual([
      expect.objectContaining({canonical: join(tmp.outside, 'new'), program: 'mkdir', denied: true, error: 'EACCES'}),
    ])
    expect(fsState(join(tmp.outside, 'new')).exists).toBe(false)
  })
})
