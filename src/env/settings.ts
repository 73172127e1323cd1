// From a template and the flags of `env create` to an environment's settings,
// and from stored settings to what a run gets: placeholders expanded.
//
// Placeholders in rules, env values and cwd, expanded when a command runs:
//   $CWD   the directory `catbox exec` is run from
//   $NAME  the environment's name
//   $HOME  the home directory of the user running catbox
import {existsSync} from 'node:fs'
import {homedir} from 'node:os'
import {isAbsolute, posix} from 'node:path'

import {errors} from '../lib/errors.js'
import type {NetworkMode} from '../run/native.js'
import {parseRules} from '../run/rules.js'
import type {TraceMode} from '../run/types.js'
import {ENV_KEY, type EnvSettings, type MapMode, type PathMap, type Template} from './config.js'

export interface PlaceholderValues {
  CWD: string
  NAME: string
  HOME: string
}

const PLACEHOLDER = /\$(CWD|NAME|HOME)(?![A-Za-z0-9_])/g

const GLOB_SYNTAX = /[*?[{]/

export function placeholderValues(name: string, cwd: string = process.cwd()): PlaceholderValues {
  return {CWD: cwd, NAME: name, HOME: homedir()}
}

/** Placeholders replaced by their values, as plain text (env values, cwd). */
export function expandText(text: string, values: PlaceholderValues): string {
  return text.replace(PLACEHOLDER, (_, key: keyof PlaceholderValues) => values[key])
}

const escapeRegex = (text: string): string => text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')
const escapeGlob = (text: string): string => text.replace(/[\\*?[\]{},]/g, '\\$&')

/**
 * A rule with its placeholders replaced. A value is taken literally whatever
 * it holds: escaped in a ~REGEX or a glob, and a prefix rule whose value
 * brings glob characters ("/home/a*b") becomes an escaped glob, which the
 * rule parser reads back as that literal prefix.
 */
export function expandRule(rule: string, values: PlaceholderValues): string {
  if (!rule.match(PLACEHOLDER)) return rule
  if (rule.startsWith('~')) return rule.replace(PLACEHOLDER, (_, key: keyof PlaceholderValues) => escapeRegex(values[key]))
  if (GLOB_SYNTAX.test(rule)) return rule.replace(PLACEHOLDER, (_, key: keyof PlaceholderValues) => escapeGlob(values[key]))
  const literal = expandText(rule, values)
  return GLOB_SYNTAX.test(literal) ? escapeGlob(literal) : literal
}

/** HOST:GUEST[:ro|rw] -> a map; both paths absolute, the host path must exist. Mode rw when not given. */
export function parseMap(text: string): PathMap {
  if (text.includes('\0')) throw errors.nulByte(`the map ${JSON.stringify(text)}`)
  const parts = text.split(':')
  if (parts.length < 2 || parts.length > 3) {
    throw errors.badMap(text, parts.length < 2 ? 'it has no ":" between the host and the guest path' : 'it has too many ":"')
  }
  const [host, guest, mode = 'rw'] = parts
  if (host === '' || guest === '') throw errors.badMap(text, `the ${host === '' ? 'host' : 'guest'} path is empty`)
  if (mode !== 'ro' && mode !== 'rw') throw errors.badMap(text, `the mode ${JSON.stringify(mode)} is neither "ro" nor "rw"`)
  for (const [what, path] of [['host', host], ['guest', guest]] as const) {
    if (!isAbsolute(path)) throw errors.badMap(text, `the ${what} path ${JSON.stringify(path)} is relative`)
  }
  const map = {host: posix.normalize(host).replace(/(.)\/$/, '$1'), guest: posix.normalize(guest).replace(/(.)\/$/, '$1'), mode: mode as MapMode}
  if (!existsSync(map.host)) throw errors.mapHostMissing(text, map.host)
  return map
}

/** KEY=VALUE -> [KEY, VALUE]. */
export function parseEnvAssignment(text: string): [string, string] {
  const at = text.indexOf('=')
  if (at === -1) throw errors.badEnvAssignment(text, 'it has no "="')
  const key = text.slice(0, at)
  const value = text.slice(at + 1)
  if (!ENV_KEY.test(key)) throw errors.badEnvAssignment(text, `${JSON.stringify(key)} is not a variable name`)
  if (value.includes('\0')) throw errors.nulByte(`the value of ${key}`)
  return [key, value]
}

/** What `env create` was given on top of the template; undefined: the template's. */
export interface SettingsOverrides {
  /** Replaces the template's rules. */
  writable?: string[]
  /** Replaces the template's maps. */
  maps?: string[]
  network?: NetworkMode
  collectOnly?: boolean
  failOnViolation?: boolean
  fakeRoot?: boolean
  overlay?: boolean
  /** KEY=VALUE, each over the template's value of KEY. */
  env?: string[]
  cwd?: string
  /** Replaces the template's trace modes; [] for none. */
  trace?: TraceMode[]
}

/**
 * The template with the flags over it, validated as a run would use it now
 * (rules parsed with the placeholders expanded for this directory), and
 * stored as given, except that relative paths are made absolute from cwd.
 */
export function resolveSettings(template: Template, overrides: SettingsOverrides, name: string, cwd: string): EnvSettings {
  for (const rule of overrides.writable ?? []) if (!rule.startsWith('~')) checkPlaceholders(rule, 'write rule')
  if (overrides.cwd !== undefined) checkPlaceholders(overrides.cwd, '--cwd')
  const writable = (overrides.writable ?? template.writable).map((rule) => absoluteRule(rule, cwd))
  const values = placeholderValues(name, cwd)
  parseRules(writable.map((rule) => expandRule(rule, values)), cwd)

  const env = {...template.env}
  for (const assignment of overrides.env ?? []) {
    const [key, value] = parseEnvAssignment(assignment)
    env[key] = value
  }
  const cwdSetting = overrides.cwd === undefined ? template.cwd : absolutePath(overrides.cwd, cwd)
  if (cwdSetting?.includes('\0')) throw errors.nulByte('the working directory')
  const trace = overrides.trace ?? template.trace ?? []

  return {
    writable,
    maps: overrides.maps ? overrides.maps.map(parseMap) : template.maps,
    network: overrides.network ?? template.network,
    collectOnly: overrides.collectOnly ?? template.collectOnly,
    failOnViolation: overrides.failOnViolation ?? template.failOnViolation,
    fakeRoot: overrides.fakeRoot ?? template.fakeRoot,
    overlay: overrides.overlay ?? template.overlay,
    env,
    ...(cwdSetting === undefined ? {} : {cwd: cwdSetting}),
    ...(trace.length > 0 ? {trace} : {}),
  }
}

/**
 * A relative prefix rule is taken from the directory `env create` runs in;
 * the others are kept (a relative glob is refused by the rule parser, as in
 * `catbox run`).
 */
function absoluteRule(rule: string, cwd: string): string {
  return rule.startsWith('~') || GLOB_SYNTAX.test(rule) || rule === '' ? rule : absolutePath(rule, cwd)
}

// $CWD, $NAME and $HOME are the placeholders; any other $WORD in a path is a
// mistake ($PWD for $CWD) that would silently name a directory called "$PWD".
function checkPlaceholders(text: string, what: string): void {
  for (const m of text.matchAll(/\$([A-Za-z_][A-Za-z0-9_]*)/g)) {
    if (!['CWD', 'NAME', 'HOME'].includes(m[1])) throw errors.unknownPlaceholder(what, text, m[0])
  }
}

function absolutePath(path: string, cwd: string): string {
  return path.startsWith('/') || path.startsWith('$') ? path : posix.resolve(cwd, path)
}

/** The settings a run uses: rules, env values and cwd with the placeholders expanded. */
export function expandSettings(settings: EnvSettings, values: PlaceholderValues): EnvSettings {
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(settings.env)) env[key] = expandText(value, values)
  return {
    ...settings,
    writable: settings.writable.map((rule) => expandRule(rule, values)),
    env,
    ...(settings.cwd === undefined ? {} : {cwd: expandText(settings.cwd, values)}),
  }
}
