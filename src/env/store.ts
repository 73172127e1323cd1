// The environments under $CATBOX_HOME/envs: create, read, list, remove, reset.
//
// No sequence of commands, and no crash, leaves a half-made environment:
//  - create builds the whole environment in envs/.staging-NAME-PID-XXXXXX and
//    renames it to envs/NAME; the rename fails when NAME exists (and is not
//    empty), so of two creates of one name exactly one wins, without a lock;
//  - rm takes the lock, renames envs/NAME to envs/.trash-NAME-PID-XXXXXX, and
//    then deletes that;
//  - reset takes the lock and renames root/ (with what describes it: the
//    ownership journal, the whiteouts, the merged-listing cache) into
//    envs/NAME/.trash-root-PID-XXXXXX*, makes an empty root/, and then
//    deletes the trash.
// Staging and trash folders of processes that are gone are removed by the
// next command that opens the store.
import {readOwners} from '../pack/owners.js'
import {existsSync, mkdirSync, readdirSync, renameSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {CatboxError, errors} from '../lib/errors.js'
import {diskUsage, pidAlive, randomSuffix, removeTree, syncDirectory} from '../lib/fsutil.js'
import {type RunEntry, type RunStatus, readRun, runIds} from '../run/record.js'
import {CONFIG_SCHEMA_VERSION, type EnvConfig, readConfig, writeConfig} from './config.js'
import {catboxHome, envPaths, type EnvPaths} from './home.js'
import {type Holder, isLocked, lockEnv, readHolder, type EnvLock} from './lock.js'
import {checkName, nameProblem} from './name.js'
import {resolveSettings, type SettingsOverrides} from './settings.js'
import {DEFAULT_TEMPLATE, loadTemplate} from './templates.js'

/** The environment `catbox exec` and `catbox shell` create on first use. */
export const DEFAULT_ENV = 'default'

export interface CreateRequest {
  name: string
  /** Template name; default: "default". */
  template?: string
  overrides?: SettingsOverrides
  /** Where relative paths and $CWD are taken from while validating; default: process.cwd(). */
  cwd?: string
}

export type EnvStatus = 'idle' | 'busy' | 'broken'

/** A run as env list/show report it. Fields a broken record cannot give are null. */
export interface RunSummary {
  id: string
  status: RunStatus | 'unreadable'
  command: string[] | null
  start: string | null
  durationMs: number | null
  exitCode: number | null
  signal: number | null
  /** How many violations. */
  violations: number | null
  error: string | null
}

export interface EnvInfo {
  name: string
  /** Its folder. */
  path: string
  /** busy: a run (or rm/reset) holds it; broken: its env.json cannot be used (see problem). */
  status: EnvStatus
  holder: Pick<Holder, 'pid' | 'command' | 'since'> | null
  problem: string | null
  /** env.json; null when broken. */
  config: EnvConfig | null
  /** Disk usage of root/, the overlay's upper directory. */
  rootBytes: number
  runCount: number
  lastRun: RunSummary | null
}

export interface EnvDetails extends EnvInfo {
  /** Every run, newest first. */
  runs: RunSummary[]
  /** Fake root's recorded owners and modes (owners.jsonl), by path. */
  ownership: Ownership[]
}

/** One recorded change of fake root: what the archive will say about a file. */
export interface Ownership {
  path: string
  uid: number | null
  gid: number | null
  /** Full st_mode (type bits included), or null when only the owner was recorded. */
  mode: number | null
  /** Device number of a recorded device node (glibc dev_t), else null. */
  rdev: number | null
}

const TEMP_ENTRY = /^\.(staging|trash)-.+-(\d+)-[0-9a-f]{6}$/

/** .staging-NAME-PID-XXXXXX / .trash-NAME-PID-XXXXXX: the pid says whether its maker still works on it. */
const tempName = (kind: 'staging' | 'trash', name: string): string =>
  `.${kind}-${name}-${process.pid}-${randomSuffix()}`

export class Store {
  readonly envsDir: string

  constructor(readonly home: string) {
    this.envsDir = join(home, 'envs')
  }

  /** The store at $CATBOX_HOME (or its default), swept of what crashed commands left. */
  static open(env: Record<string, string | undefined> = process.env): Store {
    const store = new Store(catboxHome(env))
    store.sweep()
    return store
  }

  paths(name: string): EnvPaths {
    return envPaths(this.envsDir, checkName(name))
  }

  exists(name: string): boolean {
    return existsSync(this.paths(name).dir)
  }

  /**
   * Validate everything, then make the environment in one rename. Throws
   * CatboxError: a bad name, template, rule, map or variable (nothing is
   * made), ENV_EXISTS when the name is taken (also when another create won
   * the race).
   */
  create(request: CreateRequest): EnvConfig {
    const name = checkName(request.name)
    const paths = this.paths(name)
    const cwd = request.cwd ?? process.cwd()
    const templateName = request.template ?? DEFAULT_TEMPLATE
    const settings = resolveSettings(loadTemplate(templateName), request.overrides ?? {}, name, cwd)
    // No early "does it exist?": the rename below is the one check, the same
    // for a name taken long ago and for a create that lost a race.
    const config: EnvConfig = {
      schemaVersion: CONFIG_SCHEMA_VERSION,
      name,
      template: templateName,
      createdAt: new Date().toISOString(),
      ...settings,
    }

    const staging = join(this.envsDir, tempName('staging', name))
    try {
      mkdirSync(this.envsDir, {recursive: true})
      mkdirSync(staging)
    } catch (error) {
      throw errors.storeFailed(this.envsDir, error)
    }
    try {
      try {
        mkdirSync(join(staging, 'root'))
        mkdirSync(join(staging, 'runs'))
      } catch (error) {
        throw errors.storeFailed(staging, error)
      }
      writeConfig(join(staging, 'env.json'), config)
      try {
        renameSync(staging, paths.dir)
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') throw errors.envExists(name)
        throw errors.storeFailed(paths.dir, error)
      }
    } catch (error) {
      removeTree(staging)
      throw error
    }
    syncDirectory(this.envsDir)
    return config
  }

  /** The environment's validated env.json; ENV_NOT_FOUND, BAD_FILE or NEWER_FILE otherwise. */
  load(name: string): EnvConfig {
    const paths = this.paths(name)
    if (!existsSync(paths.dir)) throw errors.envNotFound(name, this.envsDir)
    return readConfig(paths.config, name)
  }

  /** load(), but the default environment is created from the default template when missing. */
  loadOrCreateDefault(name: string): EnvConfig {
    if (name === DEFAULT_ENV && !this.exists(name)) {
      try {
        this.create({name})
      } catch (error) {
        // Another catbox made it first: use theirs.
        if (!(error instanceof CatboxError && error.code === 'ENV_EXISTS')) throw error
      }
    }
    return this.load(name)
  }

  /**
   * Lock the environment for a run: ENV_BUSY when something else holds it.
   * Leftovers of an interrupted reset are cleared, and root/ and runs/ made
   * if missing, while the lock is held.
   */
  async lock(name: string, command: string, onLost: (why: string) => void): Promise<EnvLock> {
    const paths = this.paths(name)
    const lock = await lockEnv(paths, name, command, onLost)
    try {
      this.repair(paths)
    } catch (error) {
      await lock.release()
      throw error
    }
    return lock
  }

  async info(name: string): Promise<EnvInfo> {
    const {runs: _runs, ...info} = await this.describe(name, false)
    return info
  }

  async details(name: string): Promise<EnvDetails> {
    return this.describe(name, true)
  }

  /** Every environment, by name. */
  async list(): Promise<EnvInfo[]> {
    let entries: string[]
    try {
      entries = readdirSync(this.envsDir)
    } catch {
      return []
    }
    const names = entries.filter((entry) => nameProblem(entry) === null && isDirectory(join(this.envsDir, entry))).sort()
    return Promise.all(names.map((name) => this.info(name)))
  }

  /** Remove the environment and everything in it. ENV_BUSY while a run is in it. A broken one can be removed. */
  async remove(name: string): Promise<void> {
    const paths = this.paths(name)
    if (!existsSync(paths.dir)) throw errors.envNotFound(name, this.envsDir)
    const lock = await lockEnv(paths, name, 'catbox env rm', () => {})
    const trash = join(this.envsDir, tempName('trash', name))
    try {
      renameSync(paths.dir, trash)
    } catch (error) {
      await lock.release()
      throw errors.storeFailed(paths.dir, error)
    }
    // The lock directory went with it; from here the name is free.
    await lock.release()
    syncDirectory(this.envsDir)
    try {
      removeTree(trash)
    } catch (error) {
      throw errors.storeFailed(trash, error)
    }
  }

  /**
   * Empty the environment's root/ and forget its whiteouts, so that the
   * environment shows the host as it is; its env.json and run records stay.
   * ENV_BUSY while a run is in it.
   */
  async reset(name: string): Promise<void> {
    this.load(name)
    const paths = this.paths(name)
    const lock = await lockEnv(paths, name, 'catbox env reset', () => {})
    try {
      const trash = join(paths.dir, tempName('trash', 'root'))
      // What describes root/'s files goes with them: the ownership journal,
      // the whiteouts, and the merged listings made from both (a cache, so
      // it goes first). A reset cut short leaves a mix; running it again
      // finishes it.
      for (const [from, to] of [
        [paths.merged, `${trash}.merged`],
        [paths.root, trash],
        [paths.owners, `${trash}.owners.jsonl`],
        [paths.whiteouts, `${trash}.whiteouts`],
      ]) {
        try {
          renameSync(from, to)
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw errors.storeFailed(from, error)
        }
      }
      this.repair(paths, false)
    } finally {
      await lock.release()
    }
    // The old root can be large: delete it once the lock is free, so the
    // environment is usable at once. What fails here, the next command sweeps.
    try {
      this.removeTrash(paths)
    } catch {
      // left for later
    }
  }

  /** Remove staging and trash folders whose process is gone. Never throws: it only tidies. */
  sweep(): void {
    let entries: string[]
    try {
      entries = readdirSync(this.envsDir)
    } catch {
      return
    }
    for (const entry of entries) {
      const match = TEMP_ENTRY.exec(entry)
      if (!match || pidAlive(Number(match[2]))) continue
      try {
        removeTree(join(this.envsDir, entry))
      } catch {
        // Left for a later sweep.
      }
    }
  }

  /** With the lock held: drop trash left inside the environment (unless told not to), make root/ and runs/ if missing. */
  private repair(paths: EnvPaths, removeTrash = true): void {
    if (removeTrash) this.removeTrash(paths)
    for (const dir of [paths.root, paths.runs]) {
      try {
        mkdirSync(dir, {recursive: true})
      } catch (error) {
        throw errors.storeFailed(dir, error)
      }
    }
  }

  /** Trash an interrupted or finished reset left inside the environment. */
  private removeTrash(paths: EnvPaths): void {
    for (const entry of safeReaddir(paths.dir)) {
      if (!entry.startsWith('.trash-')) continue
      try {
        removeTree(join(paths.dir, entry))
      } catch (error) {
        throw errors.storeFailed(join(paths.dir, entry), error)
      }
    }
  }

  private async describe(name: string, allRuns: boolean): Promise<EnvDetails> {
    const paths = this.paths(name)
    if (!existsSync(paths.dir)) throw errors.envNotFound(name, this.envsDir)
    let config: EnvConfig | null = null
    let problem: string | null = null
    try {
      config = readConfig(paths.config, name)
    } catch (error) {
      if (!(error instanceof CatboxError)) throw error
      problem = error.message
    }
    const busy = await isLocked(paths)
    const holder = busy ? readHolder(paths) : null
    const ids = runIds(paths.runs)
    const runs = (allRuns ? ids : ids.slice(0, 1)).map((id) => summarize(readRun(paths.runs, id)))
    return {
      name,
      path: paths.dir,
      status: problem ? 'broken' : busy ? 'busy' : 'idle',
      holder: holder && {pid: holder.pid, command: holder.command, since: holder.since},
      problem,
      config,
      rootBytes: diskUsage(paths.root),
      runCount: ids.length,
      lastRun: runs[0] ?? null,
      runs: allRuns ? runs : [],
      ownership: allRuns ? await ownership(paths.owners).catch(() => []) : [],
    }
  }
}

async function ownership(journal: string): Promise<Ownership[]> {
  const table = await readOwners(journal)
  return [...table.values()]
    .map((r) => ({path: r.path, uid: r.uid ?? null, gid: r.gid ?? null, mode: r.mode ?? null, rdev: r.rdev ?? null}))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

function summarize(entry: RunEntry): RunSummary {
  if ('problem' in entry) {
    return {id: entry.id, status: 'unreadable', command: null, start: null, durationMs: null, exitCode: null, signal: null, violations: null, error: entry.problem}
  }
  const r = entry.record
  return {
    id: r.id,
    status: r.status,
    command: r.command,
    start: r.start,
    durationMs: r.durationMs,
    exitCode: r.exitCode,
    signal: r.signal,
    violations: r.violationCount ?? r.violations.length,
    error: r.error,
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}
