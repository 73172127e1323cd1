// The one list of ported peer-suite cases that fail today because of a real
// catbox bug. Each case id maps to one line saying which bug; a bug seen only
// as root or only as an unprivileged user is given as {root: ...} or
// {user: ...}. The suites run a listed case with Jest's test.failing there: the
// suite stays green while the bug is there and turns red the moment it is
// fixed; then remove the entry here. (docs/ported-suites.md explains the ids.)
import {test} from '@jest/globals'

type Gap = string | {root?: string; user?: string}

export const knownGaps: Record<string, Gap> = {
  'fakeroot.t.chmod_dev': 'chmod of a device made by mknod drops the recorded device: ls shows a regular file',
  'fakeroot.t.xattr': {user: 'setcap fails: "unable to set CAP_SETFCAP effective capability: Operation not permitted" (capget/capset are not faked)'},
  'fakeroot.t.tar#2': {
    user: 'tar xf of a mode-0 directory: mkdir(path, 0) under fake root leaves mode 0 on disk, so creating inside it fails with EACCES (fakeroot keeps 0700)',
  },
  'pardus.test_invalid_event_hooks':
    'run() does not check that onChildInitialized is a function: the command runs, then run() rejects with CALLBACK_FAILED (exitCode 1)',
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
 */
export function port(id: string, title: string, fn: () => Promise<void> | void, timeout?: number): void {
  const name = `${id}: ${title}`
  const gap = gapOf(id)
  if (gap !== undefined) test.failing(`${name} [known gap: ${gap}]`, fn, timeout)
  else test(name, fn, timeout)
}
