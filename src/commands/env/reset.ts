import {Args, Flags} from '@oclif/core'

import {Store} from '../../env/store.js'
import {CatboxCommand} from '../../lib/command.js'
import {confirmOrThrow} from '../../lib/confirm.js'
import {notices} from '../../lib/errors.js'
import {jsonFlag} from '../../lib/flags.js'

export default class EnvReset extends CatboxCommand {
  static summary = "Empty an environment's root directory and forget its deletions; keep its configuration and run records."
  static description = `The root directory holds what builds wrote into the environment's overlay, and its whiteouts what they deleted from the host's view; after a reset the environment shows the host as it is (catbox env diff NAME prints nothing). catbox asks first when stdin is a terminal; otherwise, or to skip the question, pass --force.

Refused while a command runs in the environment.`

  static examples = ['<%= config.bin %> env reset myproj', '<%= config.bin %> env reset myproj --force --json']

  static args = {name: Args.string({required: true, description: 'the environment'})}
  static flags = {force: Flags.boolean({char: 'f', description: 'do not ask'}), ...jsonFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(EnvReset)
    const store = Store.open()
    const {path} = await store.info(args.name)
    if (!flags.force) await confirmOrThrow('reset', args.name, `${path}/root`)
    await store.reset(args.name)
    const info = await store.info(args.name)
    if (flags.json) this.printJson(info)
    else this.log(notices.reset(args.name))
  }
}
