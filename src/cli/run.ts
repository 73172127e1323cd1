// The body of `catbox run`, after its flags are parsed (by oclif in
// src/commands/run.ts, or by the quick path). Returns the exit status.
import {errors} from '../lib/errors.js'
import {withTerminalSignalsIgnored} from '../lib/signals.js'
import {blockingStdinForCommand} from '../lib/stdio.js'
import {exitStatus, formatSummary, formatViolation} from '../run/format.js'
import type {NetworkMode} from '../run/native.js'
import {run} from '../run/run.js'
import type {Io} from './io.js'

export interface RunFlags {
  writable?: string[]
  'collect-only'?: boolean
  network: NetworkMode
  json?: boolean
  'fail-on-violation'?: boolean
}

/** argv: the words before "--" that are not flags; passThrough: the command after "--", or null. */
export async function runMain(flags: RunFlags, argv: string[], passThrough: string[] | null, io: Io): Promise<number> {
  if (argv.length > 0) throw errors.missingSeparator(argv)
  if (!passThrough?.length) throw errors.noCommand()

  blockingStdinForCommand()
  const result = await withTerminalSignalsIgnored(() =>
    run({
      command: passThrough,
      writable: flags.writable,
      collectOnly: flags['collect-only'],
      network: flags.network,
      onViolation: (violation) => io.logToStderr(formatViolation(violation)),
    }),
  )
  const summary = formatSummary(result.violations, result.violationCount)
  if (summary) io.logToStderr(summary)
  if (flags.json) io.log(JSON.stringify(result))
  return exitStatus(result, flags['fail-on-violation'] ?? false)
}
