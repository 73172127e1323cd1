import {splitArgv} from '../src/lib/argv.js'

describe('splitArgv', () => {
  test.each<[string, string[], string[], string[] | null]>([
    ['no separator', ['--json', '-w', '/tmp'], ['--json', '-w', '/tmp'], null],
    ['separator only', ['--'], [], []],
    ['flags then command', ['-w', '/tmp', '--', 'make', '-j4'], ['-w', '/tmp'], ['make', '-j4']],
    ['splits at the first "--" only', ['--', 'sh', '--', 'x'], [], ['sh', '--', 'x']],
    [
      'duplicate tokens keep their order and place',
      ['--json', '-v', '--', 'echo', '-v', 'x', '--json', '-v'],
      ['--json', '-v'],
      ['echo', '-v', 'x', '--json', '-v'],
    ],
    ['--help after the separator belongs to the command', ['--', 'ls', '--help'], [], ['ls', '--help']],
    ['empty and space-only arguments survive', ['--', 'printf', '', ' ', 'a b'], [], ['printf', '', ' ', 'a b']],
  ])('%s', (_name, argv, own, passThrough) => {
    expect(splitArgv(argv)).toEqual({own, passThrough})
  })

  test('does not change its input', () => {
    const argv = ['-w', '/tmp', '--', 'true']
    splitArgv(argv)
    expect(argv).toEqual(['-w', '/tmp', '--', 'true'])
  })
})
