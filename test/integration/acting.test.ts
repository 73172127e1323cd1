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
import {chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {runBare, runDriver} from '../helpers/driver.js'
import type {DriverName} from '../helpers/driver.js'
import {makeTmpDirs} from '../helpers/tmp.js'

const isRoot = process.getuid?.() === 0

interface Case {
  name: string
  /** The driver (default: acting). */
  driver?: DriverName
  /** Driver arguments for a fresh directory dir (made writable by all). */
  args: (dir: string) => string[]
  /** What the bare run prints: checked first, so a wrong expectation fails there. */
  expected: string
  /** Run before each of the two runs, in the directory. */
  setup?: (dir: string) => void
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
    name: 'a fifo opened O_NOFOLLOW for writing waits for its reader, and catbox goes on meanwhile',
    args: (d) => ['fifo', join(d, 'f'), 'nofollow'],
    expected: 'ok reader got it',
  },
  {
    name: 'open("new/", O_CREAT) is EISDIR and makes nothing',
    driver: 'fs_open',
    args: (d) => ['open', join(d, 'new') + '/', 'O_WRONLY|O_CREAT'],
    expected: 'err EISDIR',
    after: (d) => expect(existsSync(join(d, 'new'))).toBe(false),
  },
  {
    name: 'open of a dangling symlink to "newdir/" with O_CREAT is EISDIR and makes nothing',
    driver: 'fs_open',
    setup: (d) => symlinkSync('newdir/', join(d, 'l')),
    args: (d) => ['open', join(d, 'l'), 'O_WRONLY|O_CREAT'],
    expected: 'err EISDIR',
    after: (d) => expect(existsSync(join(d, 'newdir'))).toBe(false),
  },
  {
    name: 'chmod("file/") is ENOTDIR and changes nothing',
    driver: 'fs_meta',
    setup: (d) => writeFileSync(join(d, 'f'), 'x', {mode: 0o644}),
    args: (d) => ['chmod', join(d, 'f') + '/', '0600'],
    expected: 'err ENOTDIR',
    after: (d) => expect(lstatSync(join(d, 'f')).mode & 0o777).toBe(0o644),
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
    name: 'after a child dropped to another user, root still writes where only its capabilities let it',
    setup: (d) => {
      mkdirSync(join(d, 'priv'))
      chownSync(join(d, 'priv'), 65534, 65534)
      chmodSync(join(d, 'priv'), 0o700)
    },
    args: (d) => ['dropthen', join(d, 'byuser'), join(d, 'priv', 'byroot')],
    expected: 'ok',
    rootOnly: true,
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
        c.setup?.(d)
      }
      const driver = c.driver ?? 'acting'
      const bare = runBare(driver, c.args(bareDir))
      expect(bare).toBe(c.expected)
      c.after?.(bareDir)
      const boxed = await runDriver(tmp, {driver, args: c.args(boxDir), writable: [tmp.allowed]})
      expect(boxed.out).toBe(bare)
      expect(boxed.result.violations).toEqual([])
      c.after?.(boxDir)
    })
  }
})

// Races on the fd table: a dup2 is no checked call, so the swapping thread
// never waits for catbox (test/drivers/fdraces.c). Bare, the swap sends some
// tries to the forbidden object; under catbox none may get there.
describe('enforce mode: a descriptor swapped by dup2 while a call names it through /proc/self/fd', () => {
  const TRIES = '3000'
  const layouts = {
    reopen: (base: string) => {
      const forbidden = join(base, 'no', 'f')
      writeFileSync(forbidden, 'forbidden\n')
      writeFileSync(join(base, 'ok', 'f'), '')
      return {args: [forbidden, join(base, 'ok', 'f')], intact: () => expect(readFileSync(forbidden, 'utf8')).toBe('forbidden\n')}
    },
    unlinked: (base: string) => {
      const forbidden = join(base, 'no', 'x (deleted)')
      writeFileSync(forbidden, 'forbidden\n')
      return {args: [forbidden, join(base, 'ok')], intact: () => expect(readFileSync(forbidden, 'utf8')).toBe('forbidden\n')}
    },
    slash: (base: string) => {
      const forbidden = join(base, 'no', 'd')
      mkdirSync(forbidden)
      mkdirSync(join(base, 'ok', 'd'))
      const before = lstatSync(forbidden).mtimeMs
      return {args: [forbidden, join(base, 'ok', 'd')], intact: () => expect(lstatSync(forbidden).mtimeMs).toBe(before)}
    },
  }
  for (const [op, layout] of Object.entries(layouts)) {
    test(`${op}: bare, the swap reaches the forbidden object; under catbox, never`, async () => {
      const tmp = makeTmpDirs()
      const bareBase = join(tmp.outside, 'bare')
      const boxBase = join(tmp.outside, 'box')
      for (const b of [bareBase, boxBase]) {
        mkdirSync(join(b, 'no'), {recursive: true})
        mkdirSync(join(b, 'ok'), {recursive: true})
      }
      const bare = layout(bareBase)
      const bareOut = runBare('fdraces', [op, TRIES, ...bare.args])
      const bareWins = Number(/^wins (\d+) allowed (\d+)/.exec(bareOut)?.[1])
      expect(bareWins).toBeGreaterThan(0)
      const boxed = layout(boxBase)
      const r = await runDriver(tmp, {driver: 'fdraces', args: [op, TRIES, ...boxed.args], writable: [join(boxBase, 'ok')]})
      const m = /^wins (\d+) allowed (\d+) denied (\d+)/.exec(r.out)
      expect(m).not.toBeNull()
      expect(Number(m![2])).toBeGreaterThan(0) // the allowed object was reached: the run was sound
      expect(Number(m![1])).toBe(0)
      boxed.intact()
    })
  }
})
