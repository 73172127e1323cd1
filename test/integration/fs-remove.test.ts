// Removing and moving names: unlink(at), rmdir, rename, renameat, renameat2
// (test/drivers/fs_remove.c). A rename is checked on both sides.
import {describe, expect, test} from '@jest/globals'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {twoSidedTests, writeCaseTests} from '../helpers/cases.js'
import type {TwoSidedCase, WriteCase} from '../helpers/cases.js'
import {BUILDS, runDriver} from '../helpers/driver.js'
import {expectErrno, fsState} from '../helpers/expect.js'
import {makeTmpDirs} from '../helpers/tmp.js'

function removing(
  name: string,
  operation: string,
  node: 'f' | 'd',
  args: (path: string, dir: string) => string[],
  given?: string,
): WriteCase {
  return {
    name,
    driver: 'fs_remove',
    setup: (dir) => (node === 'd' ? mkdirSync(join(dir, 'd')) : writeFileSync(join(dir, 'f'), 'original')),
    args: (dir) => args(join(dir, node), dir),
    operation,
    given: (dir) => given ?? join(dir, node),
    canonical: (dir) => join(dir, node),
    effect: (dir) => expect(fsState(join(dir, node)).exists).toBe(false),
  }
}

describe('removing names', () => {
  writeCaseTests([
    removing('unlink', 'unlink', 'f', (p) => ['unlink', p]),
    removing('unlinkat AT_FDCWD', 'unlinkat', 'f', (p) => ['unlinkat', 'cwd', p, '0']),
    removing('unlinkat with a dirfd', 'unlinkat', 'f', (_p, dir) => ['unlinkat', `dir:${dir}`, 'f', '0'], 'f'),
    removing('unlinkat AT_REMOVEDIR', 'unlinkat', 'd', (p) => ['unlinkat', 'cwd', p, 'AT_REMOVEDIR']),
    removing('rmdir', 'rmdir', 'd', (p) => ['rmdir', p]),
  ])
})

const put = (path: string, content: string) => writeFileSync(path, content)
const moved = (src: string, dst: string) => {
  expect(fsState(src).exists).toBe(false)
  expect(fsState(dst)).toMatchObject({kind: 'file', content: 'source'})
}
const exchanged = (src: string, dst: string) => {
  expect(fsState(src).content).toBe('destination')
  expect(fsState(dst).content).toBe('source')
}

const renames: TwoSidedCase[] = [
  {name: 'rename', driver: 'fs_remove', operation: 'rename', setup: (s) => put(s, 'source'), args: (s, d) => ['rename', s, d], effect: moved},
  {
    name: 'rename over an existing file',
    driver: 'fs_remove',
    operation: 'rename',
    setup: (s, d) => (put(s, 'source'), put(d, 'destination')),
    args: (s, d) => ['rename', s, d],
    effect: moved,
  },
  {
    name: 'renameat with dirfds',
    driver: 'fs_remove',
    operation: 'renameat',
    setup: (s) => put(s, 'source'),
    args: (_s, _d, sd, dd) => ['renameat', `dir:${sd}`, 'a', `dir:${dd}`, 'b'],
    givenSrc: 'a',
    givenDst: 'b',
    effect: moved,
  },
  {
    name: 'renameat2 with no flags',
    driver: 'fs_remove',
    operation: 'renameat2',
    setup: (s) => put(s, 'source'),
    args: (s, d) => ['renameat2', 'cwd', s, 'cwd', d, '0'],
    effect: moved,
  },
  {
    name: 'renameat2 RENAME_NOREPLACE',
    driver: 'fs_remove',
    operation: 'renameat2',
    setup: (s) => put(s, 'source'),
    args: (s, d) => ['renameat2', 'cwd', s, 'cwd', d, 'RENAME_NOREPLACE'],
    effect: moved,
  },
  {
    name: 'renameat2 RENAME_EXCHANGE',
    driver: 'fs_remove',
    operation: 'renameat2',
    setup: (s, d) => (put(s, 'source'), put(d, 'destination')),
    args: (s, d) => ['renameat2', 'cwd', s, 'cwd', d, 'RENAME_EXCHANGE'],
    effect: exchanged,
  },
]

describe('renames, both sides', () => {
  twoSidedTests(renames)
})

describe.each(BUILDS)('%s build', (build) => {
  test('moving the allowed directory itself out of the rules is refused', async () => {
    const tmp = makeTmpDirs()
    writeFileSync(join(tmp.allowed, 'f'), 'x')
    const target = join(tmp.base, 'moved')
    const before = [tmp.base, tmp.allowed].map(fsState)
    const o = await runDriver(tmp, {driver: 'fs_remove', build, args: ['rename', tmp.allowed, target], cwd: tmp.base})
    expect(o.out).toBe('err EACCES')
    expect(o.result.violations).toContainEqual(
      expect.objectContaining({operation: 'rename', canonical: target, denied: true, error: 'EACCES'}),
    )
    expect([tmp.base, tmp.allowed].map(fsState)).toEqual(before)
  })

  test('a rename within the allowed tree that keeps both sides inside is let through', async () => {
    const tmp = makeTmpDirs()
    mkdirSync(join(tmp.allowed, 'sub'))
    writeFileSync(join(tmp.allowed, 'f'), 'x')
    const o = await runDriver(tmp, {
      driver: 'fs_remove',
      build,
      args: ['rename', join(tmp.allowed, 'f'), join(tmp.allowed, 'sub', 'g')],
      cwd: tmp.base,
    })
    expect({out: o.out, violations: o.result.violations}).toEqual({out: 'ok', violations: []})
    expect(fsState(join(tmp.allowed, 'sub', 'g')).content).toBe('x')
  })

  test('rmdir of a non-empty directory inside the rules fails as the kernel says (ENOTEMPTY)', async () => {
    const tmp = makeTmpDirs()
    mkdirSync(join(tmp.allowed, 'd'))
    writeFileSync(join(tmp.allowed, 'd', 'f'), 'x')
    const o = await runDriver(tmp, {driver: 'fs_remove', build, args: ['rmdir', join(tmp.allowed, 'd')], cwd: tmp.base})
    expectErrno(o, 'ENOTEMPTY')
  })
})
