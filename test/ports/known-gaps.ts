// The one list of ported peer-suite cases that fail today because of a real
// catbox bug. Each case id maps to one line saying which bug; a bug seen only
// as root or only as an unprivileged user is given as {root: ...} or
// {user: ...}. The suites run a listed case with Jest's test.failing there: the
// suite stays green while the bug is there and turns red the moment it is
// fixed; then remove the entry here. (docs/ported-suites.md explains the ids.)
// The race tests of issue 13 (test/integration/races.test.ts) use the same
// list, with ids "races.<mode>.<attack>" (docs/supervisor.md, "Races").
import {test} from '@jest/globals'

type Gap = string | {root?: string; user?: string}

const checkedThenFollowed = 'catbox checks the path, then the kernel looks it up again (issue 13)'
const pathReread = 'catbox checks a copy of the path, then the kernel reads it again from the build\'s memory (issue 13)'
const scratch = 'the translated path below the stack pointer is the build\'s memory: another thread rewrites it (issue 13)'

export const knownGaps: Record<string, Gap> = {
  'races.fake-root.path-open': pathReread,
  'races.fake-root.path-mkdir': pathReread,
  'races.fake-root.link-open': checkedThenFollowed,
  'races.fake-root.dir-open': checkedThenFollowed,
  'races.overlay.link-open': 'the kernel follows a link swapped into upper, absolute from the host root (issue 13)',
  'races.overlay.dir-open': 'the kernel follows a link swapped into upper, absolute from the host root (issue 13)',
  'races.overlay.scratch-open': scratch,
  'races.overlay.scratch-open#ro-map': scratch,
}

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
