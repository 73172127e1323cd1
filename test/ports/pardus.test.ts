// The original Pardus catbox's own suite (tests/ of the Python C extension,
// Pardus-Linux/catbox 1.7.0), ported to catbox's library API. Pardus runs a
// Python function in the sandbox; these cases run real programs (sh, the net
// driver) making the same system calls, through run() from src/index.ts.
// What Pardus checks that catbox does differently by design is listed in
// docs/ported-suites.md.
import {execa} from 'execa'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import type {AddressInfo, Server} from 'node:net'
import {join} from 'node:path'

import {afterEach, expect} from '@jest/globals'

import {bin, waitFor as waitUntil} from '../helpers/cli.js'
import {driverPath, runCaptured} from '../helpers/driver.js'
import {makeTmpDirs} from '../helpers/tmp.js'
import {CatboxError, run} from '../../src/index.js'
import type {RunOptions} from '../../src/index.js'
import {port} from './known-gaps.js'

const PATH = '/usr/local/bin:/usr/bin:/bin'
const MESSAGE = "I'm ALIVE!"

/** sh -c script under run(), output captured; the message reaches the test by stdout, Pardus's pipe. */
async function inCatbox(script: string, options: Omit<RunOptions, 'command'> = {}) {
  const tmp = makeTmpDirs()
  const run = await runCaptured(tmp, {command: ['/bin/sh', '-c', script], cwd: tmp.allowed, env: {PATH}, ...options})
  return {...run, tmp}
}

// tests/test_process_management.py

port('pardus.test_child', 'the command runs and its message reaches the caller', async () => {
  const {stdout, result} = await inCatbox(`printf '%s' "${MESSAGE}"`)
  expect(stdout).toBe(MESSAGE)
  expect(result.exitCode).toBe(0)
  expect(result.violations).toEqual([])
})

port('pardus.test_child_does_not_report_back', 'a command that says nothing: nothing arrives, and the run still ends', async () => {
  const {stdout, stderr, result} = await inCatbox(':')
  expect({stdout, stderr, exitCode: result.exitCode}).toEqual({stdout: '', stderr: '', exitCode: 0})
})

port('pardus.test_subprocess_kill', 'the command kills its own subprocess: the run goes on to its end', async () => {
  const {stdout, result} = await inCatbox(`sleep 30 & p=$!; echo "pid $p"; kill -KILL $p; wait $p; echo "status $?"; printf '%s' "${MESSAGE}"`, {
    onChildDiedUnexpectedly: () => {},
  })
  const sleeper = Number(/^pid (\d+)$/m.exec(stdout)?.[1])
  expect(stdout).toBe(`pid ${sleeper}\nstatus 137\n${MESSAGE}`)
  expect(result.exitCode).toBe(0)
})

// The same, many times over and as fast as a program can: a child killed with
// SIGKILL at once after fork. Each death must reach onChildDiedUnexpectedly.
port(
  'pardus.test_subprocess_kill#hook',
  'every subprocess killed with SIGKILL right after fork is reported to onChildDiedUnexpectedly, with signal 9 (2000 of them)',
  async () => {
    const tmp = makeTmpDirs()
    const died: [number, number][] = []
    const run = await runCaptured(tmp, {
      command: [driverPath('ports'), 'forkkill', '2000'],
      cwd: tmp.allowed,
      onChildDiedUnexpectedly: (pid, signal) => died.push([pid, signal]),
    })
    const killed = run.stdout.trim().split('\n').map((line) => Number(/^killed (\d+)$/.exec(line)?.[1]))
    expect(killed).toHaveLength(2000)
    expect(killed.every((pid) => pid > 0)).toBe(true)
    const byPid = (a: [number, number], b: [number, number]) => a[0] - b[0]
    expect(died.sort(byPid)).toEqual(killed.map((pid): [number, number] => [pid, 9]).sort(byPid))
  },
  60_000,
)

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  // A zombie is dead; only its parent has not collected it yet.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
}

port('pardus.WatchdogTestCase.test_watchdog', 'catbox killed with SIGKILL: the processes of its command die too', async () => {
  const tmp = makeTmpDirs()
  const pidFile = join(tmp.allowed, 'pid')
  const catbox = execa('node', [bin, 'run', '--writable', tmp.allowed, '--', 'sh', '-c', `sleep 60 & echo $! > ${pidFile}; wait`], {
    reject: false,
    stdin: 'ignore',
    env: {PATH},
  })
  await waitUntil('the sleeper pid', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'))
  const sleeper = Number(readFileSync(pidFile, 'utf8'))
  expect(alive(sleeper)).toBe(true)
  catbox.kill('SIGKILL')
  const ended = await catbox
  expect(ended.signal).toBe('SIGKILL')
  await waitUntil(`the sleeper ${sleeper} to die`, () => !alive(sleeper))
}, 30_000)

// tests/test_event_hooks.py

port('pardus.test_catbox_run_with_no_event_hooks', 'no hooks: the command runs, untraced', async () => {
  const {stdout, result} = await inCatbox(`printf '%s' "${MESSAGE}"`)
  expect(stdout).toBe(MESSAGE)
  expect(result.stats.processes).toBe(0)
})

port('pardus.test_non_dictionary_event_hooks', 'hooks given as undefined are no hooks: the command runs', async () => {
  const {stdout, result} = await inCatbox(`printf '%s' "${MESSAGE}"`, {onChildInitialized: undefined, onChildDiedUnexpectedly: undefined})
  expect(stdout).toBe(MESSAGE)
  expect(result.exitCode).toBe(0)
})

port('pardus.test_invalid_event_hooks', 'a hook that is not a function is refused before anything runs', async () => {
  const tmp = makeTmpDirs()
  const marker = join(tmp.allowed, 'ran')
  const bad = {command: ['/bin/sh', '-c', `touch ${marker}`], writable: [tmp.allowed], onChildInitialized: 'invalid_event_hook'}
  const error = await run(bad as unknown as RunOptions).then(
    () => undefined,
    (error: unknown) => error,
  )
  expect(error).toBeInstanceOf(CatboxError)
  expect((error as CatboxError).exitCode).toBe(2)
  expect(existsSync(marker)).toBe(false)
})

port('pardus.test_successful_child_initialized_hook', 'onChildInitialized runs for the new process, which waits for it', async () => {
  const tmp = makeTmpDirs()
  const seen: [number, number][] = []
  const flag = join(tmp.allowed, 'hook-ran')
  const run = await runCaptured(tmp, {
    // The hook's file exists before the command's first instruction: the process was held.
    command: ['/bin/sh', '-c', `echo "pid $$"; test -e ${flag} && printf '%s' "${MESSAGE}"`],
    cwd: tmp.allowed,
    env: {PATH},
    onChildInitialized: (pid, ppid) => {
      seen.push([pid, ppid])
      if (seen.length === 1) writeFileSync(flag, '')
    },
  })
  const shPid = Number(/^pid (\d+)$/m.exec(run.stdout)?.[1])
  expect(run.stdout).toBe(`pid ${shPid}\n${MESSAGE}`)
  // The first process is the capture shell, which execs the command: same pid.
  expect(seen[0][0]).toBe(shPid)
  expect(seen[0][1]).toBe(process.pid)
})

port('pardus.test_failing_child_initialized_hook', 'a hook that throws: the command runs to its end, then run() rejects with that error', async () => {
  const tmp = makeTmpDirs()
  const marker = join(tmp.allowed, 'ended')
  const error = await runCaptured(tmp, {
    command: ['/bin/sh', '-c', `touch ${marker}`],
    cwd: tmp.allowed,
    env: {PATH},
    onChildInitialized: () => {
      throw new Error('child_initialized hook raises exception')
    },
  }).then(
    () => undefined,
    (error: unknown) => error,
  )
  expect(String(error)).toContain('child_initialized hook raises exception')
  expect(existsSync(marker)).toBe(true)
})

// tests/test_socket_violations.py: collect_only, network off, no writable path.

let server: Server | undefined
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  server = undefined
})

/** A listening TCP or unix server that counts the connections it accepts. */
async function listen(where: {host: string} | {path: string}): Promise<{port: number; accepted: () => number}> {
  let count = 0
  server = createServer((socket) => {
    count++
    socket.on('error', () => {})
    socket.end()
  })
  await new Promise<void>((resolve) => ('path' in where ? server!.listen(where.path, resolve) : server!.listen(0, where.host, resolve)))
  const address = server.address()
  return {port: typeof address === 'object' && address ? (address as AddressInfo).port : 0, accepted: () => count}
}

async function connectInCatbox(args: string[]) {
  const tmp = makeTmpDirs()
  const run = await runCaptured(tmp, {command: [driverPath('net'), ...args], writable: [], collectOnly: true, network: 'none', env: {PATH}})
  return {...run, pid: Number(/^pid (\d+)$/m.exec(run.stderr)?.[1])}
}

for (const [name, host, shown] of [
  ['test_sock_tcp_ipv4', '127.0.0.1', (p: number) => `127.0.0.1:${p}`],
  ['test_sock_tcp_ipv6', '::1', (p: number) => `[::1]:${p}`],
] as const) {
  port(`pardus.${name}`, `connect to ${host} with the network off, collect-only: it happens, and it is the one violation`, async () => {
    const listener = await listen({host})
    const run = await connectInCatbox(['connect', host, String(listener.port)])
    expect(run.stdout).toBe('ok\n')
    expect(run.result.exitCode).toBe(0)
    expect(run.result.violations).toEqual([
      {operation: 'connect', path: shown(listener.port), canonical: '', pid: run.pid, program: 'net', denied: false, error: ''},
    ])
    await waitUntil('the connection', () => listener.accepted() === 1)
  })
}

port('pardus.test_sock_unix', 'connect to a unix socket with the network off: it works, and is no violation (catbox leaves AF_UNIX alone)', async () => {
  const tmp = makeTmpDirs()
  const path = join(tmp.base, 'socket.sock')
  const listener = await listen({path})
  const run = await connectInCatbox(['unix_connect', path])
  expect(run.stdout).toBe('ok\n')
  expect(run.result.exitCode).toBe(0)
  expect(run.result.violations).toEqual([])
  await waitUntil('the connection', () => listener.accepted() === 1)
})

port('pardus.test_nosyscall', 'a command that does nothing: exit 0, no violations', async () => {
  const tmp = makeTmpDirs()
  const result = await run({command: ['true'], writable: [], collectOnly: true, network: 'none', env: {PATH}, cwd: tmp.base})
  expect(result.exitCode).toBe(0)
  expect(result.violations).toEqual([])
})
