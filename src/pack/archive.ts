// catbox pack: an environment's output as a tar archive that carries the
// owners, modes and device nodes the build asked for (the fake-root
// journal), not the ones on disk. Entries are sorted and, with an mtime,
// the archive is byte-for-byte reproducible.
import {spawn} from 'node:child_process'
import {createWriteStream, lstatSync, openSync, readdirSync, readlinkSync, rmSync, type BigIntStats} from 'node:fs'
import {open, rename, rm, type FileHandle} from 'node:fs/promises'
import {isUtf8} from 'node:buffer'
import {basename, dirname, join} from 'node:path'
import {PassThrough, type Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {createGzip} from 'node:zlib'

import {Header, Pax} from 'tar'

import {CatboxError, errors} from '../lib/errors.js'
import {readIdNames, type IdNames} from './names.js'
import {findOwner, journalDev, splitDev, type OwnerTable} from './owners.js'

export type ArchiveFormat = 'tar' | 'tar.gz' | 'tar.zst'

/**
 * What pack walks: a host directory, or a directory of an environment's
 * guest view (src/pack/guest.ts), where one directory's entries come from
 * several host directories.
 */
export interface PackTree<N> {
  root: N
  /**
   * The entries of directory dir: each name's bytes, where it is on the host
   * (null: a directory that exists only in the guest view) and its node to
   * list if it is a directory; gone when it vanished since it was listed.
   */
  list(dir: N): ({name: Buffer; source: Buffer | null; node: N} | {name: Buffer; gone: true})[]
}

/** A host directory as a PackTree. */
export function hostTree(dir: string): PackTree<Buffer> {
  return {
    root: Buffer.from(dir),
    list: (d) =>
      (readdirSync(d, {encoding: 'buffer'}) as Buffer[]).map((name) => {
        const source = Buffer.concat([d, Buffer.from('/'), name])
        return {name, source, node: source}
      }),
  }
}

export interface PackOptions {
  /** Directory whose contents are archived (entries are named ./relative/path). */
  from: string
  /** What to walk instead of the host directory `from` (an environment's guest view); `from` then only names it. */
  tree?: PackTree<unknown>
  /** uname and gname for the ids (default: the host's /etc/passwd and /etc/group). */
  names?: IdNames
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
  /** Where it is on the host ('' for a directory only the guest view has). */
  source: string | Buffer
  type: EntryType
  mode: number
  uid: number
  gid: number
  size: number
  mtime: number
  linkpath?: string
  devmajor?: number
  devminor?: number
  /** The name's bytes when they are not UTF-8 (name is then a stand-in of the same length). */
  nameBytes?: Buffer
  /** The same for linkpath. */
  linkBytes?: Buffer
  /** The owner's and group's names ('' when the id has none), as GNU tar writes them. */
  uname?: string
  gname?: string
  /** Recorded xattrs (names as latin1 strings of their bytes), sorted by name: pax SCHILY.xattr.NAME records, as GNU tar --xattrs writes them. */
  xattrs?: Array<[string, Buffer]>
}

export interface PackResult {
  entries: number
  /** Files whose owner or mode came from the journal. */
  recorded: number
  /** Entries that cannot be archived (sockets): skipped, with why. */
  skipped: string[]
  /** Entries removed while pack ran (./relative/path), left out, as GNU tar does ("file removed before we read it"). */
  removed: string[]
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

/** Walks `from` (or `tree`) and describes each entry as the build intended it. */
export function collectEntries(options: Omit<PackOptions, 'out' | 'format'>): {
  entries: PackEntry[]
  recorded: number
  skipped: string[]
  removed: string[]
} {
  const entries: PackEntry[] = []
  const skipped: string[] = []
  const removed: string[] = []
  const firstName = new Map<string, PackEntry>() // inode -> the entry of its first archive name (hard links)
  const tree = options.tree ?? (hostTree(options.from) as PackTree<unknown>)
  const names = options.names ?? readIdNames()
  let recorded = 0
  const gone = (error: unknown): boolean => ['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '')
  // rel: the path so far as a byte string (latin1), as names need not be UTF-8; shown as UTF-8.
  const shown = (rel: string): string => `./${Buffer.from(rel, 'latin1').toString('utf8')}`
  const walk = (dir: unknown, rel: string, top: boolean): void => {
    let list: ReturnType<PackTree<unknown>['list']>
    try {
      list = tree.list(dir)
    } catch (error) {
      // A directory removed after its parent was read: as GNU tar, say so and go on.
      if (!top && gone(error)) return void removed.push(shown(rel.slice(0, -1)))
      throw errors.packUnreadable(top ? options.from : shown(rel), error)
    }
    for (const item of list.sort((a, b) => Buffer.compare(a.name, b.name))) {
      const relName = `${rel}${item.name.toString('latin1')}`
      if ('gone' in item) {
        removed.push(shown(relName))
        continue
      }
      let st: BigIntStats | undefined
      if (item.source) {
        try {
          st = lstatSync(item.source, {bigint: true}) as BigIntStats
        } catch (error) {
          if (!gone(error)) throw errors.packUnreadable(shown(relName), error)
          removed.push(shown(relName))
          continue
        }
      }
      let entry: ReturnType<typeof describe>
      try {
        entry = describe(item.source, relName, st, options, names)
      } catch (error) {
        if (!gone(error)) throw errors.packUnreadable(shown(relName), error)
        removed.push(shown(relName))
        continue
      }
      if (!entry) {
        skipped.push(`${shown(relName)}: a socket cannot be archived`)
        continue
      }
      if (entry.recorded) recorded++
      if (st && entry.entry.type !== 'Directory' && st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`
        const first = firstName.get(key)
        if (first) {
          entries.push({...entry.entry, type: 'Link', linkpath: first.name, linkBytes: first.nameBytes, size: 0})
          continue
        }
        firstName.set(key, entry.entry)
      }
      entries.push(entry.entry)
      if (entry.entry.type === 'Directory') walk(item.node, `${relName}/`, false)
    }
  }
  walk(tree.root, '', true)
  return {entries, recorded, skipped, removed}
}

/**
 * A name for the tar header's text fields: the name itself when it is UTF-8;
 * else one of the same length in bytes whose non-ASCII bytes are "x", with
 * the real bytes beside it (binaryNames puts them in the header).
 */
function tarText(bytes: Buffer): {text: string; bytes?: Buffer} {
  if (isUtf8(bytes)) return {text: bytes.toString('utf8')}
  return {text: bytes.toString('latin1').replace(/[\x80-\xff]/g, 'x'), bytes}
}

/** st undefined (source null): a directory that exists only in the guest view, as the build sees it: 0755, root's. rel: a byte string. */
function describe(
  source: Buffer | null,
  rel: string,
  st: BigIntStats | undefined,
  options: Omit<PackOptions, 'out' | 'format'>,
  names: IdNames,
): {entry: PackEntry; recorded: boolean} | undefined {
  const record = st ? findOwner(options.owners, journalDev(st.dev), st.ino, st.birthtimeNs) : undefined
  // A recorded device is an empty placeholder file on disk: the record says what it is.
  const mode = record?.mode ?? (st ? Number(st.mode) : 0o040755)
  const type = TYPES[mode & S_IFMT]
  if (!type) return undefined
  const uid = record?.uid ?? options.defaultUid ?? 0
  const gid = record?.gid ?? options.defaultGid ?? 0
  const name = tarText(Buffer.from(`./${rel}${type === 'Directory' ? '/' : ''}`, 'latin1'))
  const entry: PackEntry = {
    name: name.text,
    ...(name.bytes ? {nameBytes: name.bytes} : {}),
    source: source ?? '',
    type,
    mode: mode & 0o7777,
    uid,
    gid,
    size: type === 'File' && st ? Number(st.size) : 0,
    mtime: options.mtime ?? (st ? Number(st.mtimeMs) / 1000 : 0),
    uname: names.users.get(uid) ?? '',
    gname: names.groups.get(gid) ?? '',
  }
  if (type === 'SymbolicLink') {
    const target = tarText(readlinkSync(source!, {encoding: 'buffer'}))
    entry.linkpath = target.text
    if (target.bytes) entry.linkBytes = target.bytes
  }
  if (record?.xattrs?.size) entry.xattrs = [...record.xattrs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  if (type === 'CharacterDevice' || type === 'BlockDevice') {
    const {major, minor} = splitDev(record?.rdev ?? Number(st!.rdev))
    entry.devmajor = major
    entry.devminor = minor
  }
  return {entry, recorded: record !== undefined}
}

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
    uname: e.uname ?? '',
    gname: e.gname ?? '',
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

/** The bytes up to the first NUL of a header field. */
function field(block: Buffer, offset: number, size: number): Buffer {
  const value = block.subarray(offset, offset + size)
  const end = value.indexOf(0)
  return end === -1 ? value : value.subarray(0, end)
}

function setChecksum(block: Buffer): void {
  block.fill(0x20, 148, 156)
  let sum = 0
  for (let i = 0; i < 512; i++) sum += block[i]
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1')
}

/** One PAX record, "LENGTH key=value\n", LENGTH counting itself (a key given as bytes goes as they are). */
function paxRecord(key: string | Buffer, value: Buffer): Buffer {
  const rest = Buffer.concat([Buffer.from(' '), Buffer.from(key), Buffer.from('='), value, Buffer.from('\n')])
  let length = rest.length + 1
  while (String(length).length + rest.length !== length) length++
  return Buffer.concat([Buffer.from(String(length)), rest])
}

/**
 * The header blocks of an entry whose name or link target is not UTF-8, with
 * their real bytes: in the ustar fields when it fits them, and in the PAX
 * path and linkpath records. As GNU tar --format=posix, without a
 * hdrcharset=BINARY record, which GNU tar would warn about ("unknown
 * extended header keyword") and readers do without.
 */
function binaryNames(blocks: Buffer[], e: PackEntry): Buffer[] {
  if (!e.nameBytes && !e.linkBytes) return blocks
  const out = blocks.map((block) => Buffer.from(block))
  const ustar = out[out.length - 1]
  if (e.nameBytes) {
    const standIn = Buffer.from(e.name)
    const name = field(ustar, 0, 100)
    const prefix = field(ustar, 345, 155)
    if (prefix.length === 0 && name.equals(standIn)) e.nameBytes.copy(ustar, 0)
    else if (prefix.length > 0 && Buffer.concat([prefix, Buffer.from('/'), name]).equals(standIn)) {
      e.nameBytes.copy(ustar, 345, 0, prefix.length)
      e.nameBytes.copy(ustar, 0, prefix.length + 1)
    }
  }
  if (e.linkBytes && field(ustar, 157, 100).equals(Buffer.from(e.linkpath ?? ''))) e.linkBytes.copy(ustar, 157)
  setChecksum(ustar)
  if (out.length < 2) return out
  // The PAX header: its records again, path and linkpath with their bytes.
  const pax = out[0]
  const size = parseInt(field(pax, 124, 12).toString('latin1').trim(), 8)
  const body = pax.subarray(512, 512 + size)
  const records: Buffer[] = []
  for (let at = 0; at < body.length; ) {
    const space = body.indexOf(0x20, at)
    const length = Number(body.subarray(at, space).toString('latin1'))
    if (space === -1 || !(length > 0)) break
    const record = body.subarray(at, at + length)
    const equals = record.indexOf(0x3d)
    const keyBytes = record.subarray(space - at + 1, equals)
    const key = keyBytes.toString('latin1')
    let value: Buffer = record.subarray(equals + 1, record.length - 1)
    at += length
    if (key === 'path' && e.nameBytes && value.equals(Buffer.from(e.name))) value = e.nameBytes
    if (key === 'linkpath' && e.linkBytes && value.equals(Buffer.from(e.linkpath ?? ''))) value = e.linkBytes
    records.push(paxRecord(keyBytes, value))
  }
  const data = Buffer.concat(records)
  const header = Buffer.from(pax.subarray(0, 512))
  header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 12, 'latin1')
  setChecksum(header)
  out[0] = Buffer.concat([header, data, Buffer.alloc((512 - (data.length % 512)) % 512)])
  return out
}

/**
 * An xattr name (its bytes as a latin1 string, as the journal table keeps it)
 * as GNU tar writes it in a SCHILY.xattr keyword: its bytes as they are, but
 * '%' and '=' percent-encoded ('=' would end the keyword), which GNU tar
 * decodes on reading.
 */
function xattrKeyword(name: string): Buffer {
  const bytes = Buffer.from(name, 'latin1')
  const out: number[] = []
  for (const b of bytes) {
    if (b === 0x25 || b === 0x3d) out.push(...Buffer.from(`%${b.toString(16).toUpperCase()}`))
    else out.push(b)
  }
  return Buffer.from(out)
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
  for (const [name, value] of e.xattrs ?? []) records.push(paxRecord(Buffer.concat([Buffer.from('SCHILY.xattr.'), xattrKeyword(name)]), value))
  const body = Buffer.concat(records)
  const block = Buffer.alloc(512)
  const base = e.name.replace(/\/$/, '').split('/').pop() ?? ''
  new Header({path: `./PaxHeaders/${base}`.slice(0, 99), mode: 0o644, uid: 0, gid: 0, size: body.length, mtime, type: 'ExtendedHeader'}).encode(block, 0)
  return Buffer.concat([block, body, Buffer.alloc((512 - (body.length % 512)) % 512)])
}

/** A Writable's write as a promise that waits for drain; no listener outlives its write. */
function writer(out: Writable): (chunk: Buffer) => Promise<void> {
  return (chunk) =>
    out.write(chunk)
      ? Promise.resolve()
      : new Promise((resolve, reject) => {
          const done = (): void => {
            out.off('drain', onDrain).off('error', onError).off('close', onClose)
          }
          const onDrain = (): void => (done(), resolve())
          const onError = (error: Error): void => (done(), reject(error))
          const onClose = (): void => (done(), reject(new Error('the archive stream closed early')))
          out.on('drain', onDrain).on('error', onError).on('close', onClose)
        })
}

const CHUNK = 1 << 16

/** An entry's name for people: its bytes as UTF-8 (U+FFFD for what is not). */
const shownName = (e: PackEntry): string => (e.nameBytes ? e.nameBytes.toString('utf8') : e.name)

/** Opens a file to archive; undefined when it was removed since the walk. */
async function openSource(e: PackEntry): Promise<FileHandle | undefined> {
  try {
    return await open(e.source, 'r')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw errors.packUnreadable(shownName(e), error)
  }
}

/** Writes the entries as tar to out; returns the names of files removed before they could be read (left out). */
async function writeTar(entries: PackEntry[], out: Writable, onProgress?: (done: number, total: number) => void): Promise<string[]> {
  const write = writer(out)
  const removed: string[] = []
  // A hard link's first name removed: the next name of the inode carries its data.
  const movedTo = new Map<string, PackEntry>()
  const gone = new Set<string>()
  let done = 0
  // Names as bytes (latin1) for the maps: stand-ins of names that are not UTF-8 may repeat.
  const nameKey = (e: PackEntry): string => (e.nameBytes ?? Buffer.from(e.name)).toString('latin1')
  const linkKey = (e: PackEntry): string => (e.linkBytes ?? Buffer.from(e.linkpath ?? '')).toString('latin1')
  for (const listed of entries) {
    let e = listed
    if (e.type === 'Link' && e.linkpath !== undefined) {
      const first = movedTo.get(linkKey(e))
      if (first !== undefined) e = {...e, linkpath: first.name, linkBytes: first.nameBytes}
      else if (gone.has(linkKey(e))) e = {...e, type: 'File', linkpath: undefined, linkBytes: undefined}
    }
    let file: FileHandle | undefined
    if (e.type === 'File') {
      file = await openSource(e)
      if (!file) {
        removed.push(shownName(e))
        // (A link standing in for a removed first name that is gone too: the next link tries.)
        if (listed.type === 'File') gone.add(nameKey(e))
        onProgress?.(++done, entries.length)
        continue
      }
      if (listed.type === 'Link' && listed.linkpath !== undefined) movedTo.set(linkKey(listed), e)
    }
    try {
      // The size when opened: what is archived is what is read now.
      if (file) e = {...e, size: Number((await file.stat()).size)}
      for (const block of binaryNames(headerBlocks(e), e)) await write(block)
      if (file && e.size > 0) {
        let copied = 0
        while (copied < e.size) {
          const buf = Buffer.allocUnsafe(Math.min(CHUNK, e.size - copied))
          let read: number
          try {
            ;({bytesRead: read} = await file.read(buf, 0, buf.length, null))
          } catch (error) {
            throw errors.packUnreadable(shownName(e), error)
          }
          if (read === 0) break
          copied += read
          await write(buf.subarray(0, read))
        }
        // The file shrank while being packed: keep the header's promise.
        if (copied < e.size) await write(Buffer.alloc(e.size - copied))
        const pad = (512 - (e.size % 512)) % 512
        if (pad) await write(Buffer.alloc(pad))
      }
    } finally {
      await file?.close()
    }
    onProgress?.(++done, entries.length)
  }
  await write(Buffer.alloc(1024))
  out.end()
  return removed
}

/** The temporary file pack writes beside out before renaming it into place. */
export const tempPathOf = (out: string, pid: number = process.pid): string => join(dirname(out), `.${basename(out)}.${pid}.tmp`)

/**
 * Writes the archive atomically: to a temporary name beside `out`, then
 * renamed. With onInterrupt, a SIGINT or SIGTERM meanwhile removes the
 * temporary file, calls onInterrupt and ends the process by that signal.
 */
export async function pack(options: PackOptions & {onInterrupt?: (signal: NodeJS.Signals) => void}): Promise<PackResult> {
  const {entries, recorded, skipped, removed} = collectEntries(options)
  const temp = tempPathOf(options.out)
  const tarStream = new PassThrough()
  const interrupted = (signal: NodeJS.Signals): void => {
    try {
      rmSync(temp, {force: true})
      options.onInterrupt?.(signal)
    } finally {
      stopListening()
      process.kill(process.pid, signal)
    }
  }
  const onInt = (): void => interrupted('SIGINT')
  const onTerm = (): void => interrupted('SIGTERM')
  const stopListening = (): void => void process.off('SIGINT', onInt).off('SIGTERM', onTerm)
  if (options.onInterrupt) process.on('SIGINT', onInt).on('SIGTERM', onTerm)
  // Made here, synchronously, so that no later moment has a temporary file being created that the handlers above could miss.
  let fd: number
  try {
    fd = openSync(temp, 'w')
  } catch (error) {
    stopListening()
    throw errors.cannotWrite(temp, error)
  }
  const file = createWriteStream(temp, {fd})
  let output: Promise<void> | undefined
  let vanished: string[]
  try {
    const writing = writeTar(entries, tarStream, options.onProgress)
    output =
      options.format === 'tar'
        ? pipeline(tarStream, file)
        : options.format === 'tar.gz'
          ? // Node's gzip header carries no name and a zero mtime: reproducible.
            pipeline(tarStream, createGzip({level: 9}), file)
          : zstd(tarStream, file)
    const [gone] = await Promise.all([writing, output.catch((error: unknown) => Promise.reject(wrapWriteError(temp, error)))])
    vanished = gone
    await rename(temp, options.out).catch((error: unknown) => Promise.reject(errors.cannotWrite(options.out, error)))
  } catch (error) {
    tarStream.destroy()
    file.destroy()
    await output?.catch(() => {})
    await rm(temp, {force: true})
    throw error
  } finally {
    stopListening()
  }
  return {entries: entries.length - vanished.length, recorded, skipped, removed: [...removed, ...vanished]}
}

function wrapWriteError(temp: string, error: unknown): unknown {
  if (error instanceof CatboxError || !(error as NodeJS.ErrnoException).code) return error
  return errors.cannotWrite(temp, error)
}

/** zstd -19 from input into file; zstd writes to its stdout, so the file is ours to remove. */
function zstd(input: PassThrough, file: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('zstd', ['-q', '-19', '-T1', '-c'], {stdio: ['pipe', 'pipe', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', (error: NodeJS.ErrnoException) => {
      file.destroy()
      reject(error.code === 'ENOENT' ? new Error('zstd is not installed (apt-get install zstd)') : error)
    })
    const written = pipeline(child.stdout, file)
    const exited = new Promise<number | null>((res) => child.on('close', res))
    Promise.all([written, exited]).then(
      ([, code]) => (code === 0 ? resolve() : reject(new Error(`zstd failed: ${stderr.trim()}`))),
      reject,
    )
    child.stdin.on('error', () => {}) // zstd gone: its exit status tells why
    input.pipe(child.stdin)
  })
}
