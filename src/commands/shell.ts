import {isatty} from 'node:tty'

import {Args} from '@oclif/core'

import {execInEnv, execJson} from '../env/exec.js'
import {shellInvocation, userShell} from '../env/shell.js'
import {Store} from '../env/store.js'
import {CatboxCommand} from '../lib/command.js'
import {jsonFlag, runOverrideFlags} from '../lib/flags.js'
import {blockingStdinForCommand} from '../lib/stdio.js'
import {exitStatus, formatSummary, formatViolation, terminalLine} from '../run/format.js'

export default class Shell extends CatboxCommand {
  static summary = 'Start a shell inside a named environment.'
  static description = `The shell is $SHELL (else /bin/sh), with the environment's rules, and CATBOX_ENV set to its name. When stdin is a terminal the shell is interactive: its prompt starts with "(catbox:NAME)", Ctrl-C and Ctrl-Z reach the foreground job as usual, and window size changes reach the programs. Otherwise the shell reads its commands from stdin and exits at its end.

Violations are reported on stderr as they happen; "exit N" ends catbox with status N.

The environment "default" is made on first use. One run at a time per environment: while the shell runs, other execs and shells in the same environment are refused.`

  static usage = 'shell NAME [--[no-]collect-only] [--[no-]fail-on-violation] [--network full|loopback|none] [--json]'
  static examples = [
    {description: 'Work interactively inside an environment:', command: '<%= config.bin %> shell myenv'},
    {description: 'Run a script of commands inside it:', command: "echo 'make && make install' | <%= config.bin %> shell myenv"},
    {description: 'A bash inside the strict rules, whatever your login shell:', command: 'SHELL=/bin/bash <%= config.bin %> shell strict-env'},
  ]

  static args = {name: Args.string({required: true, description: 'the environment ("default" is created on first use)'})}
  static flags = {...runOverrideFlags, ...jsonFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Shell)
    const interactive = isatty(0)
    // While an interactive shell owns the terminal, a line must not depend on where the cursor is.
    const say = (text: string) => process.stderr.write(terminalLine(text, interactive && isatty(2)))
    const shell = userShell()

    blockingStdinForCommand()
    const result = await execInEnv({
      store: Store.open(),
      name: args.name,
      holder: 'catbox shell',
      command: ({dir}) => shellInvocation({name: args.name, shell, interactive, runDir: dir}),
      overrides: {collectOnly: flags['collect-only'], failOnViolation: flags['fail-on-violation'], network: flags.network},
      onViolation: (violation) => say(formatViolation(violation)),
      onWarning: say,
    })
    const summary = formatSummary(result.violations, result.violationCount)
    if (summary) say(summary)
    if (flags.json) this.log(JSON.stringify(execJson(result)))
    this.exit(exitStatus(result, result.failOnViolation))
  }
}
