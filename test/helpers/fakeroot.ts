// Runs a shell script under the supervisor in fake-root mode, straight
// through the native addon (RunOptions has no fake root of its own yet).
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {loadNative, type NativeResult} from '../../src/run/native.js'
import {buildSpec} from '../../src/run/spec.js'

export interface FakeRootRun {
  result: NativeResult
  /** The script's stdout and stderr. */
  out: string
}

/** Runs `sh -c script` in cwd with `writable` allowed and the ownership journal at db. */
export async function runFakeRoot(script: string, opts: {cwd: string; writable: string[]; db: string; scratch: string}): Promise<FakeRootRun> {
  const out = join(opts.scratch, `out-${process.pid}-${Date.now()}.txt`)
  const spec = buildSpec({command: ['/bin/sh', '-c', `exec > ${out} 2>&1; ${script}`], cwd: opts.cwd, writable: opts.writable})
  const result = await loadNative().run({...spec, fakeRoot: {uid: 0, gid: 0, db: opts.db}}, () => {})
  return {result, out: readFileSync(out, 'utf8')}
}
