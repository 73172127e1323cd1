// `catbox report NAME [RUN]`: find the run, read its directory, and make
// what was asked of it. Only runs/ID/ is read: the report works when the
// environment's env.json is gone, or the folder was copied elsewhere.
import {existsSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {errors} from '../lib/errors.js'
import {readRecord, recordFile, runIds, type RunRecord} from '../run/record.js'
import {parseDeclared, type Declared} from './declared.js'
import {compareDeclared, findDeps, hostFs, type Comparison, type DepsReport, type LinkFs} from './deps.js'
import {detectPackageDb, type PackageDb} from './packages.js'
import {renderComparison, renderDeps} from './deps-text.js'
import {loadRun, renderSummary, type Loaded} from './summary.js'
import {writeChromeTrace} from './trace.js'
import {commandLine} from './tree.js'

export interface ReportRequest {
  /** envs/NAME/runs */
  runsDir: string
  environment: string
  /** A run id, or a unique prefix of one; the latest run when absent. */
  run?: string
  deps?: boolean
  /** A Build-Depends field, a control file or a list to compare the dependencies with (implies deps). */
  missingFrom?: string
  /** Write the Chrome trace here. */
  traceFile?: string
  /** Injected for tests; detected from the system otherwise. */
  packageDb?: PackageDb | null
  fs?: LinkFs
}

export interface ReportResult {
  runDir: string
  record: RunRecord
  loaded: Loaded
  deps?: {
    report: DepsReport
    comparison?: {file: string; declared: Declared; result: Comparison}
  }
  trace?: {file: string; slices: number; lanes: number}
}

/** The run directory asked for: an exact id, a unique prefix, or the latest. */
export function findRun(runsDir: string, environment: string, run?: string): {id: string; dir: string} {
  const ids = runIds(runsDir)
  if (ids.length === 0) {
    const envDir = dirname(runsDir)
    if (!existsSync(envDir)) throw errors.envNotFound(environment, dirname(envDir))
    throw errors.noRuns(environment, runsDir)
  }
  if (run === undefined) return {id: ids[0], dir: join(runsDir, ids[0])}
  if (ids.includes(run)) return {id: run, dir: join(runsDir, run)}
  const matches = ids.filter((id) => id.startsWith(run))
  if (matches.length === 1) return {id: matches[0], dir: join(runsDir, matches[0])}
  if (matches.length > 1) throw errors.runAmbiguous(environment, run, matches)
  throw errors.runNotFound(environment, run, ids)
}

export async function makeReport(request: ReportRequest): Promise<ReportResult> {
  const {id, dir} = findRun(request.runsDir, request.environment, request.run)
  const record = readRecord(recordFile(dir))
  const loaded = await loadRun(dir, record)
  const result: ReportResult = {runDir: dir, record, loaded}
  const traced = loaded.summary.trace

  if (request.deps || request.missingFrom !== undefined) {
    if (!loaded.model || !traced?.modes.includes('read')) throw errors.notTraced(request.environment, id, 'read')
    const db = request.packageDb === undefined ? detectPackageDb() : request.packageDb
    if (!db) throw errors.noPackageManager()
    const declaredText = request.missingFrom === undefined ? null : readDeclared(request.missingFrom)
    const report = await findDeps(loaded.model, db, request.fs ?? hostFs)
    result.deps = {report}
    if (declaredText !== null && request.missingFrom !== undefined) {
      const declared = parseDeclared(declaredText, {arch: await db.arch()})
      const installed = await db.installed()
      result.deps.comparison = {file: request.missingFrom, declared, result: compareDeclared(report, declared, installed)}
    }
  }

  if (request.traceFile !== undefined) {
    if (!loaded.model || !traced?.modes.includes('exec')) throw errors.notTraced(request.environment, id, 'exec')
    const title = `catbox ${request.environment} ${id}: ${commandLine(record.command, 80)}`
    try {
      const written = writeChromeTrace(request.traceFile, loaded.model, title, {
        environment: request.environment,
        run: id,
        command: commandLine(record.command),
        start: record.start,
      })
      result.trace = {file: request.traceFile, ...written}
    } catch (error) {
      throw errors.cannotWrite(request.traceFile, error)
    }
  }
  return result
}

function readDeclared(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw errors.cannotReadDeclared(file, error)
  }
}

/** What `catbox report --json` prints: the summary, and what else was asked. */
export function reportJson(result: ReportResult): object {
  const {summary} = result.loaded
  const comparison = result.deps?.comparison
  return {
    runDir: result.runDir,
    ...summary,
    ...(result.deps
      ? {
          deps: {
            ...result.deps.report,
            ...(comparison
              ? {
                  comparison: {
                    file: comparison.file,
                    kind: comparison.declared.kind,
                    fields: comparison.declared.fields,
                    buildEssential: comparison.declared.buildEssential,
                    ...comparison.result,
                  },
                }
              : {}),
          },
        }
      : {}),
    ...(result.trace ? {traceFile: result.trace} : {}),
  }
}

/** The text: the dependencies when asked for, else the summary; a written trace file is named last. */
export function renderReport(result: ReportResult, asked: {deps: boolean; traceFile: boolean}): string[] {
  const out: string[] = []
  if (result.deps) {
    out.push(...renderDeps(result.deps.report))
    const c = result.deps.comparison
    if (c) out.push('', ...renderComparison(c.result, c.declared, c.file))
  } else if (!asked.traceFile) {
    out.push(...renderSummary(result.loaded))
  }
  if (result.trace) {
    const {file, slices, lanes} = result.trace
    if (out.length > 0) out.push('')
    out.push(
      `Wrote the trace of ${slices} process${slices === 1 ? '' : 'es'} (${lanes} lane${lanes === 1 ? '' : 's'}) to ${file}: open it in https://ui.perfetto.dev or chrome://tracing`,
    )
  }
  return out
}
