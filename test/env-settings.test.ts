// Table tests for the pure parts of environments: names, maps, variables,
// placeholders, where the store lives, and the config schema.
import {mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync} from 'node:fs'
import {homedir, tmpdir} from 'node:os'
import {join} from 'node:path'

import {readConfig, readTemplate} from '../src/env/config.js'
import {catboxHome} from '../src/env/home.js'
import {checkName, nameProblem} from '../src/env/name.js'
import {expandRule, expandSettings, parseEnvAssignment, parseMap, resolveSettings} from '../src/env/settings.js'
import {loadTemplate, templateNames} from '../src/env/templates.js'
import {CatboxError} from '../src/lib/errors.js'
import {parseRules} from '../src/run/rules.js'

const T = realpathSync(mkdtempSync(join(tmpdir(), 'catbox-settings-')))
afterAll(() => rmSync(T, {recursive: true, force: true}))

const errorOf = (f: () => unknown): CatboxError => {
  try {
    f()
  } catch (error) {
    if (error instanceof CatboxError) return error
    throw error
  }
  throw new Error('expected a CatboxError')
}

describe('environment names', () => {
  test.each([
    ['myenv', null],
    ['a', null],
    ['Build_2.0-rc1', null],
    ['x'.repeat(64), null],
    ['', 'it is empty'],
    ['x'.repeat(65), 'it is 65 characters long'],
    ['a/b', 'it contains "/"'],
    ['..', 'it starts with "."'],
    ['.', 'it starts with "."'],
    ['.hidden', 'it starts with "."'],
    ['-rf', 'it starts with "-"'],
    ['_x', 'it starts with "_"'],
    ['a b', 'it contains a space'],
    ['a\tb', 'it contains the character U+0009'],
    ['a\0b', 'it contains the character U+0000'],
    ['café', 'it contains "é"'],
    ['a:b', 'it contains ":"'],
    ['$NAME', 'it contains "$"'],
  ])('%j -> %s', (name, problem) => {
    expect(nameProblem(name)).toBe(problem)
  })

  test('a refusal states the rule', () => {
    const error = errorOf(() => checkName('a/b'))
    expect(error).toMatchObject({code: 'BAD_NAME', exitCode: 2})
    expect(error.message).toBe(
      'catbox: invalid environment name "a/b": it contains "/".\n' +
        'A name is 1 to 64 letters, digits, ".", "_" or "-", and starts with a letter or digit.',
    )
  })
})

describe('maps HOST:GUEST[:ro|rw]', () => {
  test.each([
    [`${T}:/build`, {host: T, guest: '/build', mode: 'rw'}],
    [`${T}:/build:ro`, {host: T, guest: '/build', mode: 'ro'}],
    [`${T}/:/build/:rw`, {host: T, guest: '/build', mode: 'rw'}],
    [`${T}/./x/..:/a//b`, {host: T, guest: '/a/b', mode: 'rw'}],
    ['/:/', {host: '/', guest: '/', mode: 'rw'}],
  ])('%s', (text, map) => {
    expect(parseMap(text)).toEqual(map)
  })

  test.each([
    [`${T}`, 'it has no ":" between the host and the guest path'],
    [`${T}:/a:ro:x`, 'it has too many ":"'],
    [`${T}:/a:rx`, 'the mode "rx" is neither "ro" nor "rw"'],
    [`:/a`, 'the host path is empty'],
    [`${T}:`, 'the guest path is empty'],
    ['src:/build', 'the host path "src" is relative'],
    [`${T}:build`, 'the guest path "build" is relative'],
    [`${T}/missing:/build`, `the host path ${T}/missing does not exist`],
  ])('%s is refused: %s', (text, why) => {
    const error = errorOf(() => parseMap(text))
    expect(error.code).toBe('BAD_MAP')
    expect(error.message.split('\n')[0]).toBe(`catbox: invalid map ${JSON.stringify(text)}: ${why}.`)
  })
})

describe('--env KEY=VALUE', () => {
  test.each([
    ['A=b', ['A', 'b']],
    ['CFLAGS=-O2 -g', ['CFLAGS', '-O2 -g']],
    ['EMPTY=', ['EMPTY', '']],
    ['X=a=b', ['X', 'a=b']],
    ['_x1=y', ['_x1', 'y']],
  ])('%s', (text, pair) => {
    expect(parseEnvAssignment(text)).toEqual(pair)
  })

  test.each([
    ['NOVALUE', 'it has no "="'],
    ['=x', '"" is not a variable name'],
    ['1A=x', '"1A" is not a variable name'],
    ['A-B=x', '"A-B" is not a variable name'],
  ])('%s is refused: %s', (text, why) => {
    expect(errorOf(() => parseEnvAssignment(text)).message.split('\n')[0]).toBe(`catbox: invalid --env ${JSON.stringify(text)}: ${why}.`)
  })
})

describe('placeholders in rules', () => {
  const values = {CWD: '/home/me/proj', NAME: 'web', HOME: '/home/me'}

  test.each([
    ['$CWD', '/home/me/proj'],
    ['$CWD/build', '/home/me/proj/build'],
    ['/var/tmp/$NAME', '/var/tmp/web'],
    ['$HOME/.cache', '/home/me/.cache'],
    ['/tmp/$NAMES', '/tmp/$NAMES'],
    ['/tmp/$OTHER', '/tmp/$OTHER'],
    ['/tmp/$NAME-*.log', '/tmp/web-*.log'],
    ['~^$CWD/out/', '~^\\/home\\/me\\/proj/out/'],
    ['~^/tmp/x$', '~^/tmp/x$'],
  ])('%s -> %s', (rule, expanded) => {
    expect(expandRule(rule, values)).toBe(expanded)
  })

  test('a value with glob or regex characters is taken literally', () => {
    const odd = {CWD: '/w/a*b[1]{x,y}', NAME: 'n.1', HOME: '/h'}
    const cwd = T
    expect(parseRules([expandRule('$CWD', odd)], cwd)).toEqual([{kind: 'prefix', pattern: '/w/a*b[1]{x,y}'}])
    expect(parseRules([expandRule('$CWD/*.o', odd)], cwd)).toEqual([{kind: 'glob', pattern: '/w/a\\*b\\[1]{x,y}/*.o'}])
    expect(expandRule('~^/var/tmp/$NAME$', odd)).toBe('~^/var/tmp/n\\.1$')
  })

  test('env values and cwd are expanded, the stored settings are not changed', () => {
    const settings = {
      writable: ['$CWD'],
      maps: [],
      network: 'full' as const,
      collectOnly: false,
      failOnViolation: false,
      fakeRoot: false,
      overlay: false,
      env: {ROOT: '/var/tmp/$NAME', PLAIN: 'x$y'},
      cwd: '$HOME/src',
    }
    expect(expandSettings(settings, values)).toMatchObject({
      writable: ['/home/me/proj'],
      env: {ROOT: '/var/tmp/web', PLAIN: 'x$y'},
      cwd: '/home/me/src',
    })
    expect(settings.writable).toEqual(['$CWD'])
  })
})

describe('a template with the flags over it', () => {
  const template = loadTemplate('default')

  test('no flags: the template as it is', () => {
    const {description: _d, schemaVersion: _v, ...settings} = template
    expect(resolveSettings(template, {}, 'e', T)).toEqual(settings)
  })

  test('--writable and --map replace the lists, --env sets one variable, relative paths are taken from here', () => {
    const s = resolveSettings(
      {...template, env: {A: '1', B: '2'}},
      {writable: ['out', '/abs', '$CWD/x', '~^/r'], maps: [`${T}:/src:ro`], env: ['B=3', 'C=4'], cwd: 'sub', network: 'none', overlay: true},
      'e',
      T,
    )
    expect(s).toMatchObject({
      writable: [`${T}/out`, '/abs', '$CWD/x', '~^/r'],
      maps: [{host: T, guest: '/src', mode: 'ro'}],
      env: {A: '1', B: '3', C: '4'},
      cwd: `${T}/sub`,
      network: 'none',
      overlay: true,
      fakeRoot: false,
    })
  })

  test('a bad rule is refused as catbox run refuses it', () => {
    expect(errorOf(() => resolveSettings(template, {writable: ['/tmp/{a,b']}, 'e', T)).message).toContain('"{" at offset 5 is never closed')
  })
})

describe('templates', () => {
  test('default, pisi and strict are installed and valid', () => {
    expect(templateNames()).toEqual(expect.arrayContaining(['default', 'pisi', 'strict']))
    for (const name of templateNames()) expect(loadTemplate(name).schemaVersion).toBe(1)
  })

  test('strict: only /build and /tmp, no network, fail on violation', () => {
    expect(loadTemplate('strict')).toMatchObject({writable: ['/build', '/tmp'], network: 'none', failOnViolation: true})
  })

  test('pisi: its build root under /var/tmp, fake root, overlay', () => {
    expect(loadTemplate('pisi')).toMatchObject({fakeRoot: true, overlay: true})
    expect(loadTemplate('pisi').writable).toContain('/var/tmp/$NAME')
  })

  test('an unknown template lists the ones there are', () => {
    expect(errorOf(() => loadTemplate('nope')).message).toMatch(/^catbox: unknown template "nope"\.\nChoose one of: .*default/)
  })

  test('a broken template is a clear error naming its file', () => {
    const dir = join(T, 'templates')
    mkdirSync(dir, {recursive: true})
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({schemaVersion: 1, description: '', writable: '/tmp'}))
    const error = errorOf(() => loadTemplate('bad', dir))
    expect(error.message).toBe(
      `catbox: the template "bad" (${join(dir, 'bad.json')}) is broken: "writable" must be a list of non-empty rule strings.\nFix the file, or reinstall catbox.`,
    )
  })
})

describe('env.json on read', () => {
  const file = join(T, 'env.json')
  const good = {
    schemaVersion: 1,
    name: 'e',
    template: 'default',
    createdAt: '2025-01-01T00:00:00.000Z',
    writable: ['/tmp'],
    maps: [],
    network: 'full',
    collectOnly: false,
    failOnViolation: false,
    fakeRoot: false,
    overlay: false,
    env: {},
  }
  const read = (content: unknown) => {
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content))
    return () => readConfig(file, 'e')
  }

  test('a valid file reads back', () => {
    expect(read(good)()).toEqual(good)
  })

  test.each([
    ['{"schemaVersion": 1,', 'it is not valid JSON'],
    ['[]', 'it does not hold a JSON object'],
    [{...good, schemaVersion: undefined}, 'it has no valid "schemaVersion"'],
    [{...good, schemaVersion: '1'}, 'it has no valid "schemaVersion"'],
    [{...good, network: 'wifi'}, '"network" must be one of full, loopback, none, not "wifi"'],
    [{...good, writable: ['']}, '"writable" must be a list of non-empty rule strings'],
    [{...good, maps: [{host: 'rel', guest: '/g', mode: 'rw'}]}, '"maps" must be a list'],
    [{...good, env: {'1X': 'y'}}, '"env" must map shell variable names to strings'],
    [{...good, cwd: 'rel'}, '"cwd" must be an absolute path'],
    [{...good, extra: 1}, 'it has an unknown field "extra"'],
    [{...good, overlay: undefined}, 'the field "overlay" is missing'],
    [{...good, name: 'other'}, 'it names the environment "other", but it is in the folder of "e"'],
  ])('%j is refused: %s', (content, why) => {
    const error = errorOf(read(content))
    expect(error).toMatchObject({code: 'BAD_FILE', exitCode: 1})
    expect(error.message).toContain(`catbox: cannot use ${file}: ${why}`)
    expect(error.message).toContain('catbox env rm e --force')
  })

  test('a newer schema version is refused, saying a newer catbox wrote it', () => {
    const error = errorOf(read({...good, schemaVersion: 2, newField: true}))
    expect(error).toMatchObject({code: 'NEWER_FILE', exitCode: 1})
    expect(error.message).toContain(`${file} has schema version 2, and this catbox reads only version 1`)
  })

  test('a template file is validated the same way', () => {
    writeFileSync(file, JSON.stringify({...good, name: undefined, template: undefined, createdAt: undefined, description: 'x'}))
    expect(readTemplate(file, 't')).toMatchObject({description: 'x'})
  })
})

describe('where the store is', () => {
  test.each([
    [{CATBOX_HOME: '/data/cb', XDG_DATA_HOME: '/x'}, '/data/cb'],
    [{XDG_DATA_HOME: '/x'}, '/x/catbox'],
    [{XDG_DATA_HOME: 'relative'}, join(homedir(), '.local/share/catbox')],
    [{}, join(homedir(), '.local/share/catbox')],
  ])('%j -> %s', (env, home) => {
    expect(catboxHome(env)).toBe(home)
  })

  test('a relative CATBOX_HOME is taken from the current directory', () => {
    expect(catboxHome({CATBOX_HOME: 'cb'})).toBe(join(process.cwd(), 'cb'))
  })
})
