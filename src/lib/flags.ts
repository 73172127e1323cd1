// Flags that several commands share.
import {Flags} from '@oclif/core'

import {NETWORK_MODES, TRACE_MODES} from '../run/spec.js'
import type {TraceMode} from '../run/types.js'
import {errors} from './errors.js'

/** exec and shell: each overrides the environment's setting for this run. */
export const runOverrideFlags = {
  'collect-only': Flags.boolean({allowNo: true, description: "record violations without denying them (--no-collect-only: deny, whatever the environment says)"}),
  'fail-on-violation': Flags.boolean({allowNo: true, description: 'exit 1 when the command succeeded but there were violations'}),
  network: Flags.option({options: NETWORK_MODES, description: "full, loopback or none, instead of the environment's"})(),
}

/**
 * --trace[=MODES] (exec; env create). oclif has no flags with an optional
 * value, so bareTrace() first turns a --trace without one into --trace=exec;
 * the value is read with parseTraceModes().
 */
export const traceFlag = {
  trace: Flags.string({
    helpValue: 'MODES',
    description:
      'record an operation log: exec (the process tree; a bare --trace), read (files read, failed lookups), write (files written), all, or none; comma-separated. read and write include exec',
  }),
}

const MODE_LIST = /^(exec|read|write|all|none)(,(exec|read|write|all|none))*$/

/**
 * "--trace" alone means --trace=exec. "--trace read" (a mode list as the next
 * word) is taken as its value, as a user would mean it; anything else after
 * a bare --trace is left alone (it is NAME, or another flag).
 */
export function bareTrace(argv: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== '--trace') out.push(argv[i])
    else if (i + 1 < argv.length && MODE_LIST.test(argv[i + 1])) out.push(`--trace=${argv[++i]}`)
    else out.push('--trace=exec')
  }
  return out
}

/** "read,write" -> ['exec', 'read', 'write']: in canonical order, reads and writes with the process tree they belong to. */
export function parseTraceModes(value: string): TraceMode[] {
  const modes = new Set<TraceMode>()
  for (const word of value.split(',').map((w) => w.trim())) {
    if (word === 'none') continue
    if (word === 'all') TRACE_MODES.forEach((m) => modes.add(m))
    else if (TRACE_MODES.includes(word as TraceMode)) modes.add(word as TraceMode)
    else throw errors.badTraceMode(word)
  }
  if (modes.size > 0) modes.add('exec')
  return TRACE_MODES.filter((m) => modes.has(m))
}

export const jsonFlag = {
  json: Flags.boolean({description: 'print the result as one JSON value on stdout'}),
}
