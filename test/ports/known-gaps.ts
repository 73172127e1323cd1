// The one list of ported peer-suite cases that fail today because of a real
// catbox bug. Each case id maps to one line saying which bug; a bug seen only
// as root or only as an unprivileged user is given as {root: ...} or
// {user: ...}. The suites run a listed case with Jest's test.failing there: the
// suite stays green while the bug is there and turns red the moment it is
// fixed; then remove the entry here. (docs/ported-suites.md explains the ids.)
import {test} from '@jest/globals'

type Gap = string | {root?: string; user?: string}

export const knownGaps: Record<string, Gap> = {}

const asRoot = process.getuid?.() === 0

/** The reason case id is a known gap for the user running the tests, or undefined. */
export function gapOf(id: string): string | undefined {
  const gap = knownGaps[id]
  if (gap === undefined || typeof gap === 'string') return gap
  return asRoot ? gap.root : gap.user
}

/**
 * A ported case: `id` is "<suite>.<case>" (e.g. "fakeroot.t.mknod",
 * "proot.test-cccccccc"), run as test.failing when knownGaps lists it.
 * CATBOX_PORTS_STRICT=1 runs every case as an ordinary test, to see how the
 * known gaps fail.
 */
export function port(id: string, title: string, fn: () => Promise<void> | void, timeout?: number): void {
  const name = `${id}: ${title}`
  const gap = process.env.CATBOX_PORTS_STRICT === '1' ? undefined : gapOf(id)
  if (gap !== undefined) test.failing(`${name} [known gap: ${gap}]`, fn, timeout)
  else test(name, fn, timeout)
}
