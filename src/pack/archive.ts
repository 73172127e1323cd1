// catbox pack: an environment's output as a tar archive that carries the
// owners, modes and device nodes the build asked for (the fake-root
// journal), not the ones on disk. Entries are sorted and, with an mtime,
// the archive is byte-for-byte reproducible.
import {spawn} from 'node:child_process'
import {createReadStream, createWriteStream, lstatSync, readdirSync, readlinkSync, type BigIntStats} from 'node:fs'
import {rename, rm} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {PassThrough, type Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {createGzip} from 'node:zlib'

import {Header, Pax} from 'tar'

import {findOwner, journalDev, splitDev, type OwnerTable} from './owners.js'

export type ArchiveFormat = 'tar' | 'tar.gz' | 'tar.zst'

export interface PackOptions {
  /** Directory whose contents are archived (entries are named ./relative/path). */
  from: string
  /** Output file. */
  out: string
  format: ArchiveFormat
  owners: OwnerTable
  /** Every entry gets this mtime (seconds); else its own. */
  mtime?: number
  /** Owner of files the build never chowned (fakeroot's default: root). */
  defaultUid?: number
  defaultGid?: number
  onProgress?: (done: number, total: number) => void
}

export type EntryType = 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'BlockDevice' | 'FIFO'

export interface PackEntry {
  /** ./relative/path (directories end with /) */
  name: string
  source: string
  type: EntryType
  mode: number
  uid: number
  gid: number
  size: number
  mtime: number
  linkpath?: string
  devmajor?: number
  devminor?: number
  /** Recorded xattrs, sorted by name: pax SCHILY.xattr.NAME records, as GNU tar --xattrs writes them. */
  xattrs?: Array<[string, Buffer]>
}

export interface PackResult {
  entries: number
  /** Files whose owner or mode came from the journal. */
  recorded: number
  /** Entries that cannot be archived (sockets, names that are not UTF-8): skipped, with why. */
  skipped: string[]
}

const S_IFMT = 0o170000
const TYPES: Record<number, EntryType> = {
  0o040000: 'Directory',
  0o100000: 'File',
  0o120000: 'SymbolicLink',
  0o020000: 'CharacterDevice',
  0o060000: 'BlockDevice',
  0o010000: 'FIFO',
}

/** Walks `from` and describes each entry as the build intended it. */
export function collectEntries(options: Omit<PackOptions, 'out' | 'format'>): {entries: PackEntry[]; recorded: number; skipped: string[]} {
  const entries: PackEntry[] = []
  const skipped: string[] = []
  const firstName = new Map<string, string>() // inode -> first archive name (hard links)
  let recorded = 0
  const walk = (dir: string, rel: string): void => {
    for (const raw of readdirSync(dir, {encoding: 'buffer'}).sort(Buffer.compare)) {
      const name = raw.toString('utf8')
      if (!Buffer.from(name, 'utf8').equals(raw)) {
        // A tar name is text; such a name would be archived as another one.
        skipped.push(`./${rel}${raw.toString('latin1')}: its name is not UTF-8`)
        continue
      }
      const source = join(dir, name)
      const relName = `${rel}${name}`
      const st = lstatSync(source, {bigint: true}) as BigIntStats
      const entry = describe(source, relName, st, options)
      if (!entry) {
        skipped.push(`./${relName}: a socket cannot be archived`)
        continue
      }
      if (entry.recorded) recorded++
      const key = `${st.dev}:${st.ino}`
      if (entry.entry.type !== 'Directory' && st.nlink > 1n) {
        const first = firstName.get(key)
        if (first) {
          entries.push({...entry.entry, type: 'Link', linkpath: first, size: 0})
          continue
        }
        firstName.set(key, entry.entry.name)
      }
      entries.push(entry.entry)
      if (entry.entry.type === 'Directory') walk(source, `${relName}/`)
    }
  }
  walk(options.from, '')
  return {entries, recorded, skipped}
}

function describe(
  source: string,
  rel: string,
  st: BigIntStats,
  options: Omit<PackOptions, 'out' | 'format'>,
): {entry: PackEntry; recorded: boolean} | undefined {
  const record = findOwner(options.owners, journalDev(st.dev), st.ino, st.birthtimeNs)
  // A recorded device is an empty placeholder file on disk: the record says what it is.
  const mode = record?.mode ?? Number(st.mode)
  const type = TYPES[mode & S_IFMT]
  if (!type) return undefined
  const entry: PackEntry = {
    name: `./${rel}${type === 'Directory' ? '/' : ''}`,
    source,
    type,
    mode: mode & 0o7777,
    uid: record?.uid ?? options.defaultUid ?? 0,
    gid: record?.gid ?? options.defaultGid ?? 0,
    size: type === 'File' ? Number(st.size) : 0,
    mtime: options.mtime ?? Number(st.mtimeMs) / 1000,
  }
  if (type === 'SymbolicLink') entry.linkpath = readlinkSync(source)
  if (record?.xattrs?.size) entry.xattrs = [...record.xattrs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  if (type === 'CharacterDevice' || type === 'BlockDevice') {
    const {major, minor} = splitDev(record?.rdev ?? Number(st.rdev))
    entry.devmajor = major
    entry.devminor = minor
  }
  return {entry, recorded: record !== undefined}
}

const NAMES: Record<number, string> = {0: 'root'}

function headerBlocks(e: PackEntry): Buffer[] {
  const data = {
    path: e.name,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    size: e.size,
    mtime: new Date(Math.floor(e.mtime) * 1000),
    type: e.type,
    linkpath: e.linkpath,
    uname: NAMES[e.uid] ?? '',
    gname: NAMES[e.gid] ?? '',
    devmaj: e.devmajor ?? 0,
    devmin: e.devminor ?? 0,
  }
  const block = Buffer.alloc(512)
  const header = new Header(data)
  header.encode(block, 0)
  if (e.xattrs?.length) return [xattrPax(e, data.mtime, header.needPax), block]
  if (!header.needPax) return [block]
  // Long names or large ids: a PAX extended header carries them.
  const pax = new Pax({path: e.name, linkpath: e.linkpath, uid: e.uid, gid: e.gid, size: e.size, mtime: data.mtime})
  return [pax.encode(), block]
}

/** One pax record: "LEN key=value\n", LEN counting itself. */
function paxRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')])
  let len = rest.length + 1
  while (String(len).length + rest.length > len) len++
  return Buffer.concat([Buffer.from(String(len)), rest])
}

/** A pax extended header with e's xattrs (and, when the ustar header cannot hold them, its long fields). */
function xattrPax(e: PackEntry, mtime: Date, long: boolean): Buffer {
  const records: Buffer[] = []
  if (long) {
    records.push(paxRecord('path', Buffer.from(e.name)))
    if (e.linkpath) records.push(paxRecord('linkpath', Buffer.from(e.linkpath)))
    for (const [key, value] of [['uid', e.uid], ['gid', e.gid], ['size', e.size], ['mtime', Math.floor(mtime.getTime() / 1000)]] as const)
      records.push(paxRecord(key, Buffer.from(String(value))))
  }
  for (const [name, value] of e.xattrs ?? []) records.push(paxRecord(`SCHILY.xattr.${name}`, value))
  const body = Buffer.concat(records)
  const block = Buffer.alloc(512)
  const base = e.name.replace(/\/$/, '').split('/').pop() ?? ''
  new Header({path: `./PaxHeaders/${base}`.slice(0, 99), mode: 0o644, uid: 0, gid: 0, size: body.length, mtime, type: 'ExtendedHeader'}).encode(block, 0)
  return Buffer.concat([block, body, Buffer.alloc((512 - (body.length % 512)) % 512)])
}

async function writeTar(entries: PackEntry[], out: Writable, onProgress?: (done: number, total: number) => void): Promise<void> {
  const write = (chunk: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      if (out.write(chunk)) resolve()
      else out.once('drain', resolve).once('error', reject)
    })
  let done = 0
  for (const e of entries) {
    for (const block of headerBlocks(e)) await write(block)
    if (e.type === 'File' && e.size > 0) {
      let copied = 0
      for await (const chunk of createReadStream(e.source)) {
        const buf = chunk as Buffer
        const take = buf.subarray(0, Math.max(0, e.size - copied))
        copied += take.length
        if (take.length) await write(take)
      }
      // The file changed size while being packed: keep the header's promise.
      if (copied < e.size) await write(Buffer.alloc(e.size - copied))
      const pad = (512 - (e.size % 512)) % 512
      if (pad) await write(Buffer.alloc(pad))
    }
    onProgress?.(++done, entries.length)
  }
  await write(Buffer.alloc(1024))
  out.end()
}

/** Writes the archive atomically: to a temporary name beside `out`, then renamed. */
export async function pack(options: PackOptions): Promise<PackResult> {
  const {entries, recorded, skipped} = collectEntries(options)
  const temp = join(dirname(options.out), `.${basename(options.out)}.${process.pid}.tmp`)
  const tarStream = new PassThrough()
  try {
    const writing = writeTar(entries, tarStream, options.onProgress)
    if (options.format === 'tar') {
      await Promise.all([writing, pipeline(tarStream, createWriteStream(temp))])
    } else if (options.format === 'tar.gz') {
      // Node's gzip header carries no name and a zero mtime: reproducible.
      await Promise.all([writing, pipeline(tarStream, createGzip({level: 9}), createWriteStream(temp))])
    } else {
      await Promise.all([writing, zstd(tarStream, temp)])
    }
    await rename(temp, options.out)
  } catch (error) {
    await rm(temp, {force: true})
    throw error
  }
  return {entries: entries.length, recorded, skipped}
}

function zstd(input: PassThrough, out: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('zstd', ['-q', '-19', '-T1', '-f', '-o', out], {stdio: ['pipe', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new Error('zstd is not installed (apt-get install zstd)') : error),
    )
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`zstd failed: ${stderr.trim()}`))))
    input.pipe(child.stdin)
  })
}
