// What every catbox command shares: a CatboxError ends it with its message on
// stderr and its exit status (no stack, no oclif decoration), and --json
// output is one JSON value on stdout.
import {Command} from '@oclif/core'

import {CatboxError} from './errors.js'

export abstract class CatboxCommand extends Command {
  async catch(error: Error & {exitCode?: number}): Promise<unknown> {
    if (!(error instanceof CatboxError)) return super.catch(error)
    this.logToStderr(error.message)
    this.exit(error.exitCode)
  }

  /** The one JSON value a --json command prints. */
  protected printJson(value: unknown): void {
    this.log(JSON.stringify(value, null, 2))
  }
}
