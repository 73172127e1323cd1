// The real CLI (node bin/run.js, built dist/) in a child process, with its own
// temporary CATBOX_HOME: tests never touch the user's environments.
import {mkdtempSync, realpathSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {afterAll} from '@jest/globals'
import {execa, type Options} from 'execa'

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url))
export const bin = join(projectRoot, 'bin', 'run.js')

const made: string[] = []
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, {recursive: true, force: true})
})

/** A canonical temporary directory, removed after the file's tests. */
export function tempDir(prefix: string): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)))
  made.push(dir)
  return dir
}

export interface Cli {
  home: string
  /** catbox ARGS, run in cwd (default: the CLI's work directory), stdin closed. */
  (args: string[], options?: Options & {cwd?: string}): ReturnType<typeof execa>
}

/** A CLI whose CATBOX_HOME is a fresh temporary directory. */
export function cliWithHome(cwd: string): Cli {
  const home = join(tempDir('catbox-home-'), 'catbox')
  const cli = ((args: string[], options: Options = {}) =>
    execa('node', [bin, ...args], {
      cwd,
      reject: false,
      stdin: 'ignore',
      ...options,
      env: {CI: 'true', CATBOX_HOME: home, ...(options.env ?? {})},
    })) as Cli
  cli.home = home
  return cli
}

/** Poll until check() holds; fail after tries * every ms. No timing is asserted. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, tries = 400, every = 50): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, every))
  }
  throw new Error(`gave up waiting for ${what}`)
}

/** The one JSON value a command printed on stdout. */
export const json = (stdout: unknown) => JSON.parse(String(stdout))

/** The last line of stdout as JSON (exec --json: the command's output comes first). */
export const lastJson = (stdout: unknown) => JSON.parse(String(stdout).trimEnd().split('\n').at(-1) ?? '')
