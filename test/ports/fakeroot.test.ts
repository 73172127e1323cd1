// fakeroot's own test suite (test/t.* of fakeroot 1.31), ported: each case
// runs through the real CLI in an environment made with --fake-root, where
// fakeroot's runs `fakeroot -- sh script`. What each case checks is fakeroot's;
// the scripts here are written for catbox. Cases that test fakeroot's own
// machinery (LD_PRELOAD, faked, save files) are listed in docs/ported-suites.md.
// Where a case compares with a reference, the reference is Debian's fakeroot
// itself, run on the same steps.
import {execFileSync} from 'node:child_process'
import {chmodSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {beforeAll, expect} from '@jest/globals'

import {cliWithHome, tempDir} from '../helpers/cli.js'
import {port} from './known-gaps.js'

const base = tempDir('catbox-port-fakeroot-')
const cli = cliWithHome(base)
let serial = 0

beforeAll(async () => {
  const made = await cli(['env', 'create', 'fr', '--fake-root', '--writable', base])
  expect(made.stderr).toBe('')
  expect(made.exitCode).toBe(0)
}, 30_000)

/** A fresh directory of the case's own below base, writable in the environment. */
function caseDir(): string {
  const dir = join(base, `case-${++serial}`)
  mkdirSync(dir)
  return dir
}

/** catbox exec fr -- ARGV in dir: fakeroot's `run_fakeroot -- ARGV`. */
async function fakeRoot(dir: string, argv: string[]) {
  const run = await cli(['exec', 'fr', '--', ...argv], {cwd: dir, stripFinalNewline: false})
  return {exitCode: run.exitCode, stdout: String(run.stdout), stderr: String(run.stderr)}
}

/** `sh -c SCRIPT` under fake root in dir; its output, with exit 0 and nothing on stderr expected. */
async function fakeRootSh(dir: string, script: string): Promise<string> {
  const run = await fakeRoot(dir, ['sh', '-c', script])
  expect({exitCode: run.exitCode, stderr: run.stderr}).toEqual({exitCode: 0, stderr: ''})
  return run.stdout
}

port('fakeroot.t.chmod_dev', 'a device made by mknod is still a block device after chmod 644', async () => {
  const dir = caseDir()
  const out = await fakeRootSh(dir, 'mknod hda3 b 3 0 && chmod 644 hda3 && ls -ld hda3')
  expect(out).toMatch(/^brw-r--r-- 1 root root 3, 0 .* hda3\n$/)
})

port('fakeroot.t.chown', 'chown --reference takes the owner root from a file never chowned', async () => {
  const dir = caseDir()
  // Give the target another owner first, so that "owner:0" can only come
  // from the reference file (fakeroot's case starts from two fresh files).
  const out = await fakeRootSh(dir, 'echo foo > bar && echo baz > blub && chown 7:8 blub && chown --reference=bar blub && stat -c owner:%u:%g blub')
  expect(out).toBe('owner:0:0\n')
})

port('fakeroot.t.cp-a', 'cp -a keeps the faked owner and mode; cp -r makes a copy owned by root', async () => {
  const dir = caseDir()
  const out = await fakeRootSh(
    dir,
    [
      'umask 022',
      'touch empty',
      'chmod 0644 empty',
      'chown 1:2 empty',
      'cp -a empty empty-a',
      'cp -r empty empty-r',
      'stat -c "%n %a %u:%g" empty empty-a empty-r',
    ].join(' && '),
  )
  expect(out).toBe('empty 644 1:2\nempty-a 644 1:2\nempty-r 644 0:0\n')
})

port('fakeroot.t.echoarg', 'arguments reach a script unchanged: the 3rd of "3 a b c d e" is b', async () => {
  const dir = caseDir()
  // fakeroot's echo_arg: print the positional argument its first argument names.
  const script = join(dir, 'nth_arg')
  writeFileSync(script, '#!/bin/sh\neval "printf \'%s\\n\' \\"\\${$1}\\""\n')
  chmodSync(script, 0o755)
  expect(execFileSync(script, ['3', 'a', 'b', 'c', 'd', 'e'], {encoding: 'utf8'})).toBe('b\n') // bare control
  const out = await fakeRootSh(dir, `RET="$(${script} 3 a b c d e)"; echo "RET=$RET"; test "$RET" = b`)
  expect(out).toBe('RET=b\n')
})

port('fakeroot.t.falsereturn', 'a failing command fails: false exits 1', async () => {
  const run = await fakeRoot(caseDir(), ['false'])
  expect(run.exitCode).toBe(1)
  expect(run.stderr).toBe('')
})

port('fakeroot.t.truereturn', 'a succeeding command succeeds: true exits 0', async () => {
  const run = await fakeRoot(caseDir(), ['true'])
  expect(run.exitCode).toBe(0)
  expect(run.stderr).toBe('')
})

port('fakeroot.t.mknod', 'mknod of a block device shows as one to ls -l', async () => {
  const dir = caseDir()
  const out = await fakeRootSh(dir, 'mknod hda3 b 3 1; ls -l hda3')
  expect(out).toMatch(/^brw-r--r-- 1 root root 3, 1 .* hda3\n$/)
})

port('fakeroot.t.no_ld_preload', 'a file removed by a process without LD_PRELOAD, then a directory of that name: ls -ld shows a directory', async () => {
  const dir = caseDir()
  // fakeroot's case: rm runs outside the preload, so faked never hears of the
  // removal, and the directory that reuses the inode must not look like the
  // old file. catbox follows every process whatever its environment.
  const out = await fakeRootSh(dir, 'touch justafile && chmod 600 justafile && env -u LD_PRELOAD rm justafile && mkdir justafile && ls -ld justafile')
  expect(out).toMatch(/^drwxr-xr-x \d+ root root .* justafile\n$/)
})

port('fakeroot.t.no_ld_preload_link', 'a symlink removed without LD_PRELOAD, then a file of that name: ls -ld shows a regular file', async () => {
  const dir = caseDir()
  const out = await fakeRootSh(dir, 'touch justafile && ln -s justafile alink && env -u LD_PRELOAD rm alink && touch alink && ls -ld alink')
  expect(out).toMatch(/^-rw-r--r-- 1 root root 0 .* alink\n$/)
})

port('fakeroot.t.option', 'options after the command are the command\'s: echo -1 -2', async () => {
  const run = await fakeRoot(caseDir(), ['echo', '-1', '-2'])
  expect(run.stdout).toBe('-1 -2\n')
  expect(run.exitCode).toBe(0)
})

port('fakeroot.t.touchinstall', 'a file the build creates is owned by root', async () => {
  const dir = caseDir()
  const out = await fakeRootSh(dir, 'touch iamnotuser; ls -al iamnotuser')
  expect(out).toMatch(/^-rw-r--r-- 1 root root 0 .* iamnotuser\n$/)
})

port('fakeroot.t.xattr', 'setcap cap_net_raw+ep, then getcap shows the capability', async () => {
  const dir = caseDir()
  const out = await fakeRootSh(dir, 'touch foo; PATH=$PATH:/usr/sbin:/sbin; setcap cap_net_raw+ep foo; getcap foo')
  expect(out).toMatch(/^foo =? ?cap_net_raw[+=]ep\n$/)
})

// fakeroot's tartest: a tree built with mkdir, chown, chmod (set-id bits and
// mode 0 included), mv and rm, packed with tar. fakeroot compares it with an
// archive once made as real root; here the reference is the same steps under
// Debian's fakeroot. Then the reference archive is unpacked and packed again
// under catbox, which must give the same listing.
const LIST = '1 2 3 4 5 6 fjsdk 1289 vn.34.654l.'
const tarSteps = [
  'set -e',
  'umask 022',
  'mkdir tar',
  'cd tar',
  `LIST="${LIST}"`,
  'for f in $LIST; do mkdir -p $f/$f/$f.hello; touch $f/$f/file; done',
  // mv and rm of chowned files: their records must go or follow the file.
  'FILES=$(for f in $LIST; do echo mv.$f rm.$f; done)',
  'touch $FILES',
  'chown daemon:sys $FILES',
  'for f in $LIST; do mv mv.$f gone; rm rm.$f; done',
  'rm gone',
  'for f in $LIST; do mkdir -p hello/$f; touch hello/$f/file; touch $f.file; done',
  'chown -R daemon:sys 2',
  'chown -R daemon:root 3 4',
  'chmod -R u+xs 2',
  'chmod u+s 5',
  'chmod 0 hello hello/*',
  'echo 0123456789012 > hello/hello',
  'cd ..',
].join('\n')

/** `tar tv` of a gzip archive as "perms owner/group name", sorted (compare-tar's fields). */
function tarListing(archive: string): string[] {
  return execFileSync('sh', ['-c', `gzip -dc '${archive}' | tar -tvf - | awk '{print $1, $2, $NF}' | sort`], {encoding: 'utf8'})
    .trim()
    .split('\n')
}

let reference: string[] = []
const ref = join(base, 'tar-reference')

port('fakeroot.t.tar', 'tartest 1: the tree built with chown/chmod/mv/rm tars like under fakeroot', async () => {
  mkdirSync(ref)
  execFileSync('fakeroot', ['sh', '-c', `${tarSteps}\ntar -cf - tar | gzip -9 > ref.tar.gz`], {cwd: ref})
  reference = tarListing(join(ref, 'ref.tar.gz'))
  // The steps did what they say under fakeroot: the reference is worth comparing with.
  expect(reference).toContain('drwsr-xr-x daemon/sys tar/2/')
  expect(reference).toContain('-rwsr--r-- daemon/sys tar/2/2/file')
  expect(reference).toContain('d--------- root/root tar/hello/')
  expect(reference).toContain('-rw-r--r-- root/root tar/hello/hello')

  const ours = caseDir()
  await fakeRootSh(ours, `${tarSteps}\ntar -cf - tar | gzip -9 > ours.tar.gz`)
  expect(tarListing(join(ours, 'ours.tar.gz'))).toEqual(reference)
})

port('fakeroot.t.tar#2', 'tartest 2: unpacking the reference archive and packing it again gives the same listing', async () => {
  expect(reference.length).toBeGreaterThan(50) // made by the case above
  const again = caseDir()
  await fakeRootSh(again, `gzip -dc ${join(ref, 'ref.tar.gz')} | tar xf - && tar cf - tar | gzip -9 > again.tar.gz`)
  expect(tarListing(join(again, 'again.tar.gz'))).toEqual(reference)
})
