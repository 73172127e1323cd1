import {Args} from '@oclif/core'

import {formatDetails} from '../../env/format.js'
import {Store} from '../../env/store.js'
import {CatboxCommand} from '../../lib/command.js'
import {EXIT_FAILURE} from '../../lib/errors.js'
import {jsonFlag} from '../../lib/flags.js'

export default class EnvShow extends CatboxCommand {
  static summary = "Show an environment's settings, status and runs."
  static description = `Rules are shown as stored: $CWD, $NAME and $HOME are expanded when a command runs. With --json, the object also holds every run (newest first); the full record of a run is runs/ID/report.json in the environment's folder (see docs/run-record.md).

Exit status: 0; 1 when the environment does not exist, or is broken (its env.json cannot be used: what can be shown, with the problem, is still printed).`

  static examples = ['<%= config.bin %> env show myproj', {description: 'The exit status of the last run:', command: '<%= config.bin %> env show myproj --json | jq .lastRun.exitCode'}]

  static args = {name: Args.string({required: true, description: 'the environment'})}
  static flags = {...jsonFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(EnvShow)
    const env = await Store.open().details(args.name)
    if (flags.json) this.printJson(env)
    else this.log(formatDetails(env))
    // What can be shown of a broken environment is shown (its problem, its
    // runs), but the status says it cannot be used, as the README's table does.
    if (env.status === 'broken') this.exit(EXIT_FAILURE)
  }
}
