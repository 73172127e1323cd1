// Reads the fake-root ownership journal (envs/NAME/owners.jsonl) that the
// native supervisor appends to. Same semantics as native/owners.cc: records
// are keyed by inode; a birth time that differs means the inode number was
// reused and the old record is stale; "drop" removes a record.
import {createReadStream, existsSync} from 'node:fs'
import {createInterface} from 'node:readline'

export interface OwnerRecord {
  dev: bigint
  ino: bigint
  /** Birth time in ns, 0n when unknown. */
  btime: bigint
  /** The last name the build changed it under. */
  path: string
  uid?: number
  gid?: number
  /** Full st_mode, type bits included. */
  mode?: number
  rdev?: number
  /** Privileged xattrs the build set (security.capability...), by name: its bytes as a latin1 string (ASCII names read as themselves). */
  xattrs?: Map<string, Buffer>
}

export type OwnerTable = Map<string, OwnerRecord>

export const inodeKey = (dev: bigint, ino: bigint): string => `${dev}:${ino}`

interface JournalLine {
  op: 'own' | 'mode' | 'node' | 'xattr' | 'drop'
  dev: number
  ino: number
  btime?: number
  path?: string
  uid?: number
  gid?: number
  mode?: number
  rdev?: number
  /** xattr: its name, and its value in hex, or remove: 1. */
  name?: string
  value?: string
  remove?: number
}

const UNCHANGED = 0xffffffff

// The journal's numbers exceed 2^53 (dev and btime): read them as text.
const BIG_FIELDS = /"(dev|ino|btime)":(\d+)/g

function parseLine(line: string): (JournalLine & {bigs: Record<string, bigint>}) | undefined {
  let parsed: JournalLine
  try {
    parsed = JSON.parse(line) as JournalLine
  } catch {
    return undefined // a torn last line from a killed supervisor
  }
  const bigs: Record<string, bigint> = {}
  for (const m of line.matchAll(BIG_FIELDS)) bigs[m[1]] = BigInt(m[2])
  if (bigs.dev === undefined || bigs.ino === undefined) return undefined
  return {...parsed, bigs}
}

// native/owners.h: an xattr's room as ext4 counts it (a 16-byte entry header,
// name and value padded to 4 bytes; the name as bytes), and the most one inode keeps.
const XATTR_INODE_MAX = 65536
const pad4 = (n: number): number => (n + 3) & ~3
const xattrCost = (name: string, size: number): number => 16 + pad4(Buffer.byteLength(name, 'latin1')) + pad4(size)

/**
 * Applies one journal line to the table (exported for tests). The line is its
 * bytes as a latin1 string: the supervisor writes an xattr name's bytes as
 * they are, and a name need not be UTF-8.
 */
export function applyJournalLine(table: OwnerTable, line: string): void {
  const entry = parseLine(line)
  if (!entry) return
  const {dev, ino} = entry.bigs
  const btime = entry.bigs.btime ?? 0n
  const key = inodeKey(dev, ino)
  if (entry.op === 'drop') {
    table.delete(key)
    return
  }
  let record = table.get(key)
  if (!record || (btime !== 0n && record.btime !== 0n && record.btime !== btime)) {
    record = {dev, ino, btime, path: ''}
    table.set(key, record)
  }
  if (btime !== 0n) record.btime = btime
  record.path = entry.path === undefined ? record.path : Buffer.from(entry.path, 'latin1').toString('utf8')
  if (entry.op === 'own') {
    // 4294967295 is chown's -1, "unchanged": older catbox wrote it for chown :GROUP.
    record.uid = entry.uid === UNCHANGED ? record.uid : entry.uid
    record.gid = entry.gid === UNCHANGED ? record.gid : entry.gid
  } else if (entry.op === 'xattr') {
    if (entry.name === undefined) return
    record.xattrs ??= new Map()
    if (entry.remove) {
      record.xattrs.delete(entry.name)
      return
    }
    const value = Buffer.from(entry.value ?? '', 'hex')
    // As the supervisor loads it: more than any filesystem keeps for one
    // inode (an older catbox recorded without a limit) is not kept.
    let used = xattrCost(entry.name, value.length)
    for (const [name, v] of record.xattrs) if (name !== entry.name) used += xattrCost(name, v.length)
    if (used <= XATTR_INODE_MAX) record.xattrs.set(entry.name, value)
  } else {
    record.mode = entry.mode
    if (entry.op === 'node') record.rdev = entry.rdev
  }
}

/** Loads the journal; an absent file is an empty table. */
export async function readOwners(journal: string): Promise<OwnerTable> {
  const table: OwnerTable = new Map()
  if (!existsSync(journal)) return table
  const lines = createInterface({input: createReadStream(journal, {encoding: 'latin1'}), crlfDelay: Infinity})
  for await (const line of lines) if (line) applyJournalLine(table, line)
  return table
}

/** The record of an inode, unless its birth time shows the number was reused. */
export function findOwner(table: OwnerTable, dev: bigint, ino: bigint, btime: bigint): OwnerRecord | undefined {
  const record = table.get(inodeKey(dev, ino))
  if (!record) return undefined
  if (btime !== 0n && record.btime !== 0n && btime !== record.btime) return undefined
  return record
}

/** glibc's dev_t encoding (what Node's stat returns) -> the journal's (major << 32) | minor. */
export function journalDev(dev: bigint): bigint {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n)
  const minor = (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n)
  return (major << 32n) | minor
}

/** A journal-encoded rdev (glibc dev_t) -> major and minor. */
export function splitDev(dev: number): {major: number; minor: number} {
  const d = BigInt(dev)
  return {
    major: Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & 0xfffff000n)),
    minor: Number((d & 0xffn) | ((d >> 12n) & 0xffffff00n)),
  }
}
