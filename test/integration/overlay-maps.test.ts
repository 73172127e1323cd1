// Path maps of the guest view under real programs: a host directory shown at
// a guest path, read-only (writes get EROFS) or read-write (writes reach the
// host), with and without the root overlay; map points where the host has
// nothing; the longest prefix winning; renames across a map boundary (EXDEV).
import {describe, expect, test} from '@jest/globals'
import {existsSync, mkdirSync, readdirSync, readFileSync} from 'node:fs'
import {basename, join} from 'node:path'

import {expectClean, fingerprint, inUpper, makeOverlay, makeTree, PYTHON, runGuest, whiteoutsOf} from '../helpers/overlay.js'
import type {OverlayFixture} from '../helpers/overlay.js'

const lines = (...l: string[]) => l.map((x) => `${x}\n`).join('')

/** A guest path that exists nowhere on the host: /catbox-test-map-<unique>. */
const nowhere = (fx: OverlayFixture) => `/catbox-test-map-${basename(fx.tmp.base)}`

/** A second host directory for maps (base/mapped) holding entries. */
function mapped(fx: OverlayFixture, name: string, entries: Record<string, string | null>): string {
  const dir = join(fx.tmp.base, name)
  mkdirSync(dir)
  makeTree(dir, entries)
  return dir
}

describe.each([
  ['with the root overlay', true],
  ['maps only', false],
])('%s', (_name, root) => {
  test('a read-only map: reads work, every kind of write fails with EROFS, the host is unchanged', async () => {
    const fx = makeOverlay()
    const src = mapped(fx, 'ro', {a: 'a\n', 'sub/b': 'b\n'})
    const before = fingerprint(src)
    const M = `${nowhere(fx)}/ro`
    const script = [
      `cat ${M}/a ${M}/sub/b; ls ${M}; find ${M} | sort`,
      `echo x > ${M}/new 2>&1`,
      `echo x >> ${M}/a`,
      `rm ${M}/a`,
      `mkdir ${M}/d`,
      `touch ${M}/a`,
      `chmod 600 ${M}/a`,
      `mv ${M}/a ${M}/a2`,
      `ln -s a ${M}/l`,
      `rm -r ${M}/sub`,
      'true',
    ].join('\n')
    const r = await runGuest(fx, script, {root, maps: [{host: src, guest: M, mode: 'ro'}]})
    expect(r.result.exitCode).toBe(0)
    expect(r.stdout).toBe(lines('a', 'b', 'a', 'sub', M, `${M}/a`, `${M}/sub`, `${M}/sub/b`))
    const errors = r.stderr.split('\n').filter(Boolean)
    expect(errors).toHaveLength(9)
    for (const line of errors) expect(line).toMatch(/Read-only file system/)
    // EROFS is recorded, never EACCES.
    expect(r.result.violations.length).toBeGreaterThan(0)
    for (const v of r.result.violations) expect(v).toMatchObject({denied: true, error: 'EROFS'})
    expect(fingerprint(src)).toEqual(before)
    if (root) expect(readdirSync(fx.upper)).toEqual([])
  })

  test('a read-write map: writes, removals and renames inside it reach the host directory', async () => {
    const fx = makeOverlay()
    const src = mapped(fx, 'rw', {a: 'a\n', b: 'b\n', 'sub/c': 'c\n'})
    const M = `${nowhere(fx)}/rw`
    const script = [
      `echo more >> ${M}/a && echo new > ${M}/new && rm ${M}/b && mv ${M}/sub ${M}/sub2 && mkdir ${M}/d && chmod 600 ${M}/a`,
      `ls ${M}; cat ${M}/a`,
    ].join('\n')
    const r = await runGuest(fx, script, {root, maps: [{host: src, guest: M, mode: 'rw'}]})
    expectClean(r)
    expect(r.stdout).toBe(lines('a', 'd', 'new', 'sub2', 'a', 'more'))
    expect(readdirSync(src).sort()).toEqual(['a', 'd', 'new', 'sub2'])
    expect(readFileSync(join(src, 'a'), 'utf8')).toBe('a\nmore\n')
    expect(readFileSync(join(src, 'sub2/c'), 'utf8')).toBe('c\n')
    if (root) {
      expect(readdirSync(fx.upper)).toEqual([])
      expect(whiteoutsOf(fx)).toBe('')
    }
  })

  test('a map at a guest path the host does not have: the parent lists it, cd works, paths are guest paths', async () => {
    const fx = makeOverlay()
    const src = mapped(fx, 'src', {'file.c': 'int x;\n', 'inc/h.h': '\n'})
    const top = nowhere(fx)
    const M = `${top}/src`
    const script = [
      `ls / | grep -x ${basename(top)}`,
      `ls ${top}; ls -d ${top}; stat -c %F ${top}`,
      `cd ${M} && pwd && pwd -P && readlink /proc/self/cwd && realpath inc/h.h`,
      `${PYTHON} -c 'import os; print(os.getcwd(), sorted(os.listdir(".")), sorted(os.listdir("..")))'`,
      'cd .. && pwd -P && cd .. && pwd -P',
    ].join('\n')
    const r = await runGuest(fx, script, {root, maps: [{host: src, guest: M, mode: 'ro'}]})
    expectClean(r)
    expect(r.stdout).toBe(
      lines(basename(top), 'src', top, 'directory', M, M, M, `${M}/inc/h.h`, `${M} ['file.c', 'inc'] ['src']`, top, '/'),
    )
    expect(r.stdout).not.toContain(src)
    expect(existsSync(top)).toBe(false)
    if (root) expect(readdirSync(fx.upper)).toEqual([])
  })

  test('a run may start inside a map point the host does not have', async () => {
    const fx = makeOverlay()
    const src = mapped(fx, 'src', {f: 'f\n'})
    const M = `${nowhere(fx)}/src`
    const r = await runGuest(fx, 'pwd -P; ls; cat f', {root, cwd: M, maps: [{host: src, guest: M, mode: 'ro'}]})
    expectClean(r)
    expect(r.stdout).toBe(lines(M, 'f', 'f'))
  })

  test('the longest prefix wins: /x/a and /x/a/b mapped to different host directories', async () => {
    const fx = makeOverlay()
    const A = mapped(fx, 'hostA', {x: 'from A\n', 'b/y': 'A under b\n', 'b/only-in-A': '\n'})
    const B = mapped(fx, 'hostB', {y: 'from B\n'})
    const top = nowhere(fx)
    const beforeA = fingerprint(A)
    const script = [
      `cat ${top}/a/x ${top}/a/b/y`,
      `ls ${top}/a; ls ${top}/a/b`,
      `echo new > ${top}/a/b/z`,
      `cd ${top}/a/b && pwd -P`,
    ].join('\n')
    const r = await runGuest(fx, script, {
      root,
      maps: [
        {host: A, guest: `${top}/a`, mode: 'ro'},
        {host: B, guest: `${top}/a/b`, mode: 'rw'},
      ],
    })
    expectClean(r)
    expect(r.stdout).toBe(lines('from A', 'from B', 'b', 'x', 'y', `${top}/a/b`))
    expect(readFileSync(join(B, 'z'), 'utf8')).toBe('new\n')
    expect(fingerprint(A)).toEqual(beforeA)
  })

  test('a map over an existing host directory hides what the host has there', async () => {
    const fx = makeOverlay()
    makeTree(fx.host, {'mnt/host-only': 'h', 'mnt/both': 'host'})
    const src = mapped(fx, 'src', {both: 'map\n', 'map-only': 'm'})
    const before = fingerprint(fx.host)
    const r = await runGuest(fx, 'ls mnt; cat mnt/both; cat mnt/host-only 2>&1 || true', {
      root,
      maps: [{host: src, guest: join(fx.host, 'mnt'), mode: 'ro'}],
    })
    expect(r.result.violations).toEqual([])
    expect(r.stdout).toBe(lines('both', 'map-only', 'map', 'cat: mnt/host-only: No such file or directory'))
    expect(fingerprint(fx.host)).toEqual(before)
  })

  test('a read-write map is still under the write rules', async () => {
    const fx = makeOverlay()
    const src = mapped(fx, 'rw', {a: 'a\n'})
    const before = fingerprint(src)
    const M = `${nowhere(fx)}/rw`
    const r = await runGuest(fx, `echo x >> ${M}/a; echo rc=$?; cat ${M}/a`, {
      root,
      writable: [fx.tmp.allowed],
      maps: [{host: src, guest: M, mode: 'rw'}],
    })
    expect(r.stdout).toBe(lines('rc=2', 'a'))
    expect(r.stderr).toContain('Permission denied')
    expect(r.result.violations).toEqual([
      expect.objectContaining({operation: 'openat', canonical: `${M}/a`, denied: true, error: 'EACCES'}),
    ])
    expect(fingerprint(src)).toEqual(before)
  })
})

describe('renames across a map boundary', () => {
  test('mv from a read-write map to the root overlay falls back to a copy; os.rename gets EXDEV', async () => {
    const fx = makeOverlay()
    makeTree(fx.host, {keep: 'k'})
    const before = fingerprint(fx.host)
    const src = mapped(fx, 'rw', {moved: 'moved\n', 'dir/x': 'x\n', pyfile: 'p\n'})
    const M = `${nowhere(fx)}/rw`
    const py = [
      'import os',
      `for a, b in [("${M}/pyfile", "py-dest"), ("keep", "${M}/keep")]:`,
      '    try:',
      '        os.rename(a, b)',
      '        print("renamed")',
      '    except OSError as e:',
      '        print(e.errno)',
    ].join('\n')
    const script = [
      `mv ${M}/moved . 2>&1 && cat moved`,
      `mv ${M}/dir . 2>&1 && cat dir/x`,
      `${PYTHON} - <<'EOF'\n${py}\nEOF`,
      `ls; ls ${M}`,
    ].join('\n')
    const r = await runGuest(fx, script, {maps: [{host: src, guest: M, mode: 'rw'}]})
    expectClean(r)
    expect(r.stdout).toBe(lines('moved', 'x', '18', '18', 'dir', 'keep', 'moved', 'pyfile'))
    // The copy landed in upper; the source left the read-write map's host directory.
    expect(readFileSync(inUpper(fx, join(fx.host, 'moved')), 'utf8')).toBe('moved\n')
    expect(readFileSync(inUpper(fx, join(fx.host, 'dir/x')), 'utf8')).toBe('x\n')
    expect(readdirSync(src)).toEqual(['pyfile'])
    expect(fingerprint(fx.host)).toEqual(before)
  })

  test('between two read-write maps of the same host directory: EXDEV, and mv copies', async () => {
    const fx = makeOverlay()
    const rw = mapped(fx, 'rw', {g: 'g\n', h: 'h\n'})
    const top = nowhere(fx)
    const py = ['import os', 'try:', `    os.rename("${top}/rw/g", "${top}/rw2/g2")`, 'except OSError as e:', '    print(e.errno)']
      .join('\n')
    const script = [`${PYTHON} - <<'EOF'\n${py}\nEOF`, `mv ${top}/rw/h ${top}/rw2/h2 2>&1; echo rc=$?; ls ${top}/rw2`].join('\n')
    const r = await runGuest(fx, script, {
      maps: [
        {host: rw, guest: `${top}/rw`, mode: 'rw'},
        {host: rw, guest: `${top}/rw2`, mode: 'rw'},
      ],
    })
    expectClean(r)
    expect(r.stdout).toBe(lines('18', 'rc=0', 'g', 'h2'))
    expect(readdirSync(rw).sort()).toEqual(['g', 'h2'])
    expect(readdirSync(fx.upper)).toEqual([])
  })

  // The kernel checks for a mount crossing first (EXDEV), so mv copies, then
  // fails to remove.
  test('out of a read-only map: EXDEV as the kernel answers first, so mv copies and only the removal fails', async () => {
    const fx = makeOverlay()
    const ro = mapped(fx, 'ro', {f: 'f\n', g: 'g\n'})
    const beforeRo = fingerprint(ro)
    const M = `${nowhere(fx)}/ro`
    const py = ['import os', 'try:', `    os.rename("${M}/g", "g")`, 'except OSError as e:', '    print(e.errno)'].join('\n')
    const script = [`${PYTHON} - <<'EOF'\n${py}\nEOF`, `mv ${M}/f . 2>&1; echo rc=$?; cat f`].join('\n')
    const r = await runGuest(fx, script, {maps: [{host: ro, guest: M, mode: 'ro'}]})
    expect(r.stdout).toBe(lines('18', `mv: cannot remove '${M}/f': Read-only file system`, 'rc=1', 'f'))
    expect(fingerprint(ro)).toEqual(beforeRo)
  })
})
