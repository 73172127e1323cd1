// Flags that several commands share.
import {Flags} from '@oclif/core'

import {NETWORK_MODES} from '../run/spec.js'

export {bareTrace, parseTraceModes} from './trace-modes.js'

/** exec and shell: each overrides the environment's setting for this run. */
export const runOverrideFlags = {
  'collect-only': Flags.boolean({allowNo: true, description: "record violations without denying them (--no-collect-only: deny, whatever the environment says)"}),
  'fail-on-violation': Flags.boolean({allowNo: true, description: 'exit 1 when the command succeeded but there were violations'}),
  network: Flags.option({options: NETWORK_MODES, description: "full, loopback or none, instead of the environment's"})(),
}

/**
 * --trace[=MODES] (exec; env create). oclif has no flags with an optional
 * value, so bareTrace() first turns a --trace without one into --trace=exec;
 * the value is read with parseTraceModes() (both in trace-modes.ts).
 */
export const traceFlag = {
  trace: Flags.string({
    helpValue: 'MODES',
    description:
      'record an operation log: exec (the process tree; a bare --trace), read (files read, failed lookups), write (files written), all, or none; comma-separated. read and write include exec',
  }),
}

export const jsonFlag = {
  json: Flags.boolean({description: 'print the result as one JSON value on stdout'}),
}
