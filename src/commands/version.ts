import {CatboxCommand} from '../lib/command.js'
import {jsonFlag} from '../lib/flags.js'

export default class Version extends CatboxCommand {
  static summary = 'Show the version of catbox and of the Node.js it runs on (as catbox --version and catbox -v do).'
  static examples = [{description: 'The version, for a bug report:', command: '<%= config.bin %> version'}]
  static flags = {...jsonFlag}

  async run(): Promise<void> {
    const {flags} = await this.parse(Version)
    if (!flags.json) return this.log(this.config.userAgent)
    this.printJson({name: this.config.name, version: this.config.version, node: process.versions.node, platform: process.platform, arch: process.arch})
  }
}
