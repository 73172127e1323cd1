// oclif's command_not_found hook: "catbox exce" and "catbox env creat x" end
// with the nearest command, in catbox's words (usage.ts), and exit status 2.
import type {Hook} from '@oclif/core'

import {unknownCommandError} from './usage.js'

const notFound: Hook<'command_not_found'> = async function (options) {
  const error = unknownCommandError(options.config, options.id)
  process.stderr.write(error.message + '\n')
  this.exit(error.exitCode)
}

export default notFound
