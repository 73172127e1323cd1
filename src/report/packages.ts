// The distribution's package database: which package owns a file, and what
// is installed with which dependencies. dpkg (Debian, Ubuntu) or rpm (Fedora,
// RHEL, SUSE), asked through their query tools in batches.
import {spawn} from 'node:child_process'
import {accessSync, constants, existsSync} from 'node:fs'
import {join} from 'node:path'

export interface InstalledPackage {
  name: string
  /** Depends and Pre-Depends: groups of alternatives, names only. */
  depends: string[][]
  /** Virtual packages it provides. */
  provides: string[]
  /** dpkg's "Essential: yes": every system has it, no package declares it. */
  essential: boolean
}

export interface PackageDb {
  manager: 'dpkg' | 'rpm'
  /**
   * The owners of each path, exactly as the database registers it (no
   * symlinks are followed here). Paths it does not know are left out.
   */
  owners(paths: string[]): Promise<Map<string, string[]>>
  /** Installed packages by name, or null when this manager's dependencies cannot be read as package names. */
  installed(): Promise<Map<string, InstalledPackage> | null>
  /** The architecture name Build-Depends restrictions are matched against. */
  arch(): Promise<string>
}

/** Output of a tool run; the exit status is not an error here (dpkg-query -S exits 1 when a path is unknown). */
interface Output {
  stdout: string
  stderr: string
  code: number | null
}

export type Exec = (file: string, args: string[]) => Promise<Output>

const exec: Exec = (file, args) =>
  new Promise((resolve, reject) => {
    const child = spawn(file, args, {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, LC_ALL: 'C'}})
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    child.on('error', reject)
    child.on('close', (code) =>
      resolve({stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code}),
    )
  })

/** Paths per query: far below the kernel's argument limit, few enough runs for a big build. */
const BATCH_PATHS = 2000
const BATCH_BYTES = 256 * 1024

export function batches(paths: string[]): string[][] {
  const out: string[][] = []
  let current: string[] = []
  let bytes = 0
  for (const path of paths) {
    if (current.length >= BATCH_PATHS || (current.length > 0 && bytes + path.length + 1 > BATCH_BYTES)) {
      out.push(current)
      current = []
      bytes = 0
    }
    current.push(path)
    bytes += path.length + 1
  }
  if (current.length > 0) out.push(current)
  return out
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    if (!dir) continue
    try {
      accessSync(join(dir, name), constants.X_OK)
      return join(dir, name)
    } catch {
      // not here
    }
  }
  return null
}

/** The package manager of this system: dpkg when it has a database, else rpm, else null. */
export function detectPackageDb(run: Exec = exec): PackageDb | null {
  if (onPath('dpkg-query') && existsSync('/var/lib/dpkg/status')) return dpkgDb(run)
  if (onPath('rpm')) return rpmDb(run)
  return null
}

// dpkg ---------------------------------------------------------------------

/** dpkg-query -S takes glob patterns; a backslash makes a character literal. */
const dpkgLiteral = (path: string): string => path.replace(/[*?[\]\\]/g, '\\$&')

/**
 * dpkg-query -S output: "pkg1, pkg2:amd64: /path" per found path; diversion
 * lines and (on stderr) "no path found" lines are not owners.
 */
export function parseDpkgSearch(stdout: string, into: Map<string, string[]> = new Map()): Map<string, string[]> {
  for (const line of stdout.split('\n')) {
    if (!line || line.startsWith('diversion by ')) continue
    const at = line.indexOf(': /')
    if (at < 0) continue
    const path = line.slice(at + 2)
    const packages = line
      .slice(0, at)
      .split(', ')
      .map((p) => p.trim().replace(/:[a-z0-9-]+$/, ''))
      .filter(Boolean)
    const known = into.get(path) ?? []
    into.set(path, [...new Set([...known, ...packages])])
  }
  return into
}

/** "libc6 (>= 2.34), libgcc-s1 | foo:any" -> [["libc6"], ["libgcc-s1", "foo"]] */
export function parseDependsField(value: string): string[][] {
  return value
    .split(',')
    .map((group) =>
      group
        .split('|')
        .map((alt) => alt.trim().split(/[\s(]/)[0].replace(/:[a-z0-9-]+$/, ''))
        .filter(Boolean),
    )
    .filter((group) => group.length > 0)
}

const DPKG_FORMAT = '${Package}\\t${Status}\\t${Essential}\\t${Depends}\\t${Pre-Depends}\\t${Provides}\\n'

export function parseDpkgInstalled(stdout: string): Map<string, InstalledPackage> {
  const out = new Map<string, InstalledPackage>()
  for (const line of stdout.split('\n')) {
    const [name, status, essential, depends, preDepends, provides] = line.split('\t')
    if (!name || !status?.endsWith(' installed')) continue
    // The same package for two architectures (Multi-Arch: same) appears twice: merge.
    const known = out.get(name)
    const pkg: InstalledPackage = known ?? {name, depends: [], provides: [], essential: false}
    pkg.essential ||= essential === 'yes'
    pkg.depends.push(...parseDependsField(`${depends ?? ''},${preDepends ?? ''}`))
    pkg.provides.push(...parseDependsField(provides ?? '').flat())
    out.set(name, pkg)
  }
  return out
}

export function dpkgDb(run: Exec = exec): PackageDb {
  return {
    manager: 'dpkg',
    async owners(paths) {
      const found = new Map<string, string[]>()
      for (const batch of batches(paths.filter((p) => p.startsWith('/')))) {
        const r = await run('dpkg-query', ['-S', ...batch.map(dpkgLiteral)])
        parseDpkgSearch(r.stdout, found)
      }
      return found
    },
    async installed() {
      const r = await run('dpkg-query', ['-W', '-f', DPKG_FORMAT])
      return parseDpkgInstalled(r.stdout)
    },
    async arch() {
      const r = await run('dpkg', ['--print-architecture'])
      return r.stdout.trim() || 'amd64'
    },
  }
}

// rpm ----------------------------------------------------------------------

const NOT_OWNED = /^file (.*) is not owned by any package$/

/**
 * rpm -qf --qf '%{NAME}\n' prints one line per (path, owner) in order, and
 * "file X is not owned by any package" for a path without one. When the
 * lines do not pair up with the paths (a path with two owners, or one that
 * vanished), the batch is asked again path by path.
 */
export function pairRpmOutput(paths: string[], stdout: string): Map<string, string[]> | null {
  const lines = stdout.split('\n').filter(Boolean)
  if (lines.length !== paths.length) return null
  const out = new Map<string, string[]>()
  for (const [i, line] of lines.entries()) {
    const unowned = NOT_OWNED.exec(line)
    if (unowned) {
      if (unowned[1] !== paths[i]) return null
      continue
    }
    if (/\s/.test(line)) return null
    out.set(paths[i], [line])
  }
  return out
}

export function rpmDb(run: Exec = exec): PackageDb {
  const query = async (paths: string[]) => run('rpm', ['-qf', '--qf', '%{NAME}\\n', '--', ...paths])
  return {
    manager: 'rpm',
    async owners(paths) {
      const found = new Map<string, string[]>()
      // rpm reports a missing file on stderr only, which would unpair the lines.
      const existing = paths.filter((p) => p.startsWith('/') && existsSync(p))
      for (const batch of batches(existing)) {
        const paired = pairRpmOutput(batch, (await query(batch)).stdout)
        if (paired) {
          for (const [path, owners] of paired) found.set(path, owners)
          continue
        }
        for (const path of batch) {
          const r = await query([path])
          const owners = r.code === 0 ? r.stdout.split('\n').filter((l) => l && !NOT_OWNED.test(l)) : []
          if (owners.length > 0) found.set(path, owners)
        }
      }
      return found
    },
    // rpm dependencies are capabilities (libc.so.6()(64bit)), not package names.
    async installed() {
      return null
    },
    async arch() {
      const r = await run('rpm', ['--eval', '%{_arch}'])
      return r.stdout.trim()
    },
  }
}
