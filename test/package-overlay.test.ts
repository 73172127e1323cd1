// A real Debian package built entirely inside an overlay + fake-root
// environment: `dpkg-buildpackage -b` runs in the guest view, its build tree
// and objects land in the environment's root, and the .debs come out through
// a read-write map. cjson (cmake + debhelper) is the case that matters:
// dh_clean and dh_auto_clean run `find` over a build tree after debhelper has
// written into it, which needs a directory to have one identity whichever way
// it is asked (by name, by an open descriptor, by `..`). The .debs must be
// the same bytes as a build outside catbox (cjson declares
// Rules-Requires-Root: no, so that build needs no fakeroot), and the host's
// copy of the source must be left as it was.
import {execFileSync} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {bin, projectRoot, tempDir} from './helpers/cli.js'

const T = tempDir('catbox-pkg-overlay-')
const home = join(T, 'home')
const src = (): string =>
  execFileSync(join(projectRoot, 'test', 'fixtures', 'fetch-source.sh'), ['cjson'], {encoding: 'utf8'}).trim()
const debs = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.deb')).sort()
const treeListing = (dir: string): string =>
  execFileSync('sh', ['-c', 'find . -printf "%y %m %s %T@ %p\\n" | sort'], {cwd: dir, encoding: 'utf8'})

test('cjson built by dpkg-buildpackage inside an overlay with fake root equals a build outside', () => {
  const reference = join(T, 'bare')
  execFileSync('mkdir', ['-p', reference])
  execFileSync('cp', ['-a', src(), join(reference, 'cjson')])
  execFileSync('dpkg-buildpackage', ['-b', '-us', '-uc'], {
    cwd: join(reference, 'cjson'),
    stdio: ['ignore', 'pipe', 'pipe'], // quiet, and in the error if it fails
  })

  const tree = join(T, 'guest')
  const out = join(T, 'out')
  execFileSync('mkdir', ['-p', tree, out])
  execFileSync('cp', ['-a', src(), join(tree, 'cjson')])
  const before = treeListing(tree)
  const env = {...process.env, CATBOX_HOME: home}
  execFileSync('node', [bin, 'env', 'create', 'ov', '--overlay', '--fake-root', '--writable', '/', '--map', `${out}:/out:rw`], {
    env,
    stdio: 'ignore',
  })
  let status = 0
  try {
    execFileSync(
      'node',
      [bin, 'exec', 'ov', '--', 'sh', '-c', `dpkg-buildpackage -b -us -uc > /out/build.log 2>&1 && cp ../*.deb /out/`],
      {cwd: join(tree, 'cjson'), env, stdio: ['ignore', 'pipe', 'pipe']},
    )
  } catch (error) {
    status = (error as {status: number}).status
  }
  if (status !== 0) throw new Error(`the build failed (${status}):\n${readFileSync(join(out, 'build.log'), 'utf8').slice(-3000)}`)

  expect(debs(out)).toEqual(debs(reference))
  expect(debs(out).length).toBeGreaterThanOrEqual(2)
  for (const deb of debs(out)) {
    expect(execFileSync('cmp', [join(reference, deb), join(out, deb)], {encoding: 'utf8'})).toBe('')
  }
  // Everything the build wrote went to the environment's root.
  expect(treeListing(tree)).toBe(before)
}, 400_000)
