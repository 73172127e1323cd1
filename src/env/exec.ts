// A run inside a named environment: `catbox exec` and `catbox shell`.
//
// The environment's lock is held for the whole run (one run at a time per
// environment), and the run leaves a record in runs/ID/report.json: written
// as "running" before the command starts and replaced by the final record
// when it ends, or by an "interrupted" one when SIGTERM ends catbox.
import {join} from 'node:path'

import {CatboxError, notices} from '../lib/errors.js'
import {withEndingSignalsHandled, withTerminalSignalsIgnored} from '../lib/signals.js'
import type {NetworkMode} from '../run/native.js'
import {RunRecorder} from '../run/record.js'
import {run} from '../run/run.js'
import type {RunResult, TraceMode, Violation} from '../run/types.js'
import type {EnvConfig} from './config.js'
import {expandSettings, placeholderValues} from './settings.js'
import type {Store} from './store.js'

/** Flags of exec and shell that override the environment's settings. */
export interface ExecOverrides {
  collectOnly?: boolean
  failOnViolation?: boolean
  network?: NetworkMode
  /** What the run's operation log records; [] for none. */
  trace?: TraceMode[]
}

export interface ExecRequest {
  store: Store
  name: string
  /** Who holds the lock, for the busy message of others: "catbox exec". */
  holder: string
  /**
   * The command line, given the run's directory (a shell keeps its rc file
   * there) and the environment; env is added to the command's variables.
   */
  command: (run: {dir: string; config: EnvConfig}) => {command: string[]; env?: Record<string, string>}
  overrides?: ExecOverrides
  /** The directory exec is run from: $CWD, and the command's cwd unless the environment sets one. */
  cwd?: string
  onViolation: (violation: Violation) => void
  /** One line for people (stderr). */
  onWarning: (line: string) => void
}

/** The operation log's name in the run directory, next to report.json. */
export const EVENT_LOG = 'events.jsonl'

export interface ExecResult extends RunResult {
  environment: string
  /** The run's record: runs/ID/report.json. */
  runId: string
  /** The effective setting, for the exit status. */
  failOnViolation: boolean
}

/**
 * Run a command in the environment. Rejects with CatboxError when the
 * environment cannot be used (missing, broken, busy) or the command cannot be
 * run (not found, a rule that no longer parses); the latter is recorded as a
 * "failed" run. The default environment is created on first use.
 */
export async function execInEnv(request: ExecRequest): Promise<ExecResult> {
  const {store, name, overrides = {}} = request
  const config = store.loadOrCreateDefault(name)
  const here = request.cwd ?? process.cwd()
  const settings = expandSettings(config, placeholderValues(config.name, here))
  const paths = store.paths(name)
  const guestView =
    settings.overlay || settings.maps.length > 0
      ? {
          ...(settings.overlay ? {root: {dir: paths.root, whiteouts: paths.whiteouts}} : {}),
          maps: settings.maps,
          cache: paths.merged,
        }
      : undefined

  const lock = await store.lock(name, request.holder, (why) => request.onWarning(notices.lockLost(name, why)))
  try {
    const recorder = RunRecorder.create(store.paths(name).runs, name)
    const {command, env: extraEnv = {}} = request.command({dir: recorder.dir, config})
    const cwd = settings.cwd ?? here
    let commandPid: number | null = null
    const traceModes = overrides.trace ?? settings.trace ?? []
    const trace = traceModes.length > 0 ? {modes: traceModes, eventLog: EVENT_LOG} : undefined
    recorder.start({command, cwd, trace})

    const onEnd = (signal: string): void => {
      recorder.interrupt(`catbox received ${signal}`)
      lock.abandon()
    }
    let result: RunResult
    try {
      result = await withEndingSignalsHandled(
        () => commandPid,
        onEnd,
        () =>
          withTerminalSignalsIgnored(() =>
            run({
              command,
              writable: settings.writable,
              collectOnly: overrides.collectOnly ?? settings.collectOnly,
              network: overrides.network ?? settings.network,
              ...(trace ? {trace: trace.modes, eventLog: join(recorder.dir, trace.eventLog)} : {}),
              ...(settings.fakeRoot ? {fakeRoot: {db: paths.owners}} : {}),
              ...(guestView ? {guestView} : {}),
              cwd,
              env: {...process.env, ...settings.env, CATBOX_ENV: name, ...extraEnv},
              onStart: (pid) => {
                commandPid = pid
              },
              onViolation: (violation) => {
                recorder.violation(violation)
                request.onViolation(violation)
              },
            }),
          ),
      )
    } catch (error) {
      if (error instanceof CatboxError) recorder.fail(error)
      else recorder.interrupt(`catbox failed: ${error instanceof Error ? error.message : String(error)}`)
      throw error
    }
    recorder.finish(result)
    return {
      environment: name,
      runId: recorder.id,
      failOnViolation: overrides.failOnViolation ?? settings.failOnViolation,
      ...result,
    }
  } finally {
    await lock.release()
  }
}

/** What exec and shell print with --json: run's object, with the environment and the run's id. */
export function execJson(result: ExecResult): object {
  const {environment, runId, exitCode, signal, violations, violationCount, stats} = result
  return {environment, runId, exitCode, signal, violations, violationCount, stats}
}
