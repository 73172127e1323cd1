// Mistakes on the command line, in catbox's words.
//
// oclif's parser reports a mistake its own way (" ›   Error: Nonexistent
// flag: --writeable", then a page of help on stderr), and shows a command it
// cannot find by its internal id ("env:creat:x"). Every other catbox error is
// "catbox: what happened" then "what to do" (src/lib/errors.ts). This module
// turns oclif's parse errors and unknown commands into that form, with the
// nearest command or flag when one is near.
import {CatboxError, errors} from '../lib/errors.js'
import {closestName} from '../lib/suggest.js'

/** What a command says about itself: the command class, or its manifest entry. */
export interface CommandShape {
  id: string
  flags?: Record<string, {name: string; char?: string; allowNo?: boolean; hidden?: boolean}>
  args?: Record<string, {name: string; description?: string; required?: boolean}>
  usage?: string | string[]
  strict?: boolean
}

/** What this module needs of oclif's Config. */
export interface CommandSet {
  commands: Array<CommandShape & {aliases?: string[]; hidden?: boolean}>
  topics: Array<{name: string; hidden?: boolean}>
}

/** oclif's id ("env:show") as a person types it ("env show"). */
export const spoken = (id: string): string => id.replaceAll(':', ' ')

/** The usage line of a command, as its help shows it. */
export function usageLine(command: CommandShape): string {
  const given = Array.isArray(command.usage) ? command.usage[0] : command.usage
  if (given) return `catbox ${given}`
  const args = Object.values(command.args ?? {}).map((a) => (a.required ? a.name.toUpperCase() : `[${a.name.toUpperCase()}]`))
  const flags = Object.values(command.flags ?? {}).some((f) => !f.hidden) ? ['[FLAGS]'] : []
  return ['catbox', spoken(command.id), ...args, ...flags].join(' ')
}

/**
 * The flag nearest to a mistyped one ("--writeable" → "--writable"), or null.
 * Single letters are not guessed at: any one is a single edit from any other.
 */
export function suggestFlag(typed: string, flags: CommandShape['flags'] = {}): string | null {
  if (!typed.startsWith('--')) return null
  const names = ['help']
  for (const flag of Object.values(flags)) {
    if (flag.hidden) continue
    names.push(flag.name)
    if (flag.allowNo) names.push(`no-${flag.name}`)
  }
  const near = closestName(typed.slice(2).split('=')[0], names)
  return near === null ? null : `--${near}`
}

/** unknownFlag with the first suggestion found among the flags. */
export function unknownFlagError(command: CommandShape | null, given: readonly string[]): CatboxError {
  let suggestion: {typed: string; flag: string} | null = null
  for (const typed of given) {
    const flag = command ? suggestFlag(typed, command.flags) : closestRootFlag(typed)
    if (flag) {
      suggestion = {typed, flag}
      break
    }
  }
  return errors.unknownFlag(command ? spoken(command.id) : '', given, suggestion)
}

const closestRootFlag = (typed: string): string | null =>
  typed.startsWith('--') ? ((near) => (near ? `--${near}` : null))(closestName(typed.slice(2).split('=')[0], ['help', 'version'])) : null

type ParseError = Error & {
  oclif?: {exit?: number}
  flags?: unknown
  args?: unknown
  parse?: {input?: {context?: {ctor?: CommandShape; id?: string}}}
}

/**
 * oclif's parse error as a CatboxError, or null when error is none of those.
 * command is the command whose line it was, when the caller knows it; else it
 * is taken from the error (oclif keeps the command on most of them).
 */
export function usageError(error: unknown, command?: CommandShape | null): CatboxError | null {
  if (error instanceof CatboxError) return error
  if (!(error instanceof Error)) return null
  const e = error as ParseError
  if (e.oclif === undefined || e.name === 'ExitError' || (e as {code?: string}).code === 'EEXIT') return null
  const context = e.parse?.input?.context
  const shape: CommandShape | null = command ?? (context?.ctor ? {...context.ctor, id: context.id ?? context.ctor.id} : null)
  const id = shape ? spoken(shape.id) : ''
  const message = e.message.replace(/\nSee more help with --help$/, '')
  // The parser's errors carry what it parsed; a few plain ones it throws are
  // known by their words. Any other CLIError (a command's this.error) is not
  // a mistake on the command line, and stays oclif's to print.
  if (!('parse' in e) && !/^(Flag --\S+ (can only|expects)|Unexpected flag )/.test(message)) return null
  if (Array.isArray(e.flags)) return unknownFlagError(shape, e.flags.map(String))
  if (Array.isArray(e.args) && e.args.length > 0 && shape) {
    const [first] = e.args as unknown[]
    if (typeof first === 'string') return errors.unexpectedArguments(id, e.args as string[], usageLine(shape))
    if (first && typeof first === 'object' && 'name' in first) {
      return errors.missingArgument(id, first as {name: string; description?: string}, usageLine(shape))
    }
  }
  const choice = /^Expected --([\w-]+)=([\s\S]*) to be one of: (.*)$/.exec(message)
  if (choice) return errors.badFlagValue(`--${choice[1]}`, choice[2], choice[3].split(', '))
  const argChoice = /^Expected ([\s\S]*) to be one of: (.*)$/.exec(message)
  if (argChoice) return errors.badArgValue(id, argChoice[1], argChoice[2].split(', '))
  // "Flag --network can only be specified once", "Flag --writable expects a value", ...
  // (the ANSI colours of a few oclif messages stripped).
  return errors.badCommandLine(id, message.replace(/\u001B\[[0-9;]*m/g, '').replace(/\s*\n\s*/g, '; '))
}

/**
 * What to say for an id oclif found no command for ("exce", or "env:creat:x":
 * the topic, the mistyped word, then the arguments, all joined with ":").
 */
export function unknownCommandError(config: CommandSet, id: string): CatboxError {
  const words = id.split(':')
  if (words[0].startsWith('-')) return unknownFlagError(null, [words[0]])
  // oclif takes the words after a command that has no arguments for more of
  // its id ("env list x" is "env:list:x"): they are arguments it does not take.
  for (let n = words.length - 1; n > 0; n--) {
    const typed = words.slice(0, n).join(':')
    const command = config.commands.find((c) => c.id === typed || c.aliases?.includes(typed))
    if (command) return errors.unexpectedArguments(spoken(typed), words.slice(n), usageLine({...command, id: typed}))
  }
  const visible = config.commands.filter((c) => !c.hidden)
  // oclif's topics include every command's id; a topic here is one with commands below it.
  const topics = new Set(
    config.topics.filter((t) => !t.hidden && visible.some((c) => c.id.startsWith(`${t.name}:`))).map((t) => t.name),
  )
  // The longest run of words that names a topic: "env" in "env creat x".
  let depth = 0
  while (depth < words.length - 1 && topics.has(words.slice(0, depth + 1).join(':'))) depth++
  const within = words.slice(0, depth).join(':')
  const typed = words.slice(0, depth + 1).join(':')
  // The names one level below it: commands, their aliases and sub-topics.
  const below = new Set<string>()
  const add = (name: string) => {
    const parts = name.split(':')
    if (parts.length > depth && parts.slice(0, depth).join(':') === within) below.add(parts[depth])
  }
  for (const c of visible) for (const name of [c.id, ...(c.aliases ?? [])]) add(name)
  for (const t of topics) add(t)
  const near = closestName(words[depth], below)
  return errors.unknownCommand(
    spoken(typed),
    near === null ? null : spoken([...words.slice(0, depth), near].join(':')),
    spoken(within),
    [...below].sort(),
  )
}
