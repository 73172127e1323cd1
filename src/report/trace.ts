// The process tree as a Chrome trace-event file (the JSON Object Format of
// "Trace Event Format"), for Perfetto (ui.perfetto.dev) or chrome://tracing:
// one complete slice ("ph": "X") per process, argv in its args.
//
// A viewer nests slices only within one track (tid), and only when they nest
// properly there. So processes are laid out in lanes: a child goes into its
// parent's lane when the parent is that lane's innermost open slice and the
// child ends within it; otherwise (a sibling is still running there: parallel
// make) into the first lane that is free at that moment, or a new one.
import {closeSync, openSync, writeSync} from 'node:fs'

import {duration, lastExec, programName, type ProcessInfo, type RunModel} from './model.js'
import {endText} from './tree.js'

export interface TraceEvent {
  name: string
  ph: 'X' | 'M'
  pid: number
  tid: number
  ts?: number
  dur?: number
  cat?: string
  args?: Record<string, unknown>
}

export interface ChromeTrace {
  traceEvents: TraceEvent[]
  displayTimeUnit: 'ms'
  otherData: Record<string, string>
}

/** The one trace "process" all lanes belong to. */
const TRACE_PID = 1

/** Lane (0-based) of every process, by id; see the top of this file. */
export function assignLanes(model: RunModel): number[] {
  const lanes: Array<Array<{id: number; end: number}>> = []
  const laneOf: number[] = new Array(model.processes.length)
  const span = (p: ProcessInfo) => [p.start, p.start + duration(model, p)] as const
  const close = (lane: number, at: number) => {
    const stack = lanes[lane]
    while (stack.length > 0 && stack[stack.length - 1].end <= at) stack.pop()
  }
  // A parent is announced before its children, so its id is smaller: ties at one ts keep it first.
  const order = [...model.processes].sort((a, b) => a.start - b.start || a.id - b.id)
  for (const p of order) {
    const [start, end] = span(p)
    let lane = -1
    if (p.parent !== null) {
      const candidate = laneOf[p.parent]
      const stack = lanes[candidate]
      // Slices that ended before p started are closed, except the parent itself (a zero-length parent).
      while (stack.length > 0 && stack[stack.length - 1].end <= start && stack[stack.length - 1].id !== p.parent) stack.pop()
      const top = stack[stack.length - 1]
      if (top?.id === p.parent && end <= top.end) lane = candidate
    }
    if (lane < 0) {
      for (let i = 0; i < lanes.length && lane < 0; i++) {
        close(i, start)
        if (lanes[i].length === 0) lane = i
      }
      if (lane < 0) lane = lanes.push([]) - 1
    }
    lanes[lane].push({id: p.id, end})
    laneOf[p.id] = lane
  }
  return laneOf
}

/** Everything a viewer shows when a slice is selected. */
function sliceArgs(p: ProcessInfo): Record<string, unknown> {
  const exec = lastExec(p)
  const args: Record<string, unknown> = {pid: p.pid, ppid: p.ppid}
  if (exec) {
    args.argv = exec.argv
    args.cwd = exec.cwd
    args.program = exec.path
  }
  if (p.execs.length > 1) args.earlierExecs = p.execs.slice(0, -1).map((e) => e.argv)
  if (p.signal !== null) args.signal = p.signal
  else if (p.exitCode !== null) args.exitCode = p.exitCode
  const status = endText(p)
  if (status) args.status = status
  if (p.reads || p.failedLookups) {
    args.filesRead = p.reads
    args.failedLookups = p.failedLookups
  }
  if (p.writes) args.filesWritten = p.writes
  return args
}

/** The trace as an object (small runs, tests); writeChromeTrace streams the same to a file. */
export function chromeTrace(model: RunModel, title: string, otherData: Record<string, string> = {}): ChromeTrace {
  const traceEvents: TraceEvent[] = []
  for (const e of traceEventsOf(model, title)) traceEvents.push(e)
  return {traceEvents, displayTimeUnit: 'ms', otherData}
}

function* traceEventsOf(model: RunModel, title: string, laneOf = assignLanes(model)): Generator<TraceEvent> {
  const laneCount = countLanes(laneOf)
  yield {name: 'process_name', ph: 'M', pid: TRACE_PID, tid: 0, args: {name: title}}
  for (let lane = 0; lane < laneCount; lane++) {
    const tid = lane + 1
    yield {name: 'thread_name', ph: 'M', pid: TRACE_PID, tid, args: {name: lane === 0 ? 'build' : `parallel ${lane}`}}
    yield {name: 'thread_sort_index', ph: 'M', pid: TRACE_PID, tid, args: {sort_index: lane}}
  }
  for (const p of model.processes) {
    yield {
      name: programName(model, p),
      cat: 'process',
      ph: 'X',
      ts: p.start,
      dur: duration(model, p),
      pid: TRACE_PID,
      tid: laneOf[p.id] + 1,
      args: sliceArgs(p),
    }
  }
}

const countLanes = (laneOf: number[]): number => laneOf.reduce((n, lane) => Math.max(n, lane + 1), 0)

/** Write the trace to file, one event a line, without building it all in memory first. */
export function writeChromeTrace(
  file: string,
  model: RunModel,
  title: string,
  otherData: Record<string, string> = {},
): {slices: number; lanes: number} {
  const laneOf = assignLanes(model)
  const fd = openSync(file, 'w', 0o644)
  let count = 0
  try {
    let chunk = '{"displayTimeUnit":"ms","otherData":' + JSON.stringify(otherData) + ',"traceEvents":[\n'
    for (const event of traceEventsOf(model, title, laneOf)) {
      chunk += (count++ === 0 ? '' : ',\n') + JSON.stringify(event)
      if (chunk.length >= 1 << 16) {
        writeSync(fd, chunk)
        chunk = ''
      }
    }
    writeSync(fd, chunk + '\n]}\n')
  } finally {
    closeSync(fd)
  }
  return {slices: model.processes.length, lanes: countLanes(laneOf)}
}
