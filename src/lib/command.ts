// What every catbox command shares: a CatboxError ends it with its message on
// stderr and its exit status (no stack, no oclif decoration), and so does a
// mistake on its command line, which oclif's parser reports (usageError turns
// it into a CatboxError); --json output is one JSON value on stdout.
import {Command} from '@oclif/core'

import {type CommandShape, usageError} from '../cli/usage.js'

export abstract class CatboxCommand extends Command {
  async catch(error: Error & {exitCode?: number}): Promise<unknown> {
    const {flags, args, usage} = this.ctor as unknown as Omit<CommandShape, 'id'>
    const catboxError = usageError(error, {id: this.id ?? this.ctor.id, flags, args, usage})
    if (!catboxError) return super.catch(error)
    this.logToStderr(catboxError.message)
    this.exit(catboxError.exitCode)
  }

  /** The one JSON value a --json command prints. */
  protected printJson(value: unknown): void {
    this.log(JSON.stringify(value, null, 2))
  }
}
