// Violations grouped by the directory they happened in: a build that writes
// 300 files into /usr/share/doc is one finding, not 300.
import {createReadStream} from 'node:fs'
import {posix} from 'node:path'
import {createInterface} from 'node:readline'

import type {Violation} from '../run/types.js'

export interface ViolationGroup {
  /** The directory of the canonical path; "(network)" for addresses. */
  directory: string
  count: number
  /** Distinct paths in it. */
  paths: number
  /** Operation -> how many times. */
  operations: Record<string, number>
  programs: string[]
  /** Whether any was denied (false: all allowed in collect-only mode). */
  denied: boolean
  /** A few of the paths, the first seen first. */
  examples: string[]
}

export const NETWORK_GROUP = '(network)'
const EXAMPLES = 3

export function groupViolations(violations: Iterable<Violation>): ViolationGroup[] {
  const grouper = new ViolationGrouper()
  for (const v of violations) grouper.add(v)
  return grouper.groups()
}

/** The violations of a run's violation log (one JSON object a line), read as a stream. */
export async function groupViolationLog(file: string): Promise<{count: number; byDirectory: ViolationGroup[]}> {
  const grouper = new ViolationGrouper()
  let count = 0
  for await (const line of createInterface({input: createReadStream(file), crlfDelay: Infinity})) {
    if (line.trim() === '') continue
    grouper.add(JSON.parse(line) as Violation)
    count++
  }
  return {count, byDirectory: grouper.groups()}
}

/** Groups violations one at a time. */
export class ViolationGrouper {
  private readonly byDirectory = new Map<string, ViolationGroup & {seen: Set<string>}>()

  add(v: Violation): void {
    const groups = this.byDirectory
    const isNetwork = v.canonical === '' && !v.path.startsWith('/')
    const target = v.canonical || v.path
    const directory = isNetwork ? NETWORK_GROUP : posix.dirname(target)
    let g = groups.get(directory)
    if (!g) {
      g = {directory, count: 0, paths: 0, operations: {}, programs: [], denied: false, examples: [], seen: new Set()}
      groups.set(directory, g)
    }
    g.count++
    g.operations[v.operation] = (g.operations[v.operation] ?? 0) + 1
    if (v.program && !g.programs.includes(v.program)) g.programs.push(v.program)
    g.denied ||= v.denied
    if (!g.seen.has(target)) {
      g.seen.add(target)
      g.paths++
      if (g.examples.length < EXAMPLES) g.examples.push(target)
    }
  }

  groups(): ViolationGroup[] {
    return [...this.byDirectory.values()]
      .map(({seen: _seen, ...g}) => g)
      .sort((a, b) => b.count - a.count || a.directory.localeCompare(b.directory))
  }
}

/**
 *   /etc   3 violations, 2 paths (openat ×2, unlinkat) by sh, cp: /etc/passwd, /etc/x
 */
export function renderViolationGroups(groups: readonly ViolationGroup[]): string[] {
  const width = Math.min(40, Math.max(0, ...groups.map((g) => g.directory.length)))
  return groups.map((g) => {
    const ops = Object.entries(g.operations)
      .sort((a, b) => b[1] - a[1])
      .map(([op, n]) => (n > 1 ? `${op} ×${n}` : op))
      .join(', ')
    const what = `${g.count} violation${g.count === 1 ? '' : 's'}, ${g.paths} path${g.paths === 1 ? '' : 's'}`
    const allowed = g.denied ? '' : ', allowed'
    const by = g.programs.length > 0 ? ` by ${g.programs.join(', ')}` : ''
    const more = g.paths > g.examples.length ? ', …' : ''
    return `${g.directory.padEnd(width)}  ${what} (${ops}${allowed})${by}: ${g.examples.join(', ')}${more}`
  })
}
