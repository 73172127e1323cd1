// The root overlay under real programs (coreutils, python3, make, gcc): the
// command sees upper laid over the host as `/`, what it writes lands in upper,
// and the host never changes. Each test checks both what the command printed
// and the host tree's fingerprint before and after (test/helpers/overlay.ts).
import {beforeAll, describe, expect, test} from '@jest/globals'
import {chmodSync, existsSync, lstatSync, readFileSync, readlinkSync, statSync, symlinkSync, utimesSync, writeFileSync} from 'node:fs'
import {basename, join} from 'node:path'
import {spawnSync} from 'node:child_process'

import {run} from '../../src/index.js'
import {compileC, expectClean, fingerprint, inUpper, makeOverlay, makeTree, PATH, PYTHON, runGuest} from '../helpers/overlay.js'
import type {OverlayFixture} from '../helpers/overlay.js'
import {makeTmpDirs} from '../helpers/tmp.js'

/** 2001-02-03 04:05:06 UTC, an mtime no write of the test can produce. */
const OLD = 981173106

const modeOf = (path: string) => (lstatSync(path).mode & 0o7777).toString(8)
const mtimeOf = (path: string) => Math.floor(lstatSync(path).mtimeMs / 1000)
const lines = (...l: string[]) => l.map((x) => `${x}\n`).join('')

// C helpers, compiled on the host before the tests (the guest reads them through the overlay).
const READDIR_C = `
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static int count(DIR *d) { int n = 0; while (readdir(d)) n++; return n; }
int main(int argc, char **argv) {
  DIR *d = opendir(argv[1]);
  if (!d) { perror("opendir"); return 1; }
  char **names = NULL; int n = 0; struct dirent *e;
  while ((e = readdir(d))) { names = realloc(names, (n + 1) * sizeof *names); names[n++] = strdup(e->d_name); }
  rewinddir(d);
  int again = count(d);
  rewinddir(d);
  for (int i = 0; i < 3; i++) readdir(d);
  long loc = telldir(d);
  int rest = count(d);
  seekdir(d, loc);
  int rest2 = count(d);
  closedir(d);
  printf("first=%d rewound=%d rest=%d seeked=%d\\n", n, again, rest, rest2);
  if (argc > 2) {
    qsort(names, n, sizeof *names, cmp);
    for (int i = 0; i < n; i++) printf("%s%s", i ? " " : "", names[i]);
    printf("\\n");
  }
  return 0;
}
`

const SYSCALLS_C = `
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#endif
struct how { uint64_t flags, mode, resolve; };
static int report(const char *what, long rc) {
  if (rc < 0) printf("%s err %s\\n", what, strerrorname_np(errno)); else printf("%s ok\\n", what);
  return 0;
}
int main(int argc, char **argv) {
  const char *op = argv[1];
  if (!strcmp(op, "statx")) {
    struct statx sx;
    long rc = syscall(SYS_statx, AT_FDCWD, argv[2], 0, STATX_BASIC_STATS, &sx);
    if (rc < 0) return report("statx", rc);
    printf("statx size=%llu mode=%o\\n", (unsigned long long)sx.stx_size, sx.stx_mode & 07777);
    return 0;
  }
  if (!strcmp(op, "faccessat2")) return report("faccessat2", syscall(SYS_faccessat2, AT_FDCWD, argv[2], R_OK, AT_EACCESS));
  if (!strcmp(op, "openat2")) {
    struct how h = {O_RDONLY, 0, 0};
    return report("openat2", syscall(SYS_openat2, AT_FDCWD, argv[2], &h, sizeof h));
  }
  if (!strcmp(op, "fchmodat2")) return report("fchmodat2", syscall(SYS_fchmodat2, AT_FDCWD, argv[2], (mode_t)strtol(argv[3], 0, 8), 0));
  if (!strcmp(op, "noreplace")) return report("noreplace", syscall(SYS_renameat2, AT_FDCWD, argv[2], AT_FDCWD, argv[3], RENAME_NOREPLACE));
  if (!strcmp(op, "exchange")) return report("exchange", syscall(SYS_renameat2, AT_FDCWD, argv[2], AT_FDCWD, argv[3], RENAME_EXCHANGE));
  fprintf(stderr, "unknown op %s\\n", op);
  return 2;
}
`

let tools: {readdir: string; syscalls: string; execat: string}

beforeAll(() => {
  const dir = makeTmpDirs().base
  tools = {readdir: compileC(dir, 'readdir', READDIR_C), syscalls: compileC(dir, 'syscalls', SYSCALLS_C), execat: compileC(dir, 'execat', EXECAT_C)}
})

/** fixture with host files; returns fx and the host fingerprint taken before any run. */
function fixture(entries: Record<string, string | null>, prepare?: (fx: OverlayFixture) => void) {
  const fx = makeOverlay()
  makeTree(fx.host, entries)
  prepare?.(fx)
  return {fx, before: fingerprint(fx.host)}
}

describe('reading through and copying up', () => {
  test('a host file reads through; appending copies it up with its mode, and the host keeps the original', async () => {
    const {fx, before} = fixture({f: 'original\n', g: 'g\n', r: 'read only\n'}, (fx) => {
      chmodSync(join(fx.host, 'f'), 0o640)
      chmodSync(join(fx.host, 'g'), 0o604)
      for (const name of ['f', 'g', 'r']) utimesSync(join(fx.host, name), OLD, OLD)
    })
    const r = await runGuest(fx, 'cat r; cat f; echo more >> f; cat f; stat -c %a f; chmod 600 g; stat -c "%a %Y" g; cat g')
    expectClean(r)
    expect(r.stdout).toBe(lines('read only', 'original', 'original', 'more', '640', `600 ${OLD}`, 'g'))
    expect(fingerprint(fx.host)).toEqual(before)
    const f = inUpper(fx, join(fx.host, 'f'))
    const g = inUpper(fx, join(fx.host, 'g'))
    expect({f: readFileSync(f, 'utf8'), fMode: modeOf(f), g: readFileSync(g, 'utf8'), gMode: modeOf(g), gMtime: mtimeOf(g)}).toEqual({
      f: 'original\nmore\n',
      fMode: '640',
      g: 'g\n',
      gMode: '600',
      gMtime: OLD,
    })
    // Reading copies nothing up.
    expect(existsSync(inUpper(fx, join(fx.host, 'r')))).toBe(false)
    expect(r.result.stats.copyUps).toBe(2)
  })

  test('creating a file in a host-only directory makes its parents in upper with the host modes', async () => {
    const {fx, before} = fixture({'deep/er/old': 'old\n'}, (fx) => {
      chmodSync(join(fx.host, 'deep/er'), 0o711)
      chmodSync(join(fx.host, 'deep'), 0o750)
      utimesSync(join(fx.host, 'deep'), OLD, OLD)
    })
    const r = await runGuest(fx, 'echo new > deep/er/file; cat deep/er/file; ls deep/er; stat -c %a deep deep/er')
    expectClean(r)
    expect(r.stdout).toBe(lines('new', 'file', 'old', '750', '711'))
    expect(fingerprint(fx.host)).toEqual(before)
    const deep = inUpper(fx, join(fx.host, 'deep'))
    expect({deep: modeOf(deep), er: modeOf(join(deep, 'er')), file: readFileSync(join(deep, 'er/file'), 'utf8')}).toEqual({
      deep: '750',
      er: '711',
      file: 'new\n',
    })
    // Only the new file was made: the host's entries stay on the host.
    expect(existsSync(join(deep, 'er/old'))).toBe(false)
  })

  // Making a parent inside another changes the outer one's mtime: the host's
  // times are put back afterwards, as overlayfs does after a copy-up.
  test('parents made in upper keep the host times of the directories above the new file', async () => {
    const {fx, before} = fixture({'deep/er/old': 'old\n'}, (fx) => utimesSync(join(fx.host, 'deep'), OLD, OLD))
    const r = await runGuest(fx, 'echo new > deep/er/file; stat -c %Y deep')
    expectClean(r)
    expect(r.stdout).toBe(lines(`${OLD}`))
    expect(mtimeOf(inUpper(fx, join(fx.host, 'deep')))).toBe(OLD)
    expect(fingerprint(fx.host)).toEqual(before)
  })

  test('other writes to host files: truncate, touch, chmod, ln -sf over one, os.replace over one', async () => {
    const {fx, before} = fixture({t: 'to truncate\n', u: 'u\n', c: 'c\n', l: 'l\n', p: 'p\n', src: 'src\n'}, (fx) => {
      for (const name of ['t', 'u', 'c', 'l', 'p']) utimesSync(join(fx.host, name), OLD, OLD)
    })
    const script = [
      ': > t; stat -c %s t',
      'touch u; [ "$(stat -c %Y u)" -gt ' + OLD + ' ] && echo touched',
      'chmod 700 c; stat -c %a c',
      'ln -sf src l; readlink l; cat l',
      `${PYTHON} -c 'import os; os.replace("src", "p"); print(open("p").read(), end=""); print(os.path.exists("src"))'`,
      'ls',
    ].join('\n')
    const r = await runGuest(fx, script)
    expectClean(r)
    expect(r.stdout).toBe(lines('0', 'touched', '700', 'src', 'src', 'src', 'False', 'c', 'l', 'p', 't', 'u'))
    expect(fingerprint(fx.host)).toEqual(before)
  })
})

describe('removing host entries (whiteouts)', () => {
  test('rm of a host file hides it from stat, cat, ls, find and os.listdir; the host keeps it; the journal has it', async () => {
    const {fx, before} = fixture({gone: 'x\n', keep: 'k\n', 'sub/s': 's\n'})
    const script = [
      'rm gone',
      'stat gone >/dev/null 2>&1 || echo stat-failed',
      'test -e gone || echo test-e-false',
      'cat gone 2>&1',
      'ls',
      'find . | sort',
      `${PYTHON} -c 'import os; print(sorted(os.listdir(".")), sorted(e.name for e in os.scandir(".")))'`,
    ].join('\n')
    const r = await runGuest(fx, script)
    expect(r.result.violations).toEqual([])
    expect(r.stdout).toBe(
      lines(
        'stat-failed',
        'test-e-false',
        'cat: gone: No such file or directory',
        'keep',
        'sub',
        '.',
        './keep',
        './sub',
        './sub/s',
        "['keep', 'sub'] ['keep', 'sub']",
      ),
    )
    expect(fingerprint(fx.host)).toEqual(before)
    expect(readFileSync(fx.whiteouts, 'latin1')).toBe(`${fx.host}/gone\0`)
    // The next run (same environment) still does not see it.
    const again = await runGuest(fx, 'ls; cat gone 2>&1')
    expect(again.stdout).toBe(lines('keep', 'sub', 'cat: gone: No such file or directory'))
    expect(fingerprint(fx.host)).toEqual(before)
  })

  test('rm -r of a host directory tree hides all of it', async () => {
    const {fx, before} = fixture({'tree/a': 'a', 'tree/sub/b': 'b', 'tree/sub/deeper/c': 'c', keep: 'k'})
    const r = await runGuest(fx, 'rm -r tree; echo rc=$?; ls; find . | sort; ls tree 2>&1; cat tree/sub/b 2>&1')
    expect(r.result.violations).toEqual([])
    expect(r.stdout).toBe(
      lines(
        'rc=0',
        'keep',
        '.',
        './keep',
        "ls: cannot access 'tree': No such file or directory",
        'cat: tree/sub/b: No such file or directory',
      ),
    )
    expect(fingerprint(fx.host)).toEqual(before)
    expect(readFileSync(fx.whiteouts, 'latin1').split('\0')).toContain(`${fx.host}/tree`)
  })

  test('rmdir of a non-empty directory (merged, or host only) fails with "Directory not empty"', async () => {
    const {fx, before} = fixture({'m/a': 'a', 'h/a': 'a'})
    const r = await runGuest(fx, 'touch m/c; rmdir m 2>&1; echo rc=$?; rmdir h 2>&1; echo rc=$?; ls m h')
    expect(r.stdout).toBe(
      lines(
        "rmdir: failed to remove 'm': Directory not empty",
        'rc=1',
        "rmdir: failed to remove 'h': Directory not empty",
        'rc=1',
        'h:',
        'a',
        '',
        'm:',
        'a',
        'c',
      ),
    )
    expect(fingerprint(fx.host)).toEqual(before)
  })

  test('a directory removed and made again is empty (opaque), in this run and the next', async () => {
    const {fx, before} = fixture({'m/a': 'a', 'm/sub/b': 'b', e: null})
    const script = 'rm -r m && mkdir m && ls -A m; echo ---; ls m/a 2>&1; find m; rmdir e && mkdir e && ls -A e; echo done'
    const r = await runGuest(fx, script)
    expect(r.result.violations).toEqual([])
    expect(r.stdout).toBe(lines('---', "ls: cannot access 'm/a': No such file or directory", 'm', 'done'))
    const again = await runGuest(fx, 'ls -A m; touch m/new; ls -A m; find m | sort')
    expectClean(again)
    expect(again.stdout).toBe(lines('new', 'm', 'm/new'))
    expect(fingerprint(fx.host)).toEqual(before)
  })
})

describe('removing, then making again', () => {
  test('a removed host file made again, a copied-up file removed, a merged directory emptied and removed', async () => {
    const {fx, before} = fixture({f: 'host f\n', g: 'host g\n', 'm/a': 'a', 'n/a': 'a', keep: 'k'})
    const script = [
      'rm f && echo new > f && cat f',
      'echo more >> g && rm g && cat g 2>&1',
      'rm m/a && rmdir m && echo m-removed',
      'touch n/c && rm -r n && echo n-removed && ls n 2>&1',
      'mkdir keep 2>&1',
      'ls',
    ].join('\n')
    const r = await runGuest(fx, script)
    expect(r.result.violations).toEqual([])
    expect(r.stdout).toBe(
      lines(
        'new',
        'cat: g: No such file or directory',
        'm-removed',
        'n-removed',
        "ls: cannot access 'n': No such file or directory",
        "mkdir: cannot create directory 'keep': File exists",
        'f',
        'keep',
      ),
    )
    expect(existsSync(inUpper(fx, join(fx.host, 'g')))).toBe(false)
    expect(existsSync(inUpper(fx, join(fx.host, 'n')))).toBe(false)
    const again = await runGuest(fx, 'ls; cat f')
    expect(again.stdout).toBe(lines('f', 'keep', 'new'))
    expect(fingerprint(fx.host)).toEqual(before)
  })
})

describe('merged directory listings', () => {
  const withUpperEntries = (fx: OverlayFixture) => {
    makeTree(inUpper(fx, join(fx.host, 'm')), {b: 'upper b', c: 'upper c', 'u/x': 'x'})
    symlinkSync('a', inUpper(fx, join(fx.host, 'm/la')))
  }

  test('host a, b and upper b, c: ls, find and python see a, b, c once each, with the real sizes and types', async () => {
    const {fx, before} = fixture({'m/a': 'host a', 'm/b': 'host b', 'm/h/y': 'y'}, withUpperEntries)
    const script = [
      'ls m',
      'echo ---',
      "find m -printf '%y %p\\n' | sort",
      'echo ---',
      "find m -type f -printf '%p %s\\n' | sort",
      'echo ---',
      'ls -p m | tr "\\n" " "; echo',
      `${PYTHON} -c 'import os; print(sorted(os.listdir("m")), sorted((e.name, e.is_dir()) for e in os.scandir("m")))'`,
      `${PYTHON} -c 'import os; print(sorted(os.path.join(d, f) for d, _, fs in os.walk("m") for f in fs))'`,
      'cat m/b; echo; cat m/a; echo',
      'stat -c "%n %s" m/[abcl]*',
    ].join('\n')
    const r = await runGuest(fx, script)
    expectClean(r)
    expect(r.stdout).toBe(
      lines(
        'a',
        'b',
        'c',
        'h',
        'la',
        'u',
        '---',
        'd m',
        'd m/h',
        'd m/u',
        'f m/a',
        'f m/b',
        'f m/c',
        'f m/h/y',
        'f m/u/x',
        'l m/la',
        '---',
        'm/a 6',
        'm/b 7',
        'm/c 7',
        'm/h/y 1',
        'm/u/x 1',
        '---',
        'a b c h/ la u/ ',
        "['a', 'b', 'c', 'h', 'la', 'u'] [('a', False), ('b', False), ('c', False), ('h', True), ('la', False), ('u', True)]",
        "['m/a', 'm/b', 'm/c', 'm/h/y', 'm/la', 'm/u/x']",
        'upper b',
        'host a',
        'm/a 6',
        'm/b 7',
        'm/c 7',
        'm/la 1',
      ),
    )
    expect(fingerprint(fx.host)).toEqual(before)
  })

  test('a listing made again after a change shows it (new file, removed file, within one run)', async () => {
    const {fx, before} = fixture({'m/a': 'a', 'm/b': 'b'}, (fx) => makeTree(inUpper(fx, join(fx.host, 'm')), {c: 'c'}))
    const r = await runGuest(fx, 'ls m | tr "\\n" " "; echo; touch m/d; ls m | tr "\\n" " "; echo; rm m/a m/c; ls m | tr "\\n" " "; echo')
    expectClean(r)
    expect(r.stdout).toBe(lines('a b c ', 'a b c d ', 'b d '))
    expect(fingerprint(fx.host)).toEqual(before)
  })

  test('a change on the host during the run shows in the next listing', async () => {
    const {fx} = fixture({'m/a': 'a'}, (fx) => makeTree(inUpper(fx, join(fx.host, 'm')), {c: 'c'}))
    // The same host directory through a read-write map: a write there changes the host's m.
    const via = `/catbox-test-rw-${basename(fx.tmp.base)}`
    const r = await runGuest(fx, `ls m | tr "\\n" " "; echo; sleep 0.2; touch ${via}/z; ls m | tr "\\n" " "; echo`, {
      maps: [{host: join(fx.host, 'm'), guest: via, mode: 'rw'}],
    })
    expectClean(r)
    expect(r.stdout).toBe(lines('a c ', 'a c z '))
    expect(existsSync(join(fx.host, 'm/z'))).toBe(true)
  })

  test('readdir, rewinddir, telldir and seekdir on a merged directory of 302 entries', async () => {
    const host: Record<string, string> = {}
    for (let i = 0; i < 200; i++) host[`m/h${String(i).padStart(3, '0')}`] = 'h'
    const {fx, before} = fixture(host, (fx) => {
      const up: Record<string, string> = {}
      for (let i = 100; i < 300; i++) up[`h${String(i).padStart(3, '0')}`] = 'u'
      makeTree(inUpper(fx, join(fx.host, 'm')), up)
    })
    const r = await runGuest(fx, `${tools.readdir} m; ls m | wc -l; ls m | sort -u | wc -l`)
    expectClean(r)
    expect(r.stdout).toBe(lines('first=302 rewound=302 rest=299 seeked=299', '300', '300'))
    expect(fingerprint(fx.host)).toEqual(before)
  })

  test('readdir of a small merged directory lists each name once', async () => {
    const {fx, before} = fixture({'m/a': 'a', 'm/b': 'b'}, (fx) => makeTree(inUpper(fx, join(fx.host, 'm')), {b: 'B', c: 'c'}))
    const r = await runGuest(fx, `${tools.readdir} m names`)
    expectClean(r)
    expect(r.stdout).toBe(lines('first=5 rewound=5 rest=2 seeked=2', '. .. a b c'))
    expect(fingerprint(fx.host)).toEqual(before)
  })
})

describe('reads right after a change', () => {
  // Absolute paths through a host symlink, a copied-up file, a hidden file
  // and a directory with a hidden entry, read in the same run right after
  // each change: every read sees the guest view, none the host behind it.
  test('a copied-up file through a host symlink, a hidden file and a directory with a hidden entry', async () => {
    const {fx, before} = fixture({a: 'host a\n', 'd/f': 'host f\n', 'd2/x': 'x\n', 'd2/y': 'y\n', h: 'h\n'}, (fx) => {
      symlinkSync(join(fx.host, 'd'), join(fx.host, 'l'))
    })
    const H = fx.host
    const r = await runGuest(
      fx,
      [
        `cat ${H}/a ${H}/l/f`,
        `echo upper > ${H}/d/f`,
        `cat ${H}/d/f ${H}/l/f`,
        `stat -c %s ${H}/l/f`,
        `rm ${H}/h ${H}/d2/x`,
        `cat ${H}/h 2>/dev/null || echo no-h`,
        `test -e ${H}/h || echo h-gone`,
        `ls ${H}/d2`,
        `readlink ${H}/l`,
        `${PYTHON} -c 'import os; print(sorted(os.listdir("${H}")))'`,
      ].join('; '),
    )
    expectClean(r)
    expect(r.stdout).toBe(
      lines('host a', 'host f', 'upper', 'upper', '6', 'no-h', 'h-gone', 'y', join(H, 'd'), "['a', 'd', 'd2', 'l']"),
    )
    expect(fingerprint(fx.host)).toEqual(before)
  })
})

describe('paths given back to the command are guest paths', () => {
  test('getcwd, pwd -P, /proc/self/cwd and realpath in a directory made in the run', async () => {
    const {fx, before} = fixture({f: 'host f\n', 'm/a': 'a'})
    const want = join(fx.host, 'newdir/sub')
    const script = [
      'mkdir -p newdir/sub && cd newdir/sub',
      'pwd; pwd -P; /bin/pwd; readlink /proc/self/cwd; realpath .; readlink -f .',
      `${PYTHON} -c 'import os; print(os.getcwd())'`,
      'cat ../../f',
      'cd ../../m && touch x && pwd -P && readlink /proc/self/cwd',
    ].join('\n')
    const r = await runGuest(fx, script)
    expectClean(r)
    expect(r.stdout).toBe(lines(want, want, want, want, want, want, want, 'host f', join(fx.host, 'm'), join(fx.host, 'm')))
    expect(fingerprint(fx.host)).toEqual(before)
  })

  test('a cwd that exists only in upper is given as the run starts', async () => {
    const {fx, before} = fixture({}, (fx) => makeTree(inUpper(fx, join(fx.host, 'only')), {here: 'h'}))
    const cwd = join(fx.host, 'only')
    const r = await runGuest(fx, `pwd -P; readlink /proc/self/cwd; ${PYTHON} -c 'import os; print(os.getcwd())'; ls`, {cwd})
    expectClean(r)
    expect(r.stdout).toBe(lines(cwd, cwd, cwd, 'here'))
    expect(fingerprint(fx.host)).toEqual(before)
  })

  test('/proc/self/exe of a program copied into upper, and /proc/self/fd/N of files opened in upper', async () => {
    const {fx, before} = fixture({hostfile: 'h\n', readonly: 'r\n', 'm/a': 'a'})
    const py = [
      'import os',
      'f = open("made.txt", "w"); print(os.readlink(f"/proc/self/fd/{f.fileno()}"))',
      'g = open("hostfile", "a"); print(os.readlink(f"/proc/self/fd/{g.fileno()}"))',
      'h = open("readonly"); print(os.readlink(f"/proc/self/fd/{h.fileno()}"))',
      'open("m/b", "w").close(); d = os.open("m", os.O_RDONLY | os.O_DIRECTORY); print(os.readlink(f"/proc/self/fd/{d}"))',
      'print(os.readlink("/proc/self/cwd"))',
    ].join('\n')
    const r = await runGuest(fx, `mkdir bin && cp /usr/bin/readlink bin/rl && bin/rl /proc/self/exe && ${PYTHON} - <<'EOF'\n${py}\nEOF`)
    expectClean(r)
    const H = (p: string) => join(fx.host, p)
    expect(r.stdout).toBe(lines(H('bin/rl'), H('made.txt'), H('hostfile'), H('readonly'), H('m'), fx.host))
    expect(fingerprint(fx.host)).toEqual(before)
  })
})

// execveat by dirfd and fexecve (execveat of an fd with AT_EMPTY_PATH), each
// of a program that exists only in upper; prints what the program printed.
const EXECAT_C = `
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
extern char** environ;
static void run(int dirfd, const char* path, int flags, const char* what) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    char* argv[] = {(char*)what, NULL};
    syscall(SYS_execveat, dirfd, path, argv, environ, flags);
    printf("%s failed\\n", what);
    _exit(1);
  }
  int st;
  waitpid(pid, &st, 0);
}
int main(int argc, char** argv) {
  int dir = open(argv[1], O_RDONLY | O_DIRECTORY);
  run(dir, "prog", 0, "by-dirfd");
  int fd = open(argv[2], O_RDONLY);
  run(fd, "", AT_EMPTY_PATH, "fexecve");
  return 0;
}
`

describe('programs that exist only in upper run', () => {
  test('execveat by a dirfd and fexecve of an fd run a program that exists only in upper', async () => {
    const {fx, before} = fixture({})
    const bin = join(fx.host, 'bin')
    makeTree(inUpper(fx, bin), {prog: '#!/bin/sh\necho "ran $0"\n'})
    chmodSync(inUpper(fx, join(bin, 'prog')), 0o755)
    const r = await runGuest(fx, `${tools.execat} ${bin} ${join(bin, 'prog')}`)
    expectClean(r)
    // The kernel names a script run through an fd /dev/fd/N.
    expect(r.stdout).toMatch(/^ran .*\/bin\/prog\nran \/dev\/fd\/\d+\n$/)
    expect(fingerprint(fx.host)).toEqual(before)
  })

  test('a script, a binary, and a #! script whose interpreter exists only in upper', async () => {
    const {fx, before} = fixture({})
    const script = [
      'mkdir bin',
      `printf '#!/bin/sh\\necho script-ran "$0"\\n' > bin/s.sh && chmod +x bin/s.sh`,
      '$PWD/bin/s.sh',
      'cp /bin/echo bin/myecho && bin/myecho binary-ran',
      'cp /bin/sh bin/mysh',
      `printf '#!%s/bin/mysh\\necho interp-ran "$0" "$1"; readlink /proc/$$/exe\\n' "$PWD" > bin/t.sh && chmod +x bin/t.sh`,
      `${fx.host}/bin/t.sh arg1`,
      'PATH=$PWD/bin:$PATH t.sh arg2',
    ].join('\n')
    const r = await runGuest(fx, script)
    expectClean(r)
    const t = join(fx.host, 'bin/t.sh')
    const mysh = join(fx.host, 'bin/mysh')
    const s = join(fx.host, 'bin/s.sh')
    expect(r.stdout).toBe(lines(`script-ran ${s}`, 'binary-ran', `interp-ran ${t} arg1`, mysh, `interp-ran ${t} arg2`, mysh))
    expect(fingerprint(fx.host)).toEqual(before)
  })

  // The kernel passes the interpreter the name execve was given.
  test('a #! script in upper run by a relative name sees $0 as it was named, as the kernel passes it', async () => {
    const {fx, before} = fixture({})
    const script = [
      'mkdir bin',
      'cp /bin/sh bin/mysh',
      `printf '#!/bin/sh\\necho "$0"\\n' > bin/s.sh && chmod +x bin/s.sh`,
      `printf '#!%s/bin/mysh\\necho "$0"\\n' "$PWD" > bin/t.sh && chmod +x bin/t.sh`,
      'bin/s.sh; ./bin/t.sh',
    ].join('\n')
    const r = await runGuest(fx, script)
    expectClean(r)
    expect(r.stdout).toBe(lines('bin/s.sh', './bin/t.sh'))
    expect(fingerprint(fx.host)).toEqual(before)
  })

  // The kernel refuses (EACCES) a script, or an interpreter, that may not be
  // executed; catbox, running such scripts itself, makes the same check.
  const NO_X = [
    'cp /bin/sh mysh && chmod 644 mysh',
    `printf '#!%s/mysh\\necho ran\\n' "$PWD" > s && chmod 755 s`,
    './s 2>/dev/null; echo $?',
    'chmod 755 mysh && ./s; echo $?',
    `printf '#!/bin/sh\\necho ran\\n' > t && chmod 644 t`,
    './t 2>/dev/null; echo $?',
    `printf '#!%s/t\\n' "$PWD" > u && chmod 755 u`,
    './u 2>/dev/null; echo $?',
  ].join('\n')
  test('a #! script without x, or whose interpreter has none, fails with EACCES (126), as bare', async () => {
    const {fx, before} = fixture({})
    const bare = makeTmpDirs().base
    const control = spawnSync('/bin/sh', ['-c', NO_X], {cwd: bare, encoding: 'utf8', env: {PATH}})
    expect(control.stdout).toBe(lines('126', 'ran', '0', '126', '126')) // bare control: the kernel's answer
    const r = await runGuest(fx, NO_X)
    expect(r.stdout).toBe(control.stdout)
    expect(fingerprint(fx.host)).toEqual(before)
  })

  // A build run as root that drops to another user: the script's x bits are
  // judged for that user and its capabilities, not for catbox. setpriv still
  // holds CAP_DAC_OVERRIDE when it execs (any x bit will do); the sh it runs
  // holds none.
  const asRoot = process.getuid?.() === 0
  ;(asRoot ? test : test.skip)('a #! script without x for the user a root build drops to fails with EACCES (126), as bare (root only: a user cannot drop)', async () => {
    const {fx, before} = fixture({})
    const nobody = 'setpriv --reuid=65534 --regid=65534 --clear-groups'
    const drop = [
      `printf '#!/bin/sh\\necho ran\\n' > v && chmod 744 v`,
      `${nobody} ./v; echo $?`,
      `${nobody} /bin/sh -c './v 2>/dev/null; echo $?'`,
      `chmod 755 v && ${nobody} /bin/sh -c './v; echo $?'`,
    ].join('\n')
    const bare = makeTmpDirs().base
    chmodSync(bare, 0o755)
    const control = spawnSync('/bin/sh', ['-c', drop], {cwd: bare, encoding: 'utf8', env: {PATH}})
    expect(control.stdout).toBe(lines('ran', '0', '126', 'ran', '0')) // bare control: the kernel's answer
    const r = await runGuest(fx, drop)
    expect(r.stdout).toBe(control.stdout)
    expect(fingerprint(fx.host)).toEqual(before)
  })

  // The kernel names a process (comm) after the path it was run by: a link
  // on the host (/bin/sh -> dash) keeps its name.
  test('a program run through a symbolic link keeps the name it was run by (comm), as without the overlay', async () => {
    const {fx} = fixture({})
    symlinkSync('/bin/cat', join(fx.host, 'mycat'))
    const before = fingerprint(fx.host)
    const r = await runGuest(fx, '/bin/sh -c "cat /proc/\\$\\$/comm"; ./mycat /proc/self/comm')
    expectClean(r)
    expect(r.stdout).toBe(lines('sh', 'mycat'))
    expect(fingerprint(fx.host)).toEqual(before)
  })

  test('the command of the run itself may exist only in upper', async () => {
    const fx = makeOverlay()
    makeTree(inUpper(fx, join(fx.host, 'bin')), {'prog.sh': '#!/bin/sh\necho "ran $0 $1" > "$2"\n'})
    chmodSync(inUpper(fx, join(fx.host, 'bin/prog.sh')), 0o755)
    const before = fingerprint(fx.host)
    const out = join(fx.tmp.io, 'prog.out')
    writeFileSync(out, '')
    const result = await run({
      command: [join(fx.host, 'bin/prog.sh'), 'arg', out],
      writable: ['/'],
      cwd: fx.host,
      env: {PATH},
      guestView: {root: {dir: fx.upper, whiteouts: fx.whiteouts}, maps: [{host: fx.tmp.io, guest: fx.tmp.io, mode: 'rw'}], cache: fx.cache},
    })
    expect({exitCode: result.exitCode, violations: result.violations}).toEqual({exitCode: 0, violations: []})
    expect(readFileSync(out, 'utf8')).toBe(`ran ${join(fx.host, 'bin/prog.sh')} arg\n`)
    expect(fingerprint(fx.host)).toEqual(before)
  })

  test('make with a Makefile that exists only in upper', async () => {
    const {fx, before} = fixture({'input.txt': 'from the host\n'})
    const script = [
      `printf 'out.txt: input.txt\\n\\tcat input.txt > out.txt\\n\\techo made >> out.txt\\n' > Makefile`,
      'make -s && cat out.txt && make 2>&1',
    ].join('\n')
    const r = await runGuest(fx, script)
    expectClean(r)
    expect(r.stdout).toBe(lines('from the host', 'made', "make: 'out.txt' is up to date."))
    expect(readFileSync(inUpper(fx, join(fx.host, 'out.txt')), 'utf8')).toBe('from the host\nmade\n')
    expect(fingerprint(fx.host)).toEqual(before)
  })

  test('gcc compiles a source that exists only in upper, and the result runs from upper', async () => {
    const {fx, before} = fixture({'inc/greeting.h': '#define GREETING "hello from upper"\n'})
    const script = [
      `printf '#include <stdio.h>\\n#include "inc/greeting.h"\\nint main(void) { puts(GREETING); return 0; }\\n' > hello.c`,
      'gcc -o hello hello.c && ./hello',
    ].join('\n')
    const r = await runGuest(fx, script)
    expectClean(r)
    expect(r.stdout).toBe(lines('hello from upper'))
    expect(statSync(inUpper(fx, join(fx.host, 'hello'))).isFile()).toBe(true)
    expect(fingerprint(fx.host)).toEqual(before)
  })
})

describe('symbolic links and ".."', () => {
  test('an absolute link in upper names a guest path, which resolves to a file that exists only in upper', async () => {
    const {fx, before} = fixture({hostfile: 'host file\n'}, (fx) => {
      makeTree(inUpper(fx, join(fx.host, 'only')), {target: 'in upper\n'})
      // On the host, this target does not exist: it is a guest path.
      symlinkSync(join(fx.host, 'only/target'), inUpper(fx, join(fx.host, 'abs-link')))
    })
    const depth = fx.host.split('/').length + 3
    const script = [
      'cat abs-link; readlink abs-link; realpath abs-link',
      `ln -s ${fx.host}/only/target new-link && cat new-link && readlink -f new-link`,
      `ln -s ${fx.host}/only dlink && ls dlink && cd dlink && pwd -P && cd ..`,
      `ln -s ${'../'.repeat(depth)}${fx.host.slice(1)}/hostfile deep-rel && cat deep-rel`,
    ].join('\n')
    const r = await runGuest(fx, script)
    expectClean(r)
    const target = join(fx.host, 'only/target')
    expect(r.stdout).toBe(lines('in upper', target, target, 'in upper', target, 'target', join(fx.host, 'only'), 'host file'))
    expect(readlinkSync(inUpper(fx, join(fx.host, 'new-link')))).toBe(target)
    expect(fingerprint(fx.host)).toEqual(before)
  })

  test('".." at / stays at /', async () => {
    const {fx, before} = fixture({})
    const script = [
      'cd / && cd .. && pwd && pwd -P',
      '[ "$(ls /../..)" = "$(ls /)" ] && echo same-root',
      'readlink -f /../../tmp',
      `cd /../../..${fx.host} && pwd -P`,
    ].join('\n')
    const r = await runGuest(fx, script)
    expectClean(r)
    expect(r.stdout).toBe(lines('/', '/', 'same-root', '/tmp', fx.host))
    expect(fingerprint(fx.host)).toEqual(before)
  })
})

describe('links and renames of host entries', () => {
  test('a hard link to a host file, written through the new name: both names see it, the host does not', async () => {
    const {fx, before} = fixture({f: 'orig\n'})
    const r = await runGuest(fx, 'ln f newname && echo more >> newname && cat newname f && stat -c %h newname')
    expectClean(r)
    expect(r.stdout).toBe(lines('orig', 'more', 'orig', 'more', '2'))
    expect(fingerprint(fx.host)).toEqual(before)
  })

  test('mv of a host file: the old name is hidden, the new one has the content', async () => {
    const {fx, before} = fixture({f: 'content\n', other: 'o'})
    const r = await runGuest(fx, 'mv f g && ls && cat g && cat f 2>&1 || true')
    expectClean(r)
    expect(r.stdout).toBe(lines('g', 'other', 'content', 'cat: f: No such file or directory'))
    expect(readFileSync(inUpper(fx, join(fx.host, 'g')), 'utf8')).toBe('content\n')
    expect(readFileSync(fx.whiteouts, 'latin1').split('\0')).toContain(`${fx.host}/f`)
    expect(fingerprint(fx.host)).toEqual(before)
  })

  test('mv of a host directory succeeds by copying (EXDEV fallback)', async () => {
    const {fx, before} = fixture({'d/x': 'x\n', 'd/sub/y': 'y\n', other: 'o'})
    const r = await runGuest(fx, 'mv d d2 2>&1; echo rc=$?; find d2 | sort; ls; cat d2/sub/y; ls d 2>&1')
    expect(r.result.violations).toEqual([])
    expect(r.stdout).toBe(
      lines('rc=0', 'd2', 'd2/sub', 'd2/sub/y', 'd2/x', 'd2', 'other', 'y', "ls: cannot access 'd': No such file or directory"),
    )
    expect(fingerprint(fx.host)).toEqual(before)
  })

  test('python os.rename of a host directory gets EXDEV; of a directory made in the run it works', async () => {
    const {fx, before} = fixture({'d/x': 'x'})
    const py = [
      'import os',
      'try:\n    os.rename("d", "d2")\nexcept OSError as e:\n    print("rename", e.errno)',
      'os.makedirs("n/sub"); os.rename("n", "n2"); print(sorted(os.listdir("n2")))',
    ].join('\n')
    const r = await runGuest(fx, `${PYTHON} - <<'EOF'\n${py}\nEOF\nls`)
    expectClean(r)
    expect(r.stdout).toBe(lines('rename 18', "['sub']", 'd', 'n2'))
    expect(fingerprint(fx.host)).toEqual(before)
  })
})

describe('write rules in the guest view', () => {
  const violation = (target: string) => ({
    operation: 'openat',
    path: target,
    canonical: target,
    pid: expect.any(Number),
    program: expect.any(String),
  })
  const etcName = (fx: OverlayFixture) => `/etc/catbox-test-${basename(fx.tmp.base)}`

  test('a write outside the rules fails with EACCES, is a violation, and lands neither on the host nor in upper', async () => {
    const {fx, before} = fixture({})
    const target = etcName(fx)
    const r = await runGuest(fx, `echo x > ${target}; echo rc=$?; echo ok > ${fx.tmp.allowed}/f; cat ${fx.tmp.allowed}/f`, {
      writable: [fx.tmp.allowed],
    })
    expect(r.stdout).toBe(lines('rc=2', 'ok'))
    expect(r.stderr).toContain('Permission denied')
    expect(r.result.violations).toEqual([
      // program: any, see the comm test above ("dash" for /bin/sh).
      {...violation(target), denied: true, error: 'EACCES'},
    ])
    expect(existsSync(target)).toBe(false)
    expect(existsSync(inUpper(fx, target))).toBe(false)
    // The allowed write went to upper, not to the host.
    expect(existsSync(join(fx.tmp.allowed, 'f'))).toBe(false)
    expect(readFileSync(inUpper(fx, join(fx.tmp.allowed, 'f')), 'utf8')).toBe('ok\n')
    expect(fingerprint(fx.host)).toEqual(before)
  })

  test('a refused write makes no directories in upper either', async () => {
    const {fx} = fixture({})
    const target = `${etcName(fx)}/sub/f`
    const r = await runGuest(fx, `mkdir -p ${etcName(fx)}/sub 2>/dev/null; echo x > ${target}; echo rc=$?`, {writable: [fx.tmp.allowed]})
    expect(r.stdout).toBe(lines('rc=2'))
    expect(r.result.violations.length).toBeGreaterThan(0)
    expect(existsSync(inUpper(fx, '/etc'))).toBe(false)
    expect(existsSync(etcName(fx))).toBe(false)
  })

  test('collect-only: the write succeeds in upper only and is recorded', async () => {
    const {fx, before} = fixture({})
    const target = etcName(fx)
    const r = await runGuest(fx, `echo x > ${target}; echo rc=$?; cat ${target}`, {writable: [fx.tmp.allowed], collectOnly: true})
    expect(r.stdout).toBe(lines('rc=0', 'x'))
    expect(r.result.violations).toEqual([
      {...violation(target), denied: false, error: ''},
    ])
    expect(existsSync(target)).toBe(false)
    expect(readFileSync(inUpper(fx, target), 'utf8')).toBe('x\n')
    expect(fingerprint(fx.host)).toEqual(before)
  })
})

describe('newer system calls', () => {
  test('python os.stat, statx, faccessat2, openat2 (ENOSYS), fchmodat2', async () => {
    const {fx, before} = fixture({hostfile: 'hostfile\n', gone: 'g', chm: 'c'}, (fx) => chmodSync(join(fx.host, 'chm'), 0o644))
    const S = tools.syscalls
    const script = [
      'echo upper-only > new.txt && rm gone',
      `${PYTHON} -c 'import os; print(os.stat("new.txt").st_size, os.stat("hostfile").st_size, os.path.exists("gone"))'`,
      `${S} statx new.txt; ${S} statx hostfile; ${S} statx gone`,
      `${S} faccessat2 new.txt; ${S} faccessat2 gone`,
      `${S} openat2 hostfile`,
      `${S} fchmodat2 chm 600; stat -c %a chm`,
    ].join('\n')
    const r = await runGuest(fx, script)
    expectClean(r)
    expect(r.stdout).toBe(
      lines(
        '11 9 False',
        'statx size=11 mode=644',
        'statx size=9 mode=644',
        'statx err ENOENT',
        'faccessat2 ok',
        'faccessat2 err ENOENT',
        'openat2 err ENOSYS',
        'fchmodat2 ok',
        '600',
      ),
    )
    expect(modeOf(inUpper(fx, join(fx.host, 'chm')))).toBe('600')
    expect(fingerprint(fx.host)).toEqual(before)
  })

  test('renameat2: RENAME_NOREPLACE over a host file is EEXIST; RENAME_EXCHANGE swaps upper files and a host file', async () => {
    const {fx, before} = fixture({hostfile: 'host\n', hostfile2: 'host2\n'})
    const S = tools.syscalls
    const script = [
      'echo A > a.txt; echo B > b.txt; echo N > n.txt',
      `${S} noreplace n.txt hostfile; cat hostfile n.txt`,
      `${S} exchange a.txt b.txt; cat a.txt b.txt`,
      `${S} exchange n.txt hostfile2; cat n.txt hostfile2`,
      'ls',
    ].join('\n')
    const r = await runGuest(fx, script)
    expectClean(r)
    expect(r.stdout).toBe(
      lines(
        'noreplace err EEXIST',
        'host',
        'N',
        'exchange ok',
        'B',
        'A',
        'exchange ok',
        'host2',
        'N',
        'a.txt',
        'b.txt',
        'hostfile',
        'hostfile2',
        'n.txt',
      ),
    )
    expect(fingerprint(fx.host)).toEqual(before)
  })
})
