import {Flags} from '@oclif/core'

import {runMain} from '../cli/run.js'
import {suggestFlag} from '../cli/usage.js'
import {splitArgv} from '../lib/argv.js'
import {CatboxCommand} from '../lib/command.js'
import {errors} from '../lib/errors.js'
import {NETWORK_MODES} from '../run/spec.js'

export default class Run extends CatboxCommand {
  static summary = 'Run a command once in the sandbox: it may write only where the rules allow.'
  static description = `Everything after "--" is the command and its arguments, passed on unchanged. It is found through PATH like a shell would, and its stdin, stdout and stderr are catbox's own.

A write that no rule allows fails with EACCES and is reported on stderr as it happens, with a summary at the end. Three kinds of RULE:

A path (/usr/local) allows itself and everything below it. A relative path is taken from the current directory, and symlinks in it are resolved.

A glob (any of * ? [ {) must be absolute: * ? and [..] match within one path component, ** across components, {a,b} expands to both. It allows a path when the path or one of its directories matches.

~REGEX is a PCRE2 regular expression matched against the canonical path.

/dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom, /dev/tty, /dev/ptmx and /dev/pts can always be opened for writing.

Exit status: the command's (128+N when signal N killed it); 127 when it is not found, 126 when it cannot be executed, 2 for a usage error; with --fail-on-violation, 1 when the command succeeded but there were violations.`

  static usage = 'run [--writable RULE]... [--collect-only] [--network full|loopback|none] [--json] [--fail-on-violation] -- CMD [ARGS...]'
  static examples = [
    {description: 'Let a build write only below /tmp and its own build directory:', command: '<%= config.bin %> run --writable /tmp --writable "$PWD/build" -- make'},
    {description: 'Report what an install would write elsewhere, without stopping it:', command: '<%= config.bin %> run --collect-only --writable "/usr/local/**" -- make install'},
    {description: 'No network, a JSON result on stdout:', command: '<%= config.bin %> run --network none --json -- ./configure'},
  ]

  static strict = false
  static flags = {
    writable: Flags.string({char: 'w', multiple: true, multipleNonGreedy: true, helpValue: 'RULE', description: 'allow writes matching RULE (repeatable)'}),
    'collect-only': Flags.boolean({description: 'do not deny writes, only record them as violations'}),
    network: Flags.option({options: NETWORK_MODES, default: 'full' as const, description: 'full, loopback (IP to loopback only) or none (no IP; Unix sockets work)'})(),
    json: Flags.boolean({description: 'print one JSON object {exitCode, signal, violations, stats} on stdout at the end'}),
    'fail-on-violation': Flags.boolean({description: 'exit 1 when the command succeeded but there were violations'}),
  }

  async run(): Promise<void> {
    const {own, passThrough} = splitArgv(this.argv)
    const {flags, argv} = await this.parse(Run, own).catch((error: Error & {flags?: string[]}) => {
      throw passThrough === null && Array.isArray(error.flags) && !error.flags.some((flag) => suggestFlag(flag, Run.flags))
        ? errors.unknownFlagNoSeparator(error.flags)
        : error
    })
    this.exit(await runMain(flags, argv as string[], passThrough, this))
  }
}
