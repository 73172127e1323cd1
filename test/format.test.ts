import {exitStatus, formatSummary, formatViolation} from '../src/run/format.js'
import {errnoName, toViolation} from '../src/run/run.js'
import type {RunResult, Violation} from '../src/run/types.js'

const violation = (over: Partial<Violation> = {}): Violation => ({
  operation: 'openat',
  path: '/etc/passwd',
  canonical: '/etc/passwd',
  pid: 1234,
  program: 'cat',
  denied: true,
  error: 'EACCES',
  ...over,
})

describe('violation lines', () => {
  test.each<[string, Partial<Violation>, string]>([
    ['denied', {}, 'catbox: denied openat /etc/passwd by cat[1234]: EACCES'],
    ['given differently', {path: '../etc/passwd'}, 'catbox: denied openat /etc/passwd (as "../etc/passwd") by cat[1234]: EACCES'],
    ['allowed in collect-only mode', {denied: false, error: ''}, 'catbox: violation (allowed) openat /etc/passwd by cat[1234]'],
    ['network', {operation: 'connect', path: '93.184.216.34:80', canonical: ''}, 'catbox: denied connect 93.184.216.34:80 by cat[1234]: EACCES'],
  ])('%s', (_name, over, line) => {
    expect(formatViolation(violation(over))).toBe(line)
  })
})

describe('summary', () => {
  test.each<[string, Violation[], string | null]>([
    ['none', [], null],
    ['one', [violation()], 'catbox: 1 violation (1 path)'],
    ['paths counted once', [violation(), violation({pid: 9}), violation({canonical: '/etc/x', path: '/etc/x'})], 'catbox: 3 violations (2 paths)'],
  ])('%s', (_name, violations, line) => {
    expect(formatSummary(violations)).toBe(line)
  })

  test('of a sample: the count in all, the paths of the sample', () => {
    expect(formatSummary([violation(), violation({canonical: '/etc/x', path: '/etc/x'})], 5000)).toBe('catbox: 5000 violations (2 paths in the first 2)')
  })
})

describe('exit status', () => {
  const result = (exitCode: number, violations: Violation[]): RunResult => ({
    exitCode,
    signal: null,
    violations,
    violationCount: violations.length,
    stats: {processes: 1, seccompStops: 0, notifications: 0, eventStops: 0, exitStops: 0, signalsForwarded: 0, violations: violations.length, logLines: 0, copyUps: 0, whiteouts: 0, mergedViews: 0},
  })
  test.each<[number, number, boolean, number]>([
    [0, 0, false, 0],
    [0, 2, false, 0],
    [0, 2, true, 1],
    [0, 0, true, 0],
    [3, 2, true, 3],
    [130, 1, true, 130],
  ])('command %i with %i violations, fail-on-violation %s -> %i', (code, count, fail, expected) => {
    expect(exitStatus(result(code, Array.from({length: count}, () => violation())), fail)).toBe(expected)
  })
})

describe('native violation events', () => {
  test('errno numbers become names; aliases give the kernel name', () => {
    expect(errnoName(13)).toBe('EACCES')
    expect(errnoName(30)).toBe('EROFS')
    expect(errnoName(11)).toBe('EAGAIN')
    expect(errnoName(95)).toBe('EOPNOTSUPP')
    expect(errnoName(-1)).toBe('EPERM')
    expect(errnoName(9999)).toBe('errno 9999')
  })

  test('an allowed violation has no error name', () => {
    const event = {type: 'violation', operation: 'openat', path: 'x', canonical: '/x', pid: 1, program: 'sh'} as const
    expect(toViolation({...event, denied: true, errno: 13}).error).toBe('EACCES')
    expect(toViolation({...event, denied: false, errno: 0}).error).toBe('')
  })
})
