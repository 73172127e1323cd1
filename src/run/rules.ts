// User write rules -> NativeRule[].
//
// Three kinds, told apart by their text:
//   "~REGEX"                   PCRE2, matched by native against the canonical path,
//                              anchored at its start (like the original catbox)
//   contains * ? [ or {        glob: braces expanded here, the rest matched by native
//   anything else              prefix: a directory (or file) and everything below it
//
// Native matches canonical paths (symlinks resolved), so the literal part of
// every prefix and glob is canonicalised here, once.
import {lstatSync, readlinkSync, realpathSync} from 'node:fs'
import {posix} from 'node:path'

import {errors} from '../lib/errors.js'
import {addon} from './addon.js'
import type {NativeRule} from './native.js'

/** Brace expansion stops with an error beyond this many patterns for one rule. */
export const MAX_BRACE_EXPANSIONS = 1024

/** Linux's own limit on symbolic links followed in one lookup. */
const MAX_SYMLINKS = 40

const GLOB_SYNTAX = /[*?[{]/

/**
 * Paths every build may open for writing (content only, not metadata):
 * the data sinks and sources, and terminals. The supervisor reads the device
 * numbers of these nodes at the start (all pseudo-terminals for /dev/pts) and
 * judges any device node opened for writing by its numbers, wherever it lives.
 */
export const DEVICE_PATHS: readonly string[] = [
  '/dev/null',
  '/dev/zero',
  '/dev/full',
  '/dev/random',
  '/dev/urandom',
  '/dev/tty',
  '/dev/ptmx',
  '/dev/pts',
]

/** The implicit device rules (NativeSpec.devices), canonicalised like user rules. */
export function deviceRules(): NativeRule[] {
  return dedupe(DEVICE_PATHS.map((path) => ({kind: 'prefix' as const, pattern: canonicalPath(path, path)})))
}

/** Parse the user's rules; relative prefixes are taken relative to cwd (absolute). */
export function parseRules(rules: readonly string[], cwd: string): NativeRule[] {
  return dedupe(rules.flatMap((rule) => parseRule(rule, cwd)))
}

export function parseRule(rule: string, cwd: string): NativeRule[] {
  if (rule === '') throw errors.emptyRule()
  if (rule.includes('\0')) throw errors.nulByte(`the write rule ${JSON.stringify(rule)}`)
  if (rule.startsWith('~')) return [parsePcre(rule)]
  if (GLOB_SYNTAX.test(rule)) return expandBraces(rule).map((pattern) => parseGlob(rule, pattern, cwd))
  return [{kind: 'prefix', pattern: canonicalPath(posix.resolve(cwd, rule), rule)}]
}

function parsePcre(rule: string): NativeRule {
  const pattern = rule.slice(1)
  if (pattern === '') throw errors.emptyRegex(rule)
  const native = addon()
  if (!native.hasPcre2) throw errors.noPcre2(rule)
  const problem = native.checkPcre(pattern)
  if (problem) throw errors.badRegex(rule, problem.message, problem.offset)
  return {kind: 'pcre', pattern}
}

/**
 * One brace-expanded pattern -> a glob rule (or a prefix rule when no
 * wildcard is left, as in "/etc/{a,b}"). The literal components before the
 * first wildcard are canonicalised like a prefix rule.
 */
function parseGlob(rule: string, pattern: string, cwd: string): NativeRule {
  if (!pattern.startsWith('/')) throw errors.relativeGlob(rule, pattern, cwd)
  checkBrackets(rule, pattern)
  // Brackets hold no "/" (checked), so splitting on "/" gives the components.
  const parts: string[] = []
  for (const part of pattern.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') {
      if (parts.some(hasWildcard)) throw errors.dotDotAfterWildcard(rule, pattern)
      parts.pop()
      continue
    }
    parts.push(part)
  }
  const firstWild = parts.findIndex(hasWildcard)
  const literal = (firstWild === -1 ? parts : parts.slice(0, firstWild)).map(unescapeGlob)
  const head = canonicalPath('/' + literal.join('/'), rule)
  if (firstWild === -1) return {kind: 'prefix', pattern: head}
  const tail = parts.slice(firstWild).join('/')
  return {kind: 'glob', pattern: (head === '/' ? '' : escapeGlob(head)) + '/' + tail}
}

// Glob syntax as native reads it: * ? [..] and ** are special, a backslash
// makes the next character literal (inside [..] too). Braces are expanded here.

function hasWildcard(component: string): boolean {
  for (let i = 0; i < component.length; i++) {
    if (component[i] === '\\') i++
    else if ('*?['.includes(component[i])) return true
  }
  return false
}

const unescapeGlob = (text: string): string => text.replace(/\\(.)/g, '$1')

/** A canonical path put in front of a glob must not be read as glob syntax. */
const escapeGlob = (text: string): string => text.replace(/[\\*?[]/g, '\\$&')

/**
 * Expand "{a,b}" groups, nested ones too, left to right like a shell:
 * "/x/{a,b{1,2}}" -> ["/x/a", "/x/b1", "/x/b2"]. A group may have a single or an
 * empty alternative ("/etc/f{,.bak}"). "\{" is a literal brace (the backslash is
 * kept for native). Unbalanced braces are refused.
 */
export function expandBraces(rule: string): string[] {
  let pos = 0

  const product = (left: string[], right: string[]): string[] => {
    if (left.length * right.length > MAX_BRACE_EXPANSIONS) throw errors.tooManyAlternatives(rule, MAX_BRACE_EXPANSIONS)
    return left.flatMap((l) => right.map((r) => l + r))
  }

  // A run of text and groups; inside a group it ends at "," or "}".
  const sequence = (inGroup: boolean): string[] => {
    let results = ['']
    let text = ''
    const flush = () => {
      if (text) results = results.map((r) => r + text)
      text = ''
    }
    while (pos < rule.length) {
      const c = rule[pos]
      if (c === '\\') {
        text += rule.slice(pos, pos + 2)
        pos += 2
      } else if (c === '{') {
        flush()
        results = product(results, group())
      } else if (inGroup && (c === ',' || c === '}')) {
        break
      } else if (c === '}') {
        throw errors.unbalancedBrace(rule, '}', pos)
      } else {
        text += c
        pos++
      }
    }
    flush()
    return results
  }

  const group = (): string[] => {
    const open = pos++
    const alternatives: string[] = []
    for (;;) {
      alternatives.push(...sequence(true))
      if (alternatives.length > MAX_BRACE_EXPANSIONS) throw errors.tooManyAlternatives(rule, MAX_BRACE_EXPANSIONS)
      if (pos >= rule.length) throw errors.unbalancedBrace(rule, '{', open)
      if (rule[pos++] === '}') return alternatives
    }
  }

  return sequence(false)
}

/**
 * Every "[" must be closed by "]" within its path component. As in fnmatch,
 * a "]" right after "[", "[!" or "[^" is a member; a backslash escapes.
 */
function checkBrackets(rule: string, pattern: string): void {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '\\') {
      i++
      continue
    }
    if (pattern[i] !== '[') continue
    let j = i + 1
    if (pattern[j] === '!' || pattern[j] === '^') j++
    if (pattern[j] === ']') j++
    for (; j < pattern.length && pattern[j] !== ']'; j++) {
      if (pattern[j] === '\\') j++
      if (pattern[j] === '/') break
    }
    if (j >= pattern.length || pattern[j] !== ']') throw errors.unclosedBracket(rule, pattern)
    i = j
  }
}

/**
 * Canonicalise an absolute, lexically normalised path: resolve the symbolic
 * links of its longest existing prefix (fs.realpathSync) and append the part
 * that does not exist yet. A dangling symlink is followed by its text, as the
 * kernel would when the build creates the file through it.
 * Components that cannot be looked into (EACCES) are kept as written.
 */
export function canonicalPath(path: string, rule: string, links = 0): string {
  const parts = posix.resolve(path).split('/').filter(Boolean)
  for (let i = parts.length; i > 0; i--) {
    const head = '/' + parts.slice(0, i).join('/')
    const rest = parts.slice(i)
    let real: string
    try {
      real = realpathSync.native(head)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw errors.symlinkLoop(rule, head)
      const target = danglingTarget(head)
      if (target === null) continue
      if (links >= MAX_SYMLINKS) throw errors.symlinkLoop(rule, head)
      const parent = canonicalPath(posix.dirname(head), rule, links + 1)
      return canonicalPath(posix.resolve(parent, target, ...rest), rule, links + 1)
    }
    return rest.length === 0 ? real : posix.join(real, ...rest)
  }
  // Not even the first component exists: the path stays as written (it must
  // not shrink to "/", which would allow everything).
  return '/' + parts.join('/')
}

function danglingTarget(path: string): string | null {
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : null
  } catch {
    return null
  }
}

function dedupe(rules: NativeRule[]): NativeRule[] {
  const seen = new Set<string>()
  return rules.filter((rule) => {
    const key = `${rule.kind}:${rule.pattern}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}
