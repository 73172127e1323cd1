import {mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'

import {CatboxError} from '../src/lib/errors.js'
import {loadNative, type NativeRule} from '../src/run/native.js'
import {DEVICE_PATHS, MAX_BRACE_EXPANSIONS, deviceRules, expandBraces, parseRule, parseRules} from '../src/run/rules.js'

// A canonical scratch directory, so expected paths do not depend on where tmp lives:
//   real/            a directory
//   link -> real     an absolute symlink to it
//   rel -> link      a relative symlink to that symlink
//   dangling -> real/missing
//   loop1 <-> loop2
//   we[ird/ and wl -> we[ird   (glob syntax inside a canonical name)
const T = realpathSync(mkdtempSync(join(tmpdir(), 'catbox-rules-')))
beforeAll(() => {
  mkdirSync(join(T, 'real'))
  symlinkSync(join(T, 'real'), join(T, 'link'))
  symlinkSync('link', join(T, 'rel'))
  symlinkSync(join(T, 'real', 'missing'), join(T, 'dangling'))
  symlinkSync('loop2', join(T, 'loop1'))
  symlinkSync('loop1', join(T, 'loop2'))
  mkdirSync(join(T, 'we[ird'))
  symlinkSync('we[ird', join(T, 'wl'))
})
afterAll(() => rmSync(T, {recursive: true, force: true}))

const prefix = (pattern: string): NativeRule => ({kind: 'prefix', pattern})
const glob = (pattern: string): NativeRule => ({kind: 'glob', pattern})

function failure(rule: string, cwd = T): CatboxError {
  try {
    parseRule(rule, cwd)
  } catch (error) {
    expect(error).toBeInstanceOf(CatboxError)
    return error as CatboxError
  }
  throw new Error(`rule ${JSON.stringify(rule)} was accepted`)
}

describe('prefix rules are normalised and canonicalised', () => {
  // Rules and results are written relative to T ("@" stands for T).
  test.each<[string, string, string]>([
    ['an absolute path that does not exist yet', '@/out', '@/out'],
    ['doubled slashes', '@//out//sub', '@/out/sub'],
    ['"." components', '@/./out/.', '@/out'],
    ['".." is removed lexically, like cd in a shell', '@/x/../out', '@/out'],
    ['".." before a symlink is removed before the symlink is looked at', '@/link/../out', '@/out'],
    ['a trailing slash', '@/out/', '@/out'],
    ['the root', '/', '/'],
    ['".." above the root', '/../..', '/'],
    ['a relative path is taken from cwd', 'out/sub', '@/out/sub'],
    ['"." is cwd', '.', '@'],
    ['a symlinked directory', '@/link', '@/real'],
    ['a path below a symlinked directory that does not exist yet', '@/link/new/file', '@/real/new/file'],
    ['a relative symlink to a symlink', '@/rel/x', '@/real/x'],
    ['a dangling symlink is followed like the kernel would on create', '@/dangling/x', '@/real/missing/x'],
    ['a relative rule through a symlink', 'link/x', '@/real/x'],
  ])('%s: %s', (_name, rule, expected) => {
    const at = (s: string) => s.replaceAll('@', T)
    expect(parseRule(at(rule), T)).toEqual([prefix(at(expected))])
  })

  test.each(['/catbox-no-such-dir', '/catbox-no-such-dir/sub/file'])('a path none of whose components exists stays as written: %s', (rule) => {
    expect(parseRule(rule, T)).toEqual([prefix(rule)])
    expect(parseRule(`${rule}/*.o`, T)).toEqual([glob(`${rule}/*.o`)])
  })

  test('a relative ".." climbs out of cwd', () => {
    expect(parseRule('../sibling', T)).toEqual([prefix(join(dirname(T), 'sibling'))])
  })

  test('a symlink loop is refused with the place it was found', () => {
    expect(failure(`${T}/loop1/x`).message).toMatch(/too many levels of symbolic links at .*loop1/)
  })

  test('the same rule written twice is passed once', () => {
    expect(parseRules([`${T}/out`, `${T}/out/`, `${T}//out`], T)).toEqual([prefix(`${T}/out`)])
  })
})

describe('glob rules', () => {
  test.each<[string, string, string[]]>([
    ['a wildcard keeps the rule a glob', '@/*.o', ['@/*.o']],
    ['the literal head is canonicalised', '@/link/**/*.o', ['@/real/**/*.o']],
    ['slashes, "." and a trailing slash are normalised', '@//src/./*/x/', ['@/src/*/x']],
    ['".." before the first wildcard is removed', '@/a/../b/?', ['@/b/?']],
    ['brackets', '@/out[0-9]/[!.]*', ['@/out[0-9]/[!.]*']],
    ['"]" first in a bracket is a member', '@/[]a]', ['@/[]a]']],
    ['an escaped "[" needs no "]"', '@/a\\[b*', ['@/a\\[b*']],
    ['braces expand to several globs', '@/{a,b}/*.o', ['@/a/*.o', '@/b/*.o']],
    ['nested braces', '@/{a,b{1,2}}/*', ['@/a/*', '@/b1/*', '@/b2/*']],
    ['braces in two places', '@/{a,b}/{c,d}*', ['@/a/c*', '@/a/d*', '@/b/c*', '@/b/d*']],
    ['a canonical head is escaped so native reads it literally', '@/wl/*.o', ['@/we\\[ird/*.o']],
  ])('%s: %s', (_name, rule, expected) => {
    const at = (s: string) => s.replaceAll('@', T)
    expect(parseRule(at(rule), T)).toEqual(expected.map((p) => glob(at(p))))
  })

  test('braces without a wildcard give canonical prefix rules', () => {
    expect(parseRule(`${T}/{out,link}`, T)).toEqual([prefix(`${T}/out`), prefix(`${T}/real`)])
  })

  test('an empty alternative', () => {
    expect(parseRule(`${T}/f{,.bak}`, T)).toEqual([prefix(`${T}/f`), prefix(`${T}/f.bak`)])
  })

  test('an escaped brace is a literal character of a prefix', () => {
    expect(parseRule(`${T}/a\\{b`, T)).toEqual([prefix(`${T}/a{b`)])
  })

  test.each<[string, string, RegExp]>([
    ['an unclosed "{"', '/tmp/{a,b/*', /invalid write rule "\/tmp\/\{a,b\/\*": "\{" at offset 5 is never closed/],
    ['an inner "{" left open', '/tmp/{a,{b}/*', /"\{" at offset 5 is never closed/],
    ['a "}" without "{"', '/tmp/a}/*', /"}" at offset 6 has no matching "\{"/],
    ['an unclosed "["', '/tmp/out[0-9', /"\[" is not closed by "]" within one path component/],
    ['a bracket spanning a "/"', '/tmp/out[0-9/x]', /"\[" is not closed by "]" within one path component/],
    ['".." after a wildcard', '/tmp/*/../x', /"\.\." after a wildcard in "\/tmp\/\*\/\.\.\/x" cannot be resolved/],
    ['a relative glob', 'src/*.o', /the glob "src\/\*\.o" is not an absolute path/],
    ['a relative alternative', '{/tmp,rel}/*', /the glob "rel\/\*" is not an absolute path/],
  ])('refuses %s', (_name, rule, message) => {
    expect(failure(rule).message).toMatch(message)
  })

  test('a relative glob error shows the absolute form to write', () => {
    expect(failure('src/*.o').message).toContain(`"${T}/src/*.o"`)
  })

  test(`brace expansion stops beyond ${MAX_BRACE_EXPANSIONS} patterns`, () => {
    expect(failure('/x/' + '{a,b}'.repeat(11)).message).toMatch(/braces expand to more than 1024 patterns/)
    expect(expandBraces('/x/' + '{a,b}'.repeat(10))).toHaveLength(1024)
  })
})

describe('PCRE rules', () => {
  test('this build has PCRE2 (CI installs libpcre2-dev)', () => {
    expect(loadNative().hasPcre2).toBe(true)
  })

  test('a valid expression is passed through without "~"', () => {
    expect(parseRule('~/tmp/build-[0-9]+/', T)).toEqual([{kind: 'pcre', pattern: '/tmp/build-[0-9]+/'}])
  })

  test('an invalid expression is refused with the PCRE2 message and offset', () => {
    expect(failure('~a(b').message.split('\n')[0]).toBe(
      'catbox: invalid regular expression in rule "~a(b": missing closing parenthesis at offset 3',
    )
  })

  test('an empty expression is refused', () => {
    expect(failure('~').message).toMatch(/the regular expression is empty/)
  })
})

describe('any rule', () => {
  test.each([
    ['an empty rule', '', /empty write rule/],
    ['a NUL byte', '/tmp/a\0b', /NUL byte/],
  ])('refuses %s', (_name, rule, message) => {
    expect(failure(rule).message).toMatch(message)
  })

  test('errors for people say what to do on their last line', () => {
    const lines = failure('/tmp/{a').message.split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[1]).toMatch(/^Balance the braces/)
  })
})

describe('device rules', () => {
  test('cover the data devices and terminals as canonical prefixes', () => {
    const rules = deviceRules()
    for (const rule of rules) {
      expect(rule.kind).toBe('prefix')
      expect(rule.pattern).toBe(realpathSync.native(rule.pattern))
    }
    // /dev/ptmx may be a symlink into /dev/pts; every device path is covered either way.
    const covered = (path: string) =>
      rules.some((r) => realpathSync.native(path) === r.pattern || realpathSync.native(path).startsWith(r.pattern + '/'))
    for (const path of DEVICE_PATHS) expect(covered(path)).toBe(true)
    expect(DEVICE_PATHS).not.toContain('/dev/console')
  })
})

describe('native matches the rules as parsed here', () => {
  const allows = (rules: string[], path: string) =>
    loadNative().matchRules(
      parseRules(rules.map((r) => r.replaceAll('@', T)), T),
      path.replaceAll('@', T),
    )

  test.each<[string, string[], string, boolean]>([
    ['a prefix allows itself', ['@/out'], '@/out', true],
    ['a prefix allows what is below it', ['@/out'], '@/out/a/b', true],
    ['a prefix compares whole components', ['@/out'], '@/outside', false],
    ['a symlinked prefix allows the real path', ['@/link'], '@/real/f', true],
    ['a glob allows a matching path', ['@/*.d'], '@/x.d', true],
    ['a glob allows what is below a matching directory', ['@/*.d'], '@/x.d/f', true],
    ['"*" stays within a component', ['@/*.o'], '@/a/b.o', false],
    ['"**" spans components', ['@/**/*.o'], '@/a/b/c.o', true],
    ['an expanded brace alternative', ['@/{a,b}/*'], '@/b/x', true],
    ['the glob head is canonicalised', ['@/link/*'], '@/real/x', true],
    ['a canonical head with "[" is matched literally', ['@/wl/*'], '@/we[ird/x', true],
    ['PCRE is anchored at the start', ['~tmp'], '/tmp/x', false],
    ['PCRE matches from the start', ['~/tmp/[0-9]+$'], '/tmp/42', true],
  ])('%s', (_name, rules, path, expected) => {
    expect(allows(rules, path)).toBe(expected)
  })
})
