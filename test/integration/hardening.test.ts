// Ways out found in review, each closed and shown with a real process:
// kernel-written core files, a parent killed between fork and its event,
// magic links into another mount namespace, names ending in " (deleted)",
// and truncating a log through /dev/stdout.
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals'
import {execFileSync, spawn, spawnSync} from 'node:child_process'
import {closeSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {run} from '../../src/index.js'
import {bin} from '../helpers/cli.js'
import {driverPath, runCaptured, runCaptured as runCapturedBare, SUPERVISIONS, supervised} from '../helpers/driver.js'
import {fsState} from '../helpers/expect.js'
import {inUpper, makeOverlay, runGuest} from '../helpers/overlay.js'
import {makeTmpDirs} from '../helpers/tmp.js'
import type {TmpDirs} from '../helpers/tmp.js'

const isRoot = process.getuid!() === 0

describe('core dumps', () => {
  test('a crashing program cannot make the kernel write a core file outside the rules', async () => {
    const tmp = makeTmpDirs()
    const {stdout} = await runCaptured(tmp, {
      command: ['/bin/sh', '-c', `ulimit -H -c; ulimit -c unlimited 2>/dev/null; cd ${tmp.outside} && sh -c 'kill -SEGV $$'; true`],
    })
    expect(stdout.trim()).toBe('0') // the hard limit, which the build cannot raise
    expect(readdirSync(tmp.outside)).toEqual([])
  })
})

describe('a process that is not dumpable', () => {
  // prctl(PR_SET_DUMPABLE, 0): only root may read its memory then, so a
  // catbox that is not root cannot read the path of its write.
  test.each([['untraced', {}], ['followed by ptrace', {onChildDiedUnexpectedly: () => {}}]])(
    'its write is checked as root, and refused with a violation saying why when catbox may not read it (%s)',
    async (_how, follow) => {
      const tmp = makeTmpDirs()
      const file = join(tmp.allowed, 'x')
      const script = `import ctypes; ctypes.CDLL(None).prctl(4, 0, 0, 0, 0); open(${JSON.stringify(file)}, 'w').write('x')`
      const {result} = await runCaptured(tmp, {command: ['python3', '-c', script], ...follow})
      if (isRoot) {
        expect({exitCode: result.exitCode, violations: result.violations}).toEqual({exitCode: 0, violations: []})
        expect(readFileSync(file, 'utf8')).toBe('x')
      } else {
        expect(result.exitCode).not.toBe(0)
        expect(result.violations).toEqual([
          expect.objectContaining({operation: 'openat', path: '(catbox may not read its memory)', denied: true, error: 'EACCES'}),
        ])
        expect(() => readFileSync(file)).toThrow()
      }
    },
  )
})

describe('process tree', () => {
  test('a parent killed between fork and its fork event does not leave its child held (the run ends)', async () => {
    const tmp = makeTmpDirs()
    const {stdout, result} = await runCaptured(tmp, {command: [driverPath('hardening'), 'forkrace', '200']})
    expect(stdout).toBe('ok\n')
    expect(result.exitCode).toBe(0)
  }, 120_000)
})

describe('magic links and names', () => {
  test('/proc/PID/root of a process in another mount namespace is not followed as a host path', async () => {
    const tmp = makeTmpDirs()
    const target = join(tmp.allowed, 'x')
    writeFileSync(target, 'host\n')
    // A process with its own mount namespace, where tmp.allowed is another filesystem.
    const unshare = isRoot ? ['unshare', '-m', '--propagation', 'private'] : ['unshare', '-Urm']
    const other = spawn(
      unshare[0],
      [...unshare.slice(1), 'sh', '-c', `mount -t tmpfs none ${tmp.allowed} && echo theirs > ${target} && echo ready && exec sleep 60`],
      {stdio: ['ignore', 'pipe', 'inherit']},
    )
    try {
      await new Promise<void>((resolve, reject) => {
        other.stdout.once('data', () => resolve())
        other.once('exit', (code) => reject(new Error(`unshare exited ${code}`)))
      })
      const through = `/proc/${other.pid}/root${target}`
      const violations: string[] = []
      const result = await run({
        command: ['/bin/sh', '-c', `echo PWNED > ${through}`],
        writable: [tmp.allowed],
        onViolation: (v) => violations.push(v.path),
      })
      expect(result.exitCode).not.toBe(0)
      expect(violations).toEqual([through])
      expect(readFileSync(target, 'utf8')).toBe('host\n')
      const theirs = spawnSync('nsenter', ['-t', String(other.pid), '-m', ...(isRoot ? [] : ['-U', '--preserve-credentials']), 'cat', target], {encoding: 'utf8'})
      if (theirs.status === 0) expect(theirs.stdout).toBe('theirs\n')
    } finally {
      other.kill('SIGKILL')
    }
  }, 60_000)

  test('a real file named "... (deleted)" outside the rules cannot be written through /proc/self/fd', async () => {
    const tmp = makeTmpDirs()
    const decoy = `${tmp.allowed} (deleted)` // a sibling of allowed/, outside it
    writeFileSync(decoy, 'keep\n')
    const {result} = await runCaptured(tmp, {command: ['/bin/sh', '-c', `exec 3< '${decoy}'; echo OVERWRITTEN > /proc/self/fd/3`]})
    expect(result.violations.map((v) => v.canonical)).toEqual([decoy])
    expect(readFileSync(decoy, 'utf8')).toBe('keep\n')
  })

  test('an unlinked object such as a memfd can be resized and written', async () => {
    const tmp = makeTmpDirs()
    const {stdout, result} = await runCaptured(tmp, {command: [driverPath('hardening'), 'memfd']})
    expect(stdout).toBe('ok\n')
    expect(result.violations).toEqual([])
  })
})

describe('calls the filter refuses or checks (bare controls show they work without catbox)', () => {
  test.each([
    // call, answer under catbox
    ['tiocsti', 'err EPERM'], // keystrokes pushed into the terminal
    ['pidfd_getfd', 'err EPERM'], // another process's descriptors
    ['io_uring_enter', 'err ENOSYS'],
    ['io_uring_register', 'err ENOSYS'],
    ['process_vm_readv', 'err EPERM'],
    ['fsopen', 'err ENOSYS'], // the new mount API
    ['open_tree', 'err ENOSYS'],
    ['fanotify_perm', 'err EPERM'], // permission events would hold other processes' opens
  ])('%s is answered %s', async (call, answer) => {
    const tmp = makeTmpDirs()
    const {stdout} = await runCaptured(tmp, {command: [driverPath('hardening'), 'call', call]})
    expect(stdout).toBe(`${answer}\n`)
  })

  test.each([
    ['setxattrat', 'err ENOSYS', []], // path-taking calls newer than the table never run
    ['file_setattr', 'err ENOSYS', []],
    ['setflags', 'err EACCES', ['ioctl']], // chattr through a read-only descriptor is a checked write
  ])('%s on a file outside the rules is answered %s', async (call, answer, violations) => {
    const tmp = makeTmpDirs()
    const file = join(tmp.outside, 'f')
    writeFileSync(file, 'x')
    const {stdout, result} = await runCaptured(tmp, {command: [driverPath('hardening'), 'call', call, file]})
    expect(stdout).toBe(`${answer}\n`)
    expect(result.violations.map((v) => v.operation)).toEqual(violations)
  })

  test('bare, without catbox, pidfd_getfd and FS_IOC_SETFLAGS work: the threats are real here', () => {
    const tmp = makeTmpDirs()
    const file = join(tmp.outside, 'f')
    writeFileSync(file, 'x')
    const bare = (...args: string[]) => spawnSync(driverPath('hardening'), ['call', ...args], {encoding: 'utf8'}).stdout
    expect(bare('pidfd_getfd')).toBe('ok\n')
    expect(bare('setflags', file)).toBe('ok\n')
  })

  test(`fanotify groups: bare, ${isRoot ? 'one that may get permission events is made (root)' : 'EPERM from the kernel (not root)'}; under catbox a notification-only group is answered as bare`, async () => {
    const bare = (call: string) => spawnSync(driverPath('hardening'), ['call', call], {encoding: 'utf8'}).stdout
    expect(bare('fanotify_perm')).toBe(isRoot ? 'ok\n' : 'err EPERM\n')
    const {stdout} = await runCaptured(makeTmpDirs(), {command: [driverPath('hardening'), 'call', 'fanotify_notif']})
    expect(stdout).toBe(bare('fanotify_notif'))
  })
})

describe('signals', () => {
  const catbox = (script: string) =>
    spawnSync(process.execPath, [bin, 'run', '--json', '--', 'sh', '-c', script], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})

  test('the build cannot kill catbox: kill -9 $PPID is refused and recorded, the run ends normally', () => {
    const r = catbox('kill -9 $PPID 2>/dev/null; echo "rc=$?" >&2')
    expect(r.signal).toBeNull()
    expect(r.status).toBe(0)
    expect(r.stderr).toContain('rc=1')
    const {violations} = JSON.parse(r.stdout.trim().split('\n').at(-1)!)
    expect(violations).toEqual([expect.objectContaining({operation: 'kill', denied: true, error: 'EPERM'})])
  })

  test("kill 0 (a script's cleanup trap) reaches the build's processes, not catbox", () => {
    const r = catbox('trap "echo got-TERM >&2" TERM; kill -TERM 0; echo after >&2')
    expect(r.signal).toBeNull()
    expect(r.status).toBe(0)
    expect(r.stderr).toContain('got-TERM\nafter')
  })

  test("a process outside the build cannot be signalled; the build's own children can", () => {
    const outsider = spawn('sleep', ['60'], {stdio: 'ignore'})
    try {
      const r = catbox(`kill -9 ${outsider.pid} 2>/dev/null; echo "outsider=$?" >&2; sleep 30 & kill $!; wait $!; echo "own=$?" >&2`)
      expect(r.stderr).toContain('outsider=1')
      expect(r.stderr).toContain('own=143')
      expect(outsider.exitCode).toBeNull()
      expect(outsider.signalCode).toBeNull()
      expect(readFileSync(`/proc/${outsider.pid}/stat`, 'utf8')).not.toMatch(/^\d+ \(sleep\) [ZX]/)
    } finally {
      outsider.kill('SIGKILL')
    }
  })
})

describe('signals by way of a descriptor, and limits of other processes', () => {
  // F_SETOWN/F_SETOWN_EX, FIOSETOWN and SIOCSPGRP pick the process an fd's
  // SIGIO (or F_SETSIG signal) goes to; prlimit with RLIMIT_CPU of 1 s kills
  // a process too. Aimed at $PPID (catbox's reaper, or catbox itself when every
  // process is followed by ptrace) each is refused; at the build's own child,
  // each works.
  const py = [
    'import fcntl, os, resource, socket, struct, subprocess',
    'def tryit(what, f):',
    '    try:',
    '        f(); print(what, "ok")',
    '    except OSError as e:',
    '        print(what, e.strerror)',
    'parent = os.getppid()',
    'child = subprocess.Popen(["sleep", "30"])',
    'a, b = socket.socketpair()',
    'r = a.fileno()',
    'for who, pid in (("parent", parent), ("child", child.pid)):',
    '    tryit(who + " F_SETOWN", lambda: fcntl.fcntl(r, fcntl.F_SETOWN, pid))',
    '    tryit(who + " F_SETOWN_EX", lambda: fcntl.fcntl(r, 15, struct.pack("ii", 1, pid)))',
    '    tryit(who + " FIOSETOWN", lambda: fcntl.ioctl(r, 0x8901, struct.pack("i", pid)))',
    '    tryit(who + " prlimit", lambda: resource.prlimit(pid, resource.RLIMIT_CPU, (1, 1)))',
    'tryit("self F_SETOWN", lambda: fcntl.fcntl(r, fcntl.F_SETOWN, os.getpid()))',
    'child.kill()',
  ].join('\n')
  const expected = [
    'parent F_SETOWN Operation not permitted',
    'parent F_SETOWN_EX Operation not permitted',
    'parent FIOSETOWN Operation not permitted',
    'parent prlimit Operation not permitted',
    'child F_SETOWN ok',
    'child F_SETOWN_EX ok',
    'child FIOSETOWN ok',
    'child prlimit ok',
    'self F_SETOWN ok',
    '',
  ].join('\n')

  test('bare, without catbox, all of them work on the parent: the threat is real', () => {
    // The parent is a shell of its own (": " keeps it from exec'ing python),
    // never this test's process: a CPU limit of 1 s would kill it.
    const r = spawnSync('/bin/sh', ['-c', '/usr/bin/python3 -c "$1"; :', 'sh', py], {encoding: 'utf8'})
    expect(r.stdout).toBe(expected.replace(/parent (\S+) Operation not permitted/g, 'parent $1 ok'))
  })

  test.each([['untraced', {}], ['followed by ptrace', {CATBOX_NO_USER_NOTIF: '1'}]])('%s: refused on catbox\'s side and recorded', (_how, env) => {
    const r = spawnSync(process.execPath, [bin, 'run', '--json', '--', '/usr/bin/python3', '-c', py], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {...process.env, ...env},
    })
    expect(r.status).toBe(0)
    const lines = r.stdout.trim().split('\n')
    const {violations} = JSON.parse(lines.pop()!)
    expect(lines.join('\n') + '\n').toBe(expected)
    expect(violations.map((v: {operation: string}) => v.operation)).toEqual(['fcntl', 'fcntl', 'ioctl', 'prlimit64'])
  })
})

describe('reopening stdout', () => {
  test('appending through /dev/stdout to a log outside is fine; truncating it is a violation', () => {
    const tmp = makeTmpDirs()
    const log = join(tmp.outside, 'build.log')
    writeFileSync(log, 'before\n')
    // The log is opened by the caller, outside the sandbox, as `catbox run ... >> build.log` would.
    const fd = openSync(log, 'a')
    let cli
    try {
      cli = spawnSync(
        process.execPath,
        [bin, 'run', '--json', '--writable', tmp.allowed, '--', 'sh', '-c', 'echo appended >> /dev/stdout; (: > /dev/stdout); echo last >&2'],
        {stdio: ['ignore', fd, 'pipe'], encoding: 'utf8'},
      )
    } finally {
      closeSync(fd)
    }
    const lines = readFileSync(log, 'utf8').split('\n')
    const json = JSON.parse(lines.filter((l) => l.startsWith('{')).at(-1) ?? '{}')
    expect(json.violations.map((v: {operation: string; canonical: string}) => [v.operation, v.canonical])).toEqual([['openat', log]])
    expect(lines.slice(0, 2)).toEqual(['before', 'appended'])
    expect(cli.stderr).toContain('last')
  })
})

// A device node is the device wherever it lives. A root build allowed one
// directory could make a node for a disk there and write the disk through it
// (repro: mknod x b 7 0 after losetup, then dd). Making block and character
// device nodes is refused outside fake root (EPERM, as for a process without
// CAP_MKNOD), and opening a node for writing is judged by the device it
// names: the implicit devices (/dev/null, ptys...) wherever their node lives,
// nothing else whatever the path. The disk here is a loop device over a
// temporary image, detached after the tests.
describe('device nodes', () => {
  const canMknod = (() => {
    if (!isRoot) return false
    try {
      execFileSync('mknod', [join(makeTmpDirs().base, 'probe'), 'c', '1', '3'], {stdio: 'ignore'})
      return true
    } catch {
      return false
    }
  })()
  // Whether a loop device can be had is known when the tests are collected
  // (losetup --find names a free one without attaching it); the device is
  // attached only when one of these tests runs, and detached after them.
  const canLoop = (() => {
    if (!canMknod) return false
    try {
      execFileSync('losetup', ['--find'], {stdio: 'ignore'})
      return true
    } catch {
      return false
    }
  })()
  let image = ''
  let loop = '' // /dev/loopN over image
  let disk = {major: 0, minor: 0}
  beforeAll(() => {
    if (!canLoop) return
    image = join(makeTmpDirs().base, 'disk.img')
    writeFileSync(image, Buffer.alloc(1 << 20))
    loop = execFileSync('losetup', ['--find', '--show', image], {encoding: 'utf8'}).trim()
    const rdev = statSync(loop).rdev
    disk = {major: Math.floor(rdev / 256) & 0xfff, minor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00)}
  })
  afterAll(() => {
    if (loop) execFileSync('losetup', ['-d', loop])
  })
  const imageStart = () => readFileSync(image).subarray(0, 5).toString('latin1')
  const disks = () => (canLoop ? test : test.skip)

  describe('bare, without catbox (root with a loop device only)', () => {
    disks()('a node for the loop device made in any directory writes its disk image', () => {
      const dir = makeTmpDirs().allowed
      execFileSync('sh', ['-c', `mknod ${dir}/x b ${disk.major} ${disk.minor} && printf PWNED | dd of=${dir}/x conv=notrunc status=none`])
      expect(imageStart()).toBe('PWNED')
      writeFileSync(image, Buffer.alloc(1 << 20))
    })
  })

  describe.each(SUPERVISIONS)('%s', (...how) => {
    const follow = how[1]
    const runCaptured = (tmp: TmpDirs, options: Parameters<typeof runCapturedBare>[1]) => supervised(how, () => runCapturedBare(tmp, options))
    disks()('mknod of a node for the loop device in the allowed directory fails with EPERM and is recorded (root)', async () => {
      const tmp = makeTmpDirs()
      const node = join(tmp.allowed, 'x')
      const {stderr, result} = await runCaptured(tmp, {
        command: ['sh', '-c', `mknod ${node} b ${disk.major} ${disk.minor} && printf PWNED | dd of=${node} conv=notrunc status=none`],
        ...follow,
      })
      expect(result.exitCode).not.toBe(0)
      expect(stderr).toContain('Operation not permitted')
      expect(result.violations).toEqual([expect.objectContaining({operation: 'mknodat', canonical: node, denied: true, error: 'EPERM'})])
      expect(fsState(node).exists).toBe(false)
      expect(imageStart()).toBe('\0\0\0\0\0')
    })

    disks()('a node for the loop device made before the run in the allowed directory cannot be opened for writing (root)', async () => {
      const tmp = makeTmpDirs()
      const node = join(tmp.allowed, 'x')
      execFileSync('mknod', [node, 'b', String(disk.major), String(disk.minor)])
      const {result} = await runCaptured(tmp, {command: ['sh', '-c', `printf PWNED | dd of=${node} conv=notrunc status=none`], ...follow})
      expect(result.exitCode).not.toBe(0)
      expect(result.violations).toEqual([expect.objectContaining({operation: 'openat', canonical: node, denied: true, error: 'EACCES'})])
      expect(imageStart()).toBe('\0\0\0\0\0')
    })

    ;(canMknod ? test : test.skip)("a node for /dev/null's numbers outside the rules may be written: it is /dev/null (root)", async () => {
      const tmp = makeTmpDirs()
      const node = join(tmp.outside, 'null')
      execFileSync('mknod', [node, 'c', '1', '3'])
      const {result} = await runCaptured(tmp, {command: ['sh', '-c', `echo gone > ${node}`], ...follow})
      expect({exitCode: result.exitCode, violations: result.violations}).toEqual({exitCode: 0, violations: []})
      expect(fsState(node).kind).toBe('other')
    })

    // The kernel lets anyone make a whiteout, root or not.
    test('mknod of a whiteout (char 0:0) is no device: made inside the rules, refused outside like a file', async () => {
      const tmp = makeTmpDirs()
      const inside = join(tmp.allowed, 'w')
      const outside = join(tmp.outside, 'w')
      const {result} = await runCaptured(tmp, {command: ['sh', '-c', `mknod ${inside} c 0 0 && ! mknod ${outside} c 0 0 2>/dev/null`], ...follow})
      expect(result.exitCode).toBe(0)
      expect(result.violations).toEqual([expect.objectContaining({operation: 'mknodat', canonical: outside, error: 'EACCES'})])
      expect(fsState(inside).kind).toBe('other')
      expect(fsState(outside).exists).toBe(false)
    })

    test(`mknod of a character device in the allowed directory: ${isRoot ? 'EPERM, recorded (root)' : "EPERM from the kernel, nothing recorded (not root)"}`, async () => {
      const tmp = makeTmpDirs()
      const node = join(tmp.allowed, 'null')
      const {stderr, result} = await runCaptured(tmp, {command: ['mknod', node, 'c', '1', '3'], ...follow})
      expect(result.exitCode).not.toBe(0)
      expect(stderr).toContain('Operation not permitted')
      expect(result.violations).toEqual(isRoot ? [expect.objectContaining({operation: 'mknodat', canonical: node, error: 'EPERM'})] : [])
      expect(fsState(node).exists).toBe(false)
    })

    test('the implicit devices still work: /dev/null, /dev/zero, /dev/full, the terminal by /dev/tty when there is one', async () => {
      const tmp = makeTmpDirs()
      const {stdout, result} = await runCaptured(tmp, {
        command: ['sh', '-c', 'echo x > /dev/null && echo x > /dev/zero && (echo x > /dev/full) 2>/dev/null; echo ok'],
        ...follow,
      })
      expect({stdout, exitCode: result.exitCode, violations: result.violations}).toEqual({stdout: 'ok\n', exitCode: 0, violations: []})
    })
  })

  disks()('overlay: a node for the loop device cannot be made in the environment\'s root, nor written (root)', async () => {
    const fx = makeOverlay()
    const node = join(fx.host, 'x')
    const r = await runGuest(fx, `mknod ${node} b ${disk.major} ${disk.minor}; printf PWNED | dd of=${node} conv=notrunc status=none; echo done`)
    expect(r.stdout).toBe('done\n')
    expect(r.result.violations.map((v) => [v.operation, v.canonical, v.error])).toEqual([['mknodat', node, 'EPERM']])
    expect(imageStart()).toBe('\0\0\0\0\0')
    // dd made a plain file instead. A node made in upper before the run (left
    // by an earlier run, or by hand): opening it for writing is refused too.
    expect(fsState(inUpper(fx, node)).kind).toBe('file')
    rmSync(inUpper(fx, node))
    execFileSync('mknod', [inUpper(fx, node), 'b', String(disk.major), String(disk.minor)])
    const again = await runGuest(fx, `printf PWNED | dd of=${node} conv=notrunc status=none; echo done`)
    expect(again.stdout).toBe('done\n')
    expect(again.result.violations.map((v) => [v.operation, v.canonical, v.error])).toEqual([['openat', node, 'EACCES']])
    expect(imageStart()).toBe('\0\0\0\0\0')
  })
})
