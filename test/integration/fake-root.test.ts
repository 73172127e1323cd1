// Fake root as Debian's fakeroot behaves: what chown, chmod, mknod and the
// calls that create with a mode record and leave on disk, and what the stat
// family then shows. Each case runs twice: with the stat family answered by
// user notification (the default) and with ptrace stops only
// (CATBOX_NO_USER_NOTIF=1); chown, chmod and the creating calls are ptrace
// stops either way.
import {afterEach, describe, expect, test} from '@jest/globals'
import {execFileSync, spawnSync} from 'node:child_process'
import {lstatSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {pack} from '../../src/pack/archive.js'
import {journalDev, readOwners} from '../../src/pack/owners.js'
import {driverPath, runBare, runCaptured, runDriver} from '../helpers/driver.js'
import {makeOverlay} from '../helpers/overlay.js'
import {makeTmpDirs} from '../helpers/tmp.js'
import type {TmpDirs} from '../helpers/tmp.js'

const isRoot = process.getuid?.() === 0
const ASKING = [
  ['notification', false],
  ['ptrace stops', true],
] as const

afterEach(() => {
  delete process.env.CATBOX_NO_USER_NOTIF
})
const asking = (ptraceOnly: boolean) => {
  if (ptraceOnly) process.env.CATBOX_NO_USER_NOTIF = '1'
  else delete process.env.CATBOX_NO_USER_NOTIF
}

const journal = (tmp: TmpDirs) => join(tmp.base, 'owners.jsonl')
const fakeRoot = (tmp: TmpDirs) => ({db: journal(tmp)})

/** `sh -c script` in tmp.allowed under fake root: its stdout and stderr, and its exit status. */
async function fakeSh(tmp: TmpDirs, script: string): Promise<{out: string; err: string; code: number | null}> {
  const r = await runCaptured(tmp, {command: ['/bin/sh', '-c', script], cwd: tmp.allowed, fakeRoot: fakeRoot(tmp)})
  return {out: r.stdout, err: r.stderr, code: r.result.exitCode}
}

/** What the modes driver's stat form OP shows under fake root: "MODE UID GID". */
async function shown(tmp: TmpDirs, args: string[]): Promise<string> {
  return (await runDriver(tmp, {driver: 'modes', args, cwd: tmp.allowed, fakeRoot: fakeRoot(tmp)})).out
}

const diskMode = (path: string) => (lstatSync(path).mode & 0o7777).toString(8)
const fullMode = (path: string) => lstatSync(path).mode.toString(8)

// `tar tv` without size, date and time: perms owner/group name
const listing = (archive: string): string[] =>
  execFileSync('tar', ['--numeric-owner', '-tvf', archive], {encoding: 'utf8'})
    .trim()
    .split('\n')
    .map((line) => line.split(/\s+/).filter((_, i) => i !== 2 && i !== 3 && i !== 4).join(' '))
    .filter((line) => !line.endsWith(' ./'))
    .sort()

describe.each(ASKING)('chown leaving an id unchanged (-1) keeps the recorded one (%s)', (_, ptraceOnly) => {
  // fs_meta's forms: the -1 goes to the kernel as the raw 0xffffffff.
  const forms: Array<[string, (f: string, u: string, g: string) => string[]]> = [
    ['chown', (f, u, g) => ['chown', f, u, g]],
    ['lchown', (f, u, g) => ['lchown', f, u, g]],
    ['fchown', (f, u, g) => ['fchown', `ro:${f}`, u, g]],
    ['fchownat', (f, u, g) => ['fchownat', 'cwd', f, u, g, '0']],
    ['fchownat AT_EMPTY_PATH', (f, u, g) => ['fchownat', `path:${f}`, '', u, g, 'AT_EMPTY_PATH']],
  ]
  test.each(forms)('%s', async (_name, args) => {
    asking(ptraceOnly)
    const tmp = makeTmpDirs()
    const f = join(tmp.allowed, 'f')
    writeFileSync(f, 'x', {mode: 0o644})
    const chown = async (u: string, g: string) =>
      (await runDriver(tmp, {driver: 'fs_meta', args: args(f, u, g), cwd: tmp.allowed, fakeRoot: fakeRoot(tmp)})).out
    // A file never chowned shows root: its group alone changes, the owner stays root.
    expect(await chown('-1', '8')).toBe('ok')
    expect(await shown(tmp, ['stat', f])).toBe('100644 0 8')
    // Then the owner alone: the recorded group stays.
    expect(await chown('5', '-1')).toBe('ok')
    expect(await shown(tmp, ['stat', f])).toBe('100644 5 8')
    expect(await chown('-1', '-1')).toBe('ok')
    expect(await shown(tmp, ['statx', 'cwd', f, '0'])).toBe('100644 5 8')
    expect(readFileSync(journal(tmp), 'utf8')).not.toContain('4294967295')
  })
})

test("procmail's steps (chgrp, chown :G, chown U, chmod 6755) pack as fakeroot + GNU tar archive them", async () => {
  const tmp = makeTmpDirs()
  const steps = (dir: string) =>
    `cd ${dir} && touch f g h && chgrp mail f && chmod 6755 f && chown :mail g && chown daemon h && chmod 2755 g`
  const ours = join(tmp.allowed, 'ours')
  const theirs = join(tmp.allowed, 'theirs')
  execFileSync('mkdir', [ours, theirs])
  const r = await fakeSh(tmp, steps(ours))
  expect(r).toEqual({out: '', err: '', code: 0})
  await pack({from: ours, out: join(tmp.base, 'ours.tar'), format: 'tar', owners: await readOwners(journal(tmp))})
  execFileSync('fakeroot', ['sh', '-c', `${steps(theirs)} && tar --sort=name -C ${theirs} -cf ${join(tmp.base, 'theirs.tar')} .`])
  const packed = listing(join(tmp.base, 'ours.tar'))
  expect(packed).toEqual(listing(join(tmp.base, 'theirs.tar')))
  expect(packed).toEqual(['-rw-r--r-- 1/0 ./h', '-rwsr-sr-x 0/8 ./f', '-rwxr-sr-x 0/8 ./g'])
})

test('a journal with 4294967295 from an older catbox: that id is taken as unchanged, by the supervisor and by pack', async () => {
  const tmp = makeTmpDirs()
  const f = join(tmp.allowed, 'f')
  writeFileSync(f, 'x', {mode: 0o644})
  const st = statSync(f, {bigint: true})
  writeFileSync(
    journal(tmp),
    `{"op":"own","dev":${journalDev(st.dev)},"ino":${st.ino},"btime":0,"path":${JSON.stringify(f)},"uid":4294967295,"gid":8}\n`,
  )
  expect(await shown(tmp, ['stat', f])).toBe('100644 0 8')
  await pack({from: tmp.allowed, out: join(tmp.base, 'a.tar'), format: 'tar', owners: await readOwners(journal(tmp))})
  expect(listing(join(tmp.base, 'a.tar'))).toEqual(['-rw-r--r-- 0/8 ./f'])
})

describe.each(ASKING)('a device node stays a device (%s)', (_, ptraceOnly) => {
  test('mknod b 3 0, then chmod 644 and chmod by fd: still the block device 3,0, packed as one', async () => {
    asking(ptraceOnly)
    const tmp = makeTmpDirs()
    const r = await fakeSh(
      tmp,
      `umask 022; mknod d b 3 0 && chmod 640 d && python3 -c 'import os; os.chmod(os.open("d", os.O_RDONLY), 0o644)' && chown 0:6 d && stat -c '%F %t %T %a %u:%g' d`,
    )
    expect(r).toEqual({out: 'block special file 3 0 644 0:6\n', err: '', code: 0})
    expect(lstatSync(join(tmp.allowed, 'd')).isFile()).toBe(true) // on disk, a placeholder
    await pack({from: tmp.allowed, out: join(tmp.base, 'a.tar'), format: 'tar', owners: await readOwners(journal(tmp))})
    expect(listing(join(tmp.base, 'a.tar'))).toEqual(['brw-r--r-- 0/6 ./d'])
  })
})

describe.each(ASKING)('a record does not outlive its file: a reused inode number shows no old owner (%s)', (_, ptraceOnly) => {
  test('stat, lstat, newfstatat, statx (by path, by fd with AT_EMPTY_PATH), fstat and coreutils stat', async () => {
    asking(ptraceOnly)
    const tmp = makeTmpDirs()
    const f = join(tmp.allowed, 'f')
    const forms = (p: string) => [
      ['stat', p],
      ['lstat', p],
      ['fstatat', 'cwd', p, '0'],
      ['fstatat', `ro:${p}`, '', 'AT_EMPTY_PATH'],
      ['statx', 'cwd', p, '0'],
      ['statx', 'cwd', p, 'AT_SYMLINK_NOFOLLOW'],
      ['statx', `ro:${p}`, '', 'AT_EMPTY_PATH'],
      ['fstat', `ro:${p}`],
    ]
    const all = async (p: string) => {
      const script = forms(p)
        .map((args) => `${driverPath('modes')} ${args.map((a) => `'${a}'`).join(' ')}`)
        .join('; ')
      return fakeSh(tmp, `${script}; stat -c '%u %g' ${p}`)
    }
    // Other processes on the machine may take the freed number first: a few tries.
    let reused = ''
    for (let attempt = 0; attempt < 5 && !reused; attempt++) {
      writeFileSync(f, 'x', {mode: 0o644})
      expect((await fakeSh(tmp, `chown 7:8 ${f}`)).code).toBe(0)
      // While the file lives, every form shows its record (so the test can fail).
      expect((await all(f)).out).toBe('100644 7 8\n'.repeat(8) + '7 8\n')
      // Removed outside catbox, and its inode number given to a new file.
      const ino = statSync(f).ino
      rmSync(f)
      for (let i = 0; i < 1000 && !reused; i++) {
        const g = join(tmp.allowed, `g${attempt}-${i}`)
        writeFileSync(g, 'y', {mode: 0o644})
        if (statSync(g).ino === ino) reused = g
      }
    }
    expect(reused).not.toBe('')
    expect((await all(reused)).out).toBe('100644 0 0\n'.repeat(8) + '0 0\n')
  })
})

// The creating calls of test/drivers/modes.c (umask 022), with set-id bits
// asked for. As root a write follows (a set-uid-root program when the bits
// land on disk); a user's write would make the kernel clear them itself.
const WRITE = isRoot ? ['write'] : []
const CREATE: Array<[string, (dir: string) => string[], string]> = [
  [`open(O_CREAT, 06755)${isRoot ? ' and a write' : ''}`, (d) => ['open', join(d, 'x'), '6755', ...WRITE], 'x'],
  ['openat(O_CREAT, 06755)', (d) => ['openat', join(d, 'x'), '6755', ...WRITE], 'x'],
  ['creat(06755)', (d) => ['creat', join(d, 'x'), '6755', ...WRITE], 'x'],
  ['mknod(S_IFREG|06755)', (d) => ['mknod', join(d, 'x'), '6755'], 'x'],
  ['mknodat(S_IFREG|06755)', (d) => ['mknodat', join(d, 'x'), '6755'], 'x'],
  ['O_TMPFILE 04755, then linkat', (d) => ['tmpfile', d, join(d, 'x'), '4755', ...WRITE], 'x'],
  ['mkdir(03777)', (d) => ['mkdir', join(d, 'x'), '3777'], 'x'],
  ['mkdirat(03777)', (d) => ['mkdirat', join(d, 'x'), '3777'], 'x'],
]

describe.each(ASKING)('set-id and sticky bits never land on disk; stat shows them (%s)', (_, ptraceOnly) => {
  test.each(CREATE)('%s', async (_name, args, name) => {
    asking(ptraceOnly)
    const tmp = makeTmpDirs()
    // Bare control: without catbox the bits are on disk.
    expect(runBare('modes', args(tmp.outside))).toBe('ok')
    const bare = fullMode(join(tmp.outside, name))
    expect(Number.parseInt(bare, 8) & 0o7000).not.toBe(0)
    // Fake root: none on disk, and stat shows what the kernel made bare, owned by root.
    expect((await runDriver(tmp, {driver: 'modes', args: args(tmp.allowed), cwd: tmp.allowed, fakeRoot: fakeRoot(tmp)})).out).toBe('ok')
    const made = join(tmp.allowed, name)
    expect(lstatSync(made).mode & 0o7000).toBe(0)
    expect(await shown(tmp, ['stat', made])).toBe(`${bare} 0 0`)
    expect(await shown(tmp, ['statx', 'cwd', made, '0'])).toBe(`${bare} 0 0`)
  })
})

describe.each(ASKING)('root ignores permission bits, so the fake root does (%s)', (_, ptraceOnly) => {
  const SCRIPT =
    'umask 022; mkdir -m 555 d && touch d/f && mkdir -m 0 d0 && touch d0/f && touch m && chmod 0 m && echo x > m && cat m && ' +
    'python3 -c \'import os; os.close(os.open("p", os.O_CREAT|os.O_WRONLY, 0o444))\' && echo y > p && ' +
    "stat -c '%a %n' d d0 m p"
  test(`mkdir -m 555, mkdir -m 0, a file of mode 0 and one created 0444 are written into${isRoot ? '' : '; bare, as a user, they are not'}`, async () => {
    asking(ptraceOnly)
    const tmp = makeTmpDirs()
    if (!isRoot) {
      // Bare control (as root the kernel ignores the bits itself: no control there).
      const bare = spawnSync('sh', ['-c', 'mkdir -m 555 d && touch d/f'], {cwd: tmp.outside, encoding: 'utf8'})
      expect(bare.status).not.toBe(0)
      expect(bare.stderr).toMatch(/Permission denied/)
    }
    const r = await fakeSh(tmp, SCRIPT)
    expect(r).toEqual({out: 'x\n555 d\n0 d0\n0 m\n444 p\n', err: '', code: 0})
    // On disk the owner keeps its access.
    expect(diskMode(join(tmp.allowed, 'd'))).toBe('755')
    expect(diskMode(join(tmp.allowed, 'd0'))).toBe('700')
    expect(diskMode(join(tmp.allowed, 'm'))).toBe('600')
    expect(diskMode(join(tmp.allowed, 'p'))).toBe('644')
  })

  test('cp -a of a tree with a 0500 directory (coreutils sets its mode as a POSIX ACL), then a file added into it', async () => {
    asking(ptraceOnly)
    const tmp = makeTmpDirs()
    const r = await fakeSh(
      tmp,
      "umask 022; mkdir -p a/b && echo x > a/b/f && chmod 500 a/b && chmod 4555 a/b/f && cp -a a c && touch c/b/g && stat -c '%a %n' c/b c/b/f",
    )
    expect(r).toEqual({out: '500 c/b\n4555 c/b/f\n', err: '', code: 0})
    expect(diskMode(join(tmp.allowed, 'c/b'))).toBe('700')
    expect(diskMode(join(tmp.allowed, 'c/b/f'))).toBe('755')
  })

  test('tar -x of an archive with a 0555 directory, then a file added into it; the modes are packed', async () => {
    asking(ptraceOnly)
    const tmp = makeTmpDirs()
    const archive = join(tmp.base, 'in.tar')
    execFileSync('python3', [
      '-c',
      [
        'import io, sys, tarfile',
        't = tarfile.open(sys.argv[1], "w")',
        'd = tarfile.TarInfo("pkg"); d.type = tarfile.DIRTYPE; d.mode = 0o555; t.addfile(d)',
        'f = tarfile.TarInfo("pkg/bin"); f.mode = 0o555; f.size = 2; t.addfile(f, io.BytesIO(b"x\\n"))',
        't.close()',
      ].join('\n'),
      archive,
    ])
    const r = await fakeSh(tmp, `tar -xf ${archive} && touch pkg/new && stat -c '%a %n' pkg pkg/bin`)
    expect(r).toEqual({out: '555 pkg\n555 pkg/bin\n', err: '', code: 0})
    await pack({from: tmp.allowed, out: join(tmp.base, 'a.tar'), format: 'tar', owners: await readOwners(journal(tmp))})
    expect(listing(join(tmp.base, 'a.tar'))).toEqual(['-r-xr-xr-x 0/0 ./pkg/bin', '-rw-r--r-- 0/0 ./pkg/new', 'dr-xr-xr-x 0/0 ./pkg/'])
  })
})

// A copy-up of a host file owned by someone else: as root a fixture owned by
// uid 12345 (set-uid and set-gid), as a user the host's own /usr/bin/passwd
// (set-uid root). The copy in the environment's root belongs to whoever runs
// catbox: it must not keep the set-id bits.
describe.each([
  ['without fake root', false],
  ['with fake root', true],
] as const)('an overlay copy-up of a set-id file owned by another user (%s)', (_, fake) => {
  const PASSWD = '/usr/bin/passwd'
  test(isRoot ? 'as root: a fixture of uid 12345, mode 6755' : `as a user: ${PASSWD}, set-uid root`, async () => {
    const fx = makeOverlay()
    let target = PASSWD
    if (isRoot) {
      target = join(fx.host, 'su')
      writeFileSync(target, '#!/bin/sh\n')
      execFileSync('chown', ['12345:12345', target])
      execFileSync('chmod', ['6755', target])
    }
    const host = lstatSync(target)
    expect(host.uid).not.toBe(process.getuid!())
    expect(host.mode & 0o4000).not.toBe(0)
    // Bare control: a copy of its bits by the copier is a set-id file of the copier.
    const bare = join(fx.tmp.outside, 'copy')
    execFileSync('cp', [target, bare])
    execFileSync('chmod', [(host.mode & 0o7777).toString(8), bare])
    expect(lstatSync(bare).mode & 0o7777).toBe(host.mode & 0o7777)
    expect(lstatSync(bare).uid).toBe(process.getuid!())

    const show = `stat -c '%a %u %g' ${target}`
    const r = await runCaptured(fx.tmp, {
      command: ['/bin/sh', '-c', `${show} && touch ${target} && ${show}`],
      writable: ['/'],
      cwd: fx.host,
      env: {PATH: '/usr/bin:/bin', LC_ALL: 'C'},
      guestView: {root: {dir: fx.upper, whiteouts: fx.whiteouts}, maps: [{host: fx.tmp.io, guest: fx.tmp.io, mode: 'rw'}], cache: fx.cache},
      ...(fake ? {fakeRoot: {db: journal(fx.tmp)}} : {}),
    })
    expect({code: r.result.exitCode, err: r.stderr}).toEqual({code: 0, err: ''})
    const copy = lstatSync(join(fx.upper, target))
    expect(copy.uid).toBe(process.getuid!())
    expect(copy.mode & 0o7000).toBe(0)
    expect(lstatSync(target).mode).toBe(host.mode) // the host file is untouched
    const mode = (host.mode & 0o7777).toString(8)
    // The guest sees the same before and after the copy: with fake root, the
    // host's mode (and a file never chowned shows root); without it, the copy.
    const seen = fake
      ? `${mode} 0 0\n${mode} 0 0\n`
      : `${mode} ${host.uid} ${host.gid}\n${(copy.mode & 0o7777).toString(8)} ${copy.uid} ${copy.gid}\n`
    expect(r.stdout).toBe(seen)
  })
})

// A set-id file of catbox's own user (as root: any set-uid root program) in
// an overlay with fake root. Copied as it is, it would stay set-id on disk in
// the environment's root, and a root build's write keeps the bit (root has
// CAP_FSETID): a set-uid root program with the build's content. The journal
// keeps its mode; the copy on disk has no set-id bit.
test(`fake root in an overlay: a copy-up of a set-id file of catbox's own user (${isRoot ? 'root' : 'a user'}) has no set-id bit on disk`, async () => {
  const fx = makeOverlay()
  const target = join(fx.host, 'gpasswd')
  writeFileSync(target, '#!/bin/sh\necho host\n')
  execFileSync('chmod', ['6755', target])
  const payload = join(fx.tmp.io, 'payload')
  writeFileSync(payload, '#!/bin/sh\nid -u\n')
  // Bare control: a copy by the owner keeps both bits, and (as root) a write into it keeps them too.
  const bare = join(fx.tmp.outside, 'copy')
  execFileSync('cp', ['-p', target, bare])
  expect(diskMode(bare)).toBe('6755')
  if (isRoot) {
    execFileSync('sh', ['-c', `cat ${payload} > ${bare}`])
    expect(diskMode(bare)).toBe('6755')
  }

  const run = (script: string) =>
    runCaptured(fx.tmp, {
      command: ['/bin/sh', '-c', script],
      writable: ['/'],
      cwd: fx.host,
      env: {PATH: '/usr/bin:/bin', LC_ALL: 'C'},
      guestView: {root: {dir: fx.upper, whiteouts: fx.whiteouts}, maps: [{host: fx.tmp.io, guest: fx.tmp.io, mode: 'rw'}], cache: fx.cache},
      fakeRoot: {db: journal(fx.tmp)},
    })
  const show = `stat -c '%a %u %g' ${target}`
  // A copy-up alone (touch), then the build's own content written into it.
  let r = await run(`touch ${target} && ${show}`)
  expect({out: r.stdout, err: r.stderr, code: r.result.exitCode}).toEqual({out: '6755 0 0\n', err: '', code: 0})
  const copy = join(fx.upper, target)
  expect(diskMode(copy)).toBe('755')
  r = await run(`cat ${payload} > ${target} && ${show}`)
  expect({out: r.stdout, err: r.stderr, code: r.result.exitCode}).toEqual({out: '6755 0 0\n', err: '', code: 0})
  expect(readFileSync(copy, 'utf8')).toBe('#!/bin/sh\nid -u\n')
  expect(diskMode(copy)).toBe('755')
  expect(diskMode(target)).toBe('6755') // the host file is untouched
})

// Extended attributes only a privileged process may set (file capabilities,
// trusted.*): recorded in the journal, shown to the get/list calls merged with
// the real ones, and packed as GNU tar --xattrs archives them.
describe.each(ASKING)('privileged xattrs are recorded, shown and packed (%s)', (_, ptraceOnly) => {
  // The pax xattr records of each member, value bytes in hex.
  const paxXattrs = (archive: string): string =>
    execFileSync(
      'python3',
      [
        '-c',
        [
          'import sys, tarfile',
          'for m in tarfile.open(sys.argv[1]):',
          '    for k, v in sorted(m.pax_headers.items()):',
          '        if k.startswith("SCHILY.xattr."): print(m.name.lstrip("./"), k, v.encode("utf-8", "surrogateescape").hex())',
        ].join('\n'),
        archive,
      ],
      {encoding: 'utf8'},
    )

  test('setcap, getcap, trusted.* set, read by path and fd, listed, removed; catbox pack as fakeroot + GNU tar --xattrs', async () => {
    asking(ptraceOnly)
    const tmp = makeTmpDirs()
    // w: a chown after its setcap keeps the capability, as under fakeroot (the kernel would clear it).
    const steps =
      'cp /bin/true t && cp /bin/true u && cp /bin/true w && setcap cap_net_raw+ep t && setcap cap_chown+ep u && setcap -r u && setcap cap_kill+ep w && chown 0:0 w'
    const py = [
      'import os',
      'os.setxattr("t", "trusted.x", b"1")',
      'os.setxattr("t", "user.y", b"2")',
      'fd = os.open("t", os.O_RDONLY)',
      'print(sorted(os.listxattr("t")), sorted(os.listxattr(fd)), os.getxattr("t", "trusted.x"), os.getxattr(fd, "trusted.x"))',
      'try: os.setxattr("t", "trusted.x", b"2", os.XATTR_CREATE)',
      'except FileExistsError: print("EEXIST")',
      'os.removexattr("t", "trusted.x")',
      'try: os.removexattr("t", "trusted.x")',
      'except OSError as e: print(e.strerror)',
      'print(sorted(os.listxattr("t")), sorted(os.listxattr("u")), sorted(os.listxattr("w")))',
    ].join('\n')
    const r = await fakeSh(tmp, `${steps} && getcap t u w && python3 -c '${py}'`)
    expect(r).toEqual({
      out: [
        't cap_net_raw=ep',
        'w cap_kill=ep',
        "['security.capability', 'trusted.x', 'user.y'] ['security.capability', 'trusted.x', 'user.y'] b'1' b'1'",
        'EEXIST',
        'No data available',
        "['security.capability', 'user.y'] [] ['security.capability']",
        '',
      ].join('\n'),
      err: '',
      code: 0,
    })
    // Not on disk: only user.y, the build's own, is there.
    expect(execFileSync('getcap', [join(tmp.allowed, 't')], {encoding: 'utf8'})).toBe('')
    expect(readFileSync(journal(tmp), 'utf8')).toContain('"name":"security.capability","value":"01000002')

    const ours = join(tmp.base, 'ours.tar')
    await pack({from: tmp.allowed, out: ours, format: 'tar', owners: await readOwners(journal(tmp))})
    const theirsDir = join(tmp.base, 'theirs')
    execFileSync('mkdir', [theirsDir])
    execFileSync('fakeroot', ['sh', '-c', `cd ${theirsDir} && ${steps} && tar --xattrs --sort=name -cf ../theirs.tar t u w`])
    const packed = paxXattrs(ours)
    expect(packed).toBe(paxXattrs(join(tmp.base, 'theirs.tar')))
    expect(packed).toMatch(/^t SCHILY\.xattr\.security\.capability 01000002/)
    if (isRoot) {
      // GNU tar gives the capability back on extraction.
      const out = join(tmp.base, 'x')
      execFileSync('mkdir', [out])
      execFileSync('tar', ['--xattrs', "--xattrs-include=*", '-xf', ours, '-C', out])
      expect(execFileSync('getcap', [join(out, 't')], {encoding: 'utf8'}).trim()).toBe(`${join(out, 't')} cap_net_raw=ep`)
    }
  })
})

// xattr names that are not plain keywords: '=' and '%' (GNU tar percent-encodes
// them, or '=' would end the keyword), a byte that is not UTF-8, and UTF-8.
test('catbox pack writes xattr names with "=", "%" and non-UTF-8 bytes as GNU tar --xattrs does', async () => {
  const tmp = makeTmpDirs()
  const names = (prefix: string) => `[b"${prefix}.a=b", b"${prefix}.p%q", b"${prefix}.\\xffz", "${prefix}.\u00e9".encode()]`
  const set = (prefix: string) =>
    `import os\nopen("f", "w").close()\nfor i, n in enumerate(${names(prefix)}): os.setxattr(b"f", n, b"v%d" % i)`
  const r = await fakeSh(tmp, `python3 -c '${set('trusted')}'`)
  expect(r).toEqual({out: '', err: '', code: 0})
  const ours = join(tmp.base, 'ours.tar')
  await pack({from: tmp.allowed, out: ours, format: 'tar', owners: await readOwners(journal(tmp))})
  // GNU tar's own archive of a file with the same names as user.* (set on disk).
  const theirsDir = join(tmp.base, 'theirs')
  execFileSync('mkdir', [theirsDir])
  execFileSync('python3', ['-c', set('user')], {cwd: theirsDir})
  execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--format=posix', '-cf', '../theirs.tar', 'f'], {cwd: theirsDir})
  // Each SCHILY.xattr record's keyword after the namespace, and its value: hex of the bytes.
  const records = (archive: string): string[] => {
    const text = readFileSync(archive).toString('latin1')
    return [...text.matchAll(/\d+ SCHILY\.xattr\.(?:trusted|user)\.([^=\n]*)=([^\n]*)\n/g)]
      .map((m) => `${Buffer.from(m[1], 'latin1').toString('hex')} ${m[2]}`)
      .sort()
  }
  const packed = records(ours)
  expect(packed).toHaveLength(4)
  expect(packed).toEqual(records(join(tmp.base, 'theirs.tar')))
  expect(packed).toContain(`${Buffer.from('a%3Db').toString('hex')} v0`)
  // GNU tar reads the names back as set.
  const listed = execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-tvvf', ours])
    .toString('latin1')
    .split('\n')
    .filter((l) => l.includes('x: '))
    .map((l) => Buffer.from(l.replace(/^\s*x: \d+ /, ''), 'latin1').toString('hex'))
    .sort()
  const want = ['trusted.a=b', 'trusted.p%q', 'trusted.\u00e9'].map((n) => Buffer.from(n).toString('hex'))
  want.push(Buffer.concat([Buffer.from('trusted.'), Buffer.from([0xff]), Buffer.from('z')]).toString('hex'))
  expect(listed).toEqual(want.sort())
  if (isRoot) {
    const out = join(tmp.base, 'x')
    execFileSync('mkdir', [out])
    execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-xf', ours, '-C', out])
    const got = execFileSync('python3', ['-c', 'import os, sys; print(sorted(os.fsencode(n).hex() for n in os.listxattr(sys.argv[1])))', join(out, 'f')], {encoding: 'utf8'})
    expect(got).toBe(`[${want.map((h) => `'${h}'`).join(', ')}]\n`)
  }
})

// The journal keeps no more xattr bytes per inode than the filesystem would:
// one block (ext4's xattr block), ENOSPC as the kernel answers. Else a build
// makes the journal (and each later run's memory) as large as it likes.
test('privileged xattrs: no more per inode than the filesystem keeps (ENOSPC), as the kernel refuses user.* of the same sizes', async () => {
  const tmp = makeTmpDirs()
  // Each name set once: how many 100-byte values fit, and a 64 KiB value.
  const py = (prefix: string) =>
    [
      'import os',
      'open("f", "w").close()',
      'try: os.setxattr("f", "PREFIX.big", b"A" * 65536); print("big ok")',
      'except OSError as e: print("big", e.strerror)',
      'n = 0',
      'try:',
      '    while n < 1000: os.setxattr("f", "PREFIX.n%d" % n, b"A" * 100); n += 1',
      'except OSError as e: print(e.strerror)',
      'print(10 < n < 45)',
      // A value replaced by one the same size still fits; one removed makes room again.
      'os.setxattr("f", "PREFIX.n0", b"B" * 100, os.XATTR_REPLACE)',
      'os.removexattr("f", "PREFIX.n1")',
      'os.setxattr("f", "PREFIX.again", b"C" * 90)',
      'print(os.getxattr("f", "PREFIX.n0")[:1], len(os.getxattr("f", "PREFIX.again")))',
    ]
      .join('\n')
      .replaceAll('PREFIX', prefix)
  const expected = 'big No space left on device\nNo space left on device\nTrue\nb\'B\' 90\n'
  // Bare control: the kernel's own answers for user.* on this filesystem.
  const bare = join(tmp.outside, 'bare')
  execFileSync('mkdir', [bare])
  expect(execFileSync('python3', ['-c', py('user')], {cwd: bare, encoding: 'utf8'})).toBe(expected)
  const r = await fakeSh(tmp, `python3 -c '${py('trusted')}'`)
  expect(r).toEqual({out: expected, err: '', code: 0})
  // Nothing on disk; the journal holds about a block of values, not 64 KiB more.
  expect(execFileSync('python3', ['-c', 'import os, sys; print(os.listxattr(sys.argv[1]))', join(tmp.allowed, 'f')], {encoding: 'utf8'})).toBe('[]\n')
  expect(statSync(journal(tmp)).size).toBeLessThan(3 * 4096 + 200 * 60)
})

// A journal mostly of superseded records (one xattr set again and again, by an
// older catbox or across many runs) is written anew, with what holds, when it
// is loaded; a value larger than any filesystem keeps is not kept.
test('a journal of superseded xattr records is compacted when loaded, and keeps the last value', async () => {
  const tmp = makeTmpDirs()
  const f = join(tmp.allowed, 'f')
  const g = join(tmp.allowed, 'g')
  writeFileSync(f, 'x')
  writeFileSync(g, 'x')
  const id = (path: string) => {
    const st = statSync(path, {bigint: true})
    return `"dev":${journalDev(st.dev)},"ino":${st.ino},"btime":0,"path":${JSON.stringify(path)}`
  }
  const lines: string[] = []
  for (let i = 0; i < 5000; i++) lines.push(`{"op":"xattr",${id(f)},"name":"trusted.x","value":"${(i % 256).toString(16).padStart(2, '0').repeat(64)}"}`)
  lines.push(`{"op":"own",${id(f)},"uid":5,"gid":6}`)
  // 64 KiB, more than one inode may hold: an older catbox recorded it.
  lines.push(`{"op":"xattr",${id(g)},"name":"trusted.big","value":"${'41'.repeat(65536)}"}`)
  lines.push(`{"op":"xattr",${id(g)},"name":"trusted.small","value":"4142"}`)
  lines.push(`{"op":"mode",${id(g)},"mode":${0o104755}}`)
  writeFileSync(journal(tmp), lines.join('\n') + '\n')
  const before = statSync(journal(tmp)).size
  const py = 'import os; print(os.getxattr("f", "trusted.x").hex()[:4], sorted(os.listxattr("g")), os.getxattr("g", "trusted.small"))'
  const r = await fakeSh(tmp, `stat -c '%u %g' f && stat -c %a g && python3 -c '${py}'`)
  expect(r).toEqual({out: "5 6\n4755\n8787 ['trusted.small'] b'AB'\n", err: '', code: 0})
  const after = readFileSync(journal(tmp), 'utf8')
  expect(after.length).toBeLessThan(before / 100)
  expect(after.trim().split('\n')).toHaveLength(4)
  // Loaded again, it is the same.
  expect(await fakeSh(tmp, `stat -c '%u %g' f && stat -c %a g && python3 -c '${py}'`)).toEqual(r)
  expect(readFileSync(journal(tmp), 'utf8')).toBe(after)
  // pack reads the compacted journal as the original.
  const owners = await readOwners(journal(tmp))
  const rec = [...owners.values()].find((o) => o.path === f)
  expect({uid: rec?.uid, gid: rec?.gid, x: rec?.xattrs?.get('trusted.x')?.toString('hex').slice(0, 4)}).toEqual({uid: 5, gid: 6, x: '8787'})
  // And the journal as it was, by pack alone: the 64 KiB value is not kept there either.
  writeFileSync(journal(tmp), lines.join('\n') + '\n')
  const old = await readOwners(journal(tmp))
  expect([...([...old.values()].find((o) => o.path === g)?.xattrs?.keys() ?? [])]).toEqual(['trusted.small'])
})

test('privileged xattrs in the guest view: set on a new file and on a host file (copied up), shown by path and by fd', async () => {
  const fx = makeOverlay()
  const lower = join(fx.host, 'lower')
  execFileSync('cp', ['/bin/true', lower])
  const py = 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); print(os.getxattr(fd, "security.capability").hex()[:8], "security.capability" in os.listxattr(fd))'
  const r = await runCaptured(fx.tmp, {
    command: ['/bin/sh', '-c', `cp /bin/true new && setcap cap_net_raw+ep new && setcap cap_chown+ep lower && getcap new lower && python3 -c '${py}' lower`],
    writable: ['/'],
    cwd: fx.host,
    env: {PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C'},
    guestView: {root: {dir: fx.upper, whiteouts: fx.whiteouts}, maps: [{host: fx.tmp.io, guest: fx.tmp.io, mode: 'rw'}], cache: fx.cache},
    fakeRoot: {db: journal(fx.tmp)},
  })
  expect({out: r.stdout, err: r.stderr, code: r.result.exitCode}).toEqual({
    out: 'new cap_net_raw=ep\nlower cap_chown=ep\n01000002 True\n',
    err: '',
    code: 0,
  })
  // Nothing on the host file, nothing on disk in upper.
  expect(execFileSync('getcap', [lower, join(fx.upper, lower), join(fx.upper, fx.host, 'new')], {encoding: 'utf8'})).toBe('')
})
