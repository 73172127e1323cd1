import {chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {CatboxError} from '../src/lib/errors.js'
import {buildSpec, findCommand} from '../src/run/spec.js'

//   bin1/tool        executable
//   bin2/tool        executable (shadowed by bin1)
//   bin2/plain       not executable
//   bin1/adir/       a directory named like a command
//   work/            a working directory
const T = realpathSync(mkdtempSync(join(tmpdir(), 'catbox-spec-')))
const script = (path: string, mode: number) => {
  writeFileSync(path, '#!/bin/sh\nexit 0\n')
  chmodSync(path, mode)
}
beforeAll(() => {
  for (const dir of ['bin1', 'bin2', 'bin1/adir', 'work']) mkdirSync(join(T, dir))
  script(join(T, 'bin1/tool'), 0o755)
  script(join(T, 'bin2/tool'), 0o755)
  script(join(T, 'bin2/plain'), 0o644)
  script(join(T, 'work/local'), 0o755)
})
afterAll(() => rmSync(T, {recursive: true, force: true}))

function failure(run: () => unknown): CatboxError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(CatboxError)
    return error as CatboxError
  }
  throw new Error('no error')
}

describe('findCommand searches like execvp', () => {
  const PATH = `${T}/bin1:${T}/bin2`
  const work = join(T, 'work')

  test('the first PATH entry wins', () => {
    expect(findCommand('tool', PATH, work)).toBe(`${T}/bin1/tool`)
  })

  test('a name with "/" is a path relative to cwd, not searched', () => {
    expect(findCommand('./local', PATH, work)).toBe(`${work}/local`)
    expect(findCommand('../bin2/tool', PATH, work)).toBe(`${T}/bin2/tool`)
  })

  test('an empty PATH entry means cwd', () => {
    expect(findCommand('local', `${T}/bin1::${T}/bin2`, work)).toBe(`${work}/local`)
  })

  test('not found: exit 127 and the shell message', () => {
    const error = failure(() => findCommand('nosuch', PATH, work))
    expect(error.message).toBe('catbox: nosuch: command not found')
    expect(error.exitCode).toBe(127)
  })

  test('a missing path: exit 127', () => {
    const error = failure(() => findCommand('./nosuch', PATH, work))
    expect(error.message).toBe('catbox: ./nosuch: No such file or directory')
    expect(error.exitCode).toBe(127)
  })

  test('found but not executable: exit 126', () => {
    const error = failure(() => findCommand('plain', PATH, work))
    expect(error.exitCode).toBe(126)
    // root may execute anything with an x bit, but never a file without one
    expect(error.message).toBe('catbox: plain: Permission denied')
  })

  // root can search any directory, so only an unprivileged user can meet this.
  ;(process.getuid?.() === 0 ? test.skip : test)('an unsearchable PATH directory is skipped, not "Permission denied"', () => {
    const locked = join(T, 'locked')
    mkdirSync(locked, {mode: 0o000})
    try {
      expect(findCommand('tool', `${locked}:${PATH}`, work)).toBe(`${T}/bin1/tool`)
      expect(failure(() => findCommand('nosuch', `${locked}:${PATH}`, work)).exitCode).toBe(127)
      expect(failure(() => findCommand(`${locked}/tool`, PATH, work)).exitCode).toBe(126)
    } finally {
      rmSync(locked, {recursive: true})
    }
  })

  test('a directory in PATH is skipped; named as a path it is refused', () => {
    expect(failure(() => findCommand('adir', PATH, work)).exitCode).toBe(127)
    expect(failure(() => findCommand(`${T}/bin1/adir`, PATH, work)).message).toMatch(/Is a directory/)
  })
})

describe('buildSpec', () => {
  const base = {command: ['tool', 'a b', ''], cwd: join(T, 'work'), env: {PATH: `${T}/bin1`, X: 'y=z', GONE: undefined}}

  test('fills in the defaults', () => {
    const spec = buildSpec(base)
    expect(spec).toMatchObject({
      file: `${T}/bin1/tool`,
      argv: ['tool', 'a b', ''],
      env: [`PATH=${T}/bin1`, 'X=y=z'],
      cwd: join(T, 'work'),
      writable: [],
      collectOnly: false,
      network: 'full',
      hookChildInitialized: false,
    })
    expect(spec.devices.length).toBeGreaterThan(0)
  })

  test('the environment defaults to process.env', () => {
    const spec = buildSpec({command: ['sh']})
    expect(spec.env).toContain(`PATH=${process.env.PATH}`)
    expect(spec.cwd).toBe(process.cwd())
  })

  test('relative rules are taken from the given cwd', () => {
    expect(buildSpec({...base, writable: ['out']}).writable).toEqual([{kind: 'prefix', pattern: `${T}/work/out`}])
  })

  test('the hook is requested only with a callback', () => {
    expect(buildSpec({...base, onChildInitialized: () => {}}).hookChildInitialized).toBe(true)
  })

  test.each<[string, Parameters<typeof buildSpec>[0], RegExp]>([
    ['a missing cwd', {command: ['sh'], cwd: join(T, 'nope')}, /cannot use .*nope as the working directory: it does not exist/],
    ['a file as cwd', {command: ['sh'], cwd: join(T, 'bin1/tool')}, /it is not a directory/],
    ['no command', {command: []}, /no command given/],
    ['an unknown network mode', {command: ['sh'], network: 'wifi' as never}, /unknown network mode "wifi"/],
    ['a NUL in an argument', {command: ['sh', 'a\0b']}, /argument 1 of the command contains a NUL byte/],
    ['a bad environment name', {command: ['sh'], env: {'A=B': 'c'}}, /environment variable "A=B"/],
  ])('refuses %s', (_name, options, message) => {
    expect(failure(() => buildSpec(options)).message).toMatch(message)
  })
})
