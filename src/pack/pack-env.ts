// catbox pack NAME OUT: an environment's output as an archive with the
// owners and modes that fake root recorded.
import {readdirSync, statSync} from 'node:fs'
import {isAbsolute, resolve} from 'node:path'

import type {Store} from '../env/store.js'
import {errors} from '../lib/errors.js'
import {pack, type ArchiveFormat, type PackResult} from './archive.js'
import {readOwners} from './owners.js'

export const FORMATS: readonly ArchiveFormat[] = ['tar', 'tar.gz', 'tar.zst']

export interface PackRequest {
  store: Store
  name: string
  out: string
  /** The directory to archive; default: the environment's root/. */
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
  store.load(name)
  const paths = store.paths(name)
  const out = resolve(request.out)
  const format = request.format ?? formatOf(out)
  if (!format) throw errors.packFormatUnknown(out)
  const mtime = request.mtime ?? sourceDateEpoch()
  const from = request.from === undefined ? paths.root : request.from
  if (!isAbsolute(from)) throw errors.packFromRelative(from)
  let isDir = false
  try {
    isDir = statSync(from).isDirectory()
  } catch {
    // reported below
  }
  if (!isDir) throw errors.packFromMissing(from)
  if (request.from === undefined && readdirSync(from).length === 0) throw errors.packNothing(name, from)
  // A run in progress would change the tree under the archive: hold the lock.
  const lock = await store.lock(name, 'catbox pack', () => {})
  try {
    const owners = await readOwners(paths.owners).catch((error: unknown) => {
      throw errors.storeFailed(paths.owners, error)
    })
    const result = await pack({from, out, format, owners, mtime, onProgress: request.onProgress})
    return {environment: name, from, out, format, ...result}
  } finally {
    await lock.release()
  }
}

function sourceDateEpoch(): number | undefined {
  const value = process.env.SOURCE_DATE_EPOCH
  if (value === undefined || value === '') return undefined
  if (!/^\d+$/.test(value)) throw errors.badMtime(value, 'SOURCE_DATE_EPOCH')
  return Number(value)
}
