// Checks on Chrome trace-event files that the report writes.
import {expect} from '@jest/globals'

import type {TraceEvent} from '../../src/report/trace.js'

/** Every lane's (tid's) slices nest properly: each lies within the slice that encloses its start, or after it. */
export function expectLanesNest(events: readonly TraceEvent[]): void {
  const byLane = new Map<number, TraceEvent[]>()
  for (const e of events.filter((x) => x.ph === 'X')) byLane.set(e.tid, [...(byLane.get(e.tid) ?? []), e])
  for (const slices of byLane.values()) {
    slices.sort((a, b) => a.ts! - b.ts! || b.dur! - a.dur!)
    const open: number[] = []
    for (const s of slices) {
      while (open.length > 0 && open[open.length - 1] <= s.ts!) open.pop()
      if (open.length > 0) expect(s.ts! + s.dur!).toBeLessThanOrEqual(open[open.length - 1])
      open.push(s.ts! + s.dur!)
    }
  }
}
