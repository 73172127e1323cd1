// The guest view answers as the kernel does on a plain directory tree: each
// case runs the same commands bare on a copy of the host tree (the control)
// and in the guest view, and expects the same output.
import {beforeAll, describe, expect, test} from '@jest/globals'
import {execFileSync} from 'node:child_process'
import {cpSync} from 'node:fs'
import {join} from 'node:path'

import {driverPath} from '../helpers/driver.js'
import {expectClean, fingerprint, makeOverlay, makeTree, PATH, runGuest} from '../helpers/overlay.js'
import type {GuestRunOptions} from '../helpers/overlay.js'
import {makeTmpDirs} from '../helpers/tmp.js'

const lines = (...l: string[]) => l.map((x) => `${x}\n`).join('')

/** script run by sh in a fresh copy of the tree, without catbox: what the kernel answers. */
function bare(entries: Record<string, string | null>, script: string): string {
  const dir = join(makeTmpDirs().base, 'bare')
  makeTree(dir, entries)
  return execFileSync('/bin/sh', ['-c', script], {cwd: dir, encoding: 'utf8', env: {PATH, LC_ALL: 'C'}})
}

/** The same script in the guest view of the same tree, from its top; the host is left as it was. */
async function guest(entries: Record<string, string | null>, script: string, options: GuestRunOptions = {}) {
  const fx = makeOverlay()
  makeTree(fx.host, entries)
  const before = fingerprint(fx.host)
  const r = await runGuest(fx, script, options)
  expect(fingerprint(fx.host)).toEqual(before)
  return r
}

/** Runs body with CATBOX_NO_USER_NOTIF set (every question a ptrace stop) or not. */
async function asking<R>(ptraceOnly: boolean, body: () => Promise<R>): Promise<R> {
  const saved = process.env.CATBOX_NO_USER_NOTIF
  if (ptraceOnly) process.env.CATBOX_NO_USER_NOTIF = '1'
  else delete process.env.CATBOX_NO_USER_NOTIF
  try {
    return await body()
  } finally {
    if (saved === undefined) delete process.env.CATBOX_NO_USER_NOTIF
    else process.env.CATBOX_NO_USER_NOTIF = saved
  }
}

describe('a directory has one identity however it is asked (fts: find, du, chmod -R, rm -r)', () => {
  // t is a host directory the build writes into (so its listing is merged),
  // with a tree deeper than 5 levels below it: fts then climbs back with ".."
  // and checks that fstat of what it opened is what stat by name said.
  const tree = {'t/d1/d2/d3/d4/d5/x': 'x', 't/d1/y': 'y', 't/e/f': 'f', 'u/v': 'v'}
  const dirs = 't t/d1 t/d1/d2 t/e t/up u .'
  const script = [
    'touch t/new && mkdir t/up && touch t/d1/d2/d3/d4/d5/z',
    `${driverPath('dirid')} ${dirs}`,
    `${driverPath('dirid', 'static')} ${dirs}`,
    'find t | sort; echo "find $?"',
    'find t -depth -type d | sort | tr "\\n" " "; echo',
    'du -a t | wc -l; echo "du $?"',
    'chmod -R u+w t; echo "chmod $?"',
    'chmod -R go-w t; echo "chmod $?"',
    'rm -rf t; echo "rm $?"; ls',
  ].join('\n')
  let control = ''
  beforeAll(() => {
    control = bare(tree, script)
  })

  test('the control: bare, every identity agrees and every tool walks the tree', () => {
    expect(control).toContain(lines('t same 14', 't/d1 same 10'))
    expect(control).toContain('find 0\n')
    expect(control).toContain(lines('du 0', 'chmod 0', 'chmod 0', 'rm 0', 'u'))
  })

  for (const ptraceOnly of [false, true]) {
    test(`in the guest view, as bare (${ptraceOnly ? 'ptrace stops only' : 'reads by user notification'})`, async () => {
      const r = await asking(ptraceOnly, () => guest(tree, script))
      expectClean(r)
      expect(r.stdout).toBe(control)
    })
  }
})
