// catbox pack NAME OUT: an environment's output as an archive with the
// owners and modes that fake root recorded.
import {readdirSync, statSync} from 'node:fs'
import {isAbsolute, resolve} from 'node:path'

import {expandSettings, placeholderValues} from '../env/settings.js'
import type {Store} from '../env/store.js'
import {errors} from '../lib/errors.js'
import {hostTree, pack, type ArchiveFormat, type PackResult, type PackTree} from './archive.js'
import {GuestView, hostBytes, type GuestNode} from './guest.js'
import {readIdNames} from './names.js'
import {readOwners} from './owners.js'

export const FORMATS: readonly ArchiveFormat[] = ['tar', 'tar.gz', 'tar.zst']

export interface PackRequest {
  store: Store
  name: string
  out: string
  /**
   * The directory to archive, as the build saw it: in an environment with
   * the overlay or maps, a guest path (root/ laid over the host, less the
   * whiteouts, plus the maps). Default: the environment's root/ itself.
   */
  from?: string
  format?: ArchiveFormat
  /** Seconds since the epoch for every entry (else SOURCE_DATE_EPOCH, else each file's own). */
  mtime?: number
  onProgress?: (done: number, total: number) => void
}

export interface PackOutcome extends PackResult {
  environment: string
  from: string
  out: string
  format: ArchiveFormat
}

/** The format OUT's name asks for: .tar, .tar.gz/.tgz, .tar.zst/.tzst. */
export function formatOf(out: string): ArchiveFormat | undefined {
  if (/\.(tar\.gz|tgz)$/.test(out)) return 'tar.gz'
  if (/\.(tar\.zst|tzst)$/.test(out)) return 'tar.zst'
  if (out.endsWith('.tar')) return 'tar'
  return undefined
}

export async function packEnv(request: PackRequest): Promise<PackOutcome> {
  const {store, name} = request
  const config = store.load(name)
  const paths = store.paths(name)
  const out = resolve(request.out)
  const format = request.format ?? formatOf(out)
  if (!format) throw errors.packFormatUnknown(out)
  const mtime = request.mtime ?? sourceDateEpoch()
  const from = request.from === undefined ? paths.root : request.from
  if (!isAbsolute(from)) throw errors.packFromRelative(from)
  // A run in progress would change the tree under the archive: hold the lock.
  const lock = await store.lock(name, 'catbox pack', () => {})
  try {
    const settings = expandSettings(config, placeholderValues(name))
    // What the build saw: with the overlay or maps, paths are the guest's.
    const view =
      settings.overlay || settings.maps.length > 0
        ? new GuestView({
            name,
            maps: settings.maps,
            ...(settings.overlay ? {upper: paths.root, whiteouts: paths.whiteouts} : {}),
          })
        : undefined
    const names = readIdNames(view ? (path) => view.readFile(path) : undefined)
    let tree: PackTree<unknown>
    if (view && request.from !== undefined) {
      let node: GuestNode | undefined
      try {
        node = view.resolve(Buffer.from(from).toString('latin1'))
      } catch {
        // ELOOP: reported below
      }
      if (!node || (Number(node.mode) & 0o170000) !== 0o040000) throw errors.packFromMissing(from, name)
      tree = guestTree(view, node) as PackTree<unknown>
    } else {
      let isDir = false
      try {
        isDir = statSync(from).isDirectory()
      } catch {
        // reported below
      }
      if (!isDir) throw errors.packFromMissing(from)
      if (request.from === undefined && readdirSync(from).length === 0) throw errors.packNothing(name, from)
      tree = hostTree(from) as PackTree<unknown>
    }
    const owners = await readOwners(paths.owners).catch((error: unknown) => {
      throw errors.storeFailed(paths.owners, error)
    })
    const result = await pack({
      from,
      tree,
      names,
      out,
      format,
      owners,
      mtime,
      onProgress: request.onProgress,
      // Interrupted: no temporary file left, and holder.json goes (the lock directory goes as the process ends).
      onInterrupt: () => lock.abandon(),
    })
    return {environment: name, from, out, format, ...result}
  } finally {
    await lock.release()
  }
}

/** A directory of the guest view as pack walks it. */
function guestTree(view: GuestView, root: GuestNode): PackTree<GuestNode> {
  return {
    root,
    list: (dir) =>
      view.list(dir).map((name) => {
        const node = view.child(dir, name)
        if (!node) return {name: hostBytes(name), gone: true as const}
        return {name: hostBytes(name), source: node.host === '' ? null : hostBytes(node.host), node}
      }),
  }
}

function sourceDateEpoch(): number | undefined {
  const value = process.env.SOURCE_DATE_EPOCH
  if (value === undefined || value === '') return undefined
  if (!/^\d+$/.test(value)) throw errors.badMtime(value, 'SOURCE_DATE_EPOCH')
  return Number(value)
}
