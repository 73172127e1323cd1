// The values of --trace (exec, env create), without oclif: the quick path
// of catbox exec reads them too (src/cli/quick.ts).
import {TRACE_MODES} from '../run/spec.js'
import type {TraceMode} from '../run/types.js'
import {errors} from './errors.js'

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
