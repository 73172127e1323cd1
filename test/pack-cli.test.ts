// Fake root through the real CLI: an environment with --fake-root, two
// separate exec runs, env show's recorded ownership, and catbox pack.
import {execFileSync} from 'node:child_process'
import {mkdirSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {cliWithHome, json, lastJson, tempDir} from './helpers/cli.js'

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
