// The one place for the texts catbox shows people when something goes wrong.
// Each message says what happened, then what to do; the most useful line last.

/** Exit status of the catbox CLI when the user's input is wrong (oclif's own parse errors use 2 too). */
export const EXIT_USAGE = 2
/** Exit status when the command could not be found, like a shell. */
export const EXIT_NOT_FOUND = 127
/** Exit status when the command was found but cannot be executed, like a shell. */
export const EXIT_NOT_EXECUTABLE = 126
/** Exit status when an environment cannot be used as asked: missing, busy, broken, exists already. */
export const EXIT_FAILURE = 1

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
  | 'BAD_NAME'
  | 'BAD_MAP'
  | 'BAD_GUEST_VIEW'
  | 'UNKNOWN_TEMPLATE'
  | 'BAD_TEMPLATE'
  | 'ENV_NOT_FOUND'
  | 'ENV_EXISTS'
  | 'ENV_BUSY'
  | 'BAD_FILE'
  | 'NEWER_FILE'
  | 'STORE'
  | 'NOT_CONFIRMED'
  | 'RUN_NOT_FOUND'
  | 'NOT_TRACED'
  | 'NO_PACKAGE_MANAGER'
  | 'WRITE_FAILED'

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

/** A value in an error message: "a number (5)", "an object", "null". */
function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  const type = typeof value
  if (type === 'string') return `a string (${q(String(value).slice(0, 40))})`
  if (type === 'number' || type === 'boolean' || type === 'bigint') return `a ${type} (${String(value)})`
  return type === 'object' ? 'an object' : type === 'undefined' ? 'undefined' : `a ${type}`
}

/** Longest environment or template name. */
export const MAX_NAME_LENGTH = 64

const badRule = (rule: string, why: string, fix: string): CatboxError =>
  new CatboxError('BAD_RULE', `catbox: invalid write rule ${q(rule)}: ${why}\n${fix}`)

export const errors = {
  /** example: how to run a command, up to the "--". */
  noCommand: (example = 'catbox run --writable /tmp') =>
    new CatboxError(
      'USAGE',
      'catbox: no command given to run.\n' + `Put the command after "--", e.g.: ${example} -- make install`,
    ),

  missingSeparator: (args: string[], example = 'catbox run --writable /tmp') =>
    new CatboxError(
      'USAGE',
      `catbox: unexpected argument ${q(args[0] ?? '')} before "--".\n` +
        `Put the command after "--", e.g.: ${example} -- ${args.join(' ')}`,
    ),

  unknownFlagNoSeparator: (flags: string[], usage = 'catbox run [FLAGS]') =>
    new CatboxError(
      'USAGE',
      `catbox: unknown flag ${flags.join(', ')}, and no "--" in the command line.\n` +
        `If it belongs to the command, put the command after "--": ${usage} -- CMD [ARGS...]`,
    ),

  // The command line itself (oclif's parse errors, in catbox's words) -------

  /** typed: the words as given ("env creat"); within: the topic they are in ("env"), or "". */
  unknownCommand: (typed: string, suggestion: string | null, within: string, choices: readonly string[]) =>
    new CatboxError(
      'USAGE',
      `catbox: ${q(typed)} is not a catbox command.\n` +
        (suggestion
          ? `Did you mean ${q(`catbox ${suggestion}`)}? (catbox ${within ? within + ' ' : ''}--help lists ${within ? `the ${within} commands` : 'the commands'})`
          : `The ${within ? `${within} commands` : 'commands'} are: ${choices.join(', ')} (catbox ${within ? within + ' ' : ''}--help says what each does).`),
    ),

  /** command: "run", "env show"; "" before any command. */
  unknownFlag: (command: string, flags: readonly string[], suggestion: {typed: string; flag: string} | null) =>
    new CatboxError(
      'USAGE',
      `catbox: ${command ? `${command} has no flag` : 'unknown flag'}${flags.length === 1 ? '' : 's'} ${flags.join(', ')}.\n` +
        (suggestion ? `Did you mean ${suggestion.flag}${flags.length === 1 ? '' : ` (for ${suggestion.typed})`}? ` : '') +
        (command ? `catbox ${command} --help lists its flags.` : 'Before a command, catbox takes only --help (-h) and --version (-v).'),
    ),

  missingArgument: (command: string, arg: {name: string; description?: string}, usage: string) =>
    new CatboxError(
      'USAGE',
      `catbox: ${command} needs ${arg.name.toUpperCase()}${arg.description ? `: ${arg.description}` : ''}.\nUsage: ${usage}`,
    ),

  unexpectedArguments: (command: string, args: readonly string[], usage: string) =>
    new CatboxError(
      'USAGE',
      `catbox: unexpected argument${args.length === 1 ? '' : 's'} ${args.map(q).join(' ')} to ${command}.\nUsage: ${usage}`,
    ),

  badFlagValue: (flag: string, value: string, choices: readonly string[]) =>
    new CatboxError('USAGE', `catbox: invalid value ${q(value)} for ${flag}.\nUse one of: ${choices.join(', ')}.`),

  /** An argument that must be one of a few words (catbox autocomplete SHELL). */
  badArgValue: (command: string, value: string, choices: readonly string[]) =>
    new CatboxError('USAGE', `catbox: ${command ? command + ' does not take' : 'cannot use'} ${q(value)}.\nUse one of: ${choices.join(', ')}.`),

  /** Any other complaint of the flag parser ("Flag --network can only be specified once"). */
  badCommandLine: (command: string, what: string) =>
    new CatboxError(
      'USAGE',
      `catbox: ${what.charAt(0).toLowerCase()}${what.slice(1).replace(/\.$/, '')}.\n` +
        `catbox ${command ? command + ' ' : ''}--help says what ${command || 'catbox'} takes.`,
    ),

  nulByte: (what: string) =>
    new CatboxError('BAD_OPTION', `catbox: ${what} contains a NUL byte, which cannot be passed on (C strings end there).\nRemove it.`),

  badEnvironment: (name: string) =>
    new CatboxError(
      'BAD_OPTION',
      `catbox: cannot pass the environment variable ${q(name)}: a name must be non-empty without "=" or NUL, a value without NUL.\nFix or drop it.`,
    ),

  /** run() was given an option of the wrong type. */
  badOptionType: (name: string, expected: string, value: unknown) =>
    new CatboxError(
      'BAD_OPTION',
      `catbox: run() option ${name} must be ${expected}, not ${describeValue(value)}.\nFix the options; nothing was run.`,
    ),

  /** run() was given an option it does not know (a typo, most often). */
  unknownOption: (name: string, suggestion: string | null) =>
    new CatboxError(
      'BAD_OPTION',
      `catbox: run() has no option ${q(name)}.\n` + (suggestion ? `Did you mean ${q(suggestion)}? ` : '') + 'Nothing was run.',
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

  // Environments ------------------------------------------------------------

  badName: (kind: 'environment' | 'template', name: string, why: string) =>
    new CatboxError(
      'BAD_NAME',
      `catbox: invalid ${kind} name ${q(name)}: ${why}.\n` +
        `A name is 1 to ${MAX_NAME_LENGTH} letters, digits, ".", "_" or "-", and starts with a letter or digit.`,
    ),

  badMap: (map: string, why: string) =>
    new CatboxError(
      'BAD_MAP',
      `catbox: invalid map ${q(map)}: ${why}.\n` +
        'Write HOST:GUEST[:ro|rw] with two absolute paths, e.g. --map /home/me/src:/build:rw',
    ),

  mapHostMissing: (map: string, host: string) =>
    new CatboxError(
      'BAD_MAP',
      `catbox: invalid map ${q(map)}: the host path ${host} does not exist.\nCreate it first, or fix the path.`,
    ),

  guestViewPath: (what: string, path: string) =>
    new CatboxError('BAD_GUEST_VIEW', `catbox: ${what} ${path} does not exist.\nCreate it first, or fix the path.`),

  badEnvAssignment: (value: string, why: string) =>
    new CatboxError(
      'BAD_OPTION',
      `catbox: invalid --env ${q(value)}: ${why}.\n` +
        'Write KEY=VALUE, where KEY is a shell variable name (letters, digits, "_"; not starting with a digit), e.g. --env CFLAGS=-O2',
    ),

  unknownTemplate: (name: string, available: readonly string[]) =>
    new CatboxError(
      'UNKNOWN_TEMPLATE',
      `catbox: unknown template ${q(name)}.\n` +
        (available.length > 0 ? `Choose one of: ${available.join(', ')}` : 'No templates are installed: reinstall catbox.'),
    ),

  badTemplate: (name: string, file: string, why: string) =>
    new CatboxError(
      'BAD_TEMPLATE',
      `catbox: the template ${q(name)} (${file}) is broken: ${why}.\nFix the file, or reinstall catbox.`,
      EXIT_FAILURE,
    ),

  envNotFound: (name: string, envsDir: string) =>
    new CatboxError(
      'ENV_NOT_FOUND',
      `catbox: there is no environment ${q(name)} (in ${envsDir}).\n` +
        `Create it with: catbox env create ${name}   (catbox env list shows the ones there are)`,
      EXIT_FAILURE,
    ),

  envExists: (name: string) =>
    new CatboxError(
      'ENV_EXISTS',
      `catbox: environment ${q(name)} already exists.\n` +
        `Use it (catbox exec ${name} -- CMD), or remove it first: catbox env rm ${name}`,
      EXIT_FAILURE,
    ),

  envBusy: (name: string, holder: {command: string; pid: number} | null) =>
    new CatboxError(
      'ENV_BUSY',
      `catbox: environment ${q(name)} is busy: ` +
        (holder ? `${holder.command} (pid ${holder.pid}) is running in it.\n` : 'another catbox is using it.\n') +
        'One run at a time per environment: wait for it to end, or use another environment.',
      EXIT_FAILURE,
    ),

  envLockStale: (name: string, holder: {command: string; pid: number}, seconds: number) =>
    new CatboxError(
      'ENV_BUSY',
      `catbox: environment ${q(name)} is still locked by ${holder.command} (pid ${holder.pid}), which ended without releasing it.\n` +
        `The lock expires ${seconds} seconds after its holder stopped refreshing it: try again then.`,
      EXIT_FAILURE,
    ),

  badFile: (file: string, why: string, fix: string) =>
    new CatboxError('BAD_FILE', `catbox: cannot use ${file}: ${why}.\ncatbox left it as it is. ${fix}`, EXIT_FAILURE),

  newerFile: (file: string, found: number, known: number) =>
    new CatboxError(
      'NEWER_FILE',
      `catbox: ${file} has schema version ${found}, and this catbox reads only version ${known}: a newer catbox wrote it.\n` +
        'catbox left it as it is. Use the newer catbox, or upgrade this one.',
      EXIT_FAILURE,
    ),

  envFileUnreadable: (file: string, name: string, cause: unknown) =>
    new CatboxError(
      'BAD_FILE',
      `catbox: cannot read ${file}: ${(cause as NodeJS.ErrnoException).code ?? (cause instanceof Error ? cause.message : String(cause))}.\n` +
        `Make it readable, or empty the environment: catbox env reset ${name}`,
      EXIT_FAILURE,
      {cause},
    ),

  /** The fix offered for a broken env.json. */
  brokenEnvFix: (name: string) => `Repair the file, or remove the environment: catbox env rm ${name} --force`,

  storeFailed: (path: string, cause: unknown) => {
    const code = (cause as NodeJS.ErrnoException).code
    return new CatboxError(
      'STORE',
      `catbox: cannot write ${path}: ${code ?? (cause instanceof Error ? cause.message : String(cause))}.\n` +
        'Make it writable, or set CATBOX_HOME to a directory you can write to.',
      EXIT_FAILURE,
      {cause},
    )
  },

  needsConfirmation: (verb: string, name: string) =>
    new CatboxError(
      'NOT_CONFIRMED',
      `catbox: not going to ${verb} environment ${q(name)} without confirmation, and stdin is not a terminal to ask on.\n` +
        `To ${verb} it, run: catbox env ${verb === 'remove' ? 'rm' : verb} ${name} --force`,
    ),

  notConfirmed: (verb: string, name: string) =>
    new CatboxError('NOT_CONFIRMED', `catbox: did not ${verb} environment ${q(name)}.`, EXIT_FAILURE),

  // Operation log and reports -----------------------------------------------

  badTraceMode: (mode: string) =>
    new CatboxError(
      'BAD_OPTION',
      `catbox: unknown trace mode ${q(mode)}.\nUse exec, read, write or all, several separated by commas: --trace=exec,read`,
    ),

  noEventLog: () =>
    new CatboxError('BAD_OPTION', 'catbox: tracing needs a file for the operation log.\nGive eventLog with trace: {trace: ["exec"], eventLog: "/tmp/events.jsonl"}'),

  badEventLog: (file: string) =>
    new CatboxError('BAD_OPTION', `catbox: cannot write the operation log ${file}: its directory does not exist.\nCreate the directory, or choose another file.`),

  packFormatUnknown: (out: string) =>
    new CatboxError(
      'BAD_OPTION',
      `catbox: cannot tell the archive format from ${q(out)}.\nName it .tar, .tar.gz or .tar.zst, or pass --format tar|tar.gz|tar.zst.`,
    ),

  packFromRelative: (from: string) =>
    new CatboxError('BAD_OPTION', `catbox: --from ${q(from)} is relative.\nGive the directory to pack as an absolute path.`),

  packFromMissing: (from: string, env?: string) =>
    new CatboxError(
      'BAD_OPTION',
      `catbox: ${from} is not a directory${env === undefined ? '' : ` in environment ${q(env)}'s view (its root over the host, and its maps)`}.\n` +
        'Give --from the directory the build installed into.',
    ),

  packNothing: (name: string, root: string) =>
    new CatboxError(
      'BAD_OPTION',
      `catbox: nothing to pack: environment ${q(name)}'s root ${root} is empty.\n` +
        'Without the overlay a build writes to real paths: name its install directory, e.g. catbox pack ' +
        `${name} out.tar.gz --from /var/tmp/${name}/install`,
    ),

  packUnreadable: (path: string, cause: unknown) =>
    new CatboxError(
      'BAD_FILE',
      `catbox: cannot pack ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause instanceof Error ? cause.message : String(cause))}.\n` +
        'Make it readable to you, or remove it from the tree before packing.',
      EXIT_FAILURE,
      {cause},
    ),

  badMtime: (value: string, from: string) =>
    new CatboxError('BAD_OPTION', `catbox: ${from} ${q(value)} is not a number of seconds since 1970.\nUse e.g. $(git log -1 --format=%ct).`),

  unknownPlaceholder: (what: string, text: string, found: string) =>
    new CatboxError(
      'BAD_OPTION',
      `catbox: ${what} ${q(text)} uses ${found}, which catbox does not expand.\nThe placeholders are $CWD (where catbox exec runs), $NAME (the environment) and $HOME; or write the path itself.`,
    ),

  badFakeId: (name: string, id: unknown) =>
    new CatboxError('BAD_OPTION', `catbox: fake root ${name} ${q(String(id))} is not a valid id.\nUse a whole number from 0 to 4294967294.`),

  badOwnerDb: (file: string) =>
    new CatboxError(
      'BAD_OPTION',
      `catbox: cannot keep the ownership journal ${file}: its directory does not exist.\nCreate the directory, or choose another file.`,
    ),

  noRuns: (name: string, runsDir: string) =>
    new CatboxError(
      'RUN_NOT_FOUND',
      `catbox: environment ${q(name)} has no runs to report on (${runsDir} holds none).\n` +
        `Run a command in it first: catbox exec ${name} --trace -- make`,
      EXIT_FAILURE,
    ),

  runNotFound: (name: string, run: string, ids: readonly string[]) =>
    new CatboxError(
      'RUN_NOT_FOUND',
      `catbox: environment ${q(name)} has no run ${q(run)}.\n` +
        `Its latest runs: ${ids.slice(0, 3).join(', ')}${ids.length > 3 ? ', …' : ''} (catbox env show ${name} lists them)`,
      EXIT_FAILURE,
    ),

  runAmbiguous: (name: string, prefix: string, ids: readonly string[]) =>
    new CatboxError(
      'RUN_NOT_FOUND',
      `catbox: ${q(prefix)} is the start of ${ids.length} runs of environment ${q(name)}: ${ids.slice(0, 3).join(', ')}${ids.length > 3 ? ', …' : ''}.\n` +
        'Give more of the run id.',
      EXIT_FAILURE,
    ),

  notTraced: (name: string, run: string, mode: 'exec' | 'read') =>
    new CatboxError(
      'NOT_TRACED',
      mode === 'read'
        ? `catbox: run ${run} of environment ${q(name)} did not record the files it read, so its dependencies are unknown.\n` +
            `Record them in the next run: catbox exec ${name} --trace=read -- CMD`
        : `catbox: run ${run} of environment ${q(name)} did not record its processes, so there is no trace to write.\n` +
            `Record them in the next run: catbox exec ${name} --trace -- CMD`,
      EXIT_FAILURE,
    ),

  noPackageManager: () =>
    new CatboxError(
      'NO_PACKAGE_MANAGER',
      'catbox: cannot tell which packages own the files the build read: neither dpkg-query (Debian, Ubuntu) nor rpm (Fedora, RHEL, SUSE) is installed.\n' +
        'The files themselves are in the run\'s events.jsonl (see catbox report NAME --json for the run directory).',
      EXIT_FAILURE,
    ),

  cannotReadDeclared: (file: string, cause: unknown) =>
    new CatboxError(
      'BAD_OPTION',
      `catbox: cannot read ${file}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}.\n` +
        '--missing-from takes a debian/control file, a Build-Depends: field, or a list with one package a line.',
    ),

  cannotWrite: (file: string, cause: unknown) =>
    new CatboxError(
      'WRITE_FAILED',
      `catbox: cannot write ${file}: ${(cause as NodeJS.ErrnoException).code ?? (cause instanceof Error ? cause.message : String(cause))}.\n` +
        'Choose a file in a directory you can write to.',
      EXIT_FAILURE,
      {cause},
    ),
}

/** Texts catbox shows people that are not errors: questions and warnings. */
export const notices = {
  confirm: (verb: string, name: string, what: string) => `Really ${verb} environment ${q(name)} (${what})? [y/N] `,

  lockLost: (name: string, why: string) =>
    `catbox: warning: lost the lock on environment ${q(name)} (${why}); another catbox may now use it at the same time.`,

  created: (name: string, dir: string) => `Created environment ${name} in ${dir}`,
  removed: (name: string) => `Removed environment ${name}.`,
  reset: (name: string) => `Emptied the root of environment ${name}; its configuration and run records are kept.`,
  noEnvironments: () => 'No environments yet. Create one with: catbox env create NAME',

  diffUnreadable: (name: string, dir: string, code: string) =>
    `catbox: warning: cannot read ${dir} in the root of environment ${q(name)} (${code}); what is below it is not listed.`,
}
