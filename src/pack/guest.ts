// The guest view as catbox pack reads it: the environment's root/ (upper)
// laid over the host, less what the whiteouts hide, plus the maps. The rules
// are native/overlay.cc's (Overlay::child and Overlay::list), so that pack
// archives the tree the build saw: a directory the build made under
// /var/tmp/pkg/install in an overlay environment exists only in root/, and
// the host entries beside it show too, unless the build removed them.
//
// Paths are byte strings here (latin1: one char per byte), as in
// src/env/diff.ts, so that a name need not be UTF-8; fs gets them back as
// Buffers.
import {lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync} from 'node:fs'
import {posix} from 'node:path'

import {readWhiteouts} from '../env/diff.js'

export interface GuestViewConfig {
  /** The environment's root/ when the overlay is on. */
  upper?: string
  /** Its whiteouts file. */
  whiteouts?: string
  maps: {host: string; guest: string}[]
  /** The environment's name, for errors. */
  name: string
}

type Layer = 'upper' | 'lower' | 'map' | 'virtual'

/** One guest path, looked up. */
export interface GuestNode {
  /** The guest path (byte string). */
  guest: string
  /** Where it is on the host (byte string); '' for a directory that exists only because a map lies below it. */
  host: string
  layer: Layer
  /** Full st_mode. */
  mode: number
  /** root/ has an entry here. */
  upper: boolean
  /** The host's entry here shows, and is a directory whose entries may show too. */
  lowerDir: boolean
}

/** Where fs gets a byte-string path. */
export const hostBytes = (path: string): Buffer => Buffer.from(path, 'latin1')

const S_IFMT = 0o170000
const S_IFDIR = 0o040000
const S_IFLNK = 0o120000
const COPY_TEMP = '.catbox-copyup-' // native/overlay.cc's kCopyTemp: a copy-up half done
const MAX_LINKS = 40

const childPath = (dir: string, name: string): string => (dir === '/' ? `/${name}` : `${dir}/${name}`)
const under = (path: string, prefix: string): boolean => path === prefix || path.startsWith(`${prefix}/`)

function lstatMode(path: string): number | undefined {
  try {
    return Number(lstatSync(hostBytes(path)).mode)
  } catch {
    return undefined
  }
}

function listNames(path: string): string[] {
  try {
    return (readdirSync(hostBytes(path), {encoding: 'buffer'}) as Buffer[]).map((name) => name.toString('latin1'))
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return []
    throw error
  }
}

export class GuestView {
  private readonly upper?: string
  private readonly whiteouts: Set<string>
  /** Longest guest prefix first: the first that covers a path is its map. */
  private readonly maps: {host: string; guest: string}[]

  constructor(config: GuestViewConfig) {
    const canonical = (path: string): string => {
      try {
        return realpathSync(path)
      } catch {
        return posix.resolve(path)
      }
    }
    this.upper = config.upper === undefined ? undefined : Buffer.from(canonical(config.upper)).toString('latin1')
    this.whiteouts = config.upper !== undefined && config.whiteouts ? readWhiteouts(config.whiteouts, config.name) : new Set()
    this.maps = config.maps
      .map((m) => ({
        host: Buffer.from(canonical(m.host)).toString('latin1'),
        guest: Buffer.from(posix.normalize(posix.resolve('/', m.guest)).replace(/(.)\/$/, '$1')).toString('latin1'),
      }))
      .sort((a, b) => b.guest.length - a.guest.length)
  }

  root(): GuestNode {
    const upper = this.upper !== undefined
    return {guest: '/', host: upper ? this.upper! : '/', layer: upper ? 'upper' : 'lower', mode: S_IFDIR | 0o755, upper, lowerDir: true}
  }

  private mapFor(guest: string): {host: string; guest: string} | undefined {
    return this.maps.find((m) => under(guest, m.guest))
  }

  private mapBelow(guest: string): boolean {
    return this.maps.some((m) => m.guest !== guest && under(m.guest, guest === '/' ? '' : guest))
  }

  /** The entry `name` of directory parent, or undefined when there is none. */
  child(parent: GuestNode, name: string): GuestNode | undefined {
    if ((parent.mode & S_IFMT) !== S_IFDIR) return undefined
    const guest = childPath(parent.guest, name)
    const map = this.mapFor(guest)
    if (map || parent.layer === 'map') {
      const host = map ? map.host + guest.slice(map.guest.length) : childPath(parent.host, name)
      const mode = lstatMode(host)
      return mode === undefined ? undefined : {guest, host, layer: 'map', mode, upper: false, lowerDir: false}
    }
    let node: GuestNode | undefined
    if (this.upper !== undefined && parent.upper) {
      const host = this.upper + guest
      const mode = lstatMode(host)
      if (mode !== undefined) node = {guest, host, layer: 'upper', mode, upper: true, lowerDir: false}
    }
    if (parent.lowerDir && !this.whiteouts.has(guest)) {
      const mode = lstatMode(guest)
      if (mode !== undefined) {
        // Below an upper entry that is not a directory nothing of the host shows.
        const lowerDir = (mode & S_IFMT) === S_IFDIR && (!node || (node.mode & S_IFMT) === S_IFDIR)
        if (node) node.lowerDir = lowerDir
        else node = {guest, host: guest, layer: 'lower', mode, upper: false, lowerDir}
      }
    }
    if (!node && this.mapBelow(guest)) node = {guest, host: '', layer: 'virtual', mode: S_IFDIR | 0o755, upper: false, lowerDir: false}
    return node
  }

  /** The names in directory dir, as the build lists them: root/'s, the host's not hidden, map points. Sorted by bytes. */
  list(dir: GuestNode): string[] {
    const names = new Set<string>()
    if (dir.layer === 'map') {
      for (const name of listNames(dir.host)) names.add(name)
    } else {
      if (dir.upper) for (const name of listNames(this.upper + dir.guest)) if (!name.startsWith(COPY_TEMP)) names.add(name)
      if (dir.lowerDir) for (const name of listNames(dir.guest)) if (!this.whiteouts.has(childPath(dir.guest, name))) names.add(name)
    }
    const prefix = dir.guest === '/' ? '/' : `${dir.guest}/`
    for (const m of this.maps) if (m.guest.startsWith(prefix)) names.add(m.guest.slice(prefix.length).split('/')[0])
    return [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  }

  /**
   * An absolute guest path looked up as the kernel would in the guest view:
   * symlinks followed (their targets walked in the guest view, `..` stopping
   * at the guest /). Undefined when nothing is there; throws ELOOP as an
   * errno error.
   */
  resolve(path: string): GuestNode | undefined {
    const stack: GuestNode[] = [this.root()]
    const pending = path.split('/').filter((part) => part !== '' && part !== '.')
    let links = 0
    while (pending.length > 0) {
      const name = pending.shift()!
      if (name === '..') {
        if (stack.length > 1) stack.pop()
        continue
      }
      const node = this.child(stack.at(-1)!, name)
      if (!node) return undefined
      if ((node.mode & S_IFMT) === S_IFLNK) {
        if (++links > MAX_LINKS) throw Object.assign(new Error(`too many levels of symbolic links: ${path}`), {code: 'ELOOP'})
        let target: string
        try {
          target = (readlinkSync(hostBytes(node.host), {encoding: 'buffer'}) as Buffer).toString('latin1')
        } catch {
          return undefined
        }
        if (target.startsWith('/')) stack.splice(1)
        pending.unshift(...target.split('/').filter((part) => part !== '' && part !== '.'))
        continue
      }
      stack.push(node)
    }
    return stack.at(-1)
  }

  /** A file's contents in the guest view, or undefined when it cannot be read. */
  readFile(path: string): Buffer | undefined {
    const node = this.resolve(path)
    if (!node || node.host === '') return undefined
    try {
      return readFileSync(hostBytes(node.host))
    } catch {
      return undefined
    }
  }
}
