// Asking before destroying something (env rm, env reset).
import {createInterface} from 'node:readline'
import {isatty} from 'node:tty'

import {errors, notices} from './errors.js'

/**
 * Ask "Really VERB environment NAME (WHAT)? [y/N]" on the terminal; true for
 * y or yes. Without a terminal on stdin there is no one to ask: a
 * NOT_CONFIRMED error says to pass --force.
 */
export async function confirmOrThrow(verb: 'remove' | 'reset', name: string, what: string): Promise<void> {
  if (!isatty(0)) throw errors.needsConfirmation(verb, name)
  const rl = createInterface({input: process.stdin, output: process.stderr})
  // End of input (Ctrl-D) is a no.
  const answer = await new Promise<string>((resolve) => {
    rl.once('close', () => resolve(''))
    rl.question(notices.confirm(verb, name, what), resolve)
  })
  rl.close()
  if (!/^y(es)?$/i.test(answer.trim())) throw errors.notConfirmed(verb, name)
}
