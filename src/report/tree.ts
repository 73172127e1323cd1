// The process tree as text, collapsed where it is long, and the slowest steps.
import {duration, lastExec, ownTime, programName, type ProcessInfo, type RunModel} from './model.js'

export interface TreeOptions {
  /** Children shown per process; past it the slowest are shown and the rest summed up in one line. */
  maxChildren?: number
  /** Levels shown below a root; deeper processes are summed up in one line. */
  maxDepth?: number
  /** Longest command line shown, in characters. */
  width?: number
}

const DEFAULTS: Required<TreeOptions> = {maxChildren: 8, maxDepth: 12, width: 100}

/** 1234567 µs -> "1.23 s"; 4200 -> "4.2 ms"; 12 -> "0.01 ms". */
export function formatDuration(us: number): string {
  const ms = us / 1000
  if (ms >= 60_000) {
    const minutes = Math.floor(ms / 60_000)
    return `${minutes} min ${Math.round((ms - minutes * 60_000) / 1000)} s`
  }
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`
  if (ms >= 10) return `${Math.round(ms)} ms`
  return `${ms.toFixed(ms >= 1 ? 1 : 2)} ms`
}

/** argv as one line a shell would read back (quoted where needed), cut to width with "…". */
export function commandLine(argv: readonly string[], width = Infinity): string {
  const line = argv.map(shellWord).join(' ')
  return line.length > width ? line.slice(0, Math.max(1, width - 1)) + '…' : line
}

const C_ESCAPES: Record<string, string> = {'\n': '\\n', '\t': '\\t', '\r': '\\r', "'": "\\'", '\\': '\\\\'}

/** A word as a shell reads it back; one with newlines or other control characters as $'...', so it stays on one line. */
function shellWord(word: string): string {
  if (word !== '' && /^[\w@%+=:,./-]+$/.test(word)) return word
  if (/[\x00-\x1f\x7f]/.test(word)) {
    const escaped = word.replace(/[\x00-\x1f\x7f'\\]/g, (c) => C_ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    return `$'${escaped}'`
  }
  return `'${word.replaceAll("'", `'\\''`)}'`
}

/** How a process ended, for people: "" for exit 0, "exit 2", "killed by SIGKILL", "still running". */
export function endText(p: ProcessInfo): string {
  if (p.signal !== null) return `killed by ${signalName(p.signal)}`
  if (p.exitCode !== null) return p.exitCode === 0 ? '' : `exit ${p.exitCode}`
  return p.end === null ? 'no exit recorded' : ''
}

const SIGNALS = ['', 'HUP', 'INT', 'QUIT', 'ILL', 'TRAP', 'ABRT', 'BUS', 'FPE', 'KILL', 'USR1', 'SEGV', 'USR2', 'PIPE', 'ALRM', 'TERM']
export const signalName = (n: number): string => (SIGNALS[n] ? `SIG${SIGNALS[n]}` : `signal ${n}`)

/** What a process is shown as: its command line, or "(fork of sh)" when it never exec'd. */
export function label(model: RunModel, p: ProcessInfo, width = Infinity): string {
  const exec = lastExec(p)
  return exec ? commandLine(exec.argv.length > 0 ? exec.argv : [exec.path], width) : programName(model, p)
}

/**
 * The tree, one line a process:
 *   make -j2   12.3 s
 *   ├─ gcc -c -o hello.o hello.c   1.20 s
 *   │  └─ … 3 more: cc1 ×2, as (0.40 s)
 */
export function renderTree(model: RunModel, options: TreeOptions = {}): string[] {
  const o = {...DEFAULTS, ...options}
  const lines: string[] = []
  const line = (prefix: string, p: ProcessInfo) => {
    const status = endText(p)
    lines.push(`${prefix}${label(model, p, o.width)}   ${formatDuration(duration(model, p))}${status ? `, ${status}` : ''}`)
  }
  const walk = (p: ProcessInfo, indent: string, depth: number) => {
    const children = p.children.map((id) => model.processes[id])
    if (children.length === 0) return
    if (depth >= o.maxDepth) {
      lines.push(`${indent}└─ … ${summarise(model, descendants(model, p))}`)
      return
    }
    const shown = pickShown(model, children, o.maxChildren)
    const hidden = children.filter((c) => !shown.has(c))
    const rows: Array<ProcessInfo | 'hidden'> = children.filter((c) => shown.has(c))
    if (hidden.length > 0) rows.push('hidden')
    rows.forEach((row, i) => {
      const last = i === rows.length - 1
      const branch = `${indent}${last ? '└─ ' : '├─ '}`
      if (row === 'hidden') {
        lines.push(`${branch}… ${hidden.length} more: ${summarise(model, hidden)}`)
        return
      }
      line(branch, row)
      walk(row, `${indent}${last ? '   ' : '│  '}`, depth + 1)
    })
  }
  for (const id of model.roots) {
    const root = model.processes[id]
    line('', root)
    walk(root, '', 1)
  }
  return lines
}

/** The children to show: all when few, else the slowest maxChildren (shown in start order). */
function pickShown(model: RunModel, children: ProcessInfo[], maxChildren: number): Set<ProcessInfo> {
  if (children.length <= maxChildren) return new Set(children)
  // One line is spent on the summary of the hidden ones.
  const keep = Math.max(1, maxChildren - 1)
  return new Set([...children].sort((a, b) => duration(model, b) - duration(model, a)).slice(0, keep))
}

function descendants(model: RunModel, p: ProcessInfo): ProcessInfo[] {
  const out: ProcessInfo[] = []
  const stack = [...p.children]
  while (stack.length > 0) {
    const q = model.processes[stack.pop() as number]
    out.push(q)
    stack.push(...q.children)
  }
  return out
}

/** "cc1 ×20, as ×10, sh ×7 and 3 others (5.20 s)": the programs, the most frequent first, and their summed time. */
function summarise(model: RunModel, processes: ProcessInfo[]): string {
  const byName = new Map<string, number>()
  let total = 0
  for (const p of processes) {
    const name = programName(model, p)
    byName.set(name, (byName.get(name) ?? 0) + 1)
    total += duration(model, p)
  }
  const names = [...byName].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
  const listed = names.slice(0, 4).map(([name, n]) => (n > 1 ? `${name} ×${n}` : name))
  const others = names.length - listed.length
  const count = processes.length === 1 ? '1 process' : `${processes.length} processes`
  return `${listed.join(', ')}${others > 0 ? ` and ${others} other${others === 1 ? '' : 's'}` : ''} (${count}, ${formatDuration(total)} summed)`
}

export interface Step {
  process: ProcessInfo
  /** µs the process lived. */
  total: number
  /** µs not covered by its children: where its own work (or waiting) went. */
  own: number
}

/**
 * The processes that took longest themselves, children excluded: a make that
 * waits 30 s for its compilers is not a slow step, the compiler is.
 */
export function slowestSteps(model: RunModel, count = 10): Step[] {
  return model.processes
    .map((process) => ({process, total: duration(model, process), own: ownTime(model, process)}))
    .sort((a, b) => b.own - a.own || a.process.start - b.process.start)
    .slice(0, count)
}

export function renderSteps(model: RunModel, steps: Step[], width = DEFAULTS.width): string[] {
  const own = steps.map((s) => formatDuration(s.own))
  const total = steps.map((s) => formatDuration(s.total))
  const wOwn = Math.max(3, ...own.map((s) => s.length))
  const wTotal = Math.max(5, ...total.map((s) => s.length))
  return [
    `${'own'.padStart(wOwn)}  ${'total'.padStart(wTotal)}  command`,
    ...steps.map((s, i) => `${own[i].padStart(wOwn)}  ${total[i].padStart(wTotal)}  ${label(model, s.process, width)}`),
  ]
}
