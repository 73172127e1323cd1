// RunOptions -> the one validated NativeSpec native receives.
import {accessSync, constants, lstatSync, readlinkSync, realpathSync, statSync} from 'node:fs'
import {posix} from 'node:path'

import {errors} from '../lib/errors.js'
import {closestName} from '../lib/suggest.js'
import type {NativeSpec, NetworkMode} from './native.js'
import {deviceRules, parseRules} from './rules.js'
import {VIOLATION_SAMPLE} from './types.js'
import type {RunOptions, TraceMode} from './types.js'

export const NETWORK_MODES: readonly NetworkMode[] = ['full', 'loopback', 'none']
export const TRACE_MODES: readonly TraceMode[] = ['exec', 'read', 'write']

/** The search path execvp uses when PATH is not set (glibc's default, plus /usr/local). */
const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin'

/**
 * Validate options and build the spec. Throws CatboxError for anything the
 * user must fix; a command that cannot be found or executed throws with
 * exitCode 127 or 126, and nothing is run.
 */
export function buildSpec(options: RunOptions): NativeSpec {
  checkOptions(options)
  const view = options.guestView ? guestViewSpec(options.guestView) : undefined
  const cwd = view ? guestCwd(options.cwd, view) : resolveCwd(options.cwd)
  const argv = options.command
  if (argv.length === 0 || argv[0] === '') throw errors.noCommand()
  argv.forEach((arg, i) => {
    if (arg.includes('\0')) throw errors.nulByte(`argument ${i} of the command`)
  })
  const network = options.network ?? 'full'
  if (!NETWORK_MODES.includes(network)) throw errors.badNetwork(network)
  const env = environment(options.env ?? process.env)
  return {
    file: findCommand(argv[0], env.PATH, cwd, view ? examineGuest(view) : examine),
    argv: [...argv],
    env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    cwd,
    writable: parseRules(options.writable ?? [], cwd),
    devices: deviceRules(),
    collectOnly: options.collectOnly ?? false,
    network,
    hookChildInitialized: Boolean(options.onChildInitialized),
    // The process hooks need every process followed (by ptrace stops).
    followProcesses: Boolean(options.onChildInitialized || options.onChildDiedUnexpectedly),
    // Violations are printed before the program goes on to report its error.
    syncViolations: Boolean(options.onViolation),
    // Without onViolation only the result's sample needs them: the rest are counted in native.
    ...(options.onViolation ? {} : {violationEvents: VIOLATION_SAMPLE}),
    ...(process.env.CATBOX_NO_USER_NOTIF ? {ptraceOnly: true} : {}),
    ...traceSpec(options.trace, options.eventLog, cwd),
    ...fakeRootSpec(options.fakeRoot, cwd),
    ...(view ? {guestView: view} : {}),
  }
}

const isString = (v: unknown): boolean => typeof v === 'string'
const isStrings = (v: unknown): boolean => Array.isArray(v) && v.every(isString)
const isFunction = (v: unknown): boolean => typeof v === 'function'
const isObject = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v)

function validGuestView(v: unknown): boolean {
  if (!isObject(v)) return false
  const view = v as {root?: unknown; maps?: unknown; cache?: unknown}
  const root = view.root as {dir?: unknown; whiteouts?: unknown} | undefined
  const validMap = (m: unknown) =>
    isObject(m) && isString((m as {host?: unknown}).host) && isString((m as {guest?: unknown}).guest) && ['ro', 'rw', undefined].includes((m as {mode?: unknown}).mode as string)
  return (
    isString(view.cache) &&
    (root === undefined || (isObject(root) && isString(root.dir) && isString(root.whiteouts))) &&
    (view.maps === undefined || (Array.isArray(view.maps) && view.maps.every(validMap)))
  )
}

/** Every option of run(), what it must be, and the test. undefined is always accepted (the default). */
const OPTION_TYPES: Record<keyof RunOptions, [string, (v: unknown) => boolean]> = {
  command: ['an array of strings', isStrings],
  writable: ['an array of strings', isStrings],
  collectOnly: ['a boolean', (v) => typeof v === 'boolean'],
  network: ['a string', isString],
  cwd: ['a string', isString],
  env: ['an object of strings', (v) => isObject(v) && Object.values(v as object).every((x) => x === undefined || isString(x))],
  trace: ['an array of strings', isStrings],
  eventLog: ['a string', isString],
  fakeRoot: ['an object {db, uid?, gid?}', (v) => isObject(v) && isString((v as {db?: unknown}).db)],
  guestView: ['an object {root?: {dir, whiteouts}, maps?: [{host, guest, mode}], cache}', validGuestView],
  onStart: ['a function', isFunction],
  onViolation: ['a function', isFunction],
  onChildInitialized: ['a function', isFunction],
  onChildDiedUnexpectedly: ['a function', isFunction],
}

/**
 * The shape of run()'s options, checked before anything runs: a JavaScript
 * caller (or a TypeScript one with a cast) can pass anything, and a wrong
 * type found later would surface as a raw TypeError, or after the command
 * had run. An unknown name is refused too: a typo ("writeable") would
 * otherwise silently drop the option.
 */
export function checkOptions(options: unknown): asserts options is RunOptions {
  if (!isObject(options)) throw errors.badOptionType('options', 'an object', options)
  const given = options as Record<string, unknown>
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(OPTION_TYPES, name)) throw errors.unknownOption(name, closestName(name, Object.keys(OPTION_TYPES)))
  }
  if (given.command === undefined) throw errors.badOptionType('command', 'an array of strings', undefined)
  for (const [name, [expected, valid]] of Object.entries(OPTION_TYPES)) {
    const value = given[name]
    if (value !== undefined && !valid(value)) throw errors.badOptionType(name, expected, value)
  }
}

type NativeView = NonNullable<NativeSpec['guestView']>

/** Canonical host paths for native; the guest paths normalised. */
function guestViewSpec(view: NonNullable<RunOptions['guestView']>): NativeView {
  const canonical = (path: string, what: string): string => {
    try {
      return realpathSync(path)
    } catch {
      throw errors.guestViewPath(what, path)
    }
  }
  const maps = (view.maps ?? []).map((m) => {
    const guest = posix.normalize(posix.resolve('/', m.guest)).replace(/(.)\/$/, '$1')
    if (guest === '/') throw errors.badMap(`${m.host}:${m.guest}`, 'the guest path is /')
    return {host: canonical(m.host, `the map's host path`), guest, rw: m.mode === 'rw'}
  })
  return {
    ...(view.root ? {upper: {dir: canonical(view.root.dir, 'the root directory'), whiteouts: posix.resolve(view.root.whiteouts)}} : {}),
    merged: posix.resolve(view.cache),
    maps,
  }
}

/** Where a guest path is on the host, without whiteouts (native has the final word). */
function guestCandidates(path: string, view: NativeView): string[] {
  const map = [...view.maps].sort((a, b) => b.guest.length - a.guest.length).find((m) => path === m.guest || path.startsWith(`${m.guest}/`))
  if (map) return [map.host + path.slice(map.guest.length)]
  return view.upper ? [view.upper.dir + path, path] : [path]
}

function guestCwd(cwd: string | undefined, view: NativeView): string {
  const path = posix.resolve(cwd ?? process.cwd())
  if (path.includes('\uFFFD')) throw errors.badCwd(path, 'its name is not valid UTF-8; run catbox from another directory, or give one with --cwd')
  const under = view.maps.some((m) => m.guest.startsWith(`${path}/`))
  if (!under && !guestCandidates(path, view).some((host) => examine(host) === 'directory')) {
    throw errors.badCwd(path, 'it is not a directory in the environment')
  }
  return path
}

/**
 * The host path of what guest path `path` names, its symlinks followed in the
 * guest view (an absolute target is a guest path, as native reads it): a
 * link in the environment's root may point at a file that exists only
 * there. 'missing' when a name is not there, 'unreachable' when it cannot be
 * looked at.
 */
function guestHost(path: string, view: NativeView): string | 'missing' | 'unreachable' {
  let todo = path.split('/')
  let dir = '/'
  let links = 0
  while (todo.length > 0) {
    const name = todo.shift()!
    if (name === '' || name === '.') continue
    if (name === '..') {
      dir = posix.dirname(dir)
      continue
    }
    const guest = posix.join(dir, name)
    let host: string | undefined
    let isLink = false
    for (const candidate of guestCandidates(guest, view)) {
      try {
        isLink = lstatSync(candidate).isSymbolicLink()
        host = candidate
        break
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        if (code !== 'ENOENT' && code !== 'ENOTDIR') return 'unreachable'
      }
    }
    if (host === undefined) {
      // A directory that exists only because a map lies below it.
      if (todo.some((rest) => rest !== '') && view.maps.some((m) => m.guest.startsWith(`${guest}/`))) {
        dir = guest
        continue
      }
      return 'missing'
    }
    // A map below a guest symlink sits where the link leads (native places
    // it so); by the path it was given it is reached all the same.
    if (!isLink || view.maps.some((m) => m.guest.startsWith(`${guest}/`))) {
      dir = guest
      continue
    }
    if (++links > 40) return 'unreachable'
    const target = readlinkSync(host)
    if (target.startsWith('/')) dir = '/'
    todo = [...target.split('/'), ...todo]
  }
  return guestCandidates(dir, view).find((candidate) => examine(candidate) !== 'missing') ?? 'missing'
}

/** What is at a guest path, its symlinks followed in the guest view. */
function examineGuest(view: NativeView): (file: string) => Found {
  return (file) => {
    const host = guestHost(file, view)
    return host === 'missing' || host === 'unreachable' ? host : examine(host)
  }
}

function fakeRootSpec(fake: RunOptions['fakeRoot'], cwd: string): Pick<NativeSpec, 'fakeRoot'> {
  if (!fake) return {}
  const db = posix.resolve(cwd, fake.db)
  for (const [name, id] of [['uid', fake.uid], ['gid', fake.gid]] as const) {
    if (id !== undefined && !(Number.isInteger(id) && id >= 0 && id < 2 ** 32 - 1)) throw errors.badFakeId(name, id)
  }
  let isDirectory = false
  try {
    isDirectory = statSync(posix.dirname(db)).isDirectory()
  } catch {
    // reported below
  }
  if (!isDirectory) throw errors.badOwnerDb(db)
  return {fakeRoot: {db, uid: fake.uid ?? 0, gid: fake.gid ?? 0}}
}

/** The operation log's part of the spec: nothing, or the modes and an absolute log path whose directory exists. */
function traceSpec(trace: TraceMode[] | undefined, eventLog: string | undefined, cwd: string): Pick<NativeSpec, 'trace' | 'eventLog'> {
  if (trace === undefined || trace.length === 0) return {}
  for (const mode of trace) if (!TRACE_MODES.includes(mode)) throw errors.badTraceMode(String(mode))
  if (!eventLog) throw errors.noEventLog()
  if (eventLog.includes('\0')) throw errors.nulByte('the event log path')
  const file = posix.resolve(cwd, eventLog)
  let isDirectory = false
  try {
    isDirectory = statSync(posix.dirname(file)).isDirectory()
  } catch {
    // reported below
  }
  if (!isDirectory) throw errors.badEventLog(file)
  return {trace: {exec: trace.includes('exec'), read: trace.includes('read'), write: trace.includes('write')}, eventLog: file}
}

function resolveCwd(cwd: string | undefined): string {
  const path = posix.resolve(cwd ?? process.cwd())
  // Node turns bytes that are not UTF-8 into U+FFFD: that name cannot reach the command.
  if (path.includes('\uFFFD')) throw errors.badCwd(path, 'its name is not valid UTF-8; run catbox from another directory, or give one with --cwd')
  let isDirectory: boolean
  try {
    isDirectory = statSync(path).isDirectory()
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw errors.badCwd(path, code === 'ENOENT' ? 'it does not exist' : (code ?? String(error)))
  }
  if (!isDirectory) throw errors.badCwd(path, 'it is not a directory')
  return path
}

function environment(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) continue
    if (key === '' || key.includes('=') || key.includes('\0') || value.includes('\0')) {
      throw errors.badEnvironment(key)
    }
    out[key] = value
  }
  return out
}

/**
 * Find the program as a shell does: a name containing "/" is a path (relative
 * to cwd); otherwise each PATH directory is tried in order (an empty entry
 * means cwd). Directories, and entries that cannot be looked at (an
 * unsearchable PATH directory), are skipped. When a file was found but none
 * was executable, that is reported instead of "not found". `look` says what
 * is at a path (in the guest view, for an overlay).
 */
export function findCommand(command: string, path: string | undefined, cwd: string, look: (file: string) => Found = examine): string {
  if (command.includes('/')) {
    const file = posix.resolve(cwd, command)
    const found = look(file)
    if (found === 'executable') return file
    if (found === 'missing') throw errors.noSuchFile(command)
    throw errors.notExecutable(command, found === 'directory' ? 'Is a directory' : 'Permission denied')
  }
  let notExecutable = false
  for (const dir of (path ?? DEFAULT_PATH).split(':')) {
    const file = posix.resolve(cwd, dir || '.', command)
    const found = look(file)
    if (found === 'executable') return file
    if (found === 'not executable') notExecutable = true
  }
  if (notExecutable) throw errors.notExecutable(command, 'Permission denied')
  throw errors.commandNotFound(command)
}

type Found = 'executable' | 'not executable' | 'directory' | 'missing' | 'unreachable'

function examine(file: string): Found {
  let isDirectory: boolean
  try {
    isDirectory = statSync(file).isDirectory()
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'unreachable'
  }
  if (isDirectory) return 'directory'
  try {
    accessSync(file, constants.X_OK)
    return 'executable'
  } catch {
    return 'not executable'
  }
}
