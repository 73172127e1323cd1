// The guest view answers as the kernel does on a plain directory tree: each
// case runs the same commands bare on a copy of the host tree (the control)
// and in the guest view, and expects the same output.
import {beforeAll, describe, expect, test} from '@jest/globals'
import {execFileSync} from 'node:child_process'
import {chmodSync, copyFileSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {run} from '../../src/index.js'
import {asking, driverPath} from '../helpers/driver.js'
import {expectClean, fingerprint, inUpper, makeOverlay, makeTree, PATH, PYTHON, runGuest} from '../helpers/overlay.js'
import type {GuestRunOptions, OverlayFixture} from '../helpers/overlay.js'
import {makeTmpDirs} from '../helpers/tmp.js'

const lines = (...l: string[]) => l.map((x) => `${x}\n`).join('')

/** Files (content), directories (null), symlinks ({link: target}), fifos and sockets below root. */
type Tree = Record<string, string | null | {link: string} | 'fifo' | 'socket'>

function makeAll(root: string, tree: Tree): void {
  mkdirSync(root, {recursive: true})
  const plain: Record<string, string | null> = {}
  for (const [rel, what] of Object.entries(tree)) if (what === null || (typeof what === 'string' && what !== 'fifo' && what !== 'socket')) plain[rel] = what
  makeTree(root, plain)
  for (const [rel, what] of Object.entries(tree)) {
    const path = join(root, rel)
    if (what === 'fifo') execFileSync('mkfifo', [path])
    if (what === 'socket') execFileSync(PYTHON, ['-c', 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', path])
    if (what !== null && typeof what === 'object') symlinkSync(what.link, path)
  }
}

/** script run by sh in a fresh copy of the tree, without catbox: what the kernel answers. */
function bare(entries: Tree, script: string): string {
  const dir = join(makeTmpDirs().base, 'bare')
  makeAll(dir, entries)
  return execFileSync('/bin/sh', ['-c', script], {cwd: dir, encoding: 'utf8', env: {PATH, LC_ALL: 'C'}})
}

/** The same script in the guest view of the same tree, from its top; the host is left as it was. */
async function guest(entries: Tree, script: string, options: GuestRunOptions = {}) {
  const fx = makeOverlay()
  makeAll(fx.host, entries)
  const before = fingerprint(fx.host)
  const r = await runGuest(fx, script, options)
  expect(fingerprint(fx.host)).toEqual(before)
  return r
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

// Each call prints its name and "ok", what it found, or the errno's name.
const PATHS_PY = String.raw`
import errno, os
def t(name, fn):
    try:
        r = fn()
        print(name, 'ok' if r is None else r)
    except OSError as e:
        print(name, errno.errorcode[e.errno])
r, w = os.pipe()
os.mkdir('u'); open('u/f', 'w').close()
for p in ['f/', 'f/.', 'lf/', 'ld/', 'd/', 'd/.', 'u/f/', '/etc/hostname/', '/proc/self/fd/%d/' % r, '/proc/self/fd/%d' % r]:
    t('stat ' + p, lambda: 'dir' if os.path.isdir(p) and os.stat(p) else (os.stat(p), 'file')[1])
    t('lstat ' + p, lambda: (os.lstat(p), 'ok')[1])
    t('open ' + p, lambda: os.close(os.open(p, os.O_RDONLY)))
    t('access ' + p, lambda: os.access(p, os.R_OK) or (os.stat(p), 'no')[1])
t('readlink fd/', lambda: os.readlink('/proc/self/fd/%d/' % r))
t('creat new/', lambda: os.close(os.open('new/', os.O_CREAT | os.O_WRONLY, 0o644)))
t('mkdir newd/', lambda: os.mkdir('newd/'))
t('isdir newd', lambda: str(os.path.isdir('newd')))
t('mkfifo newp/', lambda: os.mkfifo('newp/'))
t('symlink news/', lambda: os.symlink('x', 'news/'))
t('mkdir nd/.', lambda: os.mkdir('nd/.'))
t('rmdir d/.', lambda: os.rmdir('d/.'))
t('rmdir e/./', lambda: os.rmdir('e/./'))
t('rmdir d/..', lambda: os.rmdir('d/..'))
t('rmdir u/..', lambda: os.rmdir('u/..'))
t('unlink d/.', lambda: os.unlink('d/.'))
t('rename d/. z', lambda: os.rename('d/.', 'z'))
t('rename f d/.', lambda: os.rename('f', 'd/.'))
t('mkdir d/.', lambda: os.mkdir('d/.'))
t('symlink d/..', lambda: os.symlink('x', 'd/..'))
t('rmdir f/', lambda: os.rmdir('f/'))
t('unlink f/', lambda: os.unlink('f/'))
t('unlink lf/', lambda: os.unlink('lf/'))
t('rmdir ld/', lambda: os.rmdir('ld/'))
t('rename f/ g', lambda: os.rename('f/', 'g'))
t('exist d e f z g', lambda: ' '.join(str(os.path.exists(x)) for x in ['d', 'e', 'f', 'z', 'g']))
`

describe('a merged listing gives each entry its type (d_type)', () => {
  const tree: Tree = {'m/f': 'f', 'm/p': 'fifo', 'm/s': 'socket', 'm/d/x': 'x', 'm/l': {link: 'f'}}
  const script = [
    'touch m/new',
    'for t in f d l p s; do printf "%s: " $t; find m -mindepth 1 -type $t | sort | tr "\\n" " "; echo; done',
    'ls -l m | cut -c1 | tr -d "\\n"; echo',
  ].join('\n')
  let control = ''
  beforeAll(() => {
    control = bare(tree, script)
  })

  test('the control: bare, find -type and ls -l tell fifos and sockets from files', () => {
    expect(control).toBe(lines('f: m/d/x m/f m/new ', 'd: m/d ', 'l: m/l ', 'p: m/p ', 's: m/s ', 'td-l-ps'))
  })

  test('in the guest view (m is merged: the build wrote into it), the same', async () => {
    const r = await guest(tree, script)
    expectClean(r)
    expect(r.stdout).toBe(control)
  })
})

describe('trailing "/" and a last name "." or ".." (host entries and entries made in the run)', () => {
  const tree: Tree = {d: null, e: null, f: 'f\n', lf: {link: 'f'}, ld: {link: 'd'}}
  const script = `${PYTHON} -c "$PATHS_PY"`
  const env = {PATHS_PY}
  let control = ''
  beforeAll(() => {
    const dir = join(makeTmpDirs().base, 'bare')
    makeAll(dir, tree)
    control = execFileSync('/bin/sh', ['-c', script], {cwd: dir, encoding: 'utf8', env: {PATH, LC_ALL: 'C', ...env}})
  })

  test('the control: bare, a non-directory with "/" is ENOTDIR, rmdir d/. is EINVAL and leaves d', () => {
    expect(control).toContain(lines('stat f/ ENOTDIR', 'lstat f/ ENOTDIR', 'open f/ ENOTDIR'))
    expect(control).toContain(lines('stat /etc/hostname/ ENOTDIR', 'lstat /etc/hostname/ ENOTDIR', 'open /etc/hostname/ ENOTDIR'))
    expect(control).toMatch(/^readlink fd\/ ENOTDIR$/m)
    expect(control).toContain(lines('rmdir d/. EINVAL', 'rmdir e/./ EINVAL', 'rmdir d/.. ENOTEMPTY'))
    expect(control).toContain(lines('creat new/ EISDIR', 'mkdir newd/ ok', 'isdir newd True'))
    expect(control).toContain('rmdir ld/ ENOTDIR\n')
    expect(control).toContain('exist d e f z g True True True False False\n')
  })

  test('in the guest view, the same answers, and the host keeps everything', async () => {
    const r = await guest(tree, script, {env})
    expectClean(r)
    expect(r.stdout).toBe(control)
  })
})

describe('the working directory removed by the build', () => {
  const tree: Tree = {'gone/x': null}
  const script = [
    'cd gone/x && rmdir ../x && cd .. && rmdir ../gone || exit 9',
    '/bin/pwd -P >/dev/null 2>&1; echo "pwd -P $?"',
    `${PYTHON} -c 'import errno, os
try:
    os.getcwd()
except OSError as e:
    print("getcwd", errno.errorcode[e.errno])'`,
    `${PYTHON} -c 'import errno, os
for p in [".", "./", "x", "../x", "../.."]:
    try:
        os.stat(p)
        print("stat", p, "ok")
    except OSError as e:
        print("stat", p, errno.errorcode[e.errno])
os.chdir("..")
print("chdir ..", os.path.basename(os.getcwd()))'`,
    'cd .. && /bin/pwd -P | sed "s|.*/||"',
  ].join('\n')
  let control = ''
  beforeAll(() => {
    control = bare(tree, script)
  })

  test('the control: bare, getcwd and pwd -P fail with ENOENT; "." still stats the removed directory', () => {
    expect(control).toBe(lines('pwd -P 1', 'getcwd ENOENT', 'stat . ok', 'stat ./ ok', 'stat x ENOENT', 'stat ../x ENOENT', 'stat ../.. ok', 'chdir .. bare', 'bare'))
  })

  test('in the guest view, the same, though the host keeps the directory', async () => {
    const r = await guest(tree, script)
    expect(r.result.exitCode).toBe(0)
    expect(r.stdout).toBe(control.replaceAll('bare\n', 'host\n'))
  })
})

describe('the command of the run is a symlink that exists only in the environment', () => {
  /** run() itself (not through a shell): catbox finds the command before the run starts. */
  const runCommand = (fx: OverlayFixture, command: string[]) =>
    run({
      command,
      writable: ['/'],
      cwd: fx.host,
      env: {PATH},
      guestView: {root: {dir: fx.upper, whiteouts: fx.whiteouts}, maps: [{host: fx.tmp.io, guest: fx.tmp.io, mode: 'rw'}], cache: fx.cache},
    })

  test('an absolute link to a program in upper, a relative one, a chain, and a link to a #! script in upper', async () => {
    const fx = makeOverlay()
    makeTree(fx.host, {'src.txt': 'content\n'})
    mkdirSync(inUpper(fx, join(fx.host, 'x')), {recursive: true})
    makeTree(inUpper(fx, join(fx.host, 'y')), {'s.sh': '#!/bin/sh\necho "script $1" > "$2"\n'})
    chmodSync(inUpper(fx, join(fx.host, 'y/s.sh')), 0o755)
    // A copy program that exists only in upper, reached through links that exist only there.
    copyFileSync('/bin/cp', inUpper(fx, join(fx.host, 'y/prog')))
    symlinkSync(join(fx.host, 'y/prog'), inUpper(fx, join(fx.host, 'x/abs')))
    symlinkSync('../y/prog', inUpper(fx, join(fx.host, 'x/rel')))
    symlinkSync(join(fx.host, 'x/abs'), inUpper(fx, join(fx.host, 'x/chain')))
    symlinkSync(join(fx.host, 'y/s.sh'), inUpper(fx, join(fx.host, 'x/script')))
    const before = fingerprint(fx.host)
    for (const link of ['abs', 'rel', 'chain']) {
      const out = join(fx.tmp.io, `${link}.out`)
      const result = await runCommand(fx, [join(fx.host, 'x', link), join(fx.host, 'src.txt'), out])
      expect({link, exitCode: result.exitCode, violations: result.violations}).toEqual({link, exitCode: 0, violations: []})
      expect(readFileSync(out, 'utf8')).toBe('content\n')
    }
    const out = join(fx.tmp.io, 'script.out')
    const result = await runCommand(fx, [join(fx.host, 'x/script'), 'hi', out])
    expect({exitCode: result.exitCode, violations: result.violations}).toEqual({exitCode: 0, violations: []})
    expect(readFileSync(out, 'utf8')).toBe('script hi\n')
    expect(fingerprint(fx.host)).toEqual(before)
    // Bare, the same link on a real tree: the kernel runs it.
    const dir = join(makeTmpDirs().base, 'bare')
    makeTree(dir, {'src.txt': 'content\n', x: null, y: null})
    copyFileSync('/bin/cp', join(dir, 'y/prog'))
    chmodSync(join(dir, 'y/prog'), 0o755)
    symlinkSync(join(dir, 'y/prog'), join(dir, 'x/abs'))
    execFileSync(join(dir, 'x/abs'), [join(dir, 'src.txt'), join(dir, 'out')])
    expect(readFileSync(join(dir, 'out'), 'utf8')).toBe('content\n')
  })

  test('a link in the environment whose target is missing there is "No such file or directory" (127)', async () => {
    const fx = makeOverlay()
    mkdirSync(inUpper(fx, join(fx.host, 'x')), {recursive: true})
    symlinkSync(join(fx.host, 'nowhere'), inUpper(fx, join(fx.host, 'x/dangling')))
    await expect(runCommand(fx, [join(fx.host, 'x/dangling')])).rejects.toMatchObject({code: 'COMMAND_NOT_FOUND', exitCode: 127})
  })
})

describe('#! scripts made in the run (they live in the environment, so catbox runs their interpreter)', () => {
  const script = [
    'mkdir sc && cd sc || exit 9',
    `printf '#!/bin/sh\\ncat /proc/$$/comm\\n' > a-long-script-name.sh`,
    `printf '#!/bin/sh\\ncat /proc/$$/comm\\n' > short`,
    `printf '#!${PYTHON}\\nprint(open("/proc/self/comm").read().strip())\\n' > py`,
    `printf '#!%s/self\\n' "$PWD" > self`,
    `printf '#!/bin/sh\\necho end\\n' > s0`,
    `for i in 1 2 3 4 5; do printf '#!%s/s%s\\n' "$PWD" $((i - 1)) > s$i; done`,
    'chmod +x *',
    './a-long-script-name.sh; ./short; "$PWD/short"; ./py',
    './self 2>/dev/null; echo "self $?"',
    './s4 2>/dev/null; echo "s4 $?"',
    './s5 2>/dev/null; echo "s5 $?"',
    `${PYTHON} -c 'import errno, os
try:
    os.execv("./self", ["self"])
except OSError as e:
    print("execv self", errno.errorcode[e.errno])'`,
  ].join('\n')
  let control = ''
  beforeAll(() => {
    control = bare({}, script)
  })

  test('the control: bare, comm is the script\'s name; five levels of scripts run, six or a script that is its own interpreter are ELOOP', () => {
    expect(control).toBe(lines('a-long-script-n', 'short', 'short', 'py', 'self 127', 'end', 's4 0', 's5 127', 'execv self ELOOP'))
  })

  test('in the guest view, the same', async () => {
    const r = await guest({}, script)
    expectClean(r)
    expect(r.stdout).toBe(control)
  })
})

describe('removing host entries obeys the guest directory\'s permissions', () => {
  // As a user the kernel refuses (EACCES) and a whiteout must not hide the
  // entry anyway; as root both succeed. The control says which.
  const tree: Tree = {'d/a/b': null, 'd/c/f': 'f'}
  const script = [
    'chmod 0 d && rm -d d/a/b 2>/dev/null; echo "rm -d $?"; chmod 755 d',
    'chmod 555 d/c && rm -f d/c/f 2>/dev/null; echo "rm -f $?"; chmod 755 d/c',
    'ls d/a d/c | tr "\\n" " "; echo',
  ].join('\n')
  let control = ''
  beforeAll(() => {
    control = bare(tree, script)
  })

  test(`the control: bare, as ${process.getuid!() === 0 ? 'root the removals succeed' : 'a user they fail'}`, () => {
    expect(control).toBe(
      process.getuid!() === 0
        ? lines('rm -d 0', 'rm -f 0', 'd/a:  d/c: ')
        : lines('rm -d 1', 'rm -f 1', 'd/a: b  d/c: f '),
    )
  })

  test('in the guest view, the same', async () => {
    const r = await guest(tree, script)
    expectClean(r)
    expect(r.stdout).toBe(control)
  })
})

describe('unix socket addresses given back to the build', () => {
  const SOCK_PY = String.raw`
import os, socket
cwd = os.getcwd()
rel = lambda a: a.replace(cwd, '.') if isinstance(a, str) else repr(a)
s = socket.socket(socket.AF_UNIX)
s.bind(cwd + '/srv.sock')
s.listen()
print('getsockname', rel(s.getsockname()))
c = socket.socket(socket.AF_UNIX)
c.bind(cwd + '/cli.sock')
c.connect(cwd + '/srv.sock')
a, addr = s.accept()
print('accept', rel(addr))
print('getpeername', rel(c.getpeername()))
print('accepted getpeername', rel(a.getpeername()), 'getsockname', rel(a.getsockname()))
print('client getsockname', rel(c.getsockname()))
u = socket.socket(socket.AF_UNIX)
u.connect(cwd + '/srv.sock')
b, addr = s.accept()
print('unbound client', rel(addr), rel(b.getpeername()))
r = socket.socket(socket.AF_UNIX)
r.bind('rel.sock')
print('relative', r.getsockname())
# A guest path that fits sun_path whose host path (in upper) does not.
long = cwd + '/' + 'L' * (100 - len(cwd) - 6) + '.sock'
g = socket.socket(socket.AF_UNIX)
g.bind(long)
g.listen()
h = socket.socket(socket.AF_UNIX)
h.connect(long)
print('long', rel(g.getsockname()), rel(h.getpeername()), len(g.getsockname()))
`
  const script = `${PYTHON} -c "$SOCK_PY"`
  const env = {SOCK_PY}
  let control = ''
  beforeAll(() => {
    const dir = join(makeTmpDirs().base, 'bare')
    mkdirSync(dir)
    control = execFileSync('/bin/sh', ['-c', script], {cwd: dir, encoding: 'utf8', env: {PATH, LC_ALL: 'C', ...env}})
  })

  test('the control: bare, getsockname, getpeername and accept give the paths sockets were bound at', () => {
    expect(control.replace(/^long .*\n/m, '')).toBe(
      lines(
        'getsockname ./srv.sock',
        'accept ./cli.sock',
        'getpeername ./srv.sock',
        'accepted getpeername ./cli.sock getsockname ./srv.sock',
        'client getsockname ./cli.sock',
        'unbound client  ',
        'relative rel.sock',
      ),
    )
    expect(control).toMatch(/^long \.\/L+\.sock \.\/L+\.sock 100$/m)
  })

  test('in the guest view, the same paths (the sockets are in upper; one is bound through a stand-in)', async () => {
    const r = await guest({}, script, {env})
    expectClean(r)
    expect(r.stdout).toBe(control)
  })
})

describe('access(W_OK) in a read-only map is EROFS, as on a read-only mount', () => {
  const ACCESS_PY = String.raw`
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
def show(name, rc):
    print(name, 'ok' if rc == 0 else errno.errorcode[ctypes.get_errno()])
for top in sys.argv[1:]:
    for name, mode in [('f', os.W_OK), ('f', os.R_OK), ('nw', os.W_OK), ('d', os.W_OK), ('p', os.W_OK)]:
        show('access %s %s' % (name, 'W' if mode == os.W_OK else 'R'), libc.access((top + '/' + name).encode(), mode))
    show('faccessat2 f W', libc.syscall(439, -100, (top + '/f').encode(), os.W_OK, 0x200))
    try:
        open(top + '/f', 'a').close()
        print('append ok')
    except OSError as e:
        print('append', errno.errorcode[e.errno])
`
  const isRoot = process.getuid!() === 0
  const host = (fx: {tmp: {base: string}}) => {
    const dir = join(fx.tmp.base, 'shared')
    makeTree(dir, {f: 'f', nw: 'nw', d: null})
    chmodSync(join(dir, 'nw'), 0o444)
    execFileSync('mkfifo', [join(dir, 'p')])
    return dir
  }
  // What the kernel says when writing is allowed (bare: the host directory is writable).
  const writable = lines('access f W ok', 'access f R ok', `access nw W ${isRoot ? 'ok' : 'EACCES'}`, 'access d W ok', 'access p W ok', 'faccessat2 f W ok', 'append ok')

  test('the control: bare, the host directory is writable', () => {
    const dir = host({tmp: makeTmpDirs()})
    expect(execFileSync(PYTHON, ['-c', ACCESS_PY, dir], {encoding: 'utf8'})).toBe(writable)
  })

  for (const ptraceOnly of [false, true]) {
    test(`through an ro map every write question is EROFS after the permission check; through an rw map as bare (${ptraceOnly ? 'ptrace stops only' : 'reads by user notification'})`, async () => {
      const fx = makeOverlay()
      const dir = host(fx)
      const ro = `/catbox-test-ro-${fx.tmp.base.split('/').pop()}`
      const rw = `/catbox-test-rw-${fx.tmp.base.split('/').pop()}`
      const r = await asking(ptraceOnly, () =>
        runGuest(fx, [PYTHON, '-c', ACCESS_PY, ro, rw], {maps: [{host: dir, guest: ro, mode: 'ro'}, {host: dir, guest: rw, mode: 'rw'}]}),
      )
      expect(r.result.exitCode).toBe(0)
      expect(r.stdout).toBe(
        lines('access f W EROFS', 'access f R ok', `access nw W ${isRoot ? 'EROFS' : 'EACCES'}`, 'access d W EROFS', 'access p W ok', 'faccessat2 f W EROFS', 'append EROFS') +
          writable,
      )
    })
  }
})

describe('a map whose guest path runs through a guest symlink', () => {
  test('lands where the link leads (/var/run -> /run), as a mount there would, and shows by both names', async () => {
    const fx = makeOverlay()
    makeTree(fx.host, {'run/host.txt': 'h\n', var: null})
    symlinkSync('../run', join(fx.host, 'var/run'))
    const shared = join(fx.tmp.base, 'shared')
    makeTree(shared, {'m.txt': 'mapped\n'})
    const script = [
      'cat var/run/mapped/m.txt run/mapped/m.txt',
      'ls run | tr "\\n" " "; echo',
      'cd var/run/mapped && /bin/pwd -P | sed "s|^$HOST|.|"',
    ].join('\n')
    const r = await runGuest(fx, script, {maps: [{host: shared, guest: join(fx.host, 'var/run/mapped'), mode: 'ro'}], env: {HOST: fx.host}})
    expectClean(r)
    expect(r.stdout).toBe(lines('mapped', 'mapped', 'host.txt mapped ', './run/mapped'))
    // The command of a run may be given by that path too.
    writeFileSync(join(shared, 'prog'), '#!/bin/sh\necho "prog $1" > "$2"\n', {mode: 0o755})
    const out = join(fx.tmp.io, 'prog.out')
    const result = await run({
      command: [join(fx.host, 'var/run/mapped/prog'), 'ran', out],
      writable: ['/'],
      cwd: fx.host,
      env: {PATH},
      guestView: {
        root: {dir: fx.upper, whiteouts: fx.whiteouts},
        maps: [{host: fx.tmp.io, guest: fx.tmp.io, mode: 'rw'}, {host: shared, guest: join(fx.host, 'var/run/mapped'), mode: 'ro'}],
        cache: fx.cache,
      },
    })
    expect({exitCode: result.exitCode, out: readFileSync(out, 'utf8')}).toEqual({exitCode: 0, out: 'prog ran\n'})
    // Bare, the kernel resolves that path through the link: a mount made there sits in run/.
    const dir = join(makeTmpDirs().base, 'bare')
    makeTree(dir, {'run/mapped': null, var: null})
    symlinkSync('../run', join(dir, 'var/run'))
    expect(execFileSync('realpath', [join(dir, 'var/run/mapped')], {encoding: 'utf8'})).toBe(`${join(dir, 'run/mapped')}\n`)
  })
})

describe('the sticky bit of a host directory (/tmp) guards host entries of others', () => {
  // An entry of /tmp owned by someone else: the kernel refuses to remove it
  // (EPERM), and so must the guest view, whose removal would only hide it.
  const me = process.getuid!()
  const tmp = statSync('/tmp')
  const theirs = me === 0 || !(tmp.mode & 0o1000) || tmp.uid === me ? undefined : readdirSync('/tmp').map((n) => join('/tmp', n)).find((p) => {
    try {
      // One that has been there a while (not a run's temporary that may go meanwhile).
      const st = lstatSync(p)
      return st.uid !== me && Date.now() - st.mtimeMs > 10 * 60 * 1000
    } catch {
      return false
    }
  })
  const REMOVE_PY = String.raw`
import errno, os, sys
p = sys.argv[1]
try:
    (os.rmdir if os.path.isdir(p) and not os.path.islink(p) else os.unlink)(p)
    print('removed')
except OSError as e:
    print(errno.errorcode[e.errno])
print(os.path.lexists(p))
`
  const t = theirs ? test : test.skip
  t(`as a user, removing another's entry of /tmp is EPERM bare and in the guest view (skipped as root, who may remove it, or with no such entry)`, async () => {
    const control = execFileSync(PYTHON, ['-c', REMOVE_PY, theirs!], {encoding: 'utf8'})
    expect(control).toBe(lines('EPERM', 'True'))
    const fx = makeOverlay()
    const r = await runGuest(fx, [PYTHON, '-c', REMOVE_PY, theirs!])
    expect(r.stdout).toBe(control)
  })
})

describe('a stat of an fd that is not open', () => {
  const BADFD_PY = String.raw`
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(256)
def show(name, rc):
    print(name, 'ok' if rc == 0 else errno.errorcode[ctypes.get_errno()])
show('fstat', libc.syscall(5, 999, buf))
show('newfstatat', libc.syscall(262, 999, b'', buf, 0x1000))
show('statx', libc.syscall(332, 999, b'', 0x1000, 0x7ff, buf))
show('fstat 0', libc.syscall(5, 0, buf))
`
  test('is EBADF, as bare, by notification and at ptrace stops', async () => {
    const control = execFileSync(PYTHON, ['-c', BADFD_PY], {encoding: 'utf8', stdio: ['pipe', 'pipe', 'inherit']})
    expect(control).toBe(lines('fstat EBADF', 'newfstatat EBADF', 'statx EBADF', 'fstat 0 ok'))
    for (const ptraceOnly of [false, true]) {
      const r = await asking(ptraceOnly, () => guest({}, `${PYTHON} -c "$BADFD_PY" < /dev/null`, {env: {BADFD_PY}}))
      expectClean(r)
      expect(r.stdout).toBe(control)
    }
  })
})
