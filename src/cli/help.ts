// catbox's help class (package.json oclif.helpClass): oclif's, with two changes.
//
// - A run or exec takes its extra words after "--", so those commands are not
//   strict; oclif then marks every argument as repeatable ("NAME..."). Shown
//   here as strict: NAME is one word, and the usage line shows the "--" part.
// - Help for a command that does not exist ("catbox help exce", "catbox exce
//   -h") says so as every other mistake does, with the nearest command.
import {CommandHelp, Errors, Help} from '@oclif/core'

import {unknownCommandError} from './usage.js'

type Cmd = ConstructorParameters<typeof CommandHelp>[0]

export default class CatboxHelp extends Help {
  getCommandHelpClass(command: Cmd): CommandHelp {
    return new this.CommandHelpClass({...command, strict: true}, this.config, this.opts)
  }

  async showHelp(argv: string[]): Promise<void> {
    try {
      await super.showHelp(argv)
    } catch (error) {
      const missing = error instanceof Error ? /^Command (\S+) not found\.$/.exec(error.message) : null
      if (!missing) throw error
      const unknown = unknownCommandError(this.config, missing[1])
      process.stderr.write(unknown.message + '\n')
      Errors.exit(unknown.exitCode)
    }
  }
}
