// The body of `catbox exec`, after its flags are parsed (by oclif in
// src/commands/exec.ts, or by the quick path). Returns the exit status.
import {execInEnv, execJson} from '../env/exec.js'
import {Store} from '../env/store.js'
import {errors} from '../lib/errors.js'
import {blockingStdinForCommand} from '../lib/stdio.js'
import {parseTraceModes} from '../lib/trace-modes.js'
import {exitStatus, formatSummary, formatViolation} from '../run/format.js'
import type {NetworkMode} from '../run/native.js'
import type {Io} from './io.js'

export interface ExecFlags {
  'collect-only'?: boolean
  'fail-on-violation'?: boolean
  network?: NetworkMode
  trace?: string
  json?: boolean
}

/** argv: the words before "--" that are not flags, NAME first; passThrough: the command after "--", or null. */
export async function execMain(name: string, flags: ExecFlags, argv: string[], passThrough: string[] | null, io: Io): Promise<number> {
  const example = `catbox exec ${name}`
  if (argv.length > 1) throw errors.missingSeparator(argv.slice(1), example)
  if (!passThrough?.length) throw errors.noCommand(example)

  blockingStdinForCommand()
  const result = await execInEnv({
    store: Store.open(),
    name,
    holder: 'catbox exec',
    command: () => ({command: passThrough}),
    overrides: {
      collectOnly: flags['collect-only'],
      failOnViolation: flags['fail-on-violation'],
      network: flags.network,
      trace: flags.trace === undefined ? undefined : parseTraceModes(flags.trace),
    },
    onViolation: (violation) => io.logToStderr(formatViolation(violation)),
    onWarning: (line) => io.logToStderr(line),
  })
  const summary = formatSummary(result.violations, result.violationCount)
  if (summary) io.logToStderr(summary)
  if (flags.json) io.log(JSON.stringify(execJson(result)))
  return exitStatus(result, result.failOnViolation)
}
