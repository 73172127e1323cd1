// Where environments live on disk (DESIGN.md, "On disk").
import {homedir} from 'node:os'
import {isAbsolute, join, resolve} from 'node:path'

/**
 * $CATBOX_HOME; else $XDG_DATA_HOME/catbox; else ~/.local/share/catbox.
 * A relative $CATBOX_HOME is taken from the current directory. A relative
 * $XDG_DATA_HOME is ignored, as the XDG base directory spec says.
 */
export function catboxHome(env: Record<string, string | undefined> = process.env): string {
  if (env.CATBOX_HOME) return resolve(env.CATBOX_HOME)
  const xdg = env.XDG_DATA_HOME
  if (xdg && isAbsolute(xdg)) return join(xdg, 'catbox')
  return join(homedir(), '.local', 'share', 'catbox')
}

export interface EnvPaths {
  /** envs/NAME */
  dir: string
  /** envs/NAME/env.json: the configuration. */
  config: string
  /** envs/NAME/root: the overlay's upper directory, the build's output image. */
  root: string
  /** envs/NAME/runs: one directory per run, each with a report.json. */
  runs: string
  /** envs/NAME/lock: proper-lockfile's lock directory; held by a run, rm and reset. */
  lock: string
  /** envs/NAME/holder.json: who holds the lock (pid, command), for the busy message. */
  holder: string
  /** envs/NAME/owners.jsonl: fake root's ownership journal (native/owners.h), appended to by runs. */
  owners: string
  /**
   * envs/NAME/whiteouts: the guest paths whose host entries the overlay hides,
   * appended to by runs (native/overlay.h). Each record is an absolute guest
   * path and a NUL byte; a last record without its NUL is a torn write.
   */
  whiteouts: string
  /** envs/NAME/merged: the supervisor's cache of merged directory listings; never user data. */
  merged: string
}

export function envPaths(envsDir: string, name: string): EnvPaths {
  const dir = join(envsDir, name)
  return {
    dir,
    config: join(dir, 'env.json'),
    root: join(dir, 'root'),
    runs: join(dir, 'runs'),
    lock: join(dir, 'lock'),
    holder: join(dir, 'holder.json'),
    owners: join(dir, 'owners.jsonl'),
    whiteouts: join(dir, 'whiteouts'),
    merged: join(dir, 'merged'),
  }
}
