import {Args, Flags} from '@oclif/core'

import {Store} from '../../env/store.js'
import {CatboxCommand} from '../../lib/command.js'
import {confirmOrThrow} from '../../lib/confirm.js'
import {notices} from '../../lib/errors.js'
import {jsonFlag} from '../../lib/flags.js'

export default class EnvRm extends CatboxCommand {
  static summary = 'Remove an environment and everything in it.'
  static description = `Its configuration, its root directory and its run records go. catbox asks first when stdin is a terminal; otherwise, or to skip the question, pass --force.

Refused while a command runs in the environment. A broken environment (its env.json cannot be read) can be removed.`

  static examples = ['<%= config.bin %> env rm myproj', '<%= config.bin %> env rm myproj --force --json']

  static args = {name: Args.string({required: true, description: 'the environment'})}
  static aliases = ['env:remove']
  static flags = {force: Flags.boolean({char: 'f', description: 'do not ask'}), ...jsonFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(EnvRm)
    const store = Store.open()
    const {path} = await store.info(args.name)
    if (!flags.force) await confirmOrThrow('remove', args.name, path)
    await store.remove(args.name)
    if (flags.json) this.printJson({name: args.name, removed: true})
    else this.log(notices.removed(args.name))
  }
}
