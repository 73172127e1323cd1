// Metadata: chmod, chown, time stamps and xattrs, by path, by fd and by
// (fd, "", AT_EMPTY_PATH) (test/drivers/fs_meta.c). The fd forms are judged by
// the file the fd points to: an O_RDONLY open outside the rules is fine, a
// metadata change through it is not.
import {describe, expect, test} from '@jest/globals'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {writeCaseTests} from '../helpers/cases.js'
import type {WriteCase} from '../helpers/cases.js'
import {BUILDS, runBare, runDriver, xattrOf} from '../helpers/driver.js'
import {expectAllowed, expectErrno, fsState} from '../helpers/expect.js'
import {makeTmpDirs} from '../helpers/tmp.js'

const isRoot = process.getuid?.() === 0
/** As root, chown to another owner so the effect shows; as a user, only our own ids are possible. */
const uid = String(isRoot ? 12345 : process.getuid!())
const gid = String(isRoot ? 23456 : process.getgid!())
const TIME_NS = '1000000000000000000' // the drivers' fixed time stamp, 2001-09-09
const XATTR = 'user.catbox'

const file = (dir: string) => join(dir, 'f')
const putFile = (dir: string) => writeFileSync(file(dir), 'original', {mode: 0o644})

type Form = {label: string; args: (dir: string) => string[]; operation: string; given?: (dir: string) => string}

/** The ways to name dir/f: by path, by dirfd + name, by fd, by fd + AT_EMPTY_PATH. */
function cases(
  what: string,
  forms: Form[],
  effect: (dir: string) => void,
  extra: Partial<WriteCase> = {},
): WriteCase[] {
  return forms.map((form) => ({
    name: `${what}: ${form.label}`,
    driver: 'fs_meta',
    setup: putFile,
    args: form.args,
    operation: form.operation,
    given: form.given,
    canonical: file,
    effect,
    ...extra,
  }))
}

const byPath = (op: string, ...rest: string[]): Form => ({
  label: op,
  args: (dir) => [op, file(dir), ...rest],
  operation: op,
  given: file,
})
const byDirfd = (op: string, ...rest: string[]): Form => ({
  label: `${op} with a dirfd`,
  args: (dir) => [op, `dir:${dir}`, 'f', ...rest],
  operation: op,
  given: () => 'f',
})
const byCwd = (op: string, ...rest: string[]): Form => ({
  label: `${op} AT_FDCWD`,
  args: (dir) => [op, 'cwd', file(dir), ...rest],
  operation: op,
  given: file,
})
/** On an O_RDONLY fd: reads outside the rules are allowed, so the open itself is not recorded. */
const byFd = (op: string, operation: string, ...rest: string[]): Form => ({
  label: `${op} on a read-only fd`,
  args: (dir) => [op, `ro:${file(dir)}`, ...rest],
  operation,
})
const byEmptyPath = (op: string, before: string[], after: string[]): Form => ({
  label: `${op} on an O_PATH fd with AT_EMPTY_PATH`,
  args: (dir) => [op, `path:${file(dir)}`, '', ...before, ...after],
  operation: op,
})

const mode600 = (dir: string) => expect(fsState(file(dir)).mode).toBe('600')
const owned = (dir: string) => expect(fsState(file(dir))).toMatchObject({uid: Number(uid), gid: Number(gid)})
const stamped = (dir: string) => expect(fsState(file(dir)).mtimeNs).toBe(TIME_NS)

const xattrSet = (dir: string) => expect(xattrOf(file(dir), XATTR)).toBe('new')
const xattrGone = (dir: string) => expect(xattrOf(file(dir), XATTR)).toBe('')
const withXattr = (dir: string) => {
  putFile(dir)
  expect(runBare('fs_meta', ['setxattr', file(dir), XATTR, 'old'])).toBe('ok')
}
const xattrValue = (dir: string) => xattrOf(file(dir), XATTR)

describe('mode', () => {
  writeCaseTests(
    cases(
      'chmod',
      [
        byPath('chmod', '600'),
        byFd('fchmod', 'fchmod', '600'),
        byCwd('fchmodat', '600'),
        byDirfd('fchmodat', '600'),
        byCwd('fchmodat2', '600', '0'),
        byEmptyPath('fchmodat2', ['600'], ['AT_EMPTY_PATH']),
      ],
      mode600,
    ),
  )
})

describe(`owner (${isRoot ? 'root: to another owner' : 'a user: to its own ids'})`, () => {
  writeCaseTests(
    cases(
      'chown',
      [
        byPath('chown', uid, gid),
        byPath('lchown', uid, gid),
        byFd('fchown', 'fchown', uid, gid),
        byCwd('fchownat', uid, gid, '0'),
        byDirfd('fchownat', uid, gid, 'AT_SYMLINK_NOFOLLOW'),
        byEmptyPath('fchownat', [uid, gid], ['AT_EMPTY_PATH']),
      ],
      owned,
    ),
  )
})

describe('time stamps', () => {
  writeCaseTests(
    cases(
      'times',
      [
        byPath('utime'),
        byPath('utimes'),
        byCwd('futimesat'),
        byDirfd('futimesat'),
        byCwd('utimensat', '0'),
        byDirfd('utimensat', 'AT_SYMLINK_NOFOLLOW'),
        {label: 'futimens (utimensat with a NULL path) on a read-only fd', args: (dir) => ['futimens', `ro:${file(dir)}`], operation: 'utimensat'},
        byEmptyPath('utimensat', [], ['AT_EMPTY_PATH']),
      ],
      stamped,
    ),
  )
})

describe('extended attributes', () => {
  writeCaseTests([
    ...cases(
      'set',
      [byPath('setxattr', XATTR, 'new'), byPath('lsetxattr', XATTR, 'new'), byFd('fsetxattr', 'fsetxattr', XATTR, 'new')],
      xattrSet,
      {same: xattrValue},
    ),
    ...cases(
      'remove',
      [byPath('removexattr', XATTR), byPath('lremovexattr', XATTR), byFd('fremovexattr', 'fremovexattr', XATTR)],
      xattrGone,
      {setup: withXattr, same: xattrValue},
    ),
  ])
})

describe.each(BUILDS)('%s build', (build) => {
  test(`chown to another owner inside the rules: ${isRoot ? 'done (root)' : 'EPERM from the kernel (not root)'}`, async () => {
    const tmp = makeTmpDirs()
    putFile(tmp.allowed)
    const before = fsState(file(tmp.allowed))
    const o = await runDriver(tmp, {driver: 'fs_meta', build, args: ['chown', file(tmp.allowed), '54321', '54321'], cwd: tmp.base})
    if (isRoot) {
      expectAllowed(o)
      expect(fsState(file(tmp.allowed))).toMatchObject({uid: 54321, gid: 54321})
    } else {
      expectErrno(o, 'EPERM')
      expect(fsState(file(tmp.allowed))).toEqual(before)
    }
  })
})
