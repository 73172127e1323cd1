// Lines catbox prints about a run, for people (stderr).
import type {RunResult, Violation} from './types.js'

/**
 * catbox: denied openat /etc/passwd (as "../etc/passwd") by cat[1234]: EACCES
 * catbox: violation (allowed) openat /etc/passwd by cat[1234]
 */
export function formatViolation(v: Violation): string {
  const target = v.canonical || v.path
  const given = v.canonical && v.path !== v.canonical ? ` (as ${JSON.stringify(v.path)})` : ''
  const who = `${v.program || '?'}[${v.pid}]`
  return v.denied
    ? `catbox: denied ${v.operation} ${target}${given} by ${who}: ${v.error}`
    : `catbox: violation (allowed) ${v.operation} ${target}${given} by ${who}`
}

/**
 * "catbox: 3 violations (2 paths)", or null when there were none. count is
 * how many in all when violations is only the first of them (a RunResult's
 * sample): "catbox: 5000 violations (2 paths in the first 1000)".
 */
export function formatSummary(violations: readonly Violation[], count = violations.length): string | null {
  if (count === 0) return null
  const paths = new Set(violations.map((v) => v.canonical || v.path)).size
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
  const sampled = count > violations.length ? ` in the first ${violations.length}` : ''
  return `catbox: ${plural(count, 'violation')} (${plural(paths, 'path')}${sampled})`
}

/** The CLI's exit status: the command's, or 1 for a violation when asked to fail on them. */
export function exitStatus(result: RunResult, failOnViolation: boolean): number {
  if (failOnViolation && result.violations.length > 0 && result.exitCode === 0) return 1
  return result.exitCode
}

/**
 * One line for stderr. On a terminal that an interactive program owns (raw
 * mode, the cursor anywhere in a line), "\r" first and "\r\n" at the end keep
 * the line whole and the display in order.
 */
export function terminalLine(text: string, raw: boolean): string {
  return raw ? `\r${text}\r\n` : `${text}\n`
}
