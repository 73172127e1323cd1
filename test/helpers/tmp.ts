// A fresh temporary tree per test: base/{allowed,outside,io}. "outside" is a
// sibling of "allowed", never under it; "io" holds the driver's output files.
import {afterAll} from '@jest/globals'
import {mkdtempSync, mkdirSync, realpathSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export interface TmpDirs {
  /** Canonical (realpath) root of this tree. */
  base: string
  /** The directory the rules allow. */
  allowed: string
  /** A directory no rule allows. */
  outside: string
  /** Driver stdout/stderr files; each is allowed by its own exact rule. */
  io: string
}

const made: string[] = []

export function makeTmpDirs(): TmpDirs {
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'catbox-it-')))
  made.push(base)
  const dirs = {base, allowed: join(base, 'allowed'), outside: join(base, 'outside'), io: join(base, 'io')}
  mkdirSync(dirs.allowed)
  mkdirSync(dirs.outside)
  mkdirSync(dirs.io)
  return dirs
}

afterAll(() => {
  for (const base of made.splice(0)) rmSync(base, {recursive: true, force: true})
})
