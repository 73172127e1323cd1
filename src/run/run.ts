// One run: validate, hand the spec to native, turn its events into the API's shapes.
import {constants} from 'node:os'

import {errors} from '../lib/errors.js'
import {addon} from './addon.js'
import type {NativeEvent} from './native.js'
import {buildSpec} from './spec.js'
import {VIOLATION_SAMPLE} from './types.js'
import type {RunOptions, RunResult, Violation} from './types.js'

export {VIOLATION_SAMPLE} from './types.js'

/**
 * Run options.command under the supervisor and resolve when its first process
 * has exited (the result carries its exit status; violations are the run's:
 * the first VIOLATION_SAMPLE of them, and violationCount says how many in all).
 *
 * Rejects with a CatboxError, before anything runs, when the options are
 * invalid. A command that cannot be found rejects with exitCode 127 (126 when
 * it is not executable), the statuses a shell would give: it is an error of
 * the request, not a result of the command, so it is not a RunResult.
 *
 * Callbacks run on the main thread while the build goes on. If one throws,
 * the build still runs to its end, and then run() rejects with that error.
 */
export async function run(options: RunOptions): Promise<RunResult> {
  const spec = buildSpec(options)
  const native = addon()
  const violations: Violation[] = []
  let failure: Error | undefined

  const guard = <A extends unknown[]>(name: string, callback: ((...args: A) => void) | undefined) =>
    (...args: A): void => {
      if (!callback || failure) return
      try {
        callback(...args)
      } catch (error) {
        failure = errors.callbackFailed(name, error)
      }
    }

  const onStart = guard('onStart', options.onStart)
  const onViolation = guard('onViolation', options.onViolation)
  const onDied = guard('onChildDiedUnexpectedly', options.onChildDiedUnexpectedly)
  const onEvents = (events: NativeEvent[]): void => {
    for (const event of events) {
      if (event.type === 'start') {
        onStart(event.pid)
      } else if (event.type === 'violation') {
        const violation = toViolation(event)
        if (violations.length < VIOLATION_SAMPLE) violations.push(violation)
        onViolation(violation)
      } else if (event.type === 'childDiedUnexpectedly') {
        onDied(event.pid, event.signal)
      }
      // 'childInitialized' reaches options.onChildInitialized through the hook
      // below (it must run while the child is held); 'exec' is not in the API yet.
    }
  }
  const onChildInitialized = options.onChildInitialized
    ? guard('onChildInitialized', options.onChildInitialized)
    : undefined

  const result = await native.run(spec, onEvents, onChildInitialized)
  if (failure) throw failure
  // Native counts every violation; without onViolation it sends only the sample's worth.
  return {exitCode: result.exitCode, signal: result.signal, violations, violationCount: result.stats.violations, stats: result.stats}
}

type ViolationEvent = Extract<NativeEvent, {type: 'violation'}>

export function toViolation(event: ViolationEvent): Violation {
  return {
    operation: event.operation,
    path: event.path,
    canonical: event.canonical,
    pid: event.pid,
    program: event.program,
    denied: event.denied,
    error: event.denied ? errnoName(event.errno) : '',
  }
}

let errnoNames: Map<number, string> | undefined

/** 13 -> "EACCES". Of two names for one number, the one the kernel headers use (EAGAIN, EOPNOTSUPP). */
export function errnoName(errno: number): string {
  if (!errnoNames) {
    errnoNames = new Map([
      [constants.errno.EAGAIN, 'EAGAIN'],
      [constants.errno.EOPNOTSUPP, 'EOPNOTSUPP'],
    ])
    for (const [name, value] of Object.entries(constants.errno)) {
      if (!errnoNames.has(value)) errnoNames.set(value, name)
    }
  }
  const n = Math.abs(errno)
  return errnoNames.get(n) ?? `errno ${n}`
}
