// catbox's help class (package.json oclif.helpClass): oclif's, with three changes.
//
// - A list of commands names each once: "env ls" and "env remove" are shown
//   as aliases in their command's help, not as more commands (catbox help env
//   too, whose command passes no options from package.json).
// - A run or exec takes its extra words after "--", so those commands are not
//   strict; oclif then marks every argument as repeatable ("NAME..."). Shown
//   here as strict: NAME is one word, and the usage line shows the "--" part.
// - Help for a command that does not exist ("catbox help exce", "catbox exce
//   -h") says so as every other mistake does, with the nearest command.
import {CommandHelp, Errors, Help} from '@oclif/core'

import {unknownCommandError} from './usage.js'

type Cmd = ConstructorParameters<typeof CommandHelp>[0]

export default class CatboxHelp extends Help {
  constructor(...[config, options]: ConstructorParameters<typeof Help>) {
    super(config, {...options, hideAliasesFromRoot: true})
  }

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
