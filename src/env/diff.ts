// catbox env diff: what an environment's overlay added, changed and deleted,
// compared with the host, in the way of `docker diff`.
//
// The comparison is by path. The environment shows, at a guest path, its
// upper entry (root/PATH) when there is one; else the host's entry, unless a
// whiteout on the path or on a directory above it hides it. So:
//  - A: root/ has an entry and the host has nothing at that path;
//  - C: root/ has an entry and the host has one too (whatever the type, and
//    whether or not the host's was hidden first: `rm f; echo > f` changes f,
//    as `sed -i f` does). Directories count, as docker lists the parents of
//    what changed;
//  - D: the host has an entry that the environment hides and root/ does not
//    replace. Below a deleted directory nothing more is listed. The host's
//    contents of a directory that root/ replaces outright (an opaque
//    directory: a whiteout and an upper directory at one path) are deleted
//    but for what root/ holds again.
//
// Paths are handled as bytes: a name need not be UTF-8. Inside this file a
// path is a "byte string" (latin1: one char per byte), which Node's fs takes
// back as a Buffer and which sorts by bytes.
import {type Dirent, lstatSync, readdirSync, readFileSync, type Stats} from 'node:fs'
import {isUtf8} from 'node:buffer'
import {posix} from 'node:path'

import {errors} from '../lib/errors.js'
import type {EnvPaths} from './home.js'

export type ChangeKind = 'A' | 'C' | 'D'
export type EntryType = 'file' | 'dir' | 'symlink' | 'other'

export interface Change {
  change: ChangeKind
  /** The guest path. Bytes that are not UTF-8 are U+FFFD here; pathBytes has them all. */
  path: string
  /** The environment's entry (A, C) or the host's (D). */
  type: EntryType
  /** Only when the path is not valid UTF-8: its bytes, base64. */
  pathBytes?: string
}

export interface Diff {
  /** Sorted by path, each directory before what is in it. */
  changes: Change[]
  /** Directories of root/ that could not be read (vanished ones aside), with the error code: what is below them is missing. */
  unreadable: {path: string; error: string}[]
}

/** A change whose path is still a byte string. */
interface RawChange {
  change: ChangeKind
  path: string
  type: EntryType
}

const bytes = (path: string): Buffer => Buffer.from(path, 'latin1')

const child = (dir: string, name: string): string => (dir === '/' ? `/${name}` : `${dir}/${name}`)

function parentOf(path: string): string {
  const slash = path.lastIndexOf('/')
  return slash <= 0 ? '/' : path.slice(0, slash)
}

function typeOf(entry: Stats | Dirent): EntryType {
  if (entry.isDirectory()) return 'dir'
  if (entry.isFile()) return 'file'
  if (entry.isSymbolicLink()) return 'symlink'
  return 'other'
}

/** The host's entry at path, not following a last symlink; null when there is none (or it cannot be seen). */
function hostType(path: string): EntryType | null {
  try {
    return typeOf(lstatSync(bytes(path)))
  } catch {
    return null
  }
}

/** A directory's entries, or null when it is gone or not a directory any more (a run may be changing it); other errors are thrown. */
function listDir(dir: string): Dirent[] | null {
  try {
    return readdirSync(bytes(dir), {encoding: 'buffer', withFileTypes: true}) as unknown as Dirent[]
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return null
    throw error
  }
}

const nameOf = (entry: Dirent): string => (entry.name as unknown as Buffer).toString('latin1')

/**
 * The whiteouts file's guest paths, normalised. A last record without its
 * NUL was cut short by a crash and is left out; so are records that are not
 * absolute paths. A missing file has none.
 */
export function readWhiteouts(file: string, name: string): Set<string> {
  let data: Buffer
  try {
    data = readFileSync(file)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return new Set()
    throw errors.envFileUnreadable(file, name, error)
  }
  const records = data.toString('latin1').split('\0')
  records.pop() // after the last NUL: empty, or a torn record
  const paths = new Set<string>()
  for (const record of records) {
    if (!record.startsWith('/')) continue
    const path = posix.normalize(record)
    paths.add(path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path)
  }
  return paths
}

/**
 * Compare the environment's root/ and whiteouts with the host. Needs no
 * lock: entries that a running build removes while they are read are
 * skipped, so a diff taken during a run is a picture of some moment of it.
 */
export function diffEnvironment(name: string, paths: Pick<EnvPaths, 'root' | 'whiteouts'>): Diff {
  const whiteouts = readWhiteouts(paths.whiteouts, name)
  const upperRoot = Buffer.from(paths.root).toString('latin1')
  /** Every entry of root/, by guest path. */
  const upper = new Map<string, EntryType>()
  const found = new Map<string, RawChange>()
  const unreadable: {path: string; error: string}[] = []
  const add = (change: ChangeKind, path: string, type: EntryType) => found.set(path, {change, path, type})

  // Walk root/. hidden: the host's entry at this directory is hidden by a
  // whiteout on it or above it. host: the host's entry at the same path.
  const pending: {guest: string; hidden: boolean; host: EntryType | null}[] = [{guest: '/', hidden: whiteouts.has('/'), host: 'dir'}]
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    let entries: Dirent[] | null
    try {
      entries = listDir(upperRoot + dir.guest)
    } catch (error) {
      unreadable.push({path: bytes(dir.guest).toString('utf8'), error: (error as NodeJS.ErrnoException).code ?? String(error)})
      continue
    }
    if (entries === null) continue
    // Below a host entry that is neither a directory nor a link to one there is nothing to look up.
    const hostMayHave = dir.host === 'dir' || dir.host === 'symlink'
    const names = new Set<string>()
    for (const entry of entries) {
      const name = nameOf(entry)
      const guest = child(dir.guest, name)
      const type = typeOf(entry)
      names.add(name)
      upper.set(guest, type)
      const host = hostMayHave ? hostType(guest) : null
      add(host === null ? 'A' : 'C', guest, type)
      if (type === 'dir') pending.push({guest, hidden: dir.hidden || whiteouts.has(guest), host})
    }
    // An opaque directory: what the host has here is gone, but for what root/ has again.
    if (dir.hidden && dir.host === 'dir') {
      let hostEntries: Dirent[] | null = null
      try {
        hostEntries = listDir(dir.guest)
      } catch {
        // The build cannot list it either.
      }
      for (const entry of hostEntries ?? []) {
        const name = nameOf(entry)
        if (!names.has(name)) add('D', child(dir.guest, name), typeOf(entry))
      }
    }
  }

  // Whiteouts outside opaque directories: each hidden host entry that root/
  // does not replace, once, at the top of what is deleted.
  for (const path of whiteouts) {
    if (path === '/' || upper.has(path) || found.has(path)) continue
    let shadowed = false
    for (let above = parentOf(path); ; above = parentOf(above)) {
      // A whiteout above covers it (as a D above, or as an opaque
      // directory listed in the walk); an upper file or link above replaces
      // the whole host directory, and is itself a C or an A.
      const upperType = upper.get(above)
      if (whiteouts.has(above) || (upperType !== undefined && upperType !== 'dir')) {
        shadowed = true
        break
      }
      if (above === '/') break
    }
    if (shadowed) continue
    const host = hostType(path)
    if (host !== null) add('D', path, host)
  }

  const sortKey = (path: string): string => path.replaceAll('/', '\0')
  const changes = [...found.values()]
    .sort((a, b) => {
      const [ka, kb] = [sortKey(a.path), sortKey(b.path)]
      return ka < kb ? -1 : ka > kb ? 1 : 0
    })
    .map(toChange)
  return {changes, unreadable}
}

function toChange(raw: RawChange): Change {
  const data = bytes(raw.path)
  const change: Change = {change: raw.change, path: data.toString('utf8'), type: raw.type}
  if (!isUtf8(data)) change.pathBytes = data.toString('base64')
  return change
}

/** The path's bytes as diff prints them: see quotePath. */
export function pathBytesOf(change: Change): Buffer {
  return change.pathBytes === undefined ? Buffer.from(change.path, 'utf8') : Buffer.from(change.pathBytes, 'base64')
}
