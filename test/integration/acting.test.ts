// In enforce mode the supervisor carries a checked write out itself
// (docs/supervisor.md, "What the supervisor carries out"): it opens the file
// and hands the descriptor over, makes the directory, and so on. What the
// build sees must stay what the kernel gives it: the umask, close-on-exec,
// the lowest free descriptor, its own fd limit, a fifo that waits for its
// reader, the controlling terminal of the process (not catbox's), an
// O_TMPFILE file, and the owner of what a root build makes after dropping to
// another user. Each case runs test/drivers/acting.c bare and under catbox and
// compares the two.
import {describe, expect, test} from '@jest/globals'
import {chmodSync, existsSync, lstatSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'

import {runBare, runDriver} from '../helpers/driver.js'
import {makeTmpDirs} from '../helpers/tmp.js'

const isRoot = process.getuid?.() === 0

interface Case {
  name: string
  /** Driver arguments for a fresh directory dir (made writable by all). */
  args: (dir: string) => string[]
  /** What the bare run prints: checked first, so a wrong expectation fails there. */
  expected: string
  /** The state afterwards, bare and under catbox alike. */
  after?: (dir: string) => void
  rootOnly?: boolean
}

const cases: Case[] = [
  {
    name: 'a file and a directory made with the build thread\'s umask',
    args: (d) => ['umask', '027', join(d, 'u')],
    expected: 'file 640 dir 750',
  },
  {
    name: 'O_CLOEXEC as asked, and not set when not asked',
    args: (d) => ['cloexec', join(d, 'c')],
    expected: 'cloexec 1 plain 0',
  },
  {
    name: 'the descriptor is the lowest free one',
    args: (d) => ['lowest', join(d, 'l')],
    expected: 'same',
  },
  {
    name: 'at its RLIMIT_NOFILE the open fails with EMFILE and makes no file',
    args: (d) => ['emfile', join(d, 'e')],
    expected: 'err EMFILE',
    after: (d) => expect(existsSync(join(d, 'e'))).toBe(false),
  },
  {
    name: 'a fifo opened for writing waits for its reader, and the data gets through',
    args: (d) => ['fifo', join(d, 'f')],
    expected: 'ok reader got it',
  },
  {
    name: '/dev/tty of a process without a controlling terminal is ENXIO',
    args: () => ['tty'],
    expected: 'err ENXIO',
  },
  {
    name: 'O_TMPFILE: written, then linked into the directory',
    args: (d) => ['tmpfile', d],
    expected: 'ok 3',
    after: (d) => expect(lstatSync(join(d, 'linked')).size).toBe(3),
  },
  {
    name: 'a root build that drops to another user makes files as that user',
    args: (d) => ['asuser', '65534', join(d, 'o')],
    expected: 'owner 65534:65534',
    rootOnly: true,
  },
]

describe('enforce mode: a call the supervisor carries out is the kernel\'s call', () => {
  for (const c of cases) {
    const run = c.rootOnly && !isRoot ? test.skip : test
    run(`${c.name}${c.rootOnly && !isRoot ? ' (needs root: setresuid)' : ''}`, async () => {
      const tmp = makeTmpDirs()
      const bareDir = join(tmp.outside, 'bare')
      const boxDir = join(tmp.allowed, 'box')
      // Searchable by the user a root build drops to.
      for (const d of [tmp.base, tmp.outside, tmp.allowed]) chmodSync(d, 0o755)
      for (const d of [bareDir, boxDir]) {
        mkdirSync(d)
        chmodSync(d, 0o777)
      }
      const bare = runBare('acting', c.args(bareDir))
      expect(bare).toBe(c.expected)
      c.after?.(bareDir)
      const boxed = await runDriver(tmp, {driver: 'acting', args: c.args(boxDir), writable: [tmp.allowed]})
      expect(boxed.out).toBe(bare)
      expect(boxed.result.violations).toEqual([])
      c.after?.(boxDir)
    })
  }
})
