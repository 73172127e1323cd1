// The dependencies a package declares, read from the file given to
// `catbox report --deps --missing-from FILE`: either a Debian control file
// (or just its Build-Depends field), or a plain list, one package a line.
//
// Build-Depends syntax (Debian policy 7.1, 7.7): comma-separated groups;
// "a | b" alternatives; "name:native" / ":any" arch qualifiers; "(>= 1.2)"
// version constraints; "[amd64 !i386]" architecture restrictions; "<!nocheck>"
// build-profile restrictions (several <...> groups are ORed). Version
// constraints are kept for display but not checked: the question is which
// packages are used, not which versions.

export interface Relation {
  /** Package name, without arch qualifier. */
  name: string
  /** The text as written, for messages: "gcc (>= 4:10)". */
  text: string
}

/** One comma-separated entry: it is satisfied by any of its alternatives. */
export interface Group {
  alternatives: Relation[]
  text: string
}

export interface Declared {
  /** 'build-depends': fields of a Debian control file; 'list': one package a line. */
  kind: 'build-depends' | 'list'
  /** The fields read ("Build-Depends", "Build-Depends-Indep"...); empty for a list. */
  fields: string[]
  groups: Group[]
  /** Entries that do not apply to this build, and why. */
  skipped: Array<{text: string; why: string}>
  /**
   * Whether build-essential's packages count as declared: always for a
   * Build-Depends field (Debian policy 4.2: they are never listed), and for a
   * list only when it names build-essential.
   */
  buildEssential: boolean
}

export interface DeclaredOptions {
  /** Debian architecture name of the build: restrictions like [amd64] are matched against it. */
  arch: string
  /** Active build profiles (none in a normal build): <!nocheck> applies, <stage1> does not. */
  profiles?: string[]
}

const FIELD = /^(Build-Depends(?:-Arch|-Indep)?)[ \t]*:(.*)$/i

/** Parse FILE's text: a control file if it has a Build-Depends* field, else a list. */
export function parseDeclared(text: string, options: DeclaredOptions): Declared {
  const fields = buildDependsFields(text)
  if (fields.length > 0) {
    const result: Declared = {kind: 'build-depends', fields: [], groups: [], skipped: [], buildEssential: true}
    for (const {name, value} of fields) {
      result.fields.push(name)
      parseRelations(value, options, result)
    }
    return result
  }
  const result: Declared = {kind: 'list', fields: [], groups: [], skipped: [], buildEssential: false}
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim()
    if (line) parseRelations(line, options, result)
  }
  result.buildEssential = result.groups.some((g) => g.alternatives.some((a) => a.name === 'build-essential'))
  return result
}

/** The Build-Depends* fields of the first stanza that has any, continuation lines joined. */
function buildDependsFields(text: string): Array<{name: string; value: string}> {
  const out: Array<{name: string; value: string}> = []
  let current: {name: string; value: string} | null = null
  for (const line of text.split('\n')) {
    if (/^\s*$/.test(line)) {
      if (out.length > 0) break // the end of the stanza that had them
      current = null
      continue
    }
    if (/^[ \t]/.test(line)) {
      if (current) current.value += ' ' + line.trim()
      continue
    }
    if (line.startsWith('#')) continue
    const m = FIELD.exec(line)
    current = m ? {name: canonicalField(m[1]), value: m[2].trim()} : null
    if (current) out.push(current)
  }
  return out
}

const canonicalField = (name: string): string =>
  name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase())

function parseRelations(value: string, options: DeclaredOptions, into: Declared): void {
  for (const entry of value.split(',')) {
    const text = entry.trim().replace(/\s+/g, ' ')
    if (!text) continue
    if (text.includes('${')) {
      into.skipped.push({text, why: 'a substitution variable, filled in by the packaging tools'})
      continue
    }
    const alternatives: Relation[] = []
    let why = ''
    for (const alt of text.split('|')) {
      const parsed = parseRelation(alt.trim(), options)
      if (typeof parsed === 'string') why ||= parsed
      else alternatives.push(parsed)
    }
    if (alternatives.length > 0) into.groups.push({alternatives, text})
    else into.skipped.push({text, why})
  }
}

/** One alternative -> a Relation, or why it does not apply here (or cannot be read). */
function parseRelation(text: string, options: DeclaredOptions): Relation | string {
  const m = /^([a-z0-9][a-z0-9+.-]*)(?::([a-z0-9-]+))?\s*(\([^)]*\))?\s*(\[[^\]]*\])?\s*((?:<[^>]*>\s*)*)$/i.exec(text)
  if (!m) return `cannot be read as a package relation`
  const [, name, , , archList, profileList] = m
  if (archList && !archApplies(archList.slice(1, -1).trim().split(/\s+/), options.arch)) {
    return `for other architectures than ${options.arch}`
  }
  if (profileList && !profilesApply(profileList, options.profiles ?? [])) {
    return `only for the build profile${/\s|></.test(profileList.trim()) ? 's' : ''} ${profileList.trim()}`
  }
  return {name: name.toLowerCase(), text}
}

/** [amd64 arm64] lists where it applies; [!i386 !hurd-any] where it does not. Wildcards: any, linux-any, any-amd64. */
export function archApplies(list: string[], arch: string): boolean {
  const negated = list.filter((a) => a.startsWith('!')).map((a) => a.slice(1))
  const positive = list.filter((a) => !a.startsWith('!'))
  if (positive.length > 0) return positive.some((p) => archMatches(p, arch))
  return !negated.some((p) => archMatches(p, arch))
}

function archMatches(pattern: string, arch: string): boolean {
  if (pattern === arch || pattern === 'any') return true
  const [os, cpu] = split(arch)
  const [pos, pcpu] = split(pattern)
  return (pos === 'any' || pos === os) && (pcpu === 'any' || pcpu === cpu)
}

/** "amd64" -> ["linux", "amd64"]; "kfreebsd-amd64" -> ["kfreebsd", "amd64"]; "linux-any" -> ["linux", "any"]. */
function split(arch: string): [string, string] {
  const dash = arch.indexOf('-')
  return dash < 0 ? ['linux', arch] : [arch.slice(0, dash), arch.slice(dash + 1)]
}

/** "<!nocheck> <stage1 cross>": applies when any <...> group has all its terms true. */
export function profilesApply(list: string, active: string[]): boolean {
  const groups = [...list.matchAll(/<([^>]*)>/g)].map((g) => g[1].trim().split(/\s+/).filter(Boolean))
  if (groups.length === 0) return true
  return groups.some((terms) =>
    terms.every((term) => (term.startsWith('!') ? !active.includes(term.slice(1)) : active.includes(term))),
  )
}

/** What build-essential stands for when the build-essential package itself is not installed (Debian's list). */
export const BUILD_ESSENTIAL_FALLBACK: string[][] = [['libc6-dev', 'libc-dev'], ['gcc'], ['g++'], ['make'], ['dpkg-dev']]
