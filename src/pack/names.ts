// User and group names for an archive's uname and gname fields, as GNU tar
// writes them: the name getpwuid/getgrgid gives for the id, or nothing. They
// are read from the passwd and group files the build saw: the guest's
// /etc/passwd and /etc/group in an overlay environment, else the host's.
import {readFileSync} from 'node:fs'

export interface IdNames {
  users: Map<number, string>
  groups: Map<number, string>
}

/**
 * The id -> name table of a passwd or group file (name:password:id:...). The
 * first line for an id wins, as with glibc's files lookup; comments, NIS
 * lines (+/-) and malformed lines are passed over.
 */
export function parseIdFile(text: string): Map<number, string> {
  const names = new Map<number, string>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue
    const fields = line.split(':')
    if (fields.length < 3 || fields[0] === '' || !/^\d+$/.test(fields[2])) continue
    const id = Number(fields[2])
    if (!names.has(id)) names.set(id, fields[0])
  }
  return names
}

/** The names in /etc/passwd and /etc/group as read by read (default: the host's); a file that cannot be read names no one. */
export function readIdNames(read: (path: string) => Buffer | undefined = hostFile): IdNames {
  const table = (path: string): Map<number, string> => {
    const data = read(path)
    return data === undefined ? new Map() : parseIdFile(data.toString('utf8'))
  }
  return {users: table('/etc/passwd'), groups: table('/etc/group')}
}

function hostFile(path: string): Buffer | undefined {
  try {
    return readFileSync(path)
  } catch {
    return undefined
  }
}
