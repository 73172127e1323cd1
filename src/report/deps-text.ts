// `catbox report NAME --deps [--missing-from FILE]` as text.
import type {Declared} from './declared.js'
import type {Comparison, DepsReport} from './deps.js'

const plural = (n: number, word: string, many = `${word}s`): string => `${n} ${n === 1 ? word : many}`

export function renderDeps(deps: DepsReport): string[] {
  const out: string[] = []
  const owned = deps.considered - deps.unowned.count
  out.push(
    `Packages the build used (${deps.manager}): ${deps.packages.length}, owning ${plural(owned, 'file')} it read or ran`,
  )
  const width = Math.min(32, Math.max(0, ...deps.packages.map((p) => p.name.length)))
  for (const p of deps.packages) {
    const more = p.files > p.examples.length ? ', …' : ''
    out.push(`  ${p.name.padEnd(width)}  ${plural(p.files, 'file').padStart(9)}: ${p.examples.join(', ')}${more}`)
  }
  if (deps.unowned.count > 0) {
    const more = deps.unowned.count > deps.unowned.examples.length ? ', …' : ''
    out.push(`Not from any package: ${plural(deps.unowned.count, 'file')} (${deps.unowned.examples.join(', ')}${more})`)
  }
  if (deps.ignored > 0) {
    out.push(`Not looked up: ${plural(deps.ignored, 'path')} (directories, files under /proc, /sys, /dev, /run, and files the build wrote)`)
  }
  return out
}

export function renderComparison(cmp: Comparison, declared: Declared, file: string): string[] {
  const out: string[] = []
  const source = declared.kind === 'build-depends' ? `the ${declared.fields.join(' and ')} of ${file}` : `the list in ${file}`
  out.push(`Compared with ${source} (${plural(declared.groups.length, 'entry', 'entries')}):`)
  for (const note of cmp.implied) out.push(`  note: ${note}`)

  out.push('')
  out.push(`Used but not declared: ${cmp.undeclared.length === 0 ? 'none' : cmp.undeclared.length}`)
  for (const p of cmp.undeclared) out.push(`  ${p.name}   (${p.examples.join(', ')}${p.files > p.examples.length ? ', …' : ''})`)

  out.push('')
  out.push(`Declared but not used: ${cmp.unused.length === 0 ? 'none' : cmp.unused.length}`)
  for (const u of cmp.unused) out.push(`  ${u.declared}   (${u.why})`)

  out.push('')
  out.push(`Declared and used: ${cmp.used.length === 0 ? 'none' : cmp.used.length}`)
  for (const u of cmp.used) {
    const by = u.by.length === 1 && u.declared.split(/[\s(:]/)[0] === u.by[0] ? '' : `   (as ${u.by.join(', ')})`
    out.push(`  ${u.declared}${by}`)
  }
  if (cmp.covered.length > 0) {
    const byVia = new Map<string, string[]>()
    for (const c of cmp.covered) byVia.set(c.via, [...(byVia.get(c.via) ?? []), c.name])
    out.push('')
    out.push(`Used and brought in by what is declared or implied: ${cmp.covered.length}`)
    for (const [via, names] of byVia) out.push(`  through ${via}: ${names.join(', ')}`)
  }
  if (cmp.skipped.length > 0) {
    out.push('')
    out.push(`Entries that do not apply here: ${cmp.skipped.length}`)
    for (const s of cmp.skipped) out.push(`  ${s.text}   (${s.why})`)
  }
  return out
}
