// The check-then-use window (issue 13, "Targets: Races"). A second thread
// changes what a call will find after catbox has checked it and before the
// kernel acts: the bytes of the path (path swap), a name swapped with a
// symbolic link by renameat2(RENAME_EXCHANGE) (symlink swap), or, in the
// overlay, the translated path catbox writes below the stack pointer
// (scratch swap). The driver (test/drivers/races.c) counts the tries whose
// write reached the forbidden target; the test also looks at that target.
//
// Each attack first runs bare against a checker of catbox's shape (the
// driver's self-check: a thread answering seccomp user notifications, which
// judges a copy of the path and lets the kernel read the live one): there it
// must win some tries and write the allowed target in others, which shows
// the race is winnable at this number of tries. Under catbox, in enforce mode,
// fake root and the overlay, it must win none. A case that wins today is in
// test/ports/known-gaps.ts and runs as test.failing; its companion test (the
// "ran" one) checks that the run itself was sound, so a broken setup cannot
// pass for a gap.
import {describe, expect, test} from '@jest/globals'
import {execFileSync} from 'node:child_process'
import {appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import type {RunOptions, RunResult} from '../../src/index.js'
import {cliWithHome} from '../helpers/cli.js'
import {driverPath, runCaptured} from '../helpers/driver.js'
import {fingerprint, inUpper, makeOverlay, PATH} from '../helpers/overlay.js'
import {makeTmpDirs} from '../helpers/tmp.js'
import {port} from '../ports/known-gaps.js'

/**
 * Tries per run: enough that each bare control wins some (0.5 to 45 % measured
 * on two busy cores). CATBOX_RACES_TRIES sets another number (the issue's
 * target is 0 wins in 100 000), and CATBOX_RACES_REPORT names a file that
 * gets one line per run with its tally.
 */
const TRIES = Number(process.env.CATBOX_RACES_TRIES ?? 5000)
const REPORT = process.env.CATBOX_RACES_REPORT
const TIMEOUT = 180_000
const ORIGINAL = 'forbidden\n'
const isRoot = process.getuid?.() === 0

interface Tally {
  wins: number
  allowed: number
  denied: number
  other: number
}

function tallyOf(out: string, id: string): Tally {
  const m = /^wins (\d+) allowed (\d+) denied (\d+) other (\d+)/.exec(out)
  if (!m) throw new Error(`races driver printed: ${out}`)
  if (REPORT) appendFileSync(REPORT, `${id} ${isRoot ? 'root' : 'user'} tries ${TRIES} ${out.split('\n')[0]}\n`)
  return {wins: Number(m[1]), allowed: Number(m[2]), denied: Number(m[3]), other: Number(m[4])}
}

type Op = 'path-open' | 'path-mkdir' | 'link-open' | 'dir-open' | 'scratch-open'

/**
 * One attack's geometry below a base directory whose guest path is `g`:
 * the driver's arguments, and how to read the forbidden target afterwards
 * (on the host, without catbox): its content, or the names made in it.
 */
interface Geometry {
  args: string[]
  /** The host path of the forbidden target. */
  forbidden: string
  /** For path-mkdir: the forbidden directory, whose entries are the wins. */
  forbiddenDir?: boolean
}

/**
 * Lays out allowed/ and outside/ under host directory h (seen by the build at
 * guest directory g, the same path outside the overlay) and returns the
 * driver's arguments for op. scratchLen: the length of the path the
 * supervisor writes below the stack pointer (scratch-open only).
 */
function geometry(op: Op, h: string, g: string, scratchLen?: number): Geometry {
  mkdirSync(join(h, 'allowed'), {recursive: true})
  mkdirSync(join(h, 'outside'), {recursive: true})
  // Two paths of one length: "allowed" and "outside" have 7 letters each.
  const file = (d: string) => join(d, 'f')
  writeFileSync(file(join(h, 'allowed')), 'allowed\n')
  writeFileSync(file(join(h, 'outside')), ORIGINAL)
  const [ga, go] = [join(g, 'allowed'), join(g, 'outside')]
  switch (op) {
    case 'path-open':
      return {args: [file(ga), file(go)], forbidden: file(join(h, 'outside'))}
    case 'path-mkdir':
      return {args: [ga, go], forbidden: join(h, 'outside'), forbiddenDir: true}
    case 'link-open':
      return {args: [join(ga, 'L'), file(go)], forbidden: file(join(h, 'outside'))}
    case 'dir-open':
      mkdirSync(join(h, 'outside', 'vd'))
      writeFileSync(join(h, 'outside', 'vd', 'f'), ORIGINAL)
      return {args: [join(ga, 'D'), join(go, 'vd')], forbidden: join(h, 'outside', 'vd', 'f')}
    case 'scratch-open':
      return {args: [file(ga), file(go), String(scratchLen ?? file(ga).length)], forbidden: file(join(h, 'outside'))}
  }
}

/** What is in the forbidden target now: changed is whether any try reached it. */
function forbiddenState(geo: Geometry): {changed: boolean; entries: number} {
  if (geo.forbiddenDir) {
    const entries = readdirSync(geo.forbidden).filter((n) => /^d\d{6}$/.test(n)).length
    return {changed: entries > 0, entries}
  }
  const content = readFileSync(geo.forbidden, 'utf8')
  if (content !== ORIGINAL) expect(content).toMatch(/^race \d+ \d+\n$/)
  return {changed: content !== ORIGINAL, entries: 0}
}

/** The driver's tally must agree with the target: wins exactly when it changed (mkdir: one entry a win). */
function expectConsistent(t: Tally, geo: Geometry): void {
  const state = forbiddenState(geo)
  expect({changed: state.changed}).toEqual({changed: t.wins > 0})
  if (geo.forbiddenDir) expect(state.entries).toBe(t.wins)
  expect(t.wins + t.allowed + t.denied + t.other).toBe(TRIES)
}

const bare = (op: Op, geo: Geometry): Tally =>
  tallyOf(
    execFileSync(driverPath('races'), [op, String(TRIES), ...geo.args, 'self-check'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
    `races.bare.${op}`,
  )

const ATTACKS: readonly [Op, string][] = [
  ['path-open', 'path swap, openat(O_WRONLY|O_CREAT|O_TRUNC)'],
  ['path-mkdir', 'path swap, mkdirat of a new name per try'],
  ['link-open', 'symlink swap: a file and a link to the forbidden file exchanged, openat for writing'],
  ['dir-open', 'symlink swap: a directory and a link to a forbidden directory exchanged, openat of a file in it'],
  ['scratch-open', 'scratch swap: a path written where a supervisor puts its translation, below the stack pointer'],
]

describe('bare control: a checker of catbox shape loses each race at this number of tries', () => {
  test.each(ATTACKS)(
    '%s (%s)',
    (op) => {
      const h = makeTmpDirs().base
      const geo = geometry(op, h, h)
      const t = bare(op, geo)
      // Both sides seen: the write reached the forbidden target in some tries, the allowed one in others.
      expect({won: t.wins > 0, allowedToo: t.allowed > 0}).toEqual({won: true, allowedToo: true})
      expectConsistent(t, geo)
    },
    TIMEOUT,
  )
})

interface CatboxRun {
  tally: Tally
  geo: Geometry
  result: RunResult
  stderr: string
  /** For the overlay: expects the host tree to have changed exactly when a try won. */
  check?: () => void
}

type Mode = 'enforce' | 'cli' | 'fake-root' | 'overlay'

const runs = new Map<string, Promise<CatboxRun>>()

/** Runs op under catbox in mode once per file; both tests of a case share the run. */
function underCatbox(mode: Mode, op: Op, variant = ''): Promise<CatboxRun> {
  const key = `${mode}.${op}${variant}`
  let p = runs.get(key)
  if (!p) {
    p = mode === 'overlay' ? overlayRun(op, variant) : mode === 'cli' ? cliRun(op) : plainRun(mode, op)
    runs.set(key, p)
  }
  return p
}

async function plainRun(mode: Mode, op: Op): Promise<CatboxRun> {
  const tmp = makeTmpDirs()
  const h = join(tmp.base, 'race')
  const geo = geometry(op, h, h)
  const options: Omit<RunOptions, 'command'> = {
    writable: [join(h, 'allowed')],
    cwd: tmp.base,
    env: {PATH},
    ...(mode === 'fake-root' ? {fakeRoot: {db: join(tmp.base, 'owners.jsonl')}} : {}),
  }
  const {stdout, stderr, result} = await runCaptured(tmp, {...options, command: [driverPath('races'), op, String(TRIES), ...geo.args]})
  return {tally: tallyOf(stdout, `races.${mode}.${op}`), geo, result, stderr}
}

/** Enforce mode through the command line: `catbox run -w DIR -- races ...`. */
async function cliRun(op: Op): Promise<CatboxRun> {
  const tmp = makeTmpDirs()
  const h = join(tmp.base, 'race')
  const geo = geometry(op, h, h)
  const cli = cliWithHome(tmp.base)
  const r = await cli(['run', '--json', '-w', join(h, 'allowed'), '--', driverPath('races'), op, String(TRIES), ...geo.args])
  const lines = String(r.stdout).trimEnd().split('\n')
  const result = JSON.parse(lines.at(-1) ?? '') as RunResult
  // catbox reports each violation on stderr as it happens; the driver's own stderr is its pid.
  const stderr = String(r.stderr)
    .split('\n')
    .filter((l) => l !== '' && !/^pid \d+$/.test(l) && !/^catbox: (denied |\d+ violations? )/.test(l))
    .join('\n')
  return {tally: tallyOf(lines[0], `races.cli.${op}`), geo, result, stderr}
}

/**
 * In the overlay the build sees the host tree under the environment's root;
 * writes to allowed/ go to upper, outside/ is not writable by the rules, and
 * the breach is the host file changing. variant "ro-map": the forbidden file
 * is instead in a directory mapped read-only (guest path = host path).
 */
async function overlayRun(op: Op, variant: string): Promise<CatboxRun> {
  const fx = makeOverlay()
  const h = join(fx.host, 'race')
  // scratch-open: catbox writes the host path of the copy of allowed/f in upper.
  const scratchLen = inUpper(fx, join(h, 'allowed', 'f')).length
  const geo = geometry(op, h, h, scratchLen)
  const maps: NonNullable<RunOptions['guestView']>['maps'] = [{host: fx.tmp.io, guest: fx.tmp.io, mode: 'rw'}]
  if (variant === '#ro-map') {
    const ro = join(fx.tmp.base, 'ro')
    mkdirSync(ro)
    writeFileSync(join(ro, 'f'), ORIGINAL)
    maps.push({host: ro, guest: ro, mode: 'ro'})
    geo.args[1] = join(ro, 'f')
    geo.forbidden = join(ro, 'f')
  }
  const before = fingerprint(join(h, 'outside'))
  const {stdout, stderr, result} = await runCaptured(fx.tmp, {
    command: [driverPath('races'), op, String(TRIES), ...geo.args],
    writable: [join(h, 'allowed')],
    cwd: fx.tmp.base,
    env: {PATH},
    guestView: {root: {dir: fx.upper, whiteouts: fx.whiteouts}, maps, cache: fx.cache},
  })
  const tally = tallyOf(stdout, `races.overlay.${op}${variant}`)
  const check = () => {
    if (variant !== '#ro-map') {
      const after = fingerprint(join(h, 'outside'))
      expect({hostChanged: JSON.stringify(after) !== JSON.stringify(before)}).toEqual({hostChanged: tally.wins > 0})
    }
  }
  return {tally, geo, result, stderr, check}
}

/** The cases under catbox: mode, attack, variant, and a line of what it is. */
const CASES: readonly [Mode, Op, string, string][] = [
  ['enforce', 'path-open', '', 'path swap, openat'],
  ['enforce', 'path-mkdir', '', 'path swap, mkdirat'],
  ['enforce', 'link-open', '', 'symlink swap of a file'],
  ['enforce', 'dir-open', '', 'symlink swap of a directory'],
  ['cli', 'path-open', '', 'path swap, openat, under `catbox run -w`'],
  ['fake-root', 'path-open', '', 'path swap, openat'],
  ['fake-root', 'path-mkdir', '', 'path swap, mkdirat'],
  ['fake-root', 'link-open', '', 'symlink swap of a file'],
  ['fake-root', 'dir-open', '', 'symlink swap of a directory'],
  ['overlay', 'path-open', '', 'path swap, openat'],
  ['overlay', 'path-mkdir', '', 'path swap, mkdirat'],
  ['overlay', 'link-open', '', 'symlink swap of a file in upper to an absolute link to a host file'],
  ['overlay', 'dir-open', '', 'symlink swap of a directory in upper to an absolute link to a host directory'],
  ['overlay', 'scratch-open', '', 'scratch swap to a host file'],
  ['overlay', 'scratch-open', '#ro-map', 'scratch swap to the target of a read-only map'],
]

const who = isRoot ? 'as root' : 'as a user'

for (const [mode, op, variant, what] of CASES) {
  const id = `races.${mode}.${op}${variant}`
  describe(`${id}: ${what} (${who})`, () => {
    test(
      'ran: every try accounted for, writes let through, the tally agrees with the forbidden target',
      async () => {
        const r = await underCatbox(mode, op, variant)
        expect({exitCode: r.result.exitCode, stderr: r.stderr.replace(/^pid \d+\n/, '')}).toEqual({exitCode: 0, stderr: ''})
        // Some calls were let through: to the allowed target, or past the
        // rules. (Where a swap always lands inside a long window, every
        // write that was let through may be a win.)
        expect(r.tally.allowed + r.tally.wins).toBeGreaterThan(0)
        expectConsistent(r.tally, r.geo)
        r.check?.()
      },
      TIMEOUT,
    )
    port(
      id,
      `no try reaches the forbidden target (${TRIES} tries)`,
      async () => {
        const r = await underCatbox(mode, op, variant)
        expect(r.tally.wins).toBe(0)
      },
      TIMEOUT,
    )
  })
}
