import {Args} from '@oclif/core'

import {execMain} from '../cli/exec.js'
import {suggestFlag} from '../cli/usage.js'
import {splitArgv} from '../lib/argv.js'
import {CatboxCommand} from '../lib/command.js'
import {errors} from '../lib/errors.js'
import {bareTrace, jsonFlag, runOverrideFlags, traceFlag} from '../lib/flags.js'

export default class Exec extends CatboxCommand {
  static summary = "Run a command in a named environment, with the environment's rules."
  static description = `Everything after "--" is the command and its arguments, passed on unchanged; stdin, stdout and stderr are catbox's own. Violations are reported on stderr as they happen, with a summary at the end, as with catbox run.

The environment "default" is made from the default template on first use, so "catbox exec default -- make" works on a fresh machine: it may write in the current directory, /tmp, /var/tmp, /dev/shm and ~/.cache.

One run at a time per environment: while a command runs in it, another exec, shell, env rm or env reset of the same environment is refused, naming the catbox process that holds it.

Each run leaves a record in the environment, runs/ID/report.json (catbox env show NAME lists them).

--trace records an operation log next to it, runs/ID/events.jsonl: every process with its argv, cwd, times and exit (--trace or --trace=exec), and with --trace=read,write or --trace=all every file read, looked up in vain, or written. catbox report NAME shows it: the process tree, the real dependencies (--deps), a trace for Perfetto (--trace-file). The environment can trace every run (env create --trace); --trace=none turns that off for one run.

Exit status: the command's (128+N when signal N killed it); 127 when it is not found, 126 when it cannot be executed, 2 for a usage error, 1 when the environment cannot be used (it does not exist, is busy or broken); with fail-on-violation, 1 when the command succeeded but there were violations.`

  static usage = 'exec NAME [--json] [--[no-]collect-only] [--[no-]fail-on-violation] [--network full|loopback|none] [--trace[=exec,read,write,all,none]] -- CMD [ARGS...]'
  static examples = [
    {description: 'Build in the current directory; writes elsewhere are denied and reported:', command: '<%= config.bin %> exec default -- make'},
    {description: 'See what an install would write, without stopping it:', command: '<%= config.bin %> exec myenv --collect-only -- make install'},
    {description: 'A JSON result on the last line of stdout:', command: '<%= config.bin %> exec ci --json -- sh -c "make >&2"'},
    {description: 'Log every process and file of a build, then see its real dependencies:', command: '<%= config.bin %> exec myenv --trace=all -- make && <%= config.bin %> report myenv --deps'},
  ]

  static strict = false
  static args = {name: Args.string({required: true, description: 'the environment ("default" is created on first use)'})}
  static flags = {...runOverrideFlags, ...traceFlag, ...jsonFlag}

  async run(): Promise<void> {
    const {own, passThrough} = splitArgv(this.argv)
    const {args, argv, flags} = await this.parse(Exec, bareTrace(own)).catch((error: Error & {flags?: string[]}) => {
      throw passThrough === null && Array.isArray(error.flags) && !error.flags.some((flag) => suggestFlag(flag, Exec.flags))
        ? errors.unknownFlagNoSeparator(error.flags, 'catbox exec NAME [FLAGS]')
        : error
    })
    this.exit(await execMain(args.name, flags, argv as string[], passThrough, this))
  }
}
