// Asking for an operation log: the library's trace/eventLog options, the
// CLI's --trace[=MODES], and a traced run()'s log.
import {mkdtempSync, readFileSync, realpathSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {run} from '../src/index.js'
import {CatboxError} from '../src/lib/errors.js'
import {bareTrace, parseTraceModes} from '../src/lib/flags.js'
import {parseLine} from '../src/report/events.js'
import {buildSpec} from '../src/run/spec.js'
import type {TraceMode} from '../src/run/types.js'

const T = realpathSync(mkdtempSync(join(tmpdir(), 'catbox-traceopt-')))
afterAll(() => rmSync(T, {recursive: true, force: true}))

function failure(f: () => unknown): CatboxError {
  try {
    f()
  } catch (error) {
    expect(error).toBeInstanceOf(CatboxError)
    return error as CatboxError
  }
  throw new Error('no error')
}

describe('RunOptions.trace and eventLog', () => {
  const spec = (trace: TraceMode[] | undefined, eventLog?: string) => buildSpec({command: ['true'], cwd: T, trace, eventLog})

  test('no trace, or an empty one: nothing in the spec', () => {
    expect(spec(undefined)).not.toHaveProperty('trace')
    expect(spec([], '/nowhere/x')).not.toHaveProperty('eventLog')
  })

  test('the modes become flags; a relative log is taken from cwd', () => {
    expect(spec(['read'], 'log.jsonl')).toMatchObject({trace: {exec: false, read: true, write: false}, eventLog: join(T, 'log.jsonl')})
    expect(spec(['exec', 'write'], '/tmp/x.jsonl')).toMatchObject({trace: {exec: true, read: false, write: true}})
  })

  test('refused before anything runs: an unknown mode, no log, a log in a missing directory', () => {
    expect(failure(() => spec(['exec', 'mmap' as TraceMode], '/tmp/x')).message).toBe(
      'catbox: unknown trace mode "mmap".\nUse exec, read, write or all, several separated by commas: --trace=exec,read',
    )
    expect(failure(() => spec(['exec'])).message).toMatch(/^catbox: tracing needs a file for the operation log\.\n/)
    expect(failure(() => spec(['exec'], join(T, 'missing', 'x.jsonl'))).message).toBe(
      `catbox: cannot write the operation log ${join(T, 'missing', 'x.jsonl')}: its directory does not exist.\nCreate the directory, or choose another file.`,
    )
  })

  test('a traced run() appends the log: start, proc, exec with argv and cwd, exit', async () => {
    const log = join(T, 'run.jsonl')
    const result = await run({command: ['sh', '-c', 'exit 3'], cwd: T, trace: ['exec'], eventLog: log})
    expect(result.exitCode).toBe(3)
    const events = readFileSync(log, 'utf8').trimEnd().split('\n').map(parseLine)
    expect(events.map((e) => (e && typeof e === 'object' ? e.t : e))).toEqual(['start', 'proc', 'exec', 'exit'])
    expect(events[2]).toMatchObject({t: 'exec', argv: ['sh', '-c', 'exit 3'], cwd: T})
    expect(events[3]).toMatchObject({t: 'exit', code: 3})
    expect(result.stats.logLines).toBe(4)
  })
})

describe('--trace on the command line', () => {
  test('modes in canonical order; all; none; read and write bring exec along', () => {
    expect(parseTraceModes('exec')).toEqual(['exec'])
    expect(parseTraceModes('write,read')).toEqual(['exec', 'read', 'write'])
    expect(parseTraceModes('all')).toEqual(['exec', 'read', 'write'])
    expect(parseTraceModes('read')).toEqual(['exec', 'read'])
    expect(parseTraceModes('none')).toEqual([])
    expect(failure(() => parseTraceModes('exec,reads')).message).toMatch(/^catbox: unknown trace mode "reads"\./)
  })

  test('a bare --trace means exec; a mode list after it is its value; anything else is left alone', () => {
    expect(bareTrace(['env1', '--trace'])).toEqual(['env1', '--trace=exec'])
    expect(bareTrace(['--trace', 'env1'])).toEqual(['--trace=exec', 'env1'])
    expect(bareTrace(['--trace', 'read,write', 'env1'])).toEqual(['--trace=read,write', 'env1'])
    expect(bareTrace(['--trace', '--json', 'env1'])).toEqual(['--trace=exec', '--json', 'env1'])
    expect(bareTrace(['--trace=all', 'env1'])).toEqual(['--trace=all', 'env1'])
  })
})
