// A real Debian package built the way a packager builds it: dpkg-buildpackage
// -b with a gain-root command, once with Debian's fakeroot and once with
// catbox's fake root (`-r'catbox exec NAME --'`). procmail is the case that
// matters: its debian/rules runs `chown -R 0:0`, then `chgrp mail` and
// `chmod 6755` on the set-id programs, and builds the .deb with dpkg-deb
// under the gain-root command. Both .debs must list the same entries with the
// same owners and modes, and, since dpkg-deb is reproducible, be the same
// bytes.
import {execFileSync} from 'node:child_process'
import {readdirSync} from 'node:fs'
import {join} from 'node:path'

import {bin, projectRoot, tempDir} from './helpers/cli.js'

const T = tempDir('catbox-procmail-')
const home = join(T, 'home')

const buildIn = (dir: string, rootCommand: string): string => {
  const src = execFileSync(join(projectRoot, 'test', 'fixtures', 'fetch-source.sh'), ['procmail'], {encoding: 'utf8'}).trim()
  execFileSync('mkdir', ['-p', dir])
  execFileSync('cp', ['-a', src, join(dir, 'procmail')])
  execFileSync('dpkg-buildpackage', ['-b', '-us', '-uc', `-r${rootCommand}`], {
    cwd: join(dir, 'procmail'),
    env: {...process.env, CATBOX_HOME: home, DEB_BUILD_OPTIONS: 'parallel=2'},
    stdio: ['ignore', 'pipe', 'pipe'], // quiet, and in the error if it fails
  })
  const deb = readdirSync(dir).find((f) => f.endsWith('.deb'))
  if (!deb) throw new Error(`no .deb in ${dir}`)
  return join(dir, deb)
}

const contents = (deb: string): string[] =>
  execFileSync('dpkg-deb', ['-c', deb], {encoding: 'utf8'})
    .trim()
    .split('\n')
    .map((line) => line.split(/\s+/).join(' '))

test('procmail built with catbox as the gain-root command equals the fakeroot build', () => {
  const theirs = buildIn(join(T, 'fakeroot'), 'fakeroot')

  // The default template's rules, the way a packager would write them: the
  // build tree's parent (where dpkg-buildpackage writes the .deb) and /tmp.
  execFileSync('node', [bin, 'env', 'create', 'pk', '--fake-root', '--writable', join(T, 'catbox'), '--writable', '/tmp'], {
    env: {...process.env, CATBOX_HOME: home},
    stdio: 'ignore',
  })
  const ours = buildIn(join(T, 'catbox'), `node ${bin} exec pk --`)

  const reference = contents(theirs)
  const built = contents(ours)
  expect(built).toEqual(reference)
  // What the packager asked for, in the listing itself.
  expect(built.find((l) => l.endsWith(' ./usr/bin/procmail'))).toMatch(/^-rwsr-sr-x root\/mail /)
  expect(built.find((l) => l.endsWith(' ./usr/bin/lockfile'))).toMatch(/^-rwxr-sr-x root\/mail /)
  expect(execFileSync('cmp', [theirs, ours], {encoding: 'utf8'})).toBe('')
}, 300_000)
