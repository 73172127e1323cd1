// The library API, run() from src/index.ts, with real processes.
import {existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {CatboxError, run} from '../src/index.js'
import type {Violation} from '../src/index.js'
import {asking} from './helpers/driver.js'

const T = realpathSync(mkdtempSync(join(tmpdir(), 'catbox-run-')))
beforeAll(() => {
  mkdirSync(join(T, 'ok'))
  mkdirSync(join(T, 'no'))
})
afterAll(() => rmSync(T, {recursive: true, force: true}))

const sh = (script: string) => ['sh', '-c', script]

test('violations reach onViolation as they happen and the result', async () => {
  const seen: Violation[] = []
  const result = await run({
    command: sh(`echo > ${T}/ok/a; { echo > no/b; } 2>/dev/null; exit 5`),
    writable: ['ok'],
    cwd: T,
    onViolation: (v) => seen.push(v),
  })
  expect(result.exitCode).toBe(5)
  expect(result.signal).toBeNull()
  expect(existsSync(join(T, 'ok/a'))).toBe(true)
  expect(existsSync(join(T, 'no/b'))).toBe(false)
  expect(result.violations).toEqual([
    {operation: expect.stringMatching(/^open/), path: 'no/b', canonical: join(T, 'no/b'), pid: expect.any(Number), program: 'sh', denied: true, error: 'EACCES'},
  ])
  expect(seen).toEqual(result.violations)
})

test('onChildInitialized is called once for each new process', async () => {
  const children: Array<[number, number]> = []
  const result = await run({
    command: sh('true & wait; true & wait'),
    onChildInitialized: (pid, ppid) => children.push([pid, ppid]),
  })
  expect(result.exitCode).toBe(0)
  expect(children).toHaveLength(3)
  const [first, ...forked] = children
  for (const [, ppid] of forked) expect(ppid).toBe(first[0])
  expect(new Set(children.map(([pid]) => pid)).size).toBe(3)
})

test('a process is held while onChildInitialized runs', async () => {
  const marker = join(T, 'ok', 'held')
  let existedDuringHook: boolean | undefined
  await run({
    command: sh(`echo > ${marker}`),
    writable: [marker],
    onChildInitialized: () => {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300)
      existedDuringHook = existsSync(marker)
    },
  })
  expect(existedDuringHook).toBe(false)
  expect(existsSync(marker)).toBe(true)
})

test('a throwing callback does not stop the command; run() rejects afterwards', async () => {
  const marker = join(T, 'ok', 'after')
  const promise = run({
    command: sh(`{ echo > ${T}/no/x; } 2>/dev/null; echo > ${marker}`),
    writable: [join(T, 'ok')],
    onViolation: () => {
      throw new Error('boom')
    },
  })
  await expect(promise).rejects.toMatchObject({code: 'CALLBACK_FAILED', message: expect.stringContaining('the onViolation callback threw: boom')})
  expect(existsSync(marker)).toBe(true)
})

test('a command that is not found rejects with exitCode 127 and runs nothing', async () => {
  const promise = run({command: ['catbox-no-such-command']})
  await expect(promise).rejects.toBeInstanceOf(CatboxError)
  await expect(promise).rejects.toMatchObject({code: 'COMMAND_NOT_FOUND', exitCode: 127})
})

test('the result keeps the first 1000 violations and counts them all; onViolation sees every one', async () => {
  const script = `i=0; while [ $i -lt 1500 ]; do : >> ${T}/no/many-$i; i=$((i+1)); done`
  const seen: Violation[] = []
  const watched = await run({command: sh(script), writable: [join(T, 'ok')], collectOnly: true, onViolation: (v) => seen.push(v)})
  expect(seen.map((v) => v.canonical)).toEqual(Array.from({length: 1500}, (_, i) => join(T, 'no', `many-${i}`)))
  expect({kept: watched.violations.length, count: watched.violationCount, counted: watched.stats.violations}).toEqual({kept: 1000, count: 1500, counted: 1500})
  expect(watched.violations).toEqual(seen.slice(0, 1000))
  // Without onViolation: the same sample and count.
  const unwatched = await run({command: sh(script), writable: [join(T, 'ok')], collectOnly: true})
  expect({kept: unwatched.violations.length, count: unwatched.violationCount}).toEqual({kept: 1000, count: 1500})
  expect(unwatched.violations.map((v) => v.canonical)).toEqual(seen.slice(0, 1000).map((v) => v.canonical))
})

describe('bad options are refused before anything runs', () => {
  // Each case would create its marker if the command ran.
  const refused = async (options: Record<string, unknown>, message: RegExp): Promise<void> => {
    const marker = join(T, 'ok', `refused-${Math.random().toString(16).slice(2)}`)
    const promise = run({command: sh(`echo > ${marker}`), writable: [join(T, 'ok')], ...options} as Parameters<typeof run>[0])
    await expect(promise).rejects.toBeInstanceOf(CatboxError)
    await expect(promise).rejects.toMatchObject({code: 'BAD_OPTION', exitCode: 2, message: expect.stringMatching(message)})
    expect(existsSync(marker)).toBe(false)
  }

  test('control: the same command with good options creates its marker', async () => {
    const marker = join(T, 'ok', 'refused-control')
    const result = await run({command: sh(`echo > ${marker}`), writable: [join(T, 'ok')], onViolation: () => {}})
    expect(result.exitCode).toBe(0)
    expect(existsSync(marker)).toBe(true)
  })

  test('a callback that is not a function', async () => {
    await refused({onViolation: 'print'}, /option onViolation must be a function, not a string \("print"\)/)
    await refused({onStart: {}}, /option onStart must be a function, not an object/)
    await refused({onChildInitialized: 1}, /option onChildInitialized must be a function, not a number \(1\)/)
    await refused({onChildDiedUnexpectedly: null}, /option onChildDiedUnexpectedly must be a function, not null/)
  })

  test('a command that is not an array of strings', async () => {
    const marker = join(T, 'ok', 'refused-command')
    for (const command of [`sh -c "echo > ${marker}"`, ['sh', '-c', `echo > ${marker}`, 5], undefined, {0: 'sh'}]) {
      const promise = run({command} as unknown as Parameters<typeof run>[0])
      await expect(promise).rejects.toMatchObject({code: 'BAD_OPTION', message: expect.stringContaining('option command must be an array of strings')})
    }
    expect(existsSync(marker)).toBe(false)
  })

  test('an option of the wrong type', async () => {
    await refused({writable: join(T, 'ok')}, /option writable must be an array of strings, not a string/)
    await refused({collectOnly: 'yes'}, /option collectOnly must be a boolean/)
    await refused({cwd: 5}, /option cwd must be a string, not a number/)
    await refused({env: {PATH: process.env.PATH, N: 5}}, /option env must be an object of strings/)
    await refused({guestView: {cache: join(T, 'cache'), maps: [{host: T, guest: 7}]}}, /option guestView must be an object \{root\?/)
  })

  test('an unknown option name, with the likely one it was meant to be', async () => {
    await refused({writeable: [join(T, 'ok')]}, /run\(\) has no option "writeable"\.\nDid you mean "writable"\?/)
    await refused({colectOnly: true}, /has no option "colectOnly"\.\nDid you mean "collectOnly"\?/)
    await refused({timeout: 5}, /has no option "timeout"\.\nNothing was run/)
  })

  test('options that are not an object', async () => {
    await expect(run(null as unknown as Parameters<typeof run>[0])).rejects.toMatchObject({code: 'BAD_OPTION', message: expect.stringContaining('options must be an object')})
  })
})

describe('how the supervisor is asked: user notification or ptrace stop', () => {
  const script = `echo > ok/n; echo > no/n 2>/dev/null; mkdir no/d 2>/dev/null; rm -f ${T}/ok/n; ln -s x no/l 2>/dev/null; kill -0 0; echo done`
  const ask = (ptraceOnly: boolean) => asking(ptraceOnly, () => run({command: sh(script), writable: ['ok'], cwd: T}))
  const summary = (r: Awaited<ReturnType<typeof run>>) => ({
    exitCode: r.exitCode,
    violations: r.violations.map((v) => [v.operation.replace(/at$/, ''), v.canonical, v.error]),
  })

  test('both give the same answers; enforce mode uses notifications, CATBOX_NO_USER_NOTIF=1 ptrace stops', async () => {
    const notified = await ask(false)
    const stopped = await ask(true)
    expect(summary(notified)).toEqual(summary(stopped))
    expect(summary(notified)).toEqual({
      exitCode: 0,
      violations: [
        ['open', join(T, 'no/n'), 'EACCES'],
        ['mkdir', join(T, 'no/d'), 'EACCES'],
        ['symlink', join(T, 'no/l'), 'EACCES'],
      ],
    })
    expect(notified.stats.notifications).toBeGreaterThan(0)
    expect(notified.stats.seccompStops).toBe(0)
    expect(stopped.stats.notifications).toBe(0)
    expect(stopped.stats.seccompStops).toBeGreaterThan(0)
  })

  // /proc/self/status of a process of the build: "TracerPid: 0" when nothing traces it.
  const tracer = async (options: Partial<Parameters<typeof run>[0]>) => {
    const out = join(T, 'ok', `tracer-${Math.random().toString(16).slice(2)}`)
    const r = await run({command: sh(`sh -c 'grep TracerPid /proc/self/status' > ${out}`), writable: ['ok'], cwd: T, ...options})
    expect(r.exitCode).toBe(0)
    return {line: readFileSync(out, 'utf8').trim(), stats: r.stats}
  }

  test('enforce mode without tracing follows no process by ptrace: the build runs untraced', async () => {
    const {line, stats} = await tracer({})
    expect(line).toMatch(/^TracerPid:\s+0$/)
    expect(stats).toEqual(expect.objectContaining({processes: 0, seccompStops: 0, eventStops: 0, signalsForwarded: 0}))
  })

  test('the process hooks of the library need the tree: then every process is followed by ptrace', async () => {
    const {line, stats} = await tracer({onChildDiedUnexpectedly: () => {}})
    // The addon's tracer thread (gone by now, with the run).
    expect(Number(/^TracerPid:\s+(\d+)$/.exec(line)?.[1] ?? 0)).toBeGreaterThan(0)
    expect(stats.processes).toBeGreaterThanOrEqual(3)
    expect(stats.eventStops).toBeGreaterThan(0)
  })

  test('fake root: every stat form shows the recorded owner and mode, by notification and by ptrace stop alike', async () => {
    // stat, lstat, fstat, newfstatat with a dirfd, statx (coreutils stat),
    // a missing file, a symlink, /proc/self/fd/N of a pipe and /dev/stdin.
    const py = [
      'import os, subprocess',
      'd = os.open("ok/fr", os.O_RDONLY)',
      'f = os.open("ok/fr/f", os.O_RDONLY)',
      'def show(s): return "%d:%d:%o" % (s.st_uid, s.st_gid, s.st_mode)',
      'print(show(os.stat("ok/fr/f")), show(os.lstat("ok/fr/l")), show(os.stat("ok/fr/l")), show(os.fstat(f)))',
      'print(show(os.stat("f", dir_fd=d)), show(os.stat("ok/fr/f", follow_symlinks=False)), show(os.stat("ok/fr")))',
      'r, w = os.pipe()',
      'print(show(os.stat("/proc/self/fd/%d" % r)), "%d:%d" % os.stat("/dev/stdin")[4:6])',
      'try: os.stat("ok/fr/missing")',
      'except FileNotFoundError: print("missing ENOENT")',
      'print(subprocess.run(["stat", "-c", "%u:%g:%f", "ok/fr/f", "ok/fr/dev"], capture_output=True, text=True).stdout.split())',
    ].join('\n')
    const script = `umask 022; rm -rf ok/fr; mkdir ok/fr && echo x > ok/fr/f && ln -s f ok/fr/l && chown 7:8 ok/fr/f && chmod 4751 ok/fr/f && mknod ok/fr/dev c 1 3 && /usr/bin/python3 -c '${py}' > ok/fr.out`
    const once = (ptraceOnly: boolean) =>
      asking(ptraceOnly, async () => {
        const r = await run({command: sh(script), writable: ['ok'], cwd: T, fakeRoot: {db: join(T, `owners-${ptraceOnly}.jsonl`)}})
        expect(r.exitCode).toBe(0)
        return {out: readFileSync(join(T, 'ok', 'fr.out'), 'utf8'), stats: r.stats}
      })
    const notified = await once(false)
    const stopped = await once(true)
    expect(notified.out).toBe(stopped.out)
    expect(notified.out).toBe(
      [
        '7:8:104751 0:0:120777 7:8:104751 7:8:104751',
        '7:8:104751 7:8:104751 0:0:40755',
        '0:0:10600 0:0',
        'missing ENOENT',
        "['7:8:89e9', '0:0:21a4']",
        '',
      ].join('\n'),
    )
    expect(notified.stats.notifications).toBeGreaterThan(0)
    expect(stopped.stats.notifications).toBe(0)
  })

  test('fake root: chown is a ptrace stop (it rewrites arguments), its stat and identity calls notifications', async () => {
    const r = await run({command: sh('echo > ok/f; chown 0:0 ok/f; id -u; stat -c %u ok/f >/dev/null'), writable: ['ok'], cwd: T, fakeRoot: {db: join(T, 'owners.jsonl')}})
    expect(r.exitCode).toBe(0)
    expect(r.stats.notifications).toBeGreaterThan(0)
    expect(r.stats.seccompStops).toBeGreaterThan(0)
  })
})
