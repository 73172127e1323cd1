// Files -> packages, and used against declared: pure logic with an injected
// package database and file system.
import {archApplies, parseDeclared, profilesApply, type DeclaredOptions} from '../src/report/declared.js'
import {compareDeclared, findDeps, linkChain, namesUsed, usrMergeVariants, type LinkFs} from '../src/report/deps.js'
import type {LogEvent} from '../src/report/events.js'
import {buildModel} from '../src/report/model.js'
import {
  batches,
  dpkgDb,
  pairRpmOutput,
  parseDependsField,
  parseDpkgInstalled,
  parseDpkgSearch,
  type InstalledPackage,
  type PackageDb,
} from '../src/report/packages.js'

const amd64 = {arch: 'amd64'}

describe('Build-Depends and package lists', () => {
  const names = (text: string, options: DeclaredOptions = amd64) => parseDeclared(text, options).groups.map((g) => g.alternatives.map((a) => a.name))

  test('a control file: the source stanza\'s Build-Depends fields, continuation lines joined', () => {
    const control = [
      'Source: hello',
      'Build-Depends: debhelper-compat (= 13),',
      ' help2man,',
      '# a comment inside the field',
      ' texinfo',
      'Build-Depends-Indep: python3:native',
      'Standards-Version: 4.6.2',
      '',
      'Package: hello',
      'Depends: ${shlibs:Depends}, libfoo1',
    ].join('\n')
    const d = parseDeclared(control, amd64)
    expect(d).toMatchObject({kind: 'build-depends', fields: ['Build-Depends', 'Build-Depends-Indep'], buildEssential: true})
    expect(d.groups.map((g) => g.text)).toEqual(['debhelper-compat (= 13)', 'help2man', 'texinfo', 'python3:native'])
    expect(names(control)).toEqual([['debhelper-compat'], ['help2man'], ['texinfo'], ['python3']])
  })

  test('just the field, with alternatives, versions, arch qualifiers, arch lists and profiles', () => {
    const field =
      'build-depends: gcc-12 | gcc (>= 4:12), libc6-dev:native [linux-any], libfoo-dev [!amd64], ' +
      'libbar-dev [i386 arm64], dh-python <!nocheck>, python3-pytest <!nocheck> <stage1>, stage-tool <stage1 cross>, ${misc:Depends}'
    const d = parseDeclared(field, amd64)
    expect(d.kind).toBe('build-depends')
    expect(d.groups.map((g) => g.alternatives.map((a) => a.name))).toEqual([
      ['gcc-12', 'gcc'],
      ['libc6-dev'],
      ['dh-python'],
      ['python3-pytest'],
    ])
    expect(d.skipped).toEqual([
      {text: 'libfoo-dev [!amd64]', why: 'for other architectures than amd64'},
      {text: 'libbar-dev [i386 arm64]', why: 'for other architectures than amd64'},
      {text: 'stage-tool <stage1 cross>', why: 'only for the build profiles <stage1 cross>'},
      {text: '${misc:Depends}', why: 'a substitution variable, filled in by the packaging tools'},
    ])
    // With the profile active, <!nocheck> drops out and <stage1> comes in.
    expect(names(field, {arch: 'arm64', profiles: ['nocheck', 'stage1', 'cross']})).toEqual([
      ['gcc-12', 'gcc'],
      ['libc6-dev'],
      ['libfoo-dev'],
      ['libbar-dev'],
      ['python3-pytest'],
      ['stage-tool'],
    ])
  })

  test('an alternative that does not apply leaves the others', () => {
    expect(names('libfoo-dev [i386] | libfoo-compat-dev')).toEqual([['libfoo-compat-dev']])
  })

  test('a list: one package a line, comments and blank lines ignored; build-essential only when named', () => {
    expect(parseDeclared('# mine\nmake\n\nlibc6-dev   # headers\npkg-config (>= 0.29)\n', amd64)).toMatchObject({
      kind: 'list',
      buildEssential: false,
      groups: [{text: 'make'}, {text: 'libc6-dev'}, {text: 'pkg-config (>= 0.29)'}],
    })
    expect(parseDeclared('build-essential\nzlib1g-dev\n', amd64).buildEssential).toBe(true)
  })

  test('architecture wildcards', () => {
    expect(archApplies(['linux-any'], 'amd64')).toBe(true)
    expect(archApplies(['any-amd64'], 'amd64')).toBe(true)
    expect(archApplies(['any-i386'], 'amd64')).toBe(false)
    expect(archApplies(['hurd-any'], 'amd64')).toBe(false)
    expect(archApplies(['!hurd-any', '!kfreebsd-any'], 'amd64')).toBe(true)
    expect(archApplies(['!linux-any'], 'amd64')).toBe(false)
    expect(archApplies(['kfreebsd-any'], 'kfreebsd-amd64')).toBe(true)
  })

  test('build profiles: groups are ORed, terms within a group ANDed', () => {
    expect(profilesApply('<!nocheck>', [])).toBe(true)
    expect(profilesApply('<!nocheck>', ['nocheck'])).toBe(false)
    expect(profilesApply('<stage1 !cross>', ['stage1'])).toBe(true)
    expect(profilesApply('<stage1 !cross>', ['stage1', 'cross'])).toBe(false)
    expect(profilesApply('<stage1> <nocheck>', ['nocheck'])).toBe(true)
  })
})

describe('the package databases\' output', () => {
  test('dpkg-query -S: several owners, arch qualifiers, diversions', () => {
    const out = parseDpkgSearch(
      [
        'libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6',
        'diversion by dash from: /bin/sh',
        'diversion by dash to: /bin/sh.distrib',
        'dash: /bin/sh',
        'gcc-12-base:amd64, libgcc-s1:amd64: /usr/share/doc/x',
        'coreutils: /usr/bin/[',
      ].join('\n'),
    )
    expect(Object.fromEntries(out)).toEqual({
      '/lib/x86_64-linux-gnu/libc.so.6': ['libc6'],
      '/bin/sh': ['dash'],
      '/usr/share/doc/x': ['gcc-12-base', 'libgcc-s1'],
      '/usr/bin/[': ['coreutils'],
    })
  })

  test('dpkg-query -S gets literal patterns in batches', async () => {
    const calls: string[][] = []
    const db = dpkgDb(async (_file, args) => {
      calls.push(args)
      return {stdout: args.slice(1).map((p) => `pkg: ${p.replaceAll('\\', '')}`).join('\n'), stderr: '', code: 0}
    })
    const paths = Array.from({length: 4500}, (_, i) => `/usr/include/h${i}.h`)
    const owners = await db.owners([...paths, '/usr/bin/[', 'relative'])
    expect(calls.map((c) => c.length - 1)).toEqual([2000, 2000, 501])
    expect(calls.at(-1)?.at(-1)).toBe('/usr/bin/\\[')
    expect(owners.size).toBe(4501)
    expect(batches(['/a'.repeat(100_000), '/b'.repeat(100_000)]).length).toBe(2)
  })

  test('dpkg-query -W: installed packages, Depends with Pre-Depends, Provides, Essential, multi-arch merged', () => {
    const installed = parseDpkgInstalled(
      [
        'gcc\tinstall ok installed\tno\tcpp (= 4:12.2.0-3), gcc-12 (>= 12.2.0-1~)\t\tc-compiler, gcc-x86-64-linux-gnu (= 4:12.2.0-3)',
        'dash\tinstall ok installed\tyes\tdebianutils (>= 5.6-0.1)\tlibc6 (>= 2.34)\t',
        'libc6\tinstall ok installed\tno\tlibgcc-s1\t\t',
        'libc6\tinstall ok installed\tno\tlibgcc-s1\t\t',
        'oldpkg\tdeinstall ok config-files\tno\t\t\t',
      ].join('\n'),
    )
    expect([...installed.keys()]).toEqual(['gcc', 'dash', 'libc6'])
    expect(installed.get('gcc')).toEqual({
      name: 'gcc',
      depends: [['cpp'], ['gcc-12']],
      provides: ['c-compiler', 'gcc-x86-64-linux-gnu'],
      essential: false,
    })
    expect(installed.get('dash')).toMatchObject({essential: true, depends: [['debianutils'], ['libc6']]})
    expect(parseDependsField('a (>= 1) | b:any, c')).toEqual([['a', 'b'], ['c']])
  })

  test('rpm -qf output pairs up with the paths, or asks again path by path', () => {
    expect(pairRpmOutput(['/a', '/b'], 'glibc\nfile /b is not owned by any package\n')).toEqual(new Map([['/a', ['glibc']]]))
    expect(pairRpmOutput(['/a', '/b'], 'glibc\nglibc-common\nmake\n')).toBeNull()
  })
})

// A small Debian-like system: merged /usr, alternatives, a dev-package symlink.
const LINKS: Record<string, string> = {
  '/usr/bin/cc': '/etc/alternatives/cc',
  '/etc/alternatives/cc': '/usr/bin/gcc',
  '/usr/bin/gcc': 'gcc-12',
  '/usr/bin/gcc-12': 'x86_64-linux-gnu-gcc-12',
  '/usr/lib/x86_64-linux-gnu/libz.so': 'libz.so.1.2.13',
  '/build/zlink': '/usr/lib/x86_64-linux-gnu/libz.so.1.2.13',
}
const fakeFs: LinkFs = {
  readlink: (p) => LINKS[p] ?? null,
  isDirectory: (p) => p === '/usr/include',
  realpath: (p) => {
    let current = p.replace(/^\/(bin|lib|sbin)\//, '/usr/$1/')
    for (let i = 0; i < 10 && LINKS[current]; i++) {
      const target = LINKS[current]
      current = target.startsWith('/') ? target : current.replace(/[^/]*$/, target)
    }
    return REAL.has(current) ? current : null
  },
}
const REAL = new Set([
  '/usr/bin/x86_64-linux-gnu-gcc-12',
  '/usr/bin/make',
  '/usr/lib/x86_64-linux-gnu/libc.so.6',
  '/usr/include/stdio.h',
  '/usr/lib/x86_64-linux-gnu/libz.so.1.2.13',
  '/build/hello.c',
])
/** What dpkg registers: the merged-/usr libc under /lib, the rest under /usr. */
const OWNERS: Record<string, string[]> = {
  '/usr/bin/gcc': ['gcc'],
  '/usr/bin/gcc-12': ['gcc-12'],
  '/usr/bin/x86_64-linux-gnu-gcc-12': ['gcc-12'],
  '/usr/bin/make': ['make'],
  '/lib/x86_64-linux-gnu/libc.so.6': ['libc6'],
  '/usr/include/stdio.h': ['libc6-dev'],
  // dpkg gives a directory to every package with a file in it.
  '/usr/include': ['libc6-dev', 'linux-libc-dev', 'zlib1g-dev'],
  '/usr/lib/x86_64-linux-gnu/libz.so.1.2.13': ['zlib1g'],
  '/usr/lib/x86_64-linux-gnu/libz.so': ['zlib1g-dev'],
}

function fakeDb(installed: Map<string, InstalledPackage> | null = null): PackageDb & {asked: string[][]} {
  const asked: string[][] = []
  return {
    manager: 'dpkg',
    asked,
    async owners(paths) {
      asked.push(paths)
      return new Map(paths.filter((p) => OWNERS[p]).map((p) => [p, OWNERS[p]]))
    },
    async installed() {
      return installed
    },
    async arch() {
      return 'amd64'
    },
  }
}

type Untimed<E> = E extends unknown ? Omit<E, 'ts'> : never
/** Events one µs apart. */
const ev = (events: Array<Untimed<LogEvent>>): LogEvent[] => events.map((e, i) => ({ts: i, ...e}) as LogEvent)

/**
 * make runs cc (found as /usr/bin/cc), which reads stdio.h, libc under its
 * /usr name, libz.so under its /lib name, and libz's real file through a link
 * in the build tree.
 */
async function buildModelOfCc() {
  return buildModel(
    ev([
      {t: 'proc', pid: 10, ppid: 1},
      {t: 'exec', pid: 10, path: '/usr/bin/make', argv: ['make'], cwd: '/build'},
      {t: 'proc', pid: 11, ppid: 10},
      {t: 'exec', pid: 11, path: '/usr/bin/x86_64-linux-gnu-gcc-12', argv: ['cc', '-o', 'hello', 'hello.c'], cwd: '/build'},
      {t: 'read', pid: 11, op: 'openat', path: '/usr/lib/x86_64-linux-gnu/libc.so.6', ok: true},
      {t: 'read', pid: 11, op: 'openat', path: '/build/hello.c', ok: true},
      {t: 'read', pid: 11, op: 'openat', path: '/usr/local/include/stdio.h', ok: false},
      {t: 'read', pid: 11, op: 'openat', path: '/usr/include', ok: true},
      {t: 'read', pid: 11, op: 'openat', path: '/usr/include/stdio.h', ok: true},
      {t: 'read', pid: 11, op: 'openat', path: '/proc/self/maps', ok: true},
      {t: 'read', pid: 11, op: 'openat', path: '/build/hello.o', ok: true},
      {t: 'write', pid: 11, op: 'openat', path: '/build/hello.o', ok: true},
      {t: 'read', pid: 11, op: 'openat', path: '/lib/x86_64-linux-gnu/libz.so', ok: true},
      {t: 'read', pid: 11, op: 'openat', path: '/build/zlink', ok: true},
      {t: 'exit', pid: 11, code: 0},
      {t: 'exit', pid: 10, code: 0},
    ]),
  )
}

describe('files to packages', () => {
  test('merged-/usr variants both ways, only for the merged directories', () => {
    expect(usrMergeVariants('/usr/lib/x86_64-linux-gnu/libc.so.6')).toEqual(['/lib/x86_64-linux-gnu/libc.so.6'])
    expect(usrMergeVariants('/lib/x86_64-linux-gnu/libc.so.6')).toEqual(['/usr/lib/x86_64-linux-gnu/libc.so.6'])
    expect(usrMergeVariants('/usr/bin/make')).toEqual(['/bin/make'])
    expect(usrMergeVariants('/sbin/ldconfig')).toEqual(['/usr/sbin/ldconfig'])
    expect(usrMergeVariants('/usr/lib64/ld-linux-x86-64.so.2')).toEqual(['/lib64/ld-linux-x86-64.so.2'])
    expect(usrMergeVariants('/usr/include/stdio.h')).toEqual([])
    expect(usrMergeVariants('/usr/libexec/x')).toEqual([])
    expect(usrMergeVariants('/library/x')).toEqual([])
    expect(usrMergeVariants('/usr/binx/y')).toEqual([])
  })

  test('the name a program was run by, through its symlink chain', async () => {
    expect(linkChain('/usr/bin/cc', fakeFs)).toEqual(['/usr/bin/cc', '/etc/alternatives/cc', '/usr/bin/gcc', '/usr/bin/gcc-12'])
    expect(linkChain('/usr/bin/make', fakeFs)).toEqual([])
    const used = namesUsed(await buildModelOfCc(), fakeFs)
    expect([...used.keys()]).toEqual(['/usr/bin/cc'])
  })

  test('each file goes to its owner: merged-/usr forms, symlinks resolved, names the build used', async () => {
    const db = fakeDb()
    const deps = await findDeps(await buildModelOfCc(), db, fakeFs)
    expect(deps.packages.map((p) => [p.name, p.files, p.examples])).toEqual([
      // /usr/bin/cc is no package's, /etc/alternatives/cc neither: the first owned link is gcc's.
      ['gcc', 1, ['/usr/bin/cc']],
      ['gcc-12', 1, ['/usr/bin/x86_64-linux-gnu-gcc-12']],
      ['libc6', 1, ['/usr/lib/x86_64-linux-gnu/libc.so.6']],
      ['libc6-dev', 1, ['/usr/include/stdio.h']],
      ['make', 1, ['/usr/bin/make']],
      ['zlib1g', 1, ['/build/zlink']],
      ['zlib1g-dev', 1, ['/lib/x86_64-linux-gnu/libz.so']],
    ])
    expect(deps.unowned).toEqual({count: 1, examples: ['/build/hello.c']})
    // The directory /usr/include, /proc/self/maps, and hello.o which the build wrote itself.
    expect(deps.ignored).toBe(3)
    expect(db.asked).toHaveLength(2)
    expect(db.asked[0]).toContain('/lib/x86_64-linux-gnu/libc.so.6')
    expect(db.asked[1]).toEqual(['/usr/lib/x86_64-linux-gnu/libz.so.1.2.13', '/lib/x86_64-linux-gnu/libz.so.1.2.13'])
  })
})

describe('used against declared', () => {
  const pkg = (name: string, depends: string[][] = [], extra: Partial<InstalledPackage> = {}): [string, InstalledPackage] => [
    name,
    {name, depends, provides: [], essential: false, ...extra},
  ]
  const installed = new Map([
    pkg('build-essential', [['libc6-dev', 'libc-dev'], ['gcc'], ['g++'], ['make'], ['dpkg-dev']]),
    pkg('gcc', [['cpp'], ['gcc-12']]),
    pkg('gcc-12', [['cpp-12'], ['binutils'], ['libc6']]),
    pkg('g++', [['gcc']]),
    pkg('make'),
    pkg('dpkg-dev'),
    pkg('libc6-dev', [['libc6']], {provides: ['libc-dev']}),
    pkg('libc6'),
    pkg('zlib1g', [['libc6']]),
    pkg('zlib1g-dev', [['zlib1g']]),
    pkg('texinfo'),
    pkg('help2man'),
    pkg('dash', [], {essential: true}),
  ])
  const used = (...names: string[]) => ({
    manager: 'dpkg' as const,
    packages: names.map((name) => ({name, files: 1, examples: [`/x/${name}`]})),
    considered: names.length,
    unowned: {count: 0, examples: []},
    ignored: 0,
  })

  test('a Build-Depends field implies build-essential and Essential; a used library outside them is missing', () => {
    const declared = parseDeclared('Build-Depends: debhelper-compat (= 13), help2man, texinfo', amd64)
    const cmp = compareDeclared(used('gcc-12', 'libc6-dev', 'libc6', 'make', 'dash', 'zlib1g', 'help2man'), declared, installed)
    expect(cmp.undeclared.map((p) => p.name)).toEqual(['zlib1g'])
    expect(cmp.used).toEqual([{declared: 'help2man', by: ['help2man']}])
    expect(cmp.unused).toEqual([
      {declared: 'debhelper-compat (= 13)', why: 'not installed'},
      {declared: 'texinfo', why: 'the build read no file of it'},
    ])
    expect(cmp.covered).toEqual([
      {name: 'dash', via: 'essential'},
      {name: 'gcc-12', via: 'build-essential'},
      {name: 'libc6', via: 'build-essential'},
      {name: 'libc6-dev', via: 'build-essential'},
      {name: 'make', via: 'build-essential'},
    ])
    expect(cmp.implied.join('\n')).toMatch(/build-essential .* implied/)
  })

  test('a plain list: only what it names (and their dependencies) count; virtual names and meta packages', () => {
    const declared = parseDeclared('gcc\nlibc-dev\nzlib1g-dev\nmake\n', amd64)
    const cmp = compareDeclared(used('gcc-12', 'libc6-dev', 'libc6', 'zlib1g', 'pkg-config'), declared, installed)
    expect(cmp.undeclared.map((p) => p.name)).toEqual(['pkg-config'])
    expect(cmp.used).toEqual([
      // gcc owns no file the build read, but gcc-12, which it depends on, is used.
      {declared: 'gcc', by: ['gcc-12']},
      {declared: 'libc-dev', by: ['libc6-dev']},
      {declared: 'zlib1g-dev', by: ['zlib1g']},
    ])
    expect(cmp.unused).toEqual([{declared: 'make', why: 'the build read no file of it'}])
    expect(cmp.covered).toEqual([
      {name: 'gcc-12', via: 'gcc'},
      {name: 'libc6', via: 'libc-dev'},
      {name: 'zlib1g', via: 'zlib1g-dev'},
    ])
  })

  test('alternatives: either one satisfies the entry', () => {
    const declared = parseDeclared('Build-Depends: libz-dev | zlib1g-dev, texinfo | help2man', amd64)
    const cmp = compareDeclared(used('zlib1g-dev', 'help2man'), declared, installed)
    expect(cmp.undeclared).toEqual([])
    expect(cmp.unused).toEqual([])
    expect(cmp.used.map((u) => u.by)).toEqual([['zlib1g-dev'], ['help2man']])
  })

  test('without dependency information (rpm) only named packages count', () => {
    const declared = parseDeclared('gcc\nmake\n', amd64)
    const cmp = compareDeclared({...used('gcc', 'glibc-devel'), manager: 'rpm'}, declared, null)
    expect(cmp.undeclared.map((p) => p.name)).toEqual(['glibc-devel'])
    expect(cmp.unused).toEqual([{declared: 'make', why: 'the build read no file of it'}])
    expect(cmp.implied).toEqual(['rpm dependencies are not package names: only the packages the file names count as declared'])
  })
})
