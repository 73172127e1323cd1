// What review found in the environment store and reports, each shown through
// the real CLI: a stopped catbox keeps its lock, unknown placeholders are
// refused, an unreadable operation log is a clear error.
import {execa} from 'execa'
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'

import {LOCK_STALE_MS} from '../src/env/lock.js'
import {bin, cliWithHome, tempDir, waitFor} from './helpers/cli.js'

const work = tempDir('catbox-env-review-')
const cli = cliWithHome(work)

test('a catbox stopped past the lock expiry (Ctrl-Z, SIGSTOP) still holds its environment', async () => {
  expect((await cli(['env', 'create', 'held'])).exitCode).toBe(0)
  const holder = join(cli.home, 'envs', 'held', 'holder.json')
  const exec = execa('node', [bin, 'exec', 'held', '--', 'sleep', '60'], {
    cwd: work,
    reject: false,
    stdin: 'ignore',
    env: {CI: 'true', CATBOX_HOME: cli.home},
  })
  try {
    await waitFor('the run to hold the lock', () => existsSync(holder))
    const pid = JSON.parse(readFileSync(holder, 'utf8')).pid as number
    process.kill(pid, 'SIGSTOP')
    // Past the expiry of a lock nobody refreshes: only the holder's liveness keeps it.
    await new Promise((resolve) => setTimeout(resolve, LOCK_STALE_MS + 1500))
    const rm = await cli(['env', 'rm', 'held', '--force'])
    expect(rm.exitCode).toBe(1)
    expect(rm.stderr).toContain(`is busy: catbox exec (pid ${pid})`)
    const show = await cli(['env', 'show', 'held', '--json'])
    expect(JSON.parse(String(show.stdout)).status).toBe('busy')
    process.kill(pid, 'SIGCONT')
  } finally {
    exec.kill('SIGTERM')
    await exec
  }
}, 60_000)

test.each([
  [['--writable', '$PWD/out'], 'write rule "$PWD/out" uses $PWD'],
  [['--cwd', '$TMPDIR/x'], '--cwd "$TMPDIR/x" uses $TMPDIR'],
])('an unknown placeholder is refused, not taken as a directory named "$...": %j', async (flags, message) => {
  const r = await cli(['env', 'create', 'ph', ...flags])
  expect(r.exitCode).toBe(2)
  expect(r.stderr).toContain(message)
  expect(r.stderr).toContain('$CWD')
  expect(existsSync(join(cli.home, 'envs', 'ph'))).toBe(false)
})

test('a regular expression may still end with $', async () => {
  const r = await cli(['env', 'create', 'rx', '--writable', '~^/tmp/catbox-rx$'])
  expect(r.exitCode).toBe(0)
})

test('an operation log that cannot be read is a clear error', async () => {
  expect((await cli(['env', 'create', 'tr'])).exitCode).toBe(0)
  expect((await cli(['exec', 'tr', '--trace', '--', 'true'])).exitCode).toBe(0)
  const runs = join(cli.home, 'envs', 'tr', 'runs')
  const log = join(runs, readdirSync(runs)[0], 'events.jsonl')
  rmSync(log)
  mkdirSync(log) // a directory where the log should be: EISDIR for root and users alike
  const r = await cli(['report', 'tr'])
  expect(r.exitCode).toBe(1)
  expect(r.stderr).toContain(`cannot use ${log}: it cannot be read (EISDIR)`)
})
