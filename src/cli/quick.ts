// The quick path: `catbox run` and `catbox exec` without loading oclif.
//
// Loading @oclif/core takes longer than the rest of catbox's start-up
// together (about 80 ms of the 130 ms it took over `node -e 0`), and these
// two commands start every build. So bin/run.js first offers the command
// line here. Flags are read from the oclif manifest (the commands' own flag
// definitions, written at build time), and the bodies are the ones the oclif
// commands call (run.ts, exec.ts). Anything this parser does not know for
// certain (help, an unknown or malformed flag, a value that looks like a
// flag, a missing argument) is left to oclif, which parses the whole command
// line again and gives its usual message: the quick path may decline, never
// answer differently.
import {readFileSync} from 'node:fs'

import {splitArgv} from '../lib/argv.js'
import {CatboxError} from '../lib/errors.js'
import {bareTrace} from '../lib/trace-modes.js'
import {processIo} from './io.js'

export interface ManifestFlag {
  name: string
  type: 'boolean' | 'option'
  char?: string
  allowNo?: boolean
  multiple?: boolean
  options?: string[]
  default?: unknown
}

export interface ManifestCommand {
  args: Record<string, {name: string; required?: boolean}>
  flags: Record<string, ManifestFlag>
  strict?: boolean
}

export interface QuickParse {
  flags: Record<string, unknown>
  args: Record<string, string>
  /** The words that are not flags, arguments first (oclif's argv). */
  argv: string[]
}

/**
 * Parse own (the words before "--") as oclif would for command, or return
 * null where this parser is not sure to agree. Only non-strict commands with
 * their arguments first are served (run and exec).
 */
export function quickParse(command: ManifestCommand, own: readonly string[]): QuickParse | null {
  const byName = new Map<string, ManifestFlag>()
  const byChar = new Map<string, ManifestFlag>()
  for (const flag of Object.values(command.flags)) {
    byName.set(flag.name, flag)
    if (flag.char) byChar.set(flag.char, flag)
  }
  const flags: Record<string, unknown> = {}
  const argv: string[] = []
  const set = (flag: ManifestFlag, value: string): boolean => {
    if (flag.options && !flag.options.includes(value)) return false
    if (flag.multiple) {
      flags[flag.name] = [...((flags[flag.name] as string[] | undefined) ?? []), value]
    } else {
      if (flag.name in flags) return false // oclif refuses a flag given twice
      flags[flag.name] = value
    }
    return true
  }
  let afterMultiple = false // a word after a repeatable flag's value: greedy or not, oclif decides
  for (let i = 0; i < own.length; i++) {
    const word = own[i]
    if (!word.startsWith('-') || word === '-') {
      if (afterMultiple) return null
      argv.push(word)
      continue
    }
    afterMultiple = false
    let flag: ManifestFlag | undefined
    let value: string | undefined
    if (word.startsWith('--')) {
      const eq = word.indexOf('=')
      const name = eq === -1 ? word.slice(2) : word.slice(2, eq)
      if (eq !== -1) value = word.slice(eq + 1)
      flag = byName.get(name)
      if (!flag && value === undefined && name.startsWith('no-')) {
        const negated = byName.get(name.slice(3))
        if (!negated || negated.type !== 'boolean' || !negated.allowNo || negated.name in flags) return null
        flags[negated.name] = false
        continue
      }
    } else if (word.length === 2) {
      flag = byChar.get(word[1])
    }
    if (!flag || flag.name === 'help') return null
    if (flag.type === 'boolean') {
      if (value !== undefined || flag.name in flags) return null
      flags[flag.name] = true
      continue
    }
    if (value === undefined) value = own[++i]
    // oclif refuses a value that looks like a flag ("--writable=--json"), or none.
    if (value === undefined || value === '' || value.startsWith('-')) return null
    if (!set(flag, value)) return null
    afterMultiple = Boolean(flag.multiple)
  }
  for (const flag of byName.values()) {
    if (!(flag.name in flags) && flag.default !== undefined) flags[flag.name] = flag.default
  }
  const args: Record<string, string> = {}
  const names = Object.keys(command.args)
  for (const [i, name] of names.entries()) {
    if (i < argv.length) args[name] = argv[i]
    else if (command.args[name].required) return null
  }
  return {flags, args, argv}
}

type Body = (parsed: QuickParse, passThrough: string[] | null) => Promise<number>

const BODIES: Record<string, {prepare?: (own: string[]) => string[]; body: () => Promise<Body>}> = {
  run: {
    body: async () => {
      const {runMain} = await import('./run.js')
      return (p, passThrough) => runMain(p.flags as never, p.argv, passThrough, processIo)
    },
  },
  exec: {
    prepare: bareTrace,
    body: async () => {
      const {execMain} = await import('./exec.js')
      return (p, passThrough) => execMain(p.args.name, p.flags as never, p.argv, passThrough, processIo)
    },
  },
}

/**
 * Run the command line (process.argv without node and the script) if the
 * quick path serves it; resolves false, having done nothing, if not.
 * CATBOX_QUICK=0 turns it off.
 */
export async function quick(words: readonly string[], manifestPath: string | URL): Promise<boolean> {
  if (process.env.CATBOX_QUICK === '0') return false
  const [id, ...rest] = words
  const entry = id === undefined ? undefined : BODIES[id]
  if (!entry) return false
  let command: ManifestCommand | undefined
  try {
    command = (JSON.parse(readFileSync(manifestPath, 'utf8')) as {commands: Record<string, ManifestCommand>}).commands[id]
  } catch {
    return false
  }
  if (!command || command.strict !== false) return false
  const {own, passThrough} = splitArgv(rest)
  const parsed = quickParse(command, entry.prepare ? entry.prepare(own) : own)
  if (!parsed) return false
  const body = await entry.body()
  try {
    process.exitCode = await body(parsed, passThrough)
  } catch (error) {
    if (!(error instanceof CatboxError)) throw error
    processIo.logToStderr(error.message)
    process.exitCode = error.exitCode
  }
  return true
}
