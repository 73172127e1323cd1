// Flags that several commands share.
import {Flags} from '@oclif/core'

import {NETWORK_MODES} from '../run/spec.js'

/** exec and shell: each overrides the environment's setting for this run. */
export const runOverrideFlags = {
  'collect-only': Flags.boolean({allowNo: true, description: "record violations without denying them (--no-collect-only: deny, whatever the environment says)"}),
  'fail-on-violation': Flags.boolean({allowNo: true, description: 'exit 1 when the command succeeded but there were violations'}),
  network: Flags.option({options: NETWORK_MODES, description: "full, loopback or none, instead of the environment's"})(),
}

export const jsonFlag = {
  json: Flags.boolean({description: 'print the result as one JSON value on stdout'}),
}
