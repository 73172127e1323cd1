// PRoot's path-translation tests (test/test-* of proot-me/proot, v5.4.0-2),
// ported to catbox's guest view: PRoot's bindings (-b/-m HOST:GUEST) are maps,
// its guest rootfs is the environment's root directory laid over the host, and
// its -w is the run's cwd. Each case checks what PRoot's case checks, in
// scripts and programs of our own (test/drivers/ports.c for the calls no shell
// tool makes). Many compare with the same steps run bare, as PRoot's do. Cases
// whose subject catbox does not have are listed in docs/ported-suites.md.
import {execFileSync, spawnSync} from 'node:child_process'
import {chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {basename, join} from 'node:path'

import {expect} from '@jest/globals'

import {driverPath, runCaptured} from '../helpers/driver.js'
import {expectClean, fingerprint, inUpper, makeOverlay, makeTree, PATH, PYTHON, runGuest} from '../helpers/overlay.js'
import type {GuestRunOptions, OverlayFixture} from '../helpers/overlay.js'
import {run} from '../../src/index.js'
import {port} from './known-gaps.js'

const PORTS = driverPath('ports')
const lines = (...l: string[]) => l.map((x) => `${x}\n`).join('')
const TRUE = realpathSync('/usr/bin/true')

/** A guest path that exists nowhere on the host. */
const nowhere = (fx: OverlayFixture) => `/catbox-port-proot-${basename(fx.tmp.base)}`

/** Runs script bare with sh in dir: stdout, stderr and status, like runGuest's. */
function bare(script: string, dir: string): {stdout: string; stderr: string; exitCode: number} {
  const r = spawnSync('/bin/sh', ['-c', script], {cwd: dir, encoding: 'utf8', env: {PATH, LC_ALL: 'C'}})
  return {stdout: r.stdout, stderr: r.stderr, exitCode: r.status ?? 128}
}

/**
 * PRoot's favourite check: the same steps bare and in the guest give the same
 * output and status. The tree is made twice, in dir "bare" and in the host
 * directory the guest runs in; the script uses relative paths only.
 */
async function parity(tree: Record<string, string | null>, links: [string, string][], script: string, options: GuestRunOptions = {}) {
  const fx = makeOverlay()
  const bareDir = join(fx.tmp.base, 'bare')
  mkdirSync(bareDir)
  for (const dir of [bareDir, fx.host]) {
    makeTree(dir, tree)
    for (const [target, path] of links) symlinkSync(target, join(dir, path))
  }
  const expected = bare(script, bareDir)
  const got = await runGuest(fx, script, options)
  expect({stdout: got.stdout, stderr: got.stderr, exitCode: got.result.exitCode}).toEqual(expected)
  return {fx, expected}
}

// --- paths: components, links, "." and ".." ---------------------------------

port('proot.test-11111111', 'cd, cat and readlink of every mix of files, dirs, links and "/", "/.", "/.." endings match bare', async () => {
  // Root of the tree: r1 d1 rl1 dl1; below d1 (and so dl1): r2 d2 rl2 dl2;
  // r3 d3 rl3 dl3 exist nowhere. Each path gets "", "/", "/." and "/.." ends.
  const script = `
for a in r1 d1 rl1 dl1; do
  for b in r2 d2 rl2 dl2 r3 d3 rl3 dl3; do
    for c in "" / /. /..; do
      x="$a/$b$c"
      (cd "$x" 2>/dev/null); cd_=$?
      cat "$x" >/dev/null 2>&1; cat_=$?
      readlink "$x" >/dev/null 2>&1; rl_=$?
      echo "$x, $cd_, $cat_, $rl_"
    done
  done
done`
  const {expected} = await parity({r1: '', d1: null, 'd1/r2': '', 'd1/d2': null}, [['r1', 'rl1'], ['d1', 'dl1'], ['r2', 'd1/rl2'], ['d2', 'd1/dl2']], script)
  expect(expected.stdout.split('\n')).toHaveLength(4 * 8 * 4 + 1)
})

port('proot.test-88888888', 'open of a file with "/", "/." or "/.." after it fails with ENOTDIR; of a missing path with ENOENT', async () => {
  const fx = makeOverlay()
  makeTree(fx.host, {f: 'f\n'})
  const paths = ['f', 'f/', 'f/.', 'f/..', 'missing', 'missing/', 'missing/.'].map((p) => `${fx.host}/${p}`)
  const expected = execFileSync(PORTS, ['open', ...paths], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']})
  expect(expected).toContain(`${fx.host}/f/ err ENOTDIR`) // the kernel's answer, bare
  const r = await runGuest(fx, [PORTS, 'open', ...paths])
  expect(r.stdout).toBe(expected)
})

port('proot.test-cb1143ab', 'a link to "D/./.": ls of LINK, LINK/, LINK/. and LINK/.. match bare', async () => {
  await parity({'d1/d2': null}, [], 'ln -s "$PWD/d1/d2/./." d1/d2/link; ls d1/d2/link d1/d2/link/ d1/d2/link/. d1/d2/link/..; rm d1/d2/link')
})

port('proot.test-51943658', 'openat("/", ".") and openat("/", "..") both point at /', async () => {
  const fx = makeOverlay()
  const r = await runGuest(fx, [PORTS, 'rootdots'])
  expect(r.stdout).toBe(lines('/. /', '/.. /'))
})

port('proot.test-cccccccc', 'rmdir d/. and rmdir d/./ fail (EINVAL), rmdir d works', async () => {
  await parity({d: null}, [], 'rmdir d/.; echo $?; rmdir d/./; echo $?; rmdir d; echo $?; test -e d; echo $?')
})

port('proot.test-mmmmmmmm', 'mkdir and rmdir of ./X, X/ and ./X/', async () => {
  const {fx} = await parity({}, [], 'mkdir ./x && rmdir ./x && mkdir x/ && rmdir x/ && mkdir ./x/ && rmdir ./x/ && echo done; ls')
  expect(readdirSync(fx.host)).toEqual([])
})

port('proot.test-dddddddd', 'rmdir of a link to a directory, mkdir of a dangling link: the same errors as bare', async () => {
  await parity({dir: null}, [['dir', 'tolink'], ['/catbox-port-does/not/exist', 'dangling']], 'rmdir tolink; echo $?; mkdir dangling; echo $?')
})

port('proot.test-bbbbbbbb', 'ln -sf into a directory twice, of a target that exists, does not, or goes through a file; ln onto a dangling link fails: as bare', async () => {
  await parity(
    {tmp: null, file: '', t2: ''},
    [],
    [
      'ln -sf /catbox-port-nothing tmp/; echo $?; ln -sf /catbox-port-nothing tmp/; echo $?; readlink tmp/catbox-port-nothing',
      'ln -sf "$PWD/file/nothing" tmp/; echo $?; ln -sf "$PWD/file/nothing" tmp/; echo $?',
      'ln -sf "$PWD/tmp/dangling-target" t1; ln t2 t1; echo $?',
    ].join('\n'),
  )
})

port('proot.test-1c68c218', 'a link to itself: fchownat following it fails with ELOOP, without following it works', async () => {
  const fx = makeOverlay()
  const r = await runGuest(fx, [PORTS, 'fchownat_loop', 'self'])
  expect(r.stdout).toBe(lines('follow err ELOOP', 'nofollow ok'))
})

port('proot.test-79cf6614', 'lutimes of a link the build made sets the link\'s own time', async () => {
  const fx = makeOverlay()
  const r = await runGuest(fx, 'ln -s /etc/hostname l && touch -h -d @52353 l && stat -c %Y l && stat -L -c %Y l | grep -vx 52353 >/dev/null && echo target-untouched')
  expect(r.stdout).toBe(lines('52353', 'target-untouched'))
})

port('proot.test-iiiiiiii', 'faccessat(X_OK) with AT_SYMLINK_NOFOLLOW on a link dangling on the host but not in the guest: the link is followed (the flag is libc\'s)', async () => {
  const fx = makeOverlay()
  // The target exists only in the environment's root.
  const target = `${nowhere(fx)}/prog`
  mkdirSync(join(fx.upper, nowhere(fx)), {recursive: true})
  copyFileSync(TRUE, join(fx.upper, target))
  symlinkSync(target, join(fx.host, 'link'))
  expect(execFileSync(PORTS, ['faccess_nofollow', join(fx.host, 'link')], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']})).toBe('faccessat err ENOENT\n')
  const r = await runGuest(fx, [PORTS, 'faccess_nofollow', join(fx.host, 'link')])
  expect(r.stdout).toBe('faccessat ok\n')
})

port('proot.test-fdf487a0', 'openat on fd 0 that is no directory: ENOTDIR; an empty path: ENOENT; NULL: EFAULT', async () => {
  const fx = makeOverlay()
  const r = await runGuest(fx, `${PORTS} openat0 < /dev/null`)
  expect(r.stdout).toBe(lines('foo err ENOTDIR', 'empty err ENOENT', 'null err EFAULT'))
})

// --- the working directory -------------------------------------------------

port('proot.test-1cd9d8f9', 'pwd -P in a cwd given to the run prints that guest path (also test-55b731d3, test-eddeba0e)', async () => {
  const fx = makeOverlay()
  makeTree(fx.host, {'sub/dir': null})
  const cwd = join(fx.host, 'sub/dir')
  const r = await runGuest(fx, 'pwd -P; /bin/pwd; echo "$PWD"', {cwd, env: {PWD: '/nowhere'}})
  expectClean(r)
  expect(r.stdout).toBe(lines(cwd, cwd, cwd))
})

port('proot.test-7601199b', 'sh started in a cwd sets $PWD to it', async () => {
  const fx = makeOverlay()
  const r = await runGuest(fx, 'echo $PWD', {cwd: fx.host})
  expect(r.stdout).toBe(lines(fx.host))
})

port('proot.test-0238c7f1', 'cwd inside a map: pwd prints the guest path (also test-3dec4597, test-b161bc0a, test-de756935)', async () => {
  const fx = makeOverlay()
  makeTree(fx.host, {'etc/x': 'x\n'})
  const G = `${nowhere(fx)}/hostfs`
  const maps = [{host: fx.host, guest: G, mode: 'ro' as const}]
  for (const [cwd, want] of [
    [`${G}/etc`, `${G}/etc`],
    [G, G],
  ]) {
    const r = await runGuest(fx, 'pwd; pwd -P; bash -c pwd', {cwd, maps})
    expectClean(r)
    expect(r.stdout).toBe(lines(want, want, want))
  }
})

port('proot.test-d1da0d8d', 'readlink /proc/self/cwd in a map gives the guest path', async () => {
  const fx = makeOverlay()
  const G = `${nowhere(fx)}/asym`
  const maps = [{host: fx.host, guest: G, mode: 'ro' as const}]
  expect((await runGuest(fx, 'readlink /proc/self/cwd', {cwd: G, maps})).stdout).toBe(lines(G))
})

port('proot.test-d1da0d8d#unmapped-name', 'readlink /proc/self/cwd in a directory a map also shows elsewhere, entered by its own path, gives that path', async () => {
  const fx = makeOverlay()
  const G = `${nowhere(fx)}/asym`
  const maps = [{host: fx.host, guest: G, mode: 'ro' as const}]
  expect((await runGuest(fx, 'readlink /proc/self/cwd', {cwd: fx.host, maps})).stdout).toBe(lines(fx.host))
})

/** One host directory (holding a file f) mapped at A and at B, in both orders. */
function twoNames(fx: OverlayFixture) {
  makeTree(fx.host, {f: ''})
  const A = `${nowhere(fx)}/a`
  const B = `${nowhere(fx)}/b`
  const a = {host: fx.host, guest: A, mode: 'ro' as const}
  const b = {host: fx.host, guest: B, mode: 'ro' as const}
  return {A, B, orders: [[a, b], [b, a]]}
}

port('proot.test-5467b986', 'one host directory mapped at /a and /b: after cd to either, getcwd is one of the two; chdir to a file fails', async () => {
  const fx = makeOverlay()
  const {A, B, orders} = twoNames(fx)
  for (const maps of orders) {
    const r = await runGuest(fx, `cd ${A} && /bin/pwd; cd ${B} && /bin/pwd; cd ${A}/f 2>/dev/null || echo enotdir`, {cwd: A, maps})
    // PRoot's case, too, leaves open which of two names of one directory getcwd gives after a chdir.
    const out = r.stdout.split('\n')
    expect(out.slice(0, 2).every((line) => line === A || line === B)).toBe(true)
    expect(out.slice(2)).toEqual(['enotdir', ''])
  }
})

port('proot.test-5467b986#cwd', 'one host directory mapped at /a and /b: a run started in either sees that one as its cwd; after cd to the other, that one (getcwd and /proc/self/cwd, also in a child)', async () => {
  const fx = makeOverlay()
  const {A, B, orders} = twoNames(fx)
  for (const maps of orders) {
    for (const [cwd, other] of [[A, B], [B, A]]) {
      const script = `/bin/pwd; readlink /proc/self/cwd; cd ${other} && /bin/pwd && readlink /proc/self/cwd && sh -c 'cd ../${basename(other)} && /bin/pwd'`
      expect((await runGuest(fx, script, {cwd, maps})).stdout).toBe(lines(cwd, cwd, other, other, other))
    }
  }
})

port('proot.test-c10e2073', 'readlink of /proc/self/cwd returns its length, getcwd(2) its length + 1; readlink of /proc/self/exe its length (test-d2175fc4)', async () => {
  const fx = makeOverlay()
  const prog = `${nowhere(fx)}/ports`
  argvIn(fx, prog)
  const r = await runGuest(fx, [prog, 'sizes'])
  expect(r.stdout).toBe(lines('readlink ok', `getcwd ok ${fx.host}`, `exe ok ${prog}`))
})

port('proot.test-a8e69d6f', 'lstat("/proc/self/cwd/") follows the link: a directory', async () => {
  const fx = makeOverlay()
  const r = await runGuest(fx, `${PORTS} lstat /proc/self/cwd/; ${PORTS} lstat /proc/self/cwd`)
  expect(r.stdout).toBe(lines('dir', 'link'))
})

port('proot.test-5bed7143', 'the cwd\'s parent renamed: getcwd gives the new path; the cwd removed: getcwd fails with ENOENT', async () => {
  const fx = makeOverlay()
  // Made by the build, so that the rename is a rename (a host directory with
  // entries is copied instead: EXDEV, as on overlayfs).
  const r = await runGuest(fx, `mkdir -p p1/c && touch p1/c/file && cd p1/c && mv ${fx.host}/p1 ${fx.host}/p2 && test -e file && /bin/pwd && rm file && rmdir ${fx.host}/p2/c && { /bin/pwd 2>&1 || echo failed; }`)
  expect(r.stdout).toMatch(new RegExp(`^${fx.host}/p2/c\n.*No such file or directory\nfailed\n$`))
})

port('proot.test-5bed7142', 'pwd -P in a directory removed from under the shell fails', async () => {
  await parity({d: null}, [], 'cd d; rmdir ../d; /bin/pwd -P; echo $?')
})

port('proot.test-wwwwwwww', 'the cwd removed and made again, then entered again: pwd works', async () => {
  const fx = makeOverlay()
  makeTree(fx.host, {'t/x': ''})
  const T = join(fx.host, 't')
  const r = await runGuest(fx, `cd ..; rm -r ${T}; mkdir ${T}; cd ${T}; /bin/pwd; ls -A`, {cwd: T})
  expectClean(r)
  expect(r.stdout).toBe(lines(T))
})

port('proot.test-53355a5b', 'cd into a directory without search permission: as bare (fails for a user, works for root)', async () => {
  await parity({d: null}, [], 'chmod a-x d; (cd d) 2>/dev/null; echo $?; chmod a+x d', {})
})

port('proot.test-5bed7141', 'a thread\'s chdir (into a map) is the process\'s: getcwd and /proc/self/cwd follow; a child\'s chdir is its own', async () => {
  const fx = makeOverlay()
  const G = `${nowhere(fx)}/etc`
  const r = await runGuest(fx, [PORTS, 'thread_chdir', G, '/usr'], {maps: [{host: fx.host, guest: G, mode: 'ro'}]})
  expect(r.stdout).toBe(lines('thread chdir ok', `after-thread getcwd ${G} proc ${G}`, 'child chdir ok', `after-child getcwd ${G} proc ${G}`))
})

port('proot.test-rrrrrrrr', 'readlink /proc/self/root in the guest view is /', async () => {
  const fx = makeOverlay()
  expect((await runGuest(fx, 'readlink /proc/self/root')).stdout).toBe('/\n')
})

port('proot.test-bug-138', 'unlink of a directory (EISDIR), rmdir of a full one (ENOTEMPTY), both below a mode-0 directory, then again after chmod 700: as bare', async () => {
  await parity(
    {},
    [],
    [
      'mkdir -p top/a/b',
      'unlink top/a; echo $?',
      'rmdir top/a; echo $?',
      'chmod 0 top',
      'unlink top/a/b; echo $?',
      'rmdir top/a/b; echo $?',
      'stat -c %F top/a/b; echo $?',
      'chmod 700 top',
      'unlink top/a; echo $?',
      'rmdir top/a; echo $?',
      'unlink top; echo $?',
      'rmdir top; echo $?',
      'rm -r top',
    ].join('\n'),
  )
})

// --- bindings (maps) -------------------------------------------------------

port('proot.test-55fd1da5', 'a host directory mapped at a guest path that does not exist: ls -la lists it', async () => {
  const fx = makeOverlay()
  const src = join(fx.tmp.base, 'src')
  makeTree(src, {a: 'a', 'b/c': 'c'})
  const G = `${nowhere(fx)}/x`
  const r = await runGuest(fx, `ls -la ${G} | awk '{print $1, $NF}'`, {maps: [{host: src, guest: G, mode: 'ro'}]})
  expect(r.stdout).toMatch(/^total \d+\nd\S+ \.\nd\S+ \.\.\n-\S+ a\nd\S+ b\n$/)
})

port('proot.test-cea75343', 'nested maps: the longest guest path wins, whatever the order (also test-6fb08ce1)', async () => {
  const fx = makeOverlay()
  writeFileSync(join(fx.tmp.base, 'one'), 'binding 1\n')
  writeFileSync(join(fx.tmp.base, 'two'), 'binding 2\n')
  const T = join(fx.tmp.base, 't3')
  makeTree(T, {'a/b/c': 'host c\n', 'a/d': 'host d\n'})
  const G = nowhere(fx)
  const maps = [
    {host: join(fx.tmp.base, 'one'), guest: `${G}/a/b/c`, mode: 'ro' as const},
    {host: join(T, 'a/b'), guest: `${G}/a/b`, mode: 'ro' as const},
    {host: join(fx.tmp.base, 'two'), guest: `${G}/a/d`, mode: 'ro' as const},
    {host: join(T, 'a'), guest: `${G}/a`, mode: 'ro' as const},
  ]
  for (const order of [maps, [...maps].reverse()]) {
    const r = await runGuest(fx, `cat ${G}/a/b/c ${G}/a/d`, {maps: order})
    expect(r.stdout).toBe(lines('binding 1', 'binding 2'))
  }
})

port('proot.test-c15999f9', 'a map at a guest path that does not exist creates nothing on the host (also test-gggggggg)', async () => {
  const fx = makeOverlay()
  const T = join(fx.host, 'tmp')
  mkdirSync(T)
  const before = fingerprint(fx.host)
  const r = await runGuest(fx, `${T}/dont/create/true && test -e ${T}/dont && ls ${T}`, {
    maps: [{host: TRUE, guest: `${T}/dont/create/true`, mode: 'ro'}],
  })
  expectClean(r)
  expect(r.stdout).toBe(lines('dont'))
  expect(fingerprint(fx.host)).toEqual(before)
  expect(readdirSync(fx.upper)).toEqual([]) // nor in the environment's root
})

port('proot.test-aaaaaaaa', 'a program mapped at a guest path that does not exist runs as the command', async () => {
  const fx = makeOverlay()
  const G = `${nowhere(fx)}/true`
  const r = await runGuest(fx, [G], {maps: [{host: TRUE, guest: G, mode: 'ro'}]})
  expectClean(r)
})

port('proot.test-6b5a254a', 'a map whose host side is a symlink shows the content of the link\'s target', async () => {
  const fx = makeOverlay()
  const f1 = join(fx.tmp.base, 'foo1')
  const f2 = join(fx.tmp.base, 'foo2')
  writeFileSync(f1, 'content of FOO1\n')
  writeFileSync(f2, 'content of FOO2\n')
  symlinkSync(f1, join(fx.tmp.base, 'foo3'))
  const G = `${nowhere(fx)}/g`
  const r = await runGuest(fx, `cat ${G}`, {maps: [{host: join(fx.tmp.base, 'foo3'), guest: G, mode: 'ro'}]})
  expect(r.stdout).toBe(lines('content of FOO1'))
})

port('proot.test-67972fbe', 'a map at a guest path that goes through a symlink of the environment\'s root', async () => {
  const fx = makeOverlay()
  const T = join(fx.host, 't')
  makeTree(inUpper(fx, T), {'run/dbus': null, var: null})
  symlinkSync('../run', inUpper(fx, join(T, 'var/run')))
  const src = join(fx.tmp.base, 'bin')
  makeTree(src, {true: ''})
  const r = await runGuest(fx, `ls ${T}/var/run/dbus/ ${T}/run/dbus/`, {maps: [{host: src, guest: `${T}/var/run/dbus`, mode: 'ro'}]})
  expect(r.stdout).toBe(lines(`${T}/run/dbus/:`, 'true', '', `${T}/var/run/dbus/:`, 'true'))
})

port('proot.test-654decce', 'maps deep below guest directories that do not exist: each level lists the next, with its type', async () => {
  const fx = makeOverlay()
  const file = join(fx.tmp.base, 'file1')
  writeFileSync(file, 'content of file1\n')
  const G = nowhere(fx)
  const maps = [
    {host: file, guest: `${G}/t3/t4`, mode: 'ro' as const},
    {host: '/etc/hostname', guest: `${G}/t3/motd`, mode: 'ro' as const},
    {host: fx.host, guest: `${G}/d5/d6`, mode: 'ro' as const},
  ]
  const r = await runGuest(fx, `find ${G} -mindepth 1 -maxdepth 2 -printf '%y %P\\n' | sort; cat ${G}/t3/t4`, {maps})
  expect(r.stdout.split('\n').slice(0, 5).sort()).toEqual(['d d5', 'd d5/d6', 'd t3', 'f t3/motd', 'f t3/t4'])
  expect(r.stdout).toContain('content of file1\n')
})

port('proot.test-e940896f', 'ls of a map\'s own directory and of each directory above it, below a read-only directory of the environment\'s root', async () => {
  const fx = makeOverlay()
  makeTree(fx.host, {'t1/t2/t3/f': ''})
  const T3 = join(fx.host, 't1/t2/t3')
  const G = `${nowhere(fx)}${T3}`
  // PRoot's case makes the rootfs's copy of the top directory read-only.
  mkdirSync(join(fx.upper, nowhere(fx)), {recursive: true})
  chmodSync(join(fx.upper, nowhere(fx)), 0o555)
  const r = await runGuest(fx, `ls ${G} ${G}/.. ${G}/../.. | tr '\\n' ' '`, {cwd: T3, maps: [{host: T3, guest: G, mode: 'ro'}]})
  chmodSync(join(fx.upper, nowhere(fx)), 0o755)
  expectClean(r)
  expect(r.stdout).toBe(`${G}: f  ${G}/..: t3  ${G}/../..: t2 `)
})

port('proot.test-654decce#unreadable', 'maps below a directory of the environment\'s root without read permission: the directory cannot be listed by a user, the map\'s parent can', async () => {
  const fx = makeOverlay()
  const file = join(fx.tmp.base, 'file1')
  writeFileSync(file, 'content of file1\n')
  const T2 = nowhere(fx)
  mkdirSync(join(fx.upper, T2), {recursive: true})
  chmodSync(join(fx.upper, T2), 0o311) // PRoot: chmod -rw
  const r = await runGuest(fx, `ls ${T2} >/dev/null 2>&1; echo $?; ls ${T2}/t3; cat ${T2}/t3/t4`, {maps: [{host: file, guest: `${T2}/t3/t4`, mode: 'ro'}]})
  chmodSync(join(fx.upper, T2), 0o755)
  // Root reads a directory whatever its mode; a user may not.
  expect(r.stdout).toBe(lines(process.getuid?.() === 0 ? '0' : '2', 't4', 'content of file1'))
})

// --- links read back -------------------------------------------------------

port('proot.test-8e5fa256', 'a link in the environment\'s root hides the host\'s of the same name; a map shows the host\'s (also test-d2175fc3, test-44444444)', async () => {
  const fx = makeOverlay()
  symlinkSync('/ced-host', join(fx.host, 'link'))
  symlinkSync('./rel-host', join(fx.host, 'rel'))
  mkdirSync(inUpper(fx, fx.host), {recursive: true})
  symlinkSync('/ced-guest', inUpper(fx, join(fx.host, 'link')))
  const G = `${nowhere(fx)}/foo`
  const r = await runGuest(fx, `readlink ${fx.host}/link ${fx.host}/rel ${G}/link ${G}/rel`, {maps: [{host: fx.host, guest: G, mode: 'ro'}]})
  expect(r.stdout).toBe(lines('/ced-guest', './rel-host', '/ced-host', './rel-host'))
})

port('proot.test-a4d7ed70', 'a link to /proc/self/fd, and a link to its 0: ls and cat through them', async () => {
  const fx = makeOverlay()
  symlinkSync('/proc/self/fd', join(fx.host, 'fd'))
  symlinkSync(join(fx.host, 'fd/0'), join(fx.host, 'stdin'))
  writeFileSync(join(fx.tmp.base, 'in'), 'OK\n')
  const r = await runGuest(fx, `ls ${fx.host}/stdin && cat ${fx.host}/stdin < ${fx.tmp.base}/in`)
  expectClean(r)
  expect(r.stdout).toBe(lines(`${fx.host}/stdin`, 'OK'))
})

// --- /proc -----------------------------------------------------------------

port('proot.test-99999999', '/proc/self/exe of a program in the environment\'s root is its guest path; with "/" after it, ENOTDIR; md5sum reads the program', async () => {
  const fx = makeOverlay()
  const prog = `${nowhere(fx)}/bin/readlink`
  mkdirSync(join(fx.upper, nowhere(fx), 'bin'), {recursive: true})
  copyFileSync('/usr/bin/readlink', join(fx.upper, prog))
  chmodSync(join(fx.upper, prog), 0o755)
  const md5 = execFileSync('md5sum', ['/usr/bin/md5sum'], {encoding: 'utf8'}).split(' ')[0]
  const script = [
    `${prog} /proc/self/exe`,
    `${prog} /proc/1/../self/exe`,
    `sh -c '${prog} /proc/$$/exe; true'`,
    `${prog} /proc/self/exe/ || echo fails-1`,
    `${prog} /proc/self/exe/.. || echo fails-2`,
    `${prog} /proc/self/exe/../exe || echo fails-3`,
    `md5sum /proc/self/exe | cut -d' ' -f1`,
  ].join('\n')
  const r = await runGuest(fx, script)
  expect(r.stdout).toBe(lines(prog, prog, realpathSync('/bin/sh'), 'fails-1', 'fails-2', 'fails-3', md5))
})

port('proot.test-99999999#host', '/proc/self/exe of a host program, also through /proc/1/..; with "/" after it, ENOTDIR', async () => {
  const fx = makeOverlay()
  const readlink = realpathSync('/usr/bin/readlink')
  const script = 'readlink /proc/self/exe; readlink /proc/1/../self/exe; readlink /proc/self/exe/ || echo fails-1; readlink /proc/self/exe/.. || echo fails-2'
  const want = lines(readlink, readlink, 'fails-1', 'fails-2')
  expect(bare(script, fx.host).stdout).toBe(want) // bare control
  const r = await runGuest(fx, script)
  expect(r.stdout).toBe(want)
})

port('proot.test-dfb0c3b6', '/proc/self is a pid, /proc/self/.. no link, a pipe reads back as pipe:[N], /proc/self/fd/0/ fails, a file fd reads back as its guest path', async () => {
  const fx = makeOverlay()
  const script = [
    'readlink /proc/self',
    'readlink /proc/self/.. || echo fails-1',
    'readlink /proc/self/../self',
    'echo OK | readlink /proc/self/fd/0',
    'echo OK | readlink /proc/self/fd/0/ || echo fails-2',
    'echo OK | readlink /proc/self/fd/0/.. || echo fails-3',
    'echo "echo OK" | sh /proc/self/fd/0',
    `exec 6<>${fx.host}/f6; readlink /proc/self/fd/6`,
  ].join('\n')
  const r = await runGuest(fx, script)
  expect(r.stdout).toMatch(new RegExp(`^\\d+\nfails-1\n\\d+\npipe:\\[\\d+\\]\nfails-2\nfails-3\nOK\n${fx.host}/f6\n$`))
  expect(existsSync(join(fx.upper, fx.host, 'f6'))).toBe(true)
})

port('proot.test-305ae31d', '/proc/PID/fd/N/ and /N/.. of a directory open; of a file ENOTDIR; of a closed fd ENOENT (also test-305ae31d.sh)', async () => {
  const fx = makeOverlay()
  makeTree(fx.host, {'d/f': ''})
  const r = await runGuest(fx, [PORTS, 'procfd', join(fx.host, 'd'), join(fx.host, 'd/f')])
  expect(r.stdout).toBe(lines('dir/ ok', 'dir/.. ok', 'file/.. err ENOTDIR', 'closed/.. err ENOENT'))
})

port('proot.test-af062114', '/proc/self/cmdline is the program\'s argv', async () => {
  const fx = makeOverlay()
  const r = await runGuest(fx, `cat /proc/self/cmdline | tr '\\0' ' '`)
  expect(r.stdout).toBe('cat /proc/self/cmdline ')
})

for (const [id, where] of [
  ['proot.test-b6df3cbe', 'host'],
  ['proot.test-b6df3cbe#root', 'root'],
] as const) {
  port(id, `/proc/$$/cmdline of a #!/bin/sh script ${where === 'host' ? 'of the host' : 'only in the environment\'s root'} run as ./script is "/bin/sh ./script"`, async () => {
    const fx = makeOverlay()
    const dir = where === 'host' ? fx.host : inUpper(fx, fx.host)
    mkdirSync(dir, {recursive: true})
    writeFileSync(join(dir, 's'), '#!/bin/sh\ncat /proc/$$/cmdline\n', {mode: 0o755})
    const r = await runGuest(fx, `sh -c ./s | tr '\\0' ' '`)
    expect(r.stdout).toBe('/bin/sh ./s ')
  })
}

for (const [id, where] of [
  ['proot.test-commmmmm', 'host'],
  ['proot.test-commmmmm#root', 'root'],
] as const) {
  port(id, `/proc/self/comm of cat, and of a #! script ${where === 'host' ? 'of the host' : 'only in the environment\'s root'} run by its path and through a symlink: the name used, cut to 15 bytes`, async () => {
    const fx = makeOverlay()
    const name = 'a-script-name-longer-than-15'
    const dir = where === 'host' ? fx.host : inUpper(fx, fx.host)
    mkdirSync(dir, {recursive: true})
    writeFileSync(join(dir, name), '#!/bin/sh\ncat /proc/$$/comm\n', {mode: 0o755})
    symlinkSync(join(fx.host, name), join(dir, 'another-name-longer-than-15'))
    const r = await runGuest(fx, `cat /proc/self/comm; /usr/bin/cat /proc/self/comm; ${fx.host}/${name}; ${fx.host}/another-name-longer-than-15`)
    expect(r.stdout).toBe(lines('cat', 'cat', name.slice(0, 15), 'another-name-longer-than-15'.slice(0, 15)))
  })
}

// --- exec ------------------------------------------------------------------

/** The argv driver under a new name in the environment's root, at guest path `at`. */
function argvIn(fx: OverlayFixture, at: string): void {
  mkdirSync(join(fx.upper, at, '..'), {recursive: true})
  copyFileSync(PORTS, join(fx.upper, at))
  chmodSync(join(fx.upper, at), 0o755)
}

port('proot.test-092c5e26', 'argv[0] of a program of the environment\'s root: as typed; of its #! script: the interpreter\'s path (also test-00000000)', async () => {
  const fx = makeOverlay()
  const bin = `${nowhere(fx)}/bin`
  argvIn(fx, `${bin}/argv`)
  writeFileSync(join(fx.upper, bin, 'script'), `#!${bin}/argv\ntest\n`, {mode: 0o755})
  const r = await runGuest(fx, `argv; ${bin}/argv; script; ${bin}/script`, {env: {PATH: `${bin}:${PATH}`}})
  expectClean(r)
  expect(r.stdout).toBe(lines('argv', `${bin}/argv`, `${bin}/argv ${bin}/script`, `${bin}/argv ${bin}/script`))
})

/**
 * dir/s: "#! ARGV -x", and dir/l a host symlink to it; ARGV is the argv
 * driver, on the host (PRoot's case) or only in the environment's root.
 */
function scriptWithArg(fx: OverlayFixture, where: 'host' | 'root'): {dir: string; A: string} {
  const bin = where === 'host' ? join(fx.tmp.base, 'bin') : `${nowhere(fx)}/bin`
  if (where === 'host') {
    mkdirSync(bin)
    copyFileSync(PORTS, join(bin, 'argv'))
    chmodSync(join(bin, 'argv'), 0o755)
  } else {
    argvIn(fx, `${bin}/argv`)
  }
  const dir = join(fx.host, 'b')
  mkdirSync(dir)
  writeFileSync(join(dir, 's'), `#! ${bin}/argv -x\n`, {mode: 0o755})
  symlinkSync(join(dir, 's'), join(dir, 'l'))
  return {dir, A: `${bin}/argv -x`}
}

for (const where of ['host', 'root'] as const) {
  const suffix = where === 'host' ? '' : '#root'
  const whose = where === 'host' ? 'a host interpreter' : 'an interpreter only in the environment\'s root'
  port(`proot.test-517e1d6a${suffix}`, `a #! script of ${whose}, with an argument, run by path, by PATH and as ./: the interpreter gets its argument and the name used`, async () => {
    const fx = makeOverlay()
    const {dir, A} = scriptWithArg(fx, where)
    const script = `${dir}/s; PATH=${dir} s; ./s; env ./s`
    const want = lines(`${A} ${dir}/s`, `${A} ${dir}/s`, `${A} ./s`, `${A} ./s`)
    if (where === 'host') expect(bare(script, dir).stdout).toBe(want) // bare control: the kernel's answer
    const r = await runGuest(fx, script, {cwd: dir})
    expectClean(r)
    expect(r.stdout).toBe(want)
  })

  port(`proot.test-517e1d6a#symlink${suffix ? '-root' : ''}`, `the same #! script of ${whose} run through a symlink, by path, by PATH and as ./`, async () => {
    const fx = makeOverlay()
    const {dir, A} = scriptWithArg(fx, where)
    const script = `${dir}/l; PATH=${dir} l; ./l`
    const want = lines(`${A} ${dir}/l`, `${A} ${dir}/l`, `${A} ./l`)
    if (where === 'host') expect(bare(script, dir).stdout).toBe(want) // bare control: the kernel's answer
    const r = await runGuest(fx, script, {cwd: dir})
    expectClean(r)
    expect(r.stdout).toBe(want)
  })
}

for (const [id, where] of [
  ['proot.test-1743dd3d', 'root'],
  ['proot.test-1743dd3d#host', 'host'],
] as const) {
  port(id, `a #! script ${where === 'root' ? 'only in the environment\'s root' : 'of the host'}: without x it fails (126), with x it runs`, async () => {
    const fx = makeOverlay()
    const dir = where === 'host' ? fx.host : inUpper(fx, fx.host)
    mkdirSync(dir, {recursive: true})
    writeFileSync(join(dir, 's'), '#!/bin/true\n', {mode: 0o644})
    const script = './s 2>/dev/null; echo $?; chmod +x s; ./s; echo $?'
    if (where === 'host') {
      // Bare control, on a copy: the kernel refuses the script without x.
      const copy = join(fx.tmp.base, 'bare')
      mkdirSync(copy)
      writeFileSync(join(copy, 's'), '#!/bin/true\n', {mode: 0o644})
      expect(bare(script, copy).stdout).toBe(lines('126', '0'))
    }
    const r = await runGuest(fx, script)
    expect(r.stdout).toBe(lines('126', '0'))
  })
}

port('proot.test-b94dd86a', 'a program only in the environment\'s root, run as ./prog from its directory', async () => {
  const fx = makeOverlay()
  const bin = `${nowhere(fx)}/bin`
  mkdirSync(join(fx.upper, bin), {recursive: true})
  copyFileSync(TRUE, join(fx.upper, bin, 'true'))
  const r = await runGuest(fx, './true; echo $?; ../bin/true; echo $?; ./missing 2>/dev/null; echo $?', {cwd: bin})
  expect(r.stdout).toBe(lines('0', '0', '127'))
})

port('proot.test-03969e70', 'command lookup: ./true and bin/true from their directories, ../bin/true from bin; not ./true nor /true where there is none', async () => {
  const fx = makeOverlay()
  const top = `${nowhere(fx)}`
  mkdirSync(join(fx.upper, top, 'bin'), {recursive: true})
  copyFileSync(TRUE, join(fx.upper, top, 'bin/true'))
  const script = `cd ${top}/bin; ./true; echo $?; cd ${top}; bin/true; echo $?; bin/./true; echo $?; cd bin; ../bin/true; echo $?; cd ${top}; ./true 2>/dev/null; echo $?; ${top}/true 2>/dev/null; echo $?`
  const r = await runGuest(fx, ['/bin/bash', '-c', script])
  expect(r.stdout).toBe(lines('0', '0', '0', '0', '127', '127'))
})

port('proot.test-hhhhhhhh', 'a chain of relative symlinks that exists only in the environment\'s root runs, by PATH and by path', async () => {
  const fx = makeOverlay()
  const T = `${nowhere(fx)}/t`
  mkdirSync(join(fx.upper, T), {recursive: true})
  mkdirSync(join(fx.upper, nowhere(fx), 'bin'), {recursive: true})
  copyFileSync(TRUE, join(fx.upper, nowhere(fx), 'bin/true'))
  symlinkSync('../bin/true', join(fx.upper, T, 'a'))
  symlinkSync('a', join(fx.upper, T, 'b'))
  const r = await runGuest(fx, `PATH=${T} b; echo $?; ${T}/b; echo $?`)
  expect(r.stdout).toBe(lines('0', '0'))
})

port('proot.test-713b6910', '$0 of a #! script run through a symlink is the symlink; /proc/self/exe of a program run through one is the program', async () => {
  const fx = makeOverlay()
  writeFileSync(join(fx.host, 's'), '#!/bin/sh\necho $0\n', {mode: 0o755})
  symlinkSync(join(fx.host, 's'), join(fx.host, 'l'))
  symlinkSync('/usr/bin/readlink', join(fx.host, 'rl'))
  const r = await runGuest(fx, `${fx.host}/l; ${fx.host}/rl /proc/self/exe`)
  expect(r.stdout).toBe(lines(join(fx.host, 'l'), realpathSync('/usr/bin/readlink')))
})

port('proot.test-311b7a95', 'a #! script whose interpreter is itself a #! script: as bare', async () => {
  const fx = makeOverlay()
  writeFileSync(join(fx.host, 's2'), `#! /usr/bin/echo -b\n`, {mode: 0o755})
  writeFileSync(join(fx.host, 's1'), `#! ${fx.host}/s2 -a\n`, {mode: 0o755})
  const expected = bare(`${fx.host}/s1`, fx.host)
  expect(expected.stdout).toBe(`-b ${fx.host}/s2 -a ${fx.host}/s1\n`)
  const r = await runGuest(fx, `${fx.host}/s1`)
  expect({stdout: r.stdout, exitCode: r.result.exitCode}).toEqual({stdout: expected.stdout, exitCode: 0})
})

port('proot.test-311b7a95#root', 'a #! script whose interpreter is itself a #! script, both only in the environment\'s root: as bare', async () => {
  const fx = makeOverlay()
  const up = inUpper(fx, fx.host)
  mkdirSync(up, {recursive: true})
  writeFileSync(join(up, 's2'), `#! /usr/bin/echo -b\n`, {mode: 0o755})
  writeFileSync(join(up, 's1'), `#! ${fx.host}/s2 -a\n`, {mode: 0o755})
  const r = await runGuest(fx, `${fx.host}/s1`)
  // What the kernel gives for the same two scripts on the host (test-311b7a95's bare control).
  expect({stdout: r.stdout, exitCode: r.result.exitCode}).toEqual({stdout: `-b ${fx.host}/s2 -a ${fx.host}/s1\n`, exitCode: 0})
})

port('proot.test-713b6910#root', '$0 of a #! script only in the environment\'s root, run through a symlink there, is the symlink', async () => {
  const fx = makeOverlay()
  const up = inUpper(fx, fx.host)
  mkdirSync(up, {recursive: true})
  writeFileSync(join(up, 's'), '#!/bin/sh\necho $0\n', {mode: 0o755})
  symlinkSync(join(fx.host, 's'), join(up, 'l'))
  const r = await runGuest(fx, `${fx.host}/l; ./l`)
  expect(r.stdout).toBe(lines(join(fx.host, 'l'), './l'))
})

const SHEBANGS: [string, string][] = [
  ['long', `#!/usr/bin/echo ${'X'.repeat(200)}\n`],
  ['dotdot-within-limit', `#!//${'../'.repeat(37)}usr/bin/echo XXXXXXXXX\n`],
  ['dotdot-past-limit', `#!/${'../'.repeat(40)}usr/bin/echo XXXXXXXXX\n`],
  ['blanks', `#!${' '.repeat(200)}\n`],
  ['empty', '#!\n'],
]
for (const [name, line] of SHEBANGS) {
  port(`proot.test-691786c8#${name}`, `#! line "${name}": the same output and status as bare`, async () => {
    const fx = makeOverlay()
    writeFileSync(join(fx.host, 's'), line, {mode: 0o755})
    const expected = bare(`${fx.host}/s; echo "status $?"`, fx.host)
    const r = await runGuest(fx, `${fx.host}/s; echo "status $?"`)
    expect({stdout: r.stdout, stderr: r.stderr}).toEqual({stdout: expected.stdout, stderr: expected.stderr})
  })

  port(`proot.test-691786c8#${name}-root`, `#! line "${name}" of a script only in the environment's root, run as ./s: the same output and status as bare`, async () => {
    const fx = makeOverlay()
    const copy = join(fx.tmp.base, 'bare')
    mkdirSync(copy)
    writeFileSync(join(copy, 's'), line, {mode: 0o755})
    const expected = bare('./s; echo "status $?"', copy)
    mkdirSync(inUpper(fx, fx.host), {recursive: true})
    writeFileSync(inUpper(fx, join(fx.host, 's')), line, {mode: 0o755})
    const r = await runGuest(fx, './s; echo "status $?"')
    expect({stdout: r.stdout, stderr: r.stderr}).toEqual({stdout: expected.stdout, stderr: expected.stderr})
  })
}

port('proot.test-691786c8#self', 'a #! script that names itself as its interpreter fails with ELOOP', async () => {
  const fx = makeOverlay()
  writeFileSync(join(fx.host, 's'), `#!${fx.host}/s\n`, {mode: 0o755})
  const probe = `${PORTS} execve_bad ${fx.host}/s`
  expect(bare(probe, fx.host).stdout).toBe(`${fx.host}/s err ELOOP\n`)
  const r = await runGuest(fx, probe)
  expect(r.stdout).toBe(`${fx.host}/s err ELOOP\n`)
})

port('proot.test-691786c8#self-root', 'a #! script only in the environment\'s root that names itself as its interpreter fails with ELOOP', async () => {
  const fx = makeOverlay()
  mkdirSync(inUpper(fx, fx.host), {recursive: true})
  writeFileSync(inUpper(fx, join(fx.host, 's')), `#!${fx.host}/s\n`, {mode: 0o755})
  const r = await runGuest(fx, `${PORTS} execve_bad ${fx.host}/s`)
  expect(r.stdout).toBe(`${fx.host}/s err ELOOP\n`)
})

port('proot.test-xxxxxxxx', 'execve of a directory fails with EACCES, of a file that is no program with ENOEXEC', async () => {
  const fx = makeOverlay()
  writeFileSync(join(fx.host, 'data'), "this isn't an executable", {mode: 0o700})
  const r = await runGuest(fx, [PORTS, 'execve_bad', fx.host, join(fx.host, 'data')])
  expect(r.stdout).toBe(lines(`${fx.host} err EACCES`, `${join(fx.host, 'data')} err ENOEXEC`))
})

port('proot.test-25069c12', 'execv("/proc/self/exe") with an empty argv, and with a NULL one, runs the program again (also test-25069c13)', async () => {
  const fx = makeOverlay()
  const prog = `${nowhere(fx)}/ports`
  argvIn(fx, prog)
  const r = await runGuest(fx, `${prog} execself empty; ${prog} execself null`)
  expect(r.stdout).toBe(lines('again argc 1', 'again argc 1'))
})

port('proot.test-16573e73', 'vfork then execve of a program with an empty environment', async () => {
  const fx = makeOverlay()
  const r = await runGuest(fx, [PORTS, 'vfork_true', TRUE])
  expect(r.stdout).toBe('status 0\n')
})

port('proot.test-9c07fad8', 'a program\'s constructor runs once', async () => {
  const fx = makeOverlay()
  expect((await runGuest(fx, [PORTS, 'ctor'])).stdout).toBe('ctor 1\n')
})

port('proot.test-6d1e2650', 'a command not in PATH is not found (127); in PATH it is', async () => {
  const fx = makeOverlay()
  const guestView = {root: {dir: fx.upper, whiteouts: fx.whiteouts}, cache: fx.cache}
  const missing = await run({command: ['true'], env: {PATH: '/nib'}, cwd: fx.host, guestView}).then(
    () => undefined,
    (error: {exitCode?: number}) => error.exitCode,
  )
  expect(missing).toBe(127)
  const found = await run({command: ['true'], env: {PATH: '/usr/bin'}, cwd: fx.host, guestView})
  expect(found.exitCode).toBe(0)
})

port('proot.test-pppppppp', 'a directory named like the command earlier in PATH is skipped', async () => {
  const fx = makeOverlay()
  mkdirSync(join(fx.host, 'true'))
  const guestView = {root: {dir: fx.upper, whiteouts: fx.whiteouts}, cache: fx.cache}
  const r = await run({command: ['true'], env: {PATH: `${fx.host}:/usr/bin`}, cwd: fx.host, guestView})
  expect(r.exitCode).toBe(0)
  const viaEnv = await runGuest(fx, ['env', 'true'], {env: {PATH: `${fx.host}:/usr/bin:/bin`}})
  expectClean(viaEnv)
})

port('proot.test-8a83376a', 'ldd of a program lists its libraries', async () => {
  const fx = makeOverlay()
  const r = await runGuest(fx, `ldd ${TRUE}`)
  expect(r.result.exitCode).toBe(0)
  expect(r.stdout).toMatch(/libc\.so\.6 => \S+/)
})

port('proot.test-c6b77b77', 'make: $(shell test -e /dev/null) sees /dev/null', async () => {
  const fx = makeOverlay()
  writeFileSync(join(fx.host, 'Makefile'), 'SHELL=/bin/bash\nFOO:=$(shell test -e /dev/null && echo OK)\nall:\n\t@/usr/bin/test -n "$(FOO)" && echo "$(FOO)"\n')
  const r = await runGuest(fx, 'make -s -f Makefile')
  expectClean(r)
  expect(r.stdout).toBe('OK\n')
})

port('proot.test-f7089d4f', 'msgmerge of /dev/null with /dev/null ends', async () => {
  const fx = makeOverlay()
  const r = await runGuest(fx, 'timeout 20 msgmerge -q /dev/null /dev/null; echo "status $?"')
  expect(r.stdout).toMatch(/status (0|1)\n$/)
  expect(r.stdout).not.toContain('status 124')
})

// --- processes and signals -------------------------------------------------

port('proot.test-33333334', 'a child\'s exit status reaches its parent (13); a parent that does not wait ends (test-33333333)', async () => {
  const fx = makeOverlay()
  const r = await runGuest(fx, 'sh -c "exit 13"; echo $?; sh -c "(sleep 1; exit 0) & exit 1"; echo $?')
  expect(r.stdout).toBe(lines('13', '1'))
})

port('proot.test-66666666', 'raise(SIGTRAP) with a handler: the handler runs', async () => {
  const fx = makeOverlay()
  expect((await runGuest(fx, [PORTS, 'sigtrap'])).stdout).toBe('handled\n')
})

port('proot.test-e87b34ae', 'many short-lived children: every one is waited for', async () => {
  const fx = makeOverlay()
  expect((await runGuest(fx, [PORTS, 'forks', '200'])).stdout).toBe('exited 200\n')
}, 60_000)

port('proot.test-oooooooo', 'children blocked writing to a pipe, killed with SIGKILL at once: each dies of it', async () => {
  const fx = makeOverlay()
  expect((await runGuest(fx, [PORTS, 'pipekill', '100'])).stdout).toBe('killed 100\n')
}, 60_000)

// --- fake root (PRoot's -0 where catbox's fake root does the same) ----------

/** sh -c script as fake root (or the ids given: PRoot's -i), in the guest view of fx unless guest is false (PRoot's -0 alone). */
async function fakeRootGuest(fx: OverlayFixture, script: string, guest = true, ids: {uid?: number; gid?: number} = {}) {
  const view = {root: {dir: fx.upper, whiteouts: fx.whiteouts}, maps: [{host: fx.tmp.io, guest: fx.tmp.io, mode: 'rw' as const}], cache: fx.cache}
  return runCaptured(fx.tmp, {
    command: ['/bin/sh', '-c', script],
    writable: ['/'],
    cwd: fx.host,
    env: {PATH, LC_ALL: 'C'},
    fakeRoot: {db: join(fx.tmp.base, 'owners.jsonl'), ...ids},
    ...(guest ? {guestView: view} : {}),
  })
}

port('proot.test-ffffffff', 'with -0 (fake root) a file of the user shows as 0:0', async () => {
  const fx = makeOverlay()
  writeFileSync(join(fx.host, 'f'), '')
  const r = await fakeRootGuest(fx, 'stat -c %u:%g f; id -u; id -g')
  expect(r.stdout).toBe(lines('0:0', '0', '0'))
})

port('proot.test-ffffffff#i', 'with -i 123:456 (fake ids): a file of the user shows as 123:456, and id says 123 and 456 (also test-82ba4ba1.sh\'s -i ids)', async () => {
  const fx = makeOverlay()
  writeFileSync(join(fx.host, 'f'), '')
  const r = await fakeRootGuest(fx, 'stat -c %u:%g f; id -u; id -g', true, {uid: 123, gid: 456})
  expect(r.stdout).toBe(lines('123:456', '123', '456'))
})

port('proot.test-82ba4ba1', 'with -0: getres[ug]id are 0; setresgid(1,1,1) and setresuid(1,1,1) succeed and stay (also test-82ba4ba1.sh: chown root of a root file)', async () => {
  const fx = makeOverlay()
  writeFileSync(join(fx.host, 'f'), '')
  const r = await fakeRootGuest(fx, `chown root:root f && echo chown-ok; ${PORTS} resids`)
  expect(r.stdout).toBe(lines('chown-ok', 'uid 0 0 0 gid 0 0 0', 'setresgid ok', 'setresuid ok', 'uid 1 1 1 gid 1 1 1'))
})

port('proot.test-c5a7a0f0', 'with -0: a child\'s setuid(123) is its own; a thread\'s setuid(124) is the whole process\'s', async () => {
  const fx = makeOverlay()
  const r = await fakeRootGuest(fx, `${PORTS} setuid_split`)
  expect(r.stdout).toBe(lines('child uid 123', 'parent uid 0', 'thread setuid ok', 'process uid 124'))
})

port('proot.test-e87ca6ca', 'with -0: setcap cap_setuid+ep on a copy of a program', async () => {
  const fx = makeOverlay()
  copyFileSync(TRUE, join(fx.host, 'prog'))
  const r = await fakeRootGuest(fx, 'PATH=$PATH:/usr/sbin:/sbin; setcap cap_setuid+ep prog && getcap prog')
  expect({stdout: r.stdout, stderr: r.stderr, exitCode: r.result.exitCode}).toEqual({stdout: 'prog cap_setuid=ep\n', stderr: '', exitCode: 0})
})

port('proot.test-82ba4ba1#auxv', 'with -0: the auxiliary vector a program starts with says uid and gid 0 (AT_UID, AT_EUID, AT_GID, AT_EGID)', async () => {
  const fx = makeOverlay()
  const r = await fakeRootGuest(fx, 'LD_SHOW_AUXV=1 /bin/true | grep -E "^AT_E?[UG]ID:" | tr -s " "')
  expect(r.stdout).toBe(lines('AT_UID: 0', 'AT_EUID: 0', 'AT_GID: 0', 'AT_EGID: 0'))
})

port('proot.test-82ba4ba1#auxv-i', 'with -i 123:456 (fake ids): the auxiliary vector says 123 and 456; after setresuid(1,1,1) in a program, what it execs says 1', async () => {
  const fx = makeOverlay()
  const show = 'LD_SHOW_AUXV=1 /bin/true | grep -E "^AT_E?[UG]ID:" | tr -s " "'
  const r = await fakeRootGuest(fx, show, false, {uid: 123, gid: 456})
  expect(r.stdout).toBe(lines('AT_UID: 123', 'AT_EUID: 123', 'AT_GID: 456', 'AT_EGID: 456'))
  const py = `import os; os.setresuid(1, 1, 1); os.execv("/bin/sh", ["sh", "-c", ${JSON.stringify(show + ' | grep UID')}])`
  const s = await fakeRootGuest(fx, `${PYTHON} -c '${py}'`, false)
  expect(s.stdout).toBe(lines('AT_UID: 1', 'AT_EUID: 1'))
})

for (const [id, guest] of [
  ['proot.test-d1be631a', false],
  ['proot.test-d1be631a#guest-view', true],
] as const) {
  port(id, `mknod of a block device: fails for a user bare, works with -0 (fake root)${guest ? ', in the guest view' : ''}`, async () => {
    const fx = makeOverlay()
    const bareRun = bare('mknod dev b 1 1 2>/dev/null; echo $?', fx.tmp.allowed)
    if (process.getuid?.() !== 0) expect(bareRun.stdout).toBe('1\n') // bare control: EPERM for a user
    const r = await fakeRootGuest(fx, 'mknod dev b 1 1; echo $?; stat -c "%F %t,%T" dev', guest)
    expect(r.stdout).toBe(lines('0', 'block special file 1,1'))
  })
}

// --- unix sockets ----------------------------------------------------------

port('proot.test-ssssssss', 'bind of a unix socket with a relative name that fills sun_path (108 bytes)', async () => {
  const fx = makeOverlay()
  const name = `s${'x'.repeat(106)}`
  // Bare: the whole name comes back; its length is the kernel's (which counts the NUL it adds, on Linux >= 5.15).
  const expected = execFileSync(PORTS, ['unix_bind', name], {cwd: fx.tmp.allowed, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']})
  expect(expected).toMatch(new RegExp(`^bind ok\nname ${name} len 10[78]\n$`))
  const r = await runGuest(fx, [PORTS, 'unix_bind', name])
  expect(r.stdout).toBe(expected)
})

port('proot.test-nnnnnnnn', 'bind of a unix socket at a guest path; getsockname gives that path back', async () => {
  const fx = makeOverlay()
  const path = join(fx.host, 'sock')
  // Bare, at the same path (then removed): the name and the length the kernel gives back.
  const expected = execFileSync(PORTS, ['unix_bind', path], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']})
  rmSync(path)
  expect(expected).toMatch(new RegExp(`^bind ok\nname ${path} len (?:${path.length}|${path.length + 1})\n$`))
  const r = await runGuest(fx, [PORTS, 'unix_bind', path])
  expect(r.stdout).toBe(expected)
})
