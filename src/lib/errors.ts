// The one place for the texts catbox shows people when something goes wrong.
// Each message says what happened, then what to do; the most useful line last.

/** Exit status of the catbox CLI when the user's input is wrong (oclif's own parse errors use 2 too). */
export const EXIT_USAGE = 2
/** Exit status when the command could not be found, like a shell. */
export const EXIT_NOT_FOUND = 127
/** Exit status when the command was found but cannot be executed, like a shell. */
export const EXIT_NOT_EXECUTABLE = 126

export type CatboxErrorCode =
  | 'USAGE'
  | 'BAD_RULE'
  | 'NO_PCRE2'
  | 'BAD_CWD'
  | 'BAD_OPTION'
  | 'COMMAND_NOT_FOUND'
  | 'COMMAND_NOT_EXECUTABLE'
  | 'NATIVE_UNAVAILABLE'
  | 'CALLBACK_FAILED'

/**
 * An error whose message is meant for the person running catbox.
 * `exitCode` is what the CLI exits with when this error ends a command.
 */
export class CatboxError extends Error {
  readonly code: CatboxErrorCode
  readonly exitCode: number

  constructor(code: CatboxErrorCode, message: string, exitCode: number = EXIT_USAGE, options?: {cause?: unknown}) {
    super(message, options)
    this.name = 'CatboxError'
    this.code = code
    this.exitCode = exitCode
  }
}

const q = (s: string): string => JSON.stringify(s)

const badRule = (rule: string, why: string, fix: string): CatboxError =>
  new CatboxError('BAD_RULE', `catbox: invalid write rule ${q(rule)}: ${why}\n${fix}`)

export const errors = {
  noCommand: () =>
    new CatboxError(
      'USAGE',
      'catbox: no command given to run.\n' +
        'Put the command after "--", e.g.: catbox run --writable /tmp -- make install',
    ),

  missingSeparator: (args: string[]) =>
    new CatboxError(
      'USAGE',
      `catbox: unexpected argument ${q(args[0] ?? '')} before "--".\n` +
        `Put the command after "--", e.g.: catbox run --writable /tmp -- ${args.join(' ')}`,
    ),

  unknownFlagNoSeparator: (flags: string[]) =>
    new CatboxError(
      'USAGE',
      `catbox: unknown flag ${flags.join(', ')}, and no "--" in the command line.\n` +
        'If it belongs to the command, put the command after "--": catbox run [FLAGS] -- CMD [ARGS...]',
    ),

  nulByte: (what: string) =>
    new CatboxError('BAD_OPTION', `catbox: ${what} contains a NUL byte, which cannot be passed on (C strings end there).\nRemove it.`),

  badEnvironment: (name: string) =>
    new CatboxError(
      'BAD_OPTION',
      `catbox: cannot pass the environment variable ${q(name)}: a name must be non-empty without "=" or NUL, a value without NUL.\nFix or drop it.`,
    ),

  badNetwork: (value: unknown) =>
    new CatboxError(
      'BAD_OPTION',
      `catbox: unknown network mode ${q(String(value))}.\nUse one of: full, loopback, none.`,
    ),

  badCwd: (cwd: string, why: string) =>
    new CatboxError(
      'BAD_CWD',
      `catbox: cannot use ${cwd} as the working directory: ${why}.\nChoose an existing directory.`,
    ),

  commandNotFound: (command: string) =>
    new CatboxError('COMMAND_NOT_FOUND', `catbox: ${command}: command not found`, EXIT_NOT_FOUND),

  noSuchFile: (command: string) =>
    new CatboxError('COMMAND_NOT_FOUND', `catbox: ${command}: No such file or directory`, EXIT_NOT_FOUND),

  notExecutable: (command: string, why: string) =>
    new CatboxError('COMMAND_NOT_EXECUTABLE', `catbox: ${command}: ${why}`, EXIT_NOT_EXECUTABLE),

  nativeUnavailable: (cause: Error) => {
    const text = cause.message.startsWith('catbox:') ? cause.message : `catbox: ${cause.message}`
    return new CatboxError('NATIVE_UNAVAILABLE', text, 1, {cause})
  },

  callbackFailed: (name: string, cause: unknown) =>
    new CatboxError(
      'CALLBACK_FAILED',
      `catbox: the ${name} callback threw: ${cause instanceof Error ? cause.message : String(cause)}\n` +
        'The command ran to its end; fix the callback.',
      1,
      {cause},
    ),

  // Write rules -------------------------------------------------------------

  emptyRule: () =>
    new CatboxError('BAD_RULE', 'catbox: empty write rule.\nGive a path, a glob or ~REGEX, e.g. --writable /tmp'),

  emptyRegex: (rule: string) =>
    badRule(rule, 'the regular expression is empty', 'Write the expression after "~", e.g. ~^/tmp/build-[0-9]+/'),

  badRegex: (rule: string, message: string, offset: number) =>
    new CatboxError(
      'BAD_RULE',
      `catbox: invalid regular expression in rule ${q(rule)}: ${message} at offset ${offset}\n` +
        'Fix the expression (offset counts bytes after "~").',
    ),

  noPcre2: (rule: string) =>
    new CatboxError(
      'NO_PCRE2',
      `catbox: cannot use rule ${q(rule)}: this catbox was built without PCRE2.\n` +
        'PCRE rules need libpcre2 (apt-get install libpcre2-dev, then npm run build:native)',
    ),

  unbalancedBrace: (rule: string, kind: '{' | '}', offset: number) =>
    badRule(
      rule,
      kind === '{' ? `"{" at offset ${offset} is never closed` : `"}" at offset ${offset} has no matching "{"`,
      'Balance the braces, e.g. /src/{a,b}/out; write \\{ or \\} for a literal brace.',
    ),

  tooManyAlternatives: (rule: string, limit: number) =>
    badRule(rule, `its braces expand to more than ${limit} patterns`, 'Use fewer brace groups, or a ~REGEX rule.'),

  unclosedBracket: (rule: string, pattern: string) =>
    badRule(
      rule,
      `"[" is not closed by "]" within one path component in ${q(pattern)}`,
      'Close the bracket within the component, e.g. /tmp/out[0-9]; write \\[ for a literal "[".',
    ),

  relativeGlob: (rule: string, pattern: string, cwd: string) =>
    badRule(
      rule,
      `the glob ${q(pattern)} is not an absolute path`,
      `Write globs as absolute paths, e.g. ${q(cwd.replace(/\/$/, '') + '/' + pattern)}`,
    ),

  dotDotAfterWildcard: (rule: string, pattern: string) =>
    badRule(
      rule,
      `".." after a wildcard in ${q(pattern)} cannot be resolved`,
      'Remove the ".." (write the directory it means), or use a ~REGEX rule.',
    ),

  symlinkLoop: (rule: string, path: string) =>
    badRule(rule, `too many levels of symbolic links at ${path}`, 'Fix the symbolic link, or write the real path.'),
}
