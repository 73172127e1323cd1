// usage.ts and suggest.ts on their own: oclif's real parser makes the errors
// (on catbox's real command definitions), usageError says them catbox's way,
// and closestName finds the name that was meant.
import {Errors, Parser} from '@oclif/core'

import {suggestFlag, usageError} from '../src/cli/usage.js'
import EnvCreate from '../src/commands/env/create.js'
import Run from '../src/commands/run.js'
import {CatboxError} from '../src/lib/errors.js'
import {closestName, editDistance} from '../src/lib/suggest.js'

/** What oclif's parser throws for argv on a command, as catbox says it. */
const said = async (command: {id?: string; flags: object; args?: object; strict?: boolean}, id: string, argv: string[]) => {
  const error = await Parser.parse(argv, {flags: command.flags as never, args: (command.args ?? {}) as never, strict: command.strict ?? true}).then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(Error)
  const converted = usageError(error, {id, flags: command.flags as never, args: command.args as never})
  expect(converted).toBeInstanceOf(CatboxError)
  return {message: converted?.message, exitCode: converted?.exitCode}
}

describe('oclif parse errors become catbox usage errors, exit 2', () => {
  test('a nonexistent flag, with the nearest', async () => {
    expect(await said(EnvCreate, 'env:create', ['x', '--writeable', '/tmp'])).toEqual({
      message: 'catbox: env create has no flag --writeable.\nDid you mean --writable? catbox env create --help lists its flags.',
      exitCode: 2,
    })
  })

  test('two of them: the suggestion says which it is for', async () => {
    expect(await said(EnvCreate, 'env:create', ['x', '--bogus', '--templat', 'strict'])).toEqual({
      message: 'catbox: env create has no flags --bogus, --templat.\nDid you mean --template (for --templat)? catbox env create --help lists its flags.',
      exitCode: 2,
    })
  })

  test('a missing argument, with the usage', async () => {
    expect((await said(EnvCreate, 'env:create', [])).message).toMatch(/^catbox: env create needs NAME: the new environment's name\.\nUsage: catbox env create NAME \[FLAGS\]$/)
  })

  test('a value not among the choices', async () => {
    expect((await said(Run, 'run', ['--network', 'wifi'])).message).toBe('catbox: invalid value "wifi" for --network.\nUse one of: full, loopback, none.')
  })

  test('a flag given twice', async () => {
    expect((await said(EnvCreate, 'env:create', ['x', '--network', 'none', '--network', 'full'])).message).toBe(
      'catbox: flag --network can only be specified once.\ncatbox env create --help says what env create takes.',
    )
  })
})

test('an error of a command itself (this.error) is no usage error: it stays oclif\'s', () => {
  expect(usageError(new Errors.CLIError('the cache directory cannot be written'))).toBeNull()
  expect(usageError(new Error('plain'))).toBeNull()
  const exit = (() => {
    try {
      Errors.exit(3)
    } catch (error) {
      return error
    }
  })()
  expect(usageError(exit)).toBeNull()
})

describe('the nearest name', () => {
  test('a swap of two letters is one edit', () => {
    expect(editDistance('exce', 'exec')).toBe(1)
    expect(editDistance('writeable', 'writable')).toBe(1)
    expect(editDistance('', 'abc')).toBe(3)
    expect(editDistance('kitten', 'sitting')).toBe(3)
  })

  test('near enough (a third of the length), or the one name it begins, or none', () => {
    const commands = ['env', 'exec', 'pack', 'report', 'run', 'shell', 'version']
    expect(closestName('exce', commands)).toBe('exec')
    expect(closestName('REPROT', commands)).toBe('report')
    expect(closestName('sh', commands)).toBe('shell')
    expect(closestName('e', commands)).toBeNull()
    expect(closestName('frobnicate', commands)).toBeNull()
    // "re" begins report only; "r" is too short to guess from
    expect(closestName('re', commands)).toBe('report')
    expect(closestName('r', commands)).toBeNull()
  })

  test('flags: long ones and their --no- forms; a single letter is never guessed', () => {
    expect(suggestFlag('--colect-only', EnvCreate.flags)).toBe('--collect-only')
    expect(suggestFlag('--no-overlya', EnvCreate.flags)).toBe('--no-overlay')
    expect(suggestFlag('--writeable=/tmp', Run.flags)).toBe('--writable')
    expect(suggestFlag('--hepl', Run.flags)).toBe('--help')
    expect(suggestFlag('-x', Run.flags)).toBeNull()
    expect(suggestFlag('--frobnicate', Run.flags)).toBeNull()
  })
})
