// Templates: templates/NAME.json in the catbox package, validated like env.json.
import {readdirSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {errors} from '../lib/errors.js'
import {readTemplate, type Template} from './config.js'
import {checkName, nameProblem} from './name.js'

export const DEFAULT_TEMPLATE = 'default'

/** dist/env or src/env -> the package's templates/. */
export function templatesDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'templates')
}

/** Names of the installed templates, sorted. */
export function templateNames(dir: string = templatesDir()): string[] {
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch {
    return []
  }
  return entries
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -'.json'.length))
    .filter((name) => nameProblem(name) === null)
    .sort()
}

/** The template NAME, validated; an unknown name lists the ones there are. */
export function loadTemplate(name: string, dir: string = templatesDir()): Template {
  checkName(name, 'template')
  const names = templateNames(dir)
  if (!names.includes(name)) throw errors.unknownTemplate(name, names)
  return readTemplate(join(dir, `${name}.json`), name)
}
