// Fake root through the real CLI: an environment with --fake-root, two
// separate exec runs, env show's recorded ownership, and catbox pack.
import {execFileSync, spawn} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {execa} from 'execa'

import {bin, cliWithHome, json, lastJson, tempDir, waitFor} from './helpers/cli.js'
import {driverPath} from './helpers/driver.js'

const work = tempDir('catbox-pack-cli-')
const dest = join(work, 'dest')
const cli = cliWithHome(work)
const me = {uid: process.getuid!(), gid: process.getgid!()}

beforeAll(async () => {
  mkdirSync(dest)
  const created = await cli(['env', 'create', 'pkg', '--fake-root', '--writable', work, '--json'])
  expect(created.exitCode).toBe(0)
})

test('exec under fake root: the build sees root and the recorded view, across runs', async () => {
  const first = await cli(['exec', 'pkg', '--json', '--', 'sh', '-c', 'cd dest && mkdir -p bin && touch bin/tool && chown 0:0 bin/tool && chmod 4755 bin/tool && mknod null c 1 3 && id -u >&2'])
  expect(first.stderr).toBe('0')
  expect(lastJson(first.stdout).exitCode).toBe(0)
  const second = await cli(['exec', 'pkg', '--', 'stat', '-c', '%n %u:%g %a %F', 'dest/bin/tool', 'dest/null'])
  expect(second.stdout).toBe('dest/bin/tool 0:0 4755 regular empty file\ndest/null 0:0 644 character special file')
  // On disk: the user's own files, no set-id bit, a placeholder for the device.
  const tool = statSync(join(dest, 'bin/tool'))
  expect([tool.uid, tool.gid, tool.mode & 0o6000]).toEqual([me.uid, me.gid, 0])
  expect(statSync(join(dest, 'null')).isFile()).toBe(true)
})

test('env show lists the recorded ownership', async () => {
  const shown = await cli(['env', 'show', 'pkg', '--json'])
  const ownership = json(shown.stdout).ownership as {path: string; uid: number | null; mode: number | null}[]
  expect(ownership.map((o) => o.path)).toEqual([join(dest, 'bin/tool'), join(dest, 'null')])
  expect(ownership[0]).toMatchObject({uid: 0, gid: 0, mode: 0o104755})
  const text = await cli(['env', 'show', 'pkg'])
  expect(text.stdout).toContain('RECORDED OWNERSHIP (fake root)')
  expect(text.stdout).toMatch(/-rwsr-xr-x\s+0:0\s+.*bin\/tool/)
  expect(text.stdout).toMatch(/crw-r--r--\s+-\s+1,3\s+.*\/null/)
})

test('catbox pack writes the recorded owners and modes', async () => {
  const out = join(work, 'pkg.tar.gz')
  const packed = await cli(['pack', 'pkg', out, '--from', dest, '--mtime', '0', '--json'])
  expect(packed.exitCode).toBe(0)
  expect(json(packed.stdout)).toMatchObject({environment: 'pkg', format: 'tar.gz', entries: 3, recorded: 2})
  const listing = execFileSync('tar', ['--numeric-owner', '-tvzf', out], {encoding: 'utf8'})
  expect(listing).toMatch(/^-rwsr-xr-x 0\/0 +0 1970-01-01 00:00 \.\/bin\/tool$/m)
  expect(listing).toMatch(/^crw-r--r-- 0\/0 +1,3 1970-01-01 00:00 \.\/null$/m)
})

test.each([
  [['pack', 'pkg', 'x.zip', '--from', '/tmp'], /cannot tell the archive format from/],
  [['pack', 'pkg', 'x.tar', '--from', 'relative/dir'], /is relative/],
  [['pack', 'pkg', 'x.tar', '--from', '/nonexistent-catbox-dir'], /is not a directory/],
  [['pack', 'pkg', 'x.tar'], /nothing to pack/],
  [['pack', 'pkg', 'x.tar', '--from', '/tmp', '--mtime', 'yesterday'], /--mtime "yesterday" is not a number/],
  [['pack', 'nope', 'x.tar', '--from', '/tmp'], /nope/],
])('bad input: catbox %j', async (args, message) => {
  const r = await cli(args)
  expect(r.exitCode).not.toBe(0)
  expect(r.stderr).toMatch(message)
})

// `tar tv` of an archive without size, date and time: perms owner/group name [-> target]. Names, not ids.
const tarNames = (archive: string): string[] =>
  execFileSync('tar', ['-tvf', archive], {encoding: 'utf8'})
    .trim()
    .split('\n')
    .map((line) => line.split(/\s+/).filter((_, i) => i !== 2 && i !== 3 && i !== 4).join(' '))

describe('in an overlay environment, --from is read in the guest view', () => {
  test("the README's pisi flow: make install DESTDIR=/var/tmp/NAME/install, then pack --from it", async () => {
    // A unique name: /var/tmp/NAME is a host path the host must not have.
    const name = `pk${process.pid}`
    const project = join(work, 'project')
    mkdirSync(project)
    writeFileSync(
      join(project, 'Makefile'),
      [
        'install:',
        '\tmkdir -p $(DESTDIR)/usr/bin $(DESTDIR)/usr/share/doc/hi',
        "\tprintf '#!/bin/sh\\necho hi\\n' > $(DESTDIR)/usr/bin/hi",
        '\tchmod 4755 $(DESTDIR)/usr/bin/hi',
        '\techo doc > $(DESTDIR)/usr/share/doc/hi/README',
        '\tchown daemon:staff $(DESTDIR)/usr/share/doc/hi/README',
        '',
      ].join('\n'),
    )
    expect((await cli(['env', 'create', name, '--template', 'pisi'])).exitCode).toBe(0)
    const built = await cli(['exec', name, '--', 'make', 'install', `DESTDIR=/var/tmp/${name}/install`], {cwd: project})
    expect(built.exitCode).toBe(0)
    // The install is in the environment only: the host never had the directory.
    expect(existsSync(`/var/tmp/${name}`)).toBe(false)
    const out = join(work, 'out.tar.gz')
    const packed = await cli(['pack', name, out, '--from', `/var/tmp/${name}/install`, '--json'])
    expect(packed.stderr).toBe('')
    expect(packed.exitCode).toBe(0)
    expect(json(packed.stdout)).toMatchObject({environment: name, entries: 7, recorded: 2, removed: []})
    const listing = tarNames(out)
    expect(listing.map((line) => line.split(' ').slice(2).join(' '))).toEqual([
      './usr/',
      './usr/bin/',
      './usr/bin/hi',
      './usr/share/',
      './usr/share/doc/',
      './usr/share/doc/hi/',
      './usr/share/doc/hi/README',
    ])
    expect(listing).toContain('-rwsr-xr-x root/root ./usr/bin/hi')
    expect(listing).toContainEqual(expect.stringMatching(/^-rw-r--r-- daemon\/staff \.\/usr\/share\/doc\/hi\/README$/))
    const content = execFileSync('tar', ['-xzOf', out, './usr/bin/hi'], {encoding: 'utf8'})
    expect(content).toBe('#!/bin/sh\necho hi\n')
  })

  test('the host entries the build saw, less those it removed, its own, the maps; names from the guest /etc/passwd', async () => {
    const stage = join(work, 'stage')
    mkdirSync(join(stage, 'sub'), {recursive: true})
    mkdirSync(join(stage, 'remade'))
    for (const file of ['keep', 'gone', 'sub/c', 'remade/old']) writeFileSync(join(stage, file), `${file}\n`)
    mkdirSync(join(work, 'extra'))
    writeFileSync(join(work, 'extra', 'x'), 'x\n')
    const created = await cli([
      'env', 'create', 'ov', '--overlay', '--fake-root', '--writable', work, '--writable', '/etc',
      '--map', `${join(work, 'extra')}:${join(stage, 'extra')}:ro`,
    ])
    expect(created.exitCode).toBe(0)
    const build = await cli(['exec', 'ov', '--', 'sh', '-c', [
      'cd stage && rm gone && echo new > added && chown 4242:4343 keep',
      // Removed and made again: none of the host's entries show in it.
      'rm -r remade && mkdir remade && echo new > remade/new',
      // A symlink the host does not have, to follow in the guest view.
      'ln -s stage ../stage-link',
      "echo 'pkguser:x:4242:4343::/:/bin/false' >> /etc/passwd && echo 'pkgroup:x:4343:' >> /etc/group",
    ].join(' && ')])
    expect(build.stderr).toBe('')
    expect(build.exitCode).toBe(0)
    // The host: untouched (its own passwd does not name 4242).
    expect(existsSync(join(stage, 'gone'))).toBe(true)
    expect(readFileSync('/etc/passwd', 'utf8')).not.toContain('pkguser')
    const out = join(work, 'stage.tar')
    const packed = await cli(['pack', 'ov', out, '--from', stage, '--mtime', '0'])
    expect(packed.stderr).toBe('')
    expect(packed.exitCode).toBe(0)
    const expected = [
      '-rw-r--r-- root/root ./added',
      'drwxr-xr-x root/root ./extra/',
      '-rw-r--r-- root/root ./extra/x',
      '-rw-r--r-- pkguser/pkgroup ./keep',
      'drwxr-xr-x root/root ./remade/',
      '-rw-r--r-- root/root ./remade/new',
      'drwxr-xr-x root/root ./sub/',
      '-rw-r--r-- root/root ./sub/c',
    ]
    expect(tarNames(out)).toEqual(expected)
    expect(existsSync(join(work, 'stage-link'))).toBe(false)
    const viaLink = join(work, 'stage-link.tar')
    expect((await cli(['pack', 'ov', viaLink, '--from', join(work, 'stage-link'), '--mtime', '0'])).exitCode).toBe(0)
    expect(tarNames(viaLink)).toEqual(expected)
    expect(execFileSync('tar', ['-xOf', out, './keep', './sub/c', './extra/x'], {encoding: 'utf8'})).toBe('x\nkeep\nsub/c\n')
    // A directory the guest view does not have, though the host might.
    const missing = await cli(['pack', 'ov', join(work, 'x.tar'), '--from', join(stage, 'gone')])
    expect(missing.exitCode).toBe(2)
    expect(missing.stderr).toContain(`catbox: ${join(stage, 'gone')} is not a directory in environment "ov"'s view`)
  })
})

describe('robustness', () => {
  // lease FILE holds a write lease: pack's open(FILE) waits in the kernel until it is let go,
  // and the driver prints "broken" when that open has begun. No timing involved.
  const holders: ReturnType<typeof spawn>[] = []
  // A test that failed half way must not leave a lease (and jest) waiting.
  afterEach(() => {
    for (const child of holders.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill()
  })
  const lease = (file: string, ...remove: string[]) => {
    const child = spawn(driverPath('lease'), [file, ...remove], {stdio: ['pipe', 'pipe', 'inherit']})
    holders.push(child)
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    const ended = new Promise<number | null>((resolve) => child.on('close', resolve))
    return {child, ended, said: (line: string) => out.split('\n').includes(line), output: () => out}
  }

  const tree = (name: string, files: string[]): string => {
    const dir = join(work, name)
    mkdirSync(dir)
    for (const file of files) writeFileSync(join(dir, file), `${file}\n`.repeat(1000))
    return dir
  }

  test.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('a pack ended by %s leaves no temporary file and ends as a shell expects (%d)', async (signal, status) => {
    const dir = tree(`interrupted-${signal}`, ['a', 'b'])
    const outDir = join(work, `out-${signal}`)
    mkdirSync(outDir)
    const holder = lease(join(dir, 'a'))
    await waitFor('the lease', () => holder.said('leased'))
    const shell = execa('sh', ['-c', `node ${bin} pack pkg ${join(outDir, 'out.tar')} --from ${dir}; echo status=$?`], {
      reject: false,
      env: {CI: 'true', CATBOX_HOME: cli.home},
    })
    // pack is in open(a), and has made its temporary file: .out.tar.PID.tmp
    await waitFor('pack to open a', () => holder.said('broken'))
    let temp: RegExpExecArray | null = null
    await waitFor('the temporary file', () => readdirSync(outDir).some((f) => (temp = /^\.out\.tar\.(\d+)\.tmp$/.exec(f)) !== null))
    process.kill(Number(temp![1]), signal)
    const ended = await shell
    expect(ended.stdout).toBe(`status=${status}`)
    expect(readdirSync(outDir)).toEqual([])
    holder.child.stdin.end()
    expect(await holder.ended).toBe(0)
    // The lock went with it: the next pack runs at once.
    const again = await cli(['pack', 'pkg', join(outDir, 'out.tar'), '--from', dir])
    expect(again.stderr).toBe('')
    expect(again.exitCode).toBe(0)
    expect(readdirSync(outDir)).toEqual(['out.tar'])
  })

  test('a file removed while pack runs is left out with a warning and exit 1, as GNU tar does', async () => {
    const dir = tree('vanish', ['a', 'b', 'c'])
    // While pack waits to open a, b is removed; then a is let go.
    const holder = lease(join(dir, 'a'), join(dir, 'b'))
    await waitFor('the lease', () => holder.said('leased'))
    const out = join(work, 'vanish.tar')
    const packed = await cli(['pack', 'pkg', out, '--from', dir, '--json'])
    expect(await holder.ended).toBe(0)
    expect(holder.output()).toBe(`leased\nbroken\nremoved ${join(dir, 'b')}\nreleased\n`)
    expect(packed.stderr).toBe('catbox: ./b: file removed before we read it; left out')
    expect(packed.exitCode).toBe(1)
    expect(json(packed.stdout)).toMatchObject({entries: 2, removed: ['./b']})
    expect(execFileSync('tar', ['-tf', out], {encoding: 'utf8'})).toBe('./a\n./c\n')
    expect(execFileSync('tar', ['-xOf', out, './c'], {encoding: 'utf8'})).toBe('c\n'.repeat(1000))
  })

  // Root reads every file whatever its mode: the case has no meaning for root.
  ;(process.getuid!() === 0 ? test.skip : test)('a file pack may not read ends it with a clear error and no archive (as a user)', async () => {
    const dir = tree('unreadable', ['a', 'secret'])
    chmodSync(join(dir, 'secret'), 0)
    const outDir = join(work, 'out-unreadable')
    mkdirSync(outDir)
    const packed = await cli(['pack', 'pkg', join(outDir, 'x.tar'), '--from', dir])
    expect(packed.exitCode).toBe(1)
    expect(packed.stderr).toBe('catbox: cannot pack ./secret: EACCES.\nMake it readable to you, or remove it from the tree before packing.')
    expect(readdirSync(outDir)).toEqual([])
  })

  test('20 000 files and a 3 MiB one pack without a MaxListenersExceededWarning', async () => {
    const dir = join(work, 'many')
    mkdirSync(dir)
    for (let i = 0; i < 20_000; i++) writeFileSync(join(dir, `f${i}`), 'x'.repeat(600))
    // Many writes that wait for the stream to drain: each used to leave an error listener behind.
    writeFileSync(join(dir, 'big'), Buffer.alloc(3 << 20, 'y'))
    const out = join(work, 'many.tar')
    const packed = await cli(['pack', 'pkg', out, '--from', dir, '--json'])
    expect(packed.stderr).toBe('')
    expect(packed.exitCode).toBe(0)
    expect(json(packed.stdout)).toMatchObject({entries: 20_001})
    // Each small file: a header and 600 bytes padded to 1024; the big one; then the two zero blocks.
    expect(statSync(out).size).toBe(20_000 * (512 + 1024) + 512 + (3 << 20) + 1024)
  }, 120_000)
})
