// A real package install, made twice: `make install DESTDIR=...` of GNU hello
// (Debian's source, autotools) plus the root-owned setuid steps a package
// makes, once under catbox's fake root and packed with catbox pack, once under
// Debian's fakeroot and packed with GNU tar. The two archives must list the
// same entries with the same owners (ids and names), modes, types and links.
import {execFileSync} from 'node:child_process'
import {mkdtempSync, realpathSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {pack} from '../src/pack/archive.js'
import {readOwners} from '../src/pack/owners.js'
import {runFakeRoot} from './helpers/fakeroot.js'

const T = realpathSync(mkdtempSync(join(tmpdir(), 'catbox-fakeroot-')))
const build = join(T, 'hello')

// The steps of a package's install phase: the upstream install, then the
// packager's ownership and permission fixes (hello has none of its own).
const installSteps = (destdir: string): string =>
  [
    `make -s install DESTDIR=${destdir} >/dev/null`,
    `install -o root -g root -m 4755 ${destdir}/usr/bin/hello ${destdir}/usr/bin/hello-suid`,
    `install -d -o 0 -g 50 -m 2775 ${destdir}/var/lib/hello`,
    `chown -R root:root ${destdir}/usr/share`,
    // Owners with names other than root's, and an id that has no name.
    `install -d -o daemon -g staff -m 750 ${destdir}/var/cache/hello`,
    `touch ${destdir}/var/lib/hello/state && chown 4242:4343 ${destdir}/var/lib/hello/state`,
    `ln -s hello ${destdir}/usr/bin/hi`,
    `ln ${destdir}/usr/bin/hello ${destdir}/usr/bin/hello-hard`,
  ].join(' && ')

// `tar tv` without size, date and time: perms owner/group name [-> target | link to name].
// With numeric, the ids; else the names the archive holds (tar shows the id where there is none).
const listing = (archive: string, numeric = true): string[] =>
  execFileSync('tar', [...(numeric ? ['--numeric-owner'] : []), '-tvf', archive], {encoding: 'utf8'})
    .trim()
    .split('\n')
    .map((line) => line.split(/\s+/).filter((_, i) => i !== 2 && i !== 3 && i !== 4).join(' '))
    .sort()

beforeAll(() => {
  const src = execFileSync('bash', ['test/fixtures/fetch-hello.sh'], {encoding: 'utf8'}).trim()
  execFileSync('cp', ['-a', src, build])
  // Configure and compile outside: what is compared is the install phase.
  execFileSync('sh', ['-c', './configure -q --prefix=/usr --disable-nls && make -s -j2'], {
    cwd: build,
    stdio: ['ignore', 'pipe', 'pipe'], // quiet, and in the error if it fails
  })
}, 300_000)
afterAll(() => rmSync(T, {recursive: true, force: true}))

test('catbox pack lists the same entries as fakeroot + GNU tar', async () => {
  const ours = join(T, 'dest-catbox')
  const run = await runFakeRoot(`umask 022; ${installSteps(ours)}`, {
    cwd: build,
    writable: [T],
    db: join(T, 'owners.jsonl'),
    scratch: T,
  })
  expect(run.out).toBe('')
  expect(run.result.exitCode).toBe(0)
  await pack({from: ours, out: join(T, 'catbox.tar'), format: 'tar', owners: await readOwners(join(T, 'owners.jsonl'))})

  const theirs = join(T, 'dest-fakeroot')
  execFileSync(
    'fakeroot',
    ['sh', '-c', `umask 022; ${installSteps(theirs)} && tar --sort=name -C ${theirs} -cf ${join(T, 'fakeroot.tar')} .`],
    {cwd: build},
  )

  // The one difference, by design: GNU tar archives the top directory itself
  // as "./"; catbox pack archives what is inside it.
  const reference = listing(join(T, 'fakeroot.tar')).filter((line) => !line.endsWith(' ./'))
  const packed = listing(join(T, 'catbox.tar'))
  expect(packed).toEqual(reference)
  // The names (tar's uname and gname), as GNU tar wrote them from the same passwd and group files.
  const referenceNames = listing(join(T, 'fakeroot.tar'), false).filter((line) => !line.endsWith(' ./'))
  const packedNames = listing(join(T, 'catbox.tar'), false)
  expect(packedNames).toEqual(referenceNames)
  expect(packedNames).toContain('drwxr-x--- daemon/staff ./var/cache/hello/')
  expect(packedNames).toContain('-rwsr-xr-x root/root ./usr/bin/hello-suid')
  expect(packedNames).toContain('-rw-r--r-- 4242/4343 ./var/lib/hello/state')
  expect(packed).toContain('drwxr-x--- 1/50 ./var/cache/hello/')
  // And the listing is the package a maintainer expects.
  expect(packed).toContain('-rwsr-xr-x 0/0 ./usr/bin/hello-suid')
  expect(packed).toContain('drwxrwsr-x 0/50 ./var/lib/hello/')
  expect(packed).toContain('lrwxrwxrwx 0/0 ./usr/bin/hi -> hello')
  expect(packed.some((l) => /^hrwxr-xr-x 0\/0 \.\/usr\/bin\/hello(-hard)? link to \.\/usr\/bin\/hello/.test(l))).toBe(true)
}, 300_000)
