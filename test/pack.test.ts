// Fake root end to end: a real shell under the supervisor chowns, chmods and
// makes device nodes; the journal records them; pack writes them into a tar
// that system tar reads back. Runs the same as root and as a user: in fake
// root nothing is really chowned either way.
import {execFileSync, spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {buildSpec} from '../src/run/spec.js'
import {pack} from '../src/pack/archive.js'
import {applyJournalLine, readOwners, type OwnerTable} from '../src/pack/owners.js'
import {driverPath} from './helpers/driver.js'
import {runFakeRoot} from './helpers/fakeroot.js'

const T = realpathSync(mkdtempSync(join(tmpdir(), 'catbox-pack-')))
const root = join(T, 'root')
const db = join(T, 'owners.jsonl')
const me = {uid: process.getuid!(), gid: process.getgid!()}

const fakeRoot = (script: string) => runFakeRoot(script, {cwd: root, writable: [T], db, scratch: T})

const tarList = (archive: string): string[] =>
  execFileSync('tar', ['--numeric-owner', '-tvf', archive], {encoding: 'utf8'})
    .trim()
    .split('\n')
    // perms uid/gid size date time name [-> target]: drop size, date and time
    .map((line) => line.split(/\s+/).filter((_, i) => i !== 2 && i !== 3 && i !== 4).join(' '))

beforeAll(async () => {
  mkdirSync(root)
  const {result, out} = await fakeRoot(
    [
      'id -u; id -g',
      'touch f g; chown 0:0 f; chown 123:456 g; chmod 4755 f',
      'mknod n c 1 3',
      'mkdir -p usr/bin; install -m 2755 -o 0 -g 7 f usr/bin/tool',
      'ln f hard; ln -s f soft',
      'stat -c "%n %u:%g %a %F" f g n usr/bin/tool',
    ].join('; '),
  )
  expect(result.exitCode).toBe(0)
  expect(out).toBe(
    [
      '0',
      '0',
      'f 0:0 4755 regular empty file',
      'g 123:456 644 regular empty file',
      'n 0:0 644 character special file',
      'usr/bin/tool 0:7 2755 regular empty file',
      '',
    ].join('\n'),
  )
})
afterAll(() => rmSync(T, {recursive: true, force: true}))

test('the host files keep the real owner and no set-id bit', () => {
  for (const name of ['f', 'g', 'n', 'usr/bin/tool']) {
    const st = statSync(join(root, name))
    expect({name, uid: st.uid, gid: st.gid}).toEqual({name, uid: me.uid, gid: me.gid})
    expect(st.mode & 0o6000).toBe(0)
    expect(st.isFile()).toBe(true) // the device is a placeholder
  }
})

test('a later run sees the recorded view', async () => {
  const {out} = await fakeRoot('stat -c "%n %u:%g %a" f g n usr/bin/tool; ls -ln n | cut -d" " -f1,5,6')
  expect(out).toBe('f 0:0 4755\ng 123:456 644\nn 0:0 644\nusr/bin/tool 0:7 2755\ncrw-r--r-- 1, 3\n')
})

test('ls -l, find -printf and every stat call of a static binary agree on the recorded view', async () => {
  const statids = driverPath('statids', 'static')
  const {out} = await fakeRoot(
    `ls -ln f g n | awk '{print $1, $3":"$4}'; find f g n -printf '%m %U:%G %p\\n'; ${statids} f g n`,
  )
  const lines = out.trim().split('\n')
  expect(lines.slice(0, 3)).toEqual(['-rwsr-xr-x 0:0', '-rw-r--r-- 123:456', 'crw-r--r-- 0:0'])
  expect(lines.slice(3, 6)).toEqual(['4755 0:0 f', '644 123:456 g', '644 0:0 n'])
  const expected: Record<string, string> = {f: '0:0 104755 0,0', g: '123:456 100644 0,0', n: '0:0 20644 1,3'}
  const calls = lines.slice(6)
  expect(calls).toHaveLength(15) // stat, lstat, fstatat, fstat, statx for each of the three
  for (const line of calls) {
    const [call, name, ...rest] = line.split(' ')
    expect(`${call} ${name} ${rest.join(' ')}`).toBe(`${call} ${name} ${expected[name]}`)
  }
})

test('pack writes the recorded owners, modes, devices and links', async () => {
  const archive = join(T, 'out.tar')
  const owners = await readOwners(db)
  const result = await pack({from: root, out: archive, format: 'tar', owners, mtime: 0})
  expect(result.skipped).toEqual([])
  expect(tarList(archive)).toEqual([
    '-rwsr-xr-x 0/0 ./f',
    '-rw-r--r-- 123/456 ./g',
    'hrwsr-xr-x 0/0 ./hard link to ./f',
    'crw-r--r-- 0/0 ./n',
    'lrwxrwxrwx 0/0 ./soft -> f',
    'drwxr-xr-x 0/0 ./usr/',
    'drwxr-xr-x 0/0 ./usr/bin/',
    '-rwxr-sr-x 0/7 ./usr/bin/tool',
  ])
})

test('with an mtime the archive is byte-for-byte reproducible, also compressed', async () => {
  const owners = await readOwners(db)
  const digest = async (format: 'tar' | 'tar.gz', name: string): Promise<string> => {
    const out = join(T, name)
    await pack({from: root, out, format, owners, mtime: 1_700_000_000})
    return createHash('sha256').update(readFileSync(out)).digest('hex')
  }
  expect(await digest('tar.gz', 'a.tar.gz')).toBe(await digest('tar.gz', 'b.tar.gz'))
  expect(await digest('tar', 'a.tar')).toBe(await digest('tar', 'b.tar'))
})

describe('the journal', () => {
  const line = (o: object): string => JSON.stringify(o)

  test('a record survives a rename of the file: identity is the inode', async () => {
    await fakeRoot('touch m; chown 5:6 m; mkdir -p sub; mv m sub/m2')
    const {out} = await fakeRoot('stat -c "%u:%g" sub/m2')
    expect(out).toBe('5:6\n')
  })

  test('rm drops the record, so a new file reusing the inode looks like root', async () => {
    await fakeRoot('touch r; chown 9:9 r; rm r; touch r2')
    const {out} = await fakeRoot('stat -c "%u:%g" r2')
    expect(out).toBe('0:0\n')
    const owners = await readOwners(db)
    expect([...owners.values()].some((r) => r.path.endsWith('/r'))).toBe(false)
  })

  test('a different birth time replaces a stale record; drop removes one', () => {
    const table: OwnerTable = new Map()
    applyJournalLine(table, line({op: 'own', dev: 1, ino: 2, btime: 10, path: '/a', uid: 5, gid: 5}))
    applyJournalLine(table, line({op: 'mode', dev: 1, ino: 2, btime: 11, path: '/b', mode: 0o100644}))
    expect([...table.values()]).toEqual([{dev: 1n, ino: 2n, btime: 11n, path: '/b', mode: 0o100644}])
    applyJournalLine(table, line({op: 'drop', dev: 1, ino: 2, btime: 11, path: '/b'}))
    expect(table.size).toBe(0)
  })

  test('a torn last line (a killed supervisor) is ignored, the lines before it count', () => {
    const table: OwnerTable = new Map()
    applyJournalLine(table, line({op: 'own', dev: 1, ino: 3, btime: 0, path: '/c', uid: 1, gid: 2}))
    applyJournalLine(table, '{"op":"own","dev":1,"ino":4,"bt')
    expect(table.size).toBe(1)
  })

  test('numbers beyond 2^53 (dev, btime) keep every digit', () => {
    const table: OwnerTable = new Map()
    applyJournalLine(table, '{"op":"own","dev":1090921693184,"ino":7,"btime":1795896500793216525,"path":"/d","uid":0,"gid":0}')
    expect([...table.values()][0].btime).toBe(1795896500793216525n)
  })

  test('after kill -9 of the supervisor mid-run, every completed change is on disk', async () => {
    writeFileSync(join(root, 'k'), '')
    const marker = join(T, 'chowned')
    const spec = buildSpec({
      command: ['/bin/sh', '-c', `chown 42:43 k && touch ${marker} && exec sleep 60`],
      cwd: root,
      writable: [T],
    })
    // The supervisor runs in a child node, killed from here once the chown is done.
    const script = `
      const native = require(${JSON.stringify(join(process.cwd(), 'native/build/Release/catbox_native.node'))});
      native.run(${JSON.stringify({...spec, fakeRoot: {uid: 0, gid: 0, db}})}, () => {});`
    const supervisor = spawn(process.execPath, ['-e', script], {stdio: 'ignore'})
    const ended = new Promise<NodeJS.Signals | null>((resolve) => supervisor.once('exit', (_code, signal) => resolve(signal)))
    for (let i = 0; i < 600 && !existsSync(marker); i++) await new Promise((r) => setTimeout(r, 50))
    expect(existsSync(marker)).toBe(true)
    supervisor.kill('SIGKILL')
    expect(await ended).toBe('SIGKILL')
    const {out} = await fakeRoot('stat -c "%u:%g" k')
    expect(out).toBe('42:43\n')
  })
})

test('names and link targets that are not UTF-8 are archived byte for byte: GNU tar extracts the tree its own archive gives', async () => {
  const tree = join(T, 'bytes')
  const at = (...parts: (string | number[])[]): Buffer =>
    Buffer.concat([Buffer.from(`${tree}/`), ...parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)))])
  mkdirSync(tree)
  mkdirSync(at('d', [0xff]))
  writeFileSync(at('d', [0xff], '/f', [0xfe]), 'in a directory whose name is not UTF-8\n')
  writeFileSync(at('caf', [0xc3, 0xa9]), 'UTF-8 stays as it is\n')
  // Too long for the ustar name field: a PAX path record carries the bytes.
  writeFileSync(at('L'.repeat(120), [0xe9]), 'long\n')
  const deep = at('deep/', ...Array<number[]>(40).fill([0x71, 0xff]))
  mkdirSync(deep, {recursive: true})
  writeFileSync(Buffer.concat([deep, Buffer.from('/'), ...Array<Buffer>(50).fill(Buffer.from([0x72, 0xfe]))]), 'split over prefix and name\n')
  symlinkSync(Buffer.from([0x74, 0xff]), at('sym'))
  linkSync(at('d', [0xff], '/f', [0xfe]), at('hard'))

  const ours = join(T, 'bytes-catbox.tar')
  const result = await pack({from: tree, out: ours, format: 'tar', owners: new Map(), mtime: 0})
  expect(result).toMatchObject({entries: 9, skipped: [], removed: []})
  const theirs = join(T, 'bytes-gnu.tar')
  execFileSync('tar', ['--sort=name', '-C', tree, '-cf', theirs, '.'])

  // What each archive lists (GNU tar shows bytes that are not UTF-8 as \ooo) and what extracting it makes.
  const names = (archive: string): string[] => execFileSync('tar', ['-tf', archive], {encoding: 'utf8'}).trim().split('\n')
  expect(names(ours)).toEqual(names(theirs).filter((name) => name !== './'))
  expect(names(ours)).toContain('./d\\377/f\\376')
  const extracted = (archive: string): Buffer => {
    const dir = mkdtempSync(join(T, 'x-'))
    execFileSync('tar', ['-C', dir, '-xf', archive])
    return execFileSync('sh', ['-c', `cd ${dir} && find . -printf '%y %n %p -> %l\\n' | LC_ALL=C sort && cat ./hard`])
  }
  const made = extracted(ours)
  expect(made).toEqual(extracted(theirs))
  expect(made.includes(Buffer.concat([Buffer.from('l 1 ./sym -> t'), Buffer.from([0xff])]))).toBe(true)
  expect(made.includes(Buffer.from('f 2 ./hard'))).toBe(true)
})
