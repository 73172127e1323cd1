import {formatList} from '../../env/format.js'
import {Store} from '../../env/store.js'
import {CatboxCommand} from '../../lib/command.js'
import {notices} from '../../lib/errors.js'
import {jsonFlag} from '../../lib/flags.js'

export default class EnvList extends CatboxCommand {
  static summary = 'List the environments.'
  static description = `One line each: name, template, number of write rules, disk usage of its root directory, last run, and status (idle, busy with the process running in it, or broken when its env.json cannot be used).

Environments live in $CATBOX_HOME/envs (default: $XDG_DATA_HOME/catbox, else ~/.local/share/catbox).`

  static examples = [
    '<%= config.bin %> env list',
    {description: 'Names of the environments that are idle:', command: "<%= config.bin %> env list --json | jq -r '.[] | select(.status == \"idle\") | .name'"},
  ]

  static aliases = ['env:ls']
  static flags = {...jsonFlag}

  async run(): Promise<void> {
    const {flags} = await this.parse(EnvList)
    const envs = await Store.open().list()
    if (flags.json) this.printJson(envs)
    else this.log(envs.length > 0 ? formatList(envs) : notices.noEnvironments())
  }
}
