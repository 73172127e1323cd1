// Names of environments and templates: each is a directory or file name, so
// nothing that could leave its folder ("/", ".."), hide in it (a leading
// ".", which the store uses for its staging and trash folders) or read as a
// flag (a leading "-").
import {MAX_NAME_LENGTH, errors} from '../lib/errors.js'

const ALLOWED = /^[A-Za-z0-9._-]$/u

/** Returns the name, or throws CatboxError BAD_NAME saying what is wrong and what the rule is. */
export function checkName(name: string, kind: 'environment' | 'template' = 'environment'): string {
  const problem = nameProblem(name)
  if (problem) throw errors.badName(kind, name, problem)
  return name
}

/** Why name is not a valid name, or null when it is. */
export function nameProblem(name: string): string | null {
  if (name === '') return 'it is empty'
  const chars = [...name]
  const bad = chars.find((c) => !ALLOWED.test(c))
  if (bad !== undefined) return `it contains ${describeChar(bad)}`
  if (chars.length > MAX_NAME_LENGTH) return `it is ${chars.length} characters long`
  if (!/^[A-Za-z0-9]/.test(name)) return `it starts with ${JSON.stringify(name[0])}`
  return null
}

function describeChar(c: string): string {
  if (c === ' ') return 'a space'
  if (/^[\p{Cc}\p{Z}]$/u.test(c)) return `the character U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`
  return JSON.stringify(c)
}
