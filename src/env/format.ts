// env list / env show / env create / env diff, for people (stdout). --json
// prints the EnvInfo / EnvDetails / Change objects themselves.
import {isUtf8} from 'node:buffer'

import {splitDev} from '../pack/owners.js'
import type {Ownership} from './store.js'
import {formatBytes} from '../lib/fsutil.js'
import type {EnvConfig} from './config.js'
import {type Change, pathBytesOf} from './diff.js'
import type {EnvDetails, EnvInfo, RunSummary} from './store.js'

const yesNo = (value: boolean): string => (value ? 'yes' : 'no')

/** Local time, minutes: 2025-11-28 20:01. */
export function formatTime(iso: string | null): string {
  if (!iso) return '?'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return '?'
  const two = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`
}

/** "exit 0", "signal 9", "failed (exit 127)", "interrupted", "running", "unreadable". */
export function formatOutcome(run: RunSummary): string {
  switch (run.status) {
    case 'finished':
      return run.signal === null ? `exit ${run.exitCode}` : `signal ${run.signal} (exit ${run.exitCode})`
    case 'failed':
      return `failed (exit ${run.exitCode})`
    default:
      return run.status
  }
}

function formatStatus(info: EnvInfo): string {
  if (info.status === 'busy' && info.holder) return `busy: ${info.holder.command} (pid ${info.holder.pid})`
  return info.status
}

/** The env list table. */
export function formatList(envs: readonly EnvInfo[]): string {
  const rows = envs.map((e) => [
    e.name,
    e.config?.template ?? '?',
    e.config ? String(e.config.writable.length) : '?',
    formatBytes(e.rootBytes),
    e.lastRun ? `${formatTime(e.lastRun.start)} ${formatOutcome(e.lastRun)}` : 'never',
    formatStatus(e),
  ])
  return table(['NAME', 'TEMPLATE', 'RULES', 'ROOT SIZE', 'LAST RUN', 'STATUS'], rows)
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}

/** The settings part of env show (and of env create's answer). */
function formatConfig(config: EnvConfig): [string, string[]][] {
  return [
    ['template', [config.template]],
    ['created', [formatTime(config.createdAt)]],
    ['writable', config.writable.length > 0 ? config.writable : ['nothing']],
    ['network', [config.network]],
    ['collect-only', [yesNo(config.collectOnly)]],
    ['fail on violation', [yesNo(config.failOnViolation)]],
    ['fake root', [yesNo(config.fakeRoot)]],
    ['overlay', [yesNo(config.overlay)]],
    ['maps', config.maps.length > 0 ? config.maps.map((m) => `${m.host} -> ${m.guest} (${m.mode})`) : ['none']],
    ['env', Object.keys(config.env).length > 0 ? Object.entries(config.env).map(([k, v]) => `${k}=${v}`) : ['none']],
    ['cwd', [config.cwd ?? 'the directory catbox exec is run from']],
    ['trace', [config.trace?.length ? config.trace.join(', ') : 'none']],
  ]
}

function fields(entries: [string, string[]][]): string {
  const width = Math.max(...entries.map(([key]) => key.length)) + 2
  return entries
    .flatMap(([key, values]) => values.map((value, i) => (i === 0 ? `${key}:`.padEnd(width) : ' '.repeat(width)) + value))
    .join('\n')
}

function formatRun(run: RunSummary): string {
  if (run.status === 'unreadable') return `${run.id}  unreadable: ${run.error}`
  const violations = run.violations === 1 ? '1 violation' : `${run.violations} violations`
  const duration = run.durationMs === null ? '' : `, ${(run.durationMs / 1000).toFixed(1)} s`
  return `${run.id}  ${formatTime(run.start)}  ${formatOutcome(run)}, ${violations}${duration}  ${(run.command ?? []).join(' ')}`
}

/** env show. */
export function formatDetails(env: EnvDetails): string {
  const head: [string, string[]][] = [
    ['name', [env.name]],
    ['path', [env.path]],
    ['status', [formatStatus(env)]],
  ]
  const out = [fields([...head, ...(env.config ? formatConfig(env.config) : []), ['root size', [formatBytes(env.rootBytes)]], ['runs', [String(env.runCount)]]])]
  if (env.problem) out.push('', env.problem)
  if (env.runs.length > 0) out.push('', 'RUNS (newest first)', ...env.runs.map(formatRun))
  if (env.ownership.length > 0) out.push('', 'RECORDED OWNERSHIP (fake root)', ...env.ownership.map(formatOwnership))
  return out.join('\n')
}

/** env create: where it is and what it allows. */
export function formatCreated(env: EnvInfo, message: string): string {
  return [message, fields(env.config ? formatConfig(env.config) : [])].join('\n')
}

const TYPE_CHARS: Record<number, string> = {0o040000: 'd', 0o120000: 'l', 0o020000: 'c', 0o060000: 'b', 0o010000: 'p', 0o140000: 's'}

/** "crw-r--r--  0:0     1,3  /path" — the view the archive and stat inside will give. */
export function formatOwnership(o: Ownership): string {
  const owner = o.uid === null ? '-' : `${o.uid}:${o.gid}`
  let mode = '-'
  if (o.mode !== null) {
    const bits = o.mode & 0o7777
    const rwx = (shift: number, special: number, ch: string): string =>
      `${bits & (4 << shift) ? 'r' : '-'}${bits & (2 << shift) ? 'w' : '-'}` +
      (bits & special ? (bits & (1 << shift) ? ch : ch.toUpperCase()) : bits & (1 << shift) ? 'x' : '-')
    mode = (TYPE_CHARS[o.mode & 0o170000] ?? '-') + rwx(6, 0o4000, 's') + rwx(3, 0o2000, 's') + rwx(0, 0o1000, 't')
  }
  const dev = o.rdev === null ? '' : (({major, minor}) => `${major},${minor}`)(splitDev(o.rdev))
  return `  ${mode.padEnd(10)}  ${owner.padEnd(11)}  ${dev.padEnd(7)}  ${o.path}`
}

/** env diff: "A /path", one change a line; "" when there is none. */
export function formatDiff(changes: readonly Change[]): string {
  return changes.map((c) => `${c.change} ${quotePath(pathBytesOf(c))}`).join('\n')
}

const C_ESCAPES: Record<number, string> = {0x07: '\\a', 0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0b: '\\v', 0x0c: '\\f', 0x0d: '\\r', 0x22: '\\"', 0x5c: '\\\\'}

/** How many bytes the UTF-8 sequence led by byte b has; 0 when b cannot lead one. */
const utf8Length = (b: number): number => (b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0)

/**
 * A path quoted in the way of git's paths: as it is when it is UTF-8
 * without control characters, a double quote or a backslash; else in double
 * quotes, with C escapes (\n, \", \\) and each byte that is not part of a
 * UTF-8 character as \ooo (octal). One line per path, whatever the name.
 */
export function quotePath(path: Buffer): string {
  const plain = (b: number) => b >= 0x20 && b !== 0x7f && b !== 0x22 && b !== 0x5c
  if (isUtf8(path) && path.every(plain)) return path.toString('utf8')
  let out = '"'
  for (let i = 0; i < path.length; ) {
    const b = path[i]
    const length = utf8Length(b)
    if (length > 1 && i + length <= path.length && isUtf8(path.subarray(i, i + length))) {
      out += path.subarray(i, i + length).toString('utf8')
      i += length
      continue
    }
    out += plain(b) && length === 1 ? String.fromCharCode(b) : (C_ESCAPES[b] ?? `\\${b.toString(8).padStart(3, '0')}`)
    i++
  }
  return out + '"'
}
