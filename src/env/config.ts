// The schema of env.json and of templates, and its validation on read.
//
// Every file carries "schemaVersion". A file of a newer version is refused
// (a newer catbox wrote it and may have meant more than this one knows); a
// file that does not match the schema is refused with the field that is
// wrong. Either way the file is left as it is.
import {readFileSync} from 'node:fs'
import {isAbsolute} from 'node:path'

import {errors} from '../lib/errors.js'
import {writeJsonAtomic} from '../lib/fsutil.js'
import type {NetworkMode} from '../run/native.js'
import {NETWORK_MODES, TRACE_MODES} from '../run/spec.js'
import type {TraceMode} from '../run/types.js'

export const CONFIG_SCHEMA_VERSION = 1

export type MapMode = 'ro' | 'rw'

/** A host directory seen at a guest path, read-only or read-write. */
export interface PathMap {
  host: string
  guest: string
  mode: MapMode
}

/** What an environment is made of: the fields templates and env.json share. */
export interface EnvSettings {
  /** Write rules as the user gave them; may hold $CWD, $NAME, $HOME (expanded at exec time). */
  writable: string[]
  maps: PathMap[]
  network: NetworkMode
  collectOnly: boolean
  failOnViolation: boolean
  fakeRoot: boolean
  overlay: boolean
  /** Variables set for the command, over catbox's own environment; values may hold placeholders. */
  env: Record<string, string>
  /** Working directory of the command; absent: the directory catbox exec is run from. */
  cwd?: string
  /** What each run's operation log records (docs/operation-log.md); absent or empty: no log. */
  trace?: TraceMode[]
}

/** envs/NAME/env.json */
export interface EnvConfig extends EnvSettings {
  schemaVersion: typeof CONFIG_SCHEMA_VERSION
  name: string
  /** The template it was made from. */
  template: string
  /** ISO 8601. */
  createdAt: string
}

/** templates/NAME.json */
export interface Template extends EnvSettings {
  schemaVersion: typeof CONFIG_SCHEMA_VERSION
  description: string
}

/** A shell variable name: what --env accepts as KEY. */
export const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/

/** The reason a file does not match its schema. */
class Problem extends Error {}

type Check = (value: unknown) => string | null

const bool: Check = (v) => (typeof v === 'boolean' ? null : 'must be true or false')
const text: Check = (v) => (typeof v === 'string' ? null : 'must be a string')

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

const settingsChecks: Record<keyof EnvSettings, Check> = {
  writable: (v) =>
    Array.isArray(v) && v.every((r) => typeof r === 'string' && r !== '' && !r.includes('\0'))
      ? null
      : 'must be a list of non-empty rule strings',
  maps: (v) =>
    Array.isArray(v) &&
    v.every(
      (m) =>
        isRecord(m) &&
        Object.keys(m).every((k) => ['host', 'guest', 'mode'].includes(k)) &&
        typeof m.host === 'string' &&
        isAbsolute(m.host) &&
        typeof m.guest === 'string' &&
        isAbsolute(m.guest) &&
        (m.mode === 'ro' || m.mode === 'rw'),
    )
      ? null
      : 'must be a list of {"host", "guest", "mode"} with absolute paths and mode "ro" or "rw"',
  network: (v) =>
    NETWORK_MODES.includes(v as NetworkMode) ? null : `must be one of ${NETWORK_MODES.join(', ')}, not ${JSON.stringify(v)}`,
  collectOnly: bool,
  failOnViolation: bool,
  fakeRoot: bool,
  overlay: bool,
  env: (v) =>
    isRecord(v) && Object.entries(v).every(([k, x]) => ENV_KEY.test(k) && typeof x === 'string' && !x.includes('\0'))
      ? null
      : 'must map shell variable names to strings',
  cwd: (v) =>
    typeof v === 'string' && (isAbsolute(v) || v.startsWith('$')) ? null : 'must be an absolute path',
  trace: (v) =>
    Array.isArray(v) && v.every((m) => TRACE_MODES.includes(m as TraceMode))
      ? null
      : `must be a list of trace modes (${TRACE_MODES.join(', ')})`,
}

const OPTIONAL = new Set(['cwd', 'trace'])

const configChecks: Record<string, Check> = {
  ...settingsChecks,
  name: text,
  template: text,
  createdAt: (v) => (typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? null : 'must be an ISO date'),
}

const templateChecks: Record<string, Check> = {...settingsChecks, description: text}

/**
 * Parse a versioned JSON file: an object with schemaVersion. Throws Problem
 * for what does not match, CatboxError NEWER_FILE for a newer version.
 */
function decode(file: string, content: string, checks: Record<string, Check>): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(content)
  } catch (error) {
    throw new Problem(`it is not valid JSON (${(error as Error).message})`)
  }
  if (!isRecord(value)) throw new Problem('it does not hold a JSON object')
  const version = value.schemaVersion
  if (!Number.isInteger(version) || (version as number) < 1) {
    throw new Problem('it has no valid "schemaVersion"')
  }
  if ((version as number) > CONFIG_SCHEMA_VERSION) throw errors.newerFile(file, version as number, CONFIG_SCHEMA_VERSION)
  for (const key of Object.keys(value)) {
    if (key !== 'schemaVersion' && !(key in checks)) throw new Problem(`it has an unknown field "${key}"`)
  }
  for (const [key, check] of Object.entries(checks)) {
    if (!(key in value)) {
      if (OPTIONAL.has(key)) continue
      throw new Problem(`the field "${key}" is missing`)
    }
    const problem = check(value[key])
    if (problem) throw new Problem(`"${key}" ${problem}`)
  }
  return value
}

function readText(file: string): string {
  return readFileSync(file, 'utf8')
}

/** Read and validate envs/NAME/env.json. A missing, broken or newer file is a CatboxError naming it. */
export function readConfig(file: string, name: string): EnvConfig {
  try {
    let content: string
    try {
      content = readText(file)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      throw new Problem(code === 'ENOENT' ? 'it is missing' : `it cannot be read (${code ?? String(error)})`)
    }
    const config = decode(file, content, configChecks) as unknown as EnvConfig
    if (config.name !== name) throw new Problem(`it names the environment "${config.name}", but it is in the folder of "${name}"`)
    return config
  } catch (error) {
    if (error instanceof Problem) throw errors.badFile(file, error.message, errors.brokenEnvFix(name))
    throw error
  }
}

/** Read and validate a template file. */
export function readTemplate(file: string, name: string): Template {
  try {
    return decode(file, readText(file), templateChecks) as unknown as Template
  } catch (error) {
    if (error instanceof Problem) throw errors.badTemplate(name, file, error.message)
    if ((error as NodeJS.ErrnoException).code) throw errors.badTemplate(name, file, `it cannot be read (${(error as NodeJS.ErrnoException).code})`)
    throw error
  }
}

/** Write env.json atomically, its fields in a fixed order. */
export function writeConfig(file: string, config: EnvConfig): void {
  const ordered: EnvConfig = {
    schemaVersion: CONFIG_SCHEMA_VERSION,
    name: config.name,
    template: config.template,
    createdAt: config.createdAt,
    writable: config.writable,
    maps: config.maps,
    network: config.network,
    collectOnly: config.collectOnly,
    failOnViolation: config.failOnViolation,
    fakeRoot: config.fakeRoot,
    overlay: config.overlay,
    env: config.env,
    ...(config.cwd === undefined ? {} : {cwd: config.cwd}),
    ...(config.trace?.length ? {trace: config.trace} : {}),
  }
  writeJsonAtomic(file, ordered)
}
