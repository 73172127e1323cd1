// The build's real dependencies: the files it read and ran, mapped to the
// packages that own them, and compared with what the package declares.
import {readlinkSync, realpathSync, statSync} from 'node:fs'
import {posix} from 'node:path'

import {BUILD_ESSENTIAL_FALLBACK, type Declared} from './declared.js'
import type {RunModel} from './model.js'
import type {InstalledPackage, PackageDb} from './packages.js'

export interface PackageUse {
  name: string
  /** Distinct files of it the build read or ran. */
  files: number
  /** A few of them: programs run first, then in the order the build first used them. */
  examples: string[]
}

export interface DepsReport {
  manager: PackageDb['manager']
  packages: PackageUse[]
  /** Files looked up in the package database. */
  considered: number
  /** Of those, files no package owns (the build's own sources, generated files...). */
  unowned: {count: number; examples: string[]}
  /**
   * Paths not looked up: directories (opened to list or search them; dpkg
   * gives a directory to every package with a file in it), paths under
   * /proc, /sys, /dev, /run, and files the build wrote itself.
   */
  ignored: number
}

/** How the host's files are looked at; injectable for tests. null: not a link / does not exist. */
export interface LinkFs {
  realpath(path: string): string | null
  readlink(path: string): string | null
  isDirectory(path: string): boolean
}

export const hostFs: LinkFs = {
  realpath: (path) => {
    try {
      return realpathSync(path)
    } catch {
      return null
    }
  },
  readlink: (path) => {
    try {
      return readlinkSync(path)
    } catch {
      return null
    }
  },
  isDirectory: (path) => {
    try {
      return statSync(path).isDirectory()
    } catch {
      return false
    }
  },
}

const IGNORED = ['/proc/', '/sys/', '/dev/', '/run/']
const EXAMPLES = 3

/**
 * The other names a file has on a merged-/usr system (Debian bookworm,
 * Fedora...), where /bin, /sbin, /lib* are links into /usr. The build reads
 * /usr/lib/x86_64-linux-gnu/libc.so.6; dpkg may have it registered as
 * /lib/x86_64-linux-gnu/libc.so.6, and the other way round.
 */
export function usrMergeVariants(path: string): string[] {
  const m = /^(\/usr)?\/(bin|sbin|lib|lib32|lib64|libx32|libo32)(\/.*)$/.exec(path)
  if (!m) return []
  return [m[1] ? `/${m[2]}${m[3]}` : `/usr/${m[2]}${m[3]}`]
}

const forms = (path: string): string[] => [path, ...usrMergeVariants(path)]

/** Directories a program name without "/" is commonly found in, in PATH order. */
const BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']

/**
 * The symlink chain from a name to the real file, the name first, the real
 * file not included: /usr/bin/cc -> /etc/alternatives/cc -> /usr/bin/gcc -> gcc-12.
 */
export function linkChain(name: string, fs: LinkFs): string[] {
  const chain: string[] = []
  let current = name
  for (let i = 0; i < 40; i++) {
    const target = fs.readlink(current)
    if (target === null) break
    chain.push(current)
    current = posix.resolve(posix.dirname(current), target)
  }
  return chain
}

/**
 * Names the build ran programs by, when they are links to what it ran:
 * `cc` found as /usr/bin/cc, a link to /usr/bin/x86_64-linux-gnu-gcc-12
 * (the path the log has). The package of the link (gcc for /usr/bin/gcc) is a
 * dependency as much as the package of the real file (gcc-12).
 */
export function namesUsed(model: RunModel, fs: LinkFs): Map<string, string[]> {
  const out = new Map<string, string[]>()
  const seen = new Set<string>()
  for (const p of model.processes) {
    for (const exec of p.execs) {
      const argv0 = exec.argv[0] ?? ''
      const key = `${argv0}\0${exec.cwd}\0${exec.path}`
      if (!argv0 || seen.has(key)) continue
      seen.add(key)
      const candidates = argv0.includes('/') ? [posix.resolve(exec.cwd, argv0)] : BIN_DIRS.map((d) => `${d}/${argv0}`)
      // The first candidate that leads to the program is the one PATH found.
      const name = candidates.find((c) => c === exec.path || fs.realpath(c) === exec.path)
      if (!name || name === exec.path || out.has(name)) continue
      const chain = linkChain(name, fs)
      if (chain.length > 0) out.set(name, chain)
    }
  }
  return out
}

/**
 * Map every file the build read or ran to its package. Each file is looked up
 * as logged and in its merged-/usr form; one still without an owner is looked
 * up again by its real path (symlinks resolved). Names the build ran programs
 * by count as files too, each attributed to the first link in its chain that
 * a package owns.
 */
export async function findDeps(model: RunModel, db: PackageDb, fs: LinkFs = hostFs): Promise<DepsReport> {
  const programs = new Set(model.processes.flatMap((p) => p.execs.map((e) => e.path)))
  const files: string[] = []
  let ignored = 0
  for (const path of model.filesRead.keys()) {
    if (IGNORED.some((dir) => path.startsWith(dir)) || model.filesWritten.has(path) || fs.isDirectory(path)) ignored++
    else files.push(path)
  }
  const used = namesUsed(model, fs)

  // Every file -> the names to look up, in order of preference.
  const lookups = new Map<string, string[]>()
  for (const file of files) lookups.set(file, forms(file))
  for (const [name, chain] of used) {
    if (!lookups.has(name)) lookups.set(name, chain.flatMap(forms))
  }
  const owners = await db.owners([...new Set([...lookups.values()].flat())])
  const ownerOf = new Map<string, string[]>()
  const again = new Map<string, string[]>()
  for (const [file, names] of lookups) {
    const found = names.map((n) => owners.get(n)).find((o) => o && o.length > 0)
    if (found) {
      ownerOf.set(file, found)
      continue
    }
    const real = fs.realpath(file)
    if (real && real !== file) again.set(file, forms(real))
  }
  if (again.size > 0) {
    const more = await db.owners([...new Set([...again.values()].flat())])
    for (const [file, names] of again) {
      const found = names.map((n) => more.get(n)).find((o) => o && o.length > 0)
      if (found) ownerOf.set(file, found)
    }
  }

  // Programs first, then the order of first use (a Map keeps insertion order).
  const order = [...lookups.keys()].sort((a, b) => Number(isProgram(b)) - Number(isProgram(a)))
  function isProgram(file: string): boolean {
    return programs.has(file) || used.has(file)
  }
  const byPackage = new Map<string, PackageUse>()
  const unowned: string[] = []
  for (const file of order) {
    const pkgs = ownerOf.get(file)
    if (!pkgs) {
      unowned.push(file)
      continue
    }
    for (const name of pkgs) {
      let use = byPackage.get(name)
      if (!use) byPackage.set(name, (use = {name, files: 0, examples: []}))
      use.files++
      if (use.examples.length < EXAMPLES) use.examples.push(file)
    }
  }
  const unownedFiles = unowned.filter((f) => !used.has(f))
  return {
    manager: db.manager,
    packages: [...byPackage.values()].sort((a, b) => a.name.localeCompare(b.name)),
    considered: files.length,
    unowned: {count: unownedFiles.length, examples: unownedFiles.slice(0, EXAMPLES)},
    ignored,
  }
}

// Declared against used ----------------------------------------------------

export interface Comparison {
  /** Used packages nothing declares, directly or through dependencies: the missing build-dependencies. */
  undeclared: PackageUse[]
  /** Declared entries whose packages the build used (or used through one of their direct dependencies). */
  used: Array<{declared: string; by: string[]}>
  /** Declared entries the build did not use, and why. */
  unused: Array<{declared: string; why: string}>
  /** Used packages that are there because something declared depends on them; via names what. */
  covered: Array<{name: string; via: string}>
  /** Entries of the file that do not apply (other architectures, build profiles, substitution variables). */
  skipped: Declared['skipped']
  /** How build-essential and Essential packages were counted, for the reader. */
  implied: string[]
}

/**
 * Compare the used packages with the declared ones. A used package counts as
 * declared when it is named, provides a named virtual package, or is in the
 * dependency closure of something declared (a declared libfoo-dev brings
 * libfoo1; that is not a missing dependency). With dpkg, Essential packages
 * are always implied, as Debian policy says; build-essential (and its
 * closure) when `declared.buildEssential`. With rpm, whose dependencies are
 * not package names, only what is named counts.
 */
export function compareDeclared(
  deps: DepsReport,
  declared: Declared,
  installed: Map<string, InstalledPackage> | null,
): Comparison {
  const usedNames = new Set(deps.packages.map((p) => p.name))
  const providers = new Map<string, string[]>()
  for (const pkg of installed?.values() ?? []) {
    for (const virtual of pkg.provides) providers.set(virtual, [...(providers.get(virtual) ?? []), pkg.name])
  }
  /** A name as installed packages: itself, or what provides it; without a database, the name. */
  const resolve = (name: string): string[] => {
    if (!installed) return [name]
    return [...(installed.has(name) ? [name] : []), ...(providers.get(name) ?? [])]
  }

  // Directly named packages: the groups' alternatives, as installed.
  const named = new Map<string, string>()
  for (const group of declared.groups) {
    for (const alt of group.alternatives) for (const name of resolve(alt.name)) if (!named.has(name)) named.set(name, group.text)
  }

  // The closure, each package with the declared entry that brought it in.
  const via = new Map<string, string>()
  const queue: string[] = []
  const add = (name: string, why: string) => {
    if (via.has(name)) return
    via.set(name, why)
    queue.push(name)
  }
  for (const [name, why] of named) add(name, why)
  const implied: string[] = []
  if (declared.buildEssential) {
    if (installed?.has('build-essential')) add('build-essential', 'build-essential')
    else for (const group of BUILD_ESSENTIAL_FALLBACK) for (const alt of group) for (const n of resolve(alt)) add(n, 'build-essential')
    implied.push(
      declared.kind === 'build-depends'
        ? 'build-essential (gcc, g++, make, libc6-dev, dpkg-dev) and what it depends on are implied, as Debian policy says for Build-Depends'
        : 'build-essential is named: gcc, g++, make, libc6-dev, dpkg-dev and what they depend on count as declared',
    )
  }
  if (installed) {
    let essentials = 0
    for (const pkg of installed.values()) {
      if (pkg.essential) {
        add(pkg.name, 'essential')
        essentials++
      }
    }
    if (essentials > 0) implied.push(`the ${essentials} Essential packages (dpkg's "Essential: yes": coreutils, dash, sed...) are implied, as on every Debian system`)
    while (queue.length > 0) {
      const pkg = installed.get(queue.shift() as string)
      const why = via.get(pkg?.name ?? '') as string
      for (const group of pkg?.depends ?? []) for (const alt of group) for (const n of resolve(alt)) add(n, why)
    }
  } else {
    implied.push(`${deps.manager} dependencies are not package names: only the packages the file names count as declared`)
  }

  const undeclared = deps.packages.filter((p) => !via.has(p.name))
  const covered = deps.packages
    .filter((p) => via.has(p.name) && !named.has(p.name))
    .map((p) => ({name: p.name, via: via.get(p.name) as string}))
    .sort((a, b) => a.name.localeCompare(b.name))

  const used: Comparison['used'] = []
  const unused: Comparison['unused'] = []
  for (const group of declared.groups) {
    const packages = group.alternatives.flatMap((a) => resolve(a.name))
    const direct = packages.filter((n) => usedNames.has(n))
    if (direct.length > 0) {
      used.push({declared: group.text, by: direct})
      continue
    }
    // A meta or transitional package (gcc -> gcc-12) is used through its direct dependencies.
    const through = packages.flatMap((n) =>
      (installed?.get(n)?.depends ?? []).flat().flatMap(resolve).filter((d) => usedNames.has(d)),
    )
    if (through.length > 0) {
      used.push({declared: group.text, by: [...new Set(through)]})
      continue
    }
    unused.push({
      declared: group.text,
      why: installed && packages.length === 0 ? 'not installed' : 'the build read no file of it',
    })
  }
  return {undeclared, used, unused, covered, skipped: declared.skipped, implied}
}
