// Fixtures for test/integration/overlay-escapes.test.ts: a small C program
// that runs a list of system calls and prints each result, and a pipe held by
// the test's own process (the process catbox supervises from).
import {spawn} from 'node:child_process'
import type {ChildProcess} from 'node:child_process'
import {closeSync, existsSync, openSync, readFileSync, readlinkSync} from 'node:fs'

import {compileC} from './overlay.js'
import {waitFor} from './cli.js'

/**
 * `ops OP ARGS... OP ARGS...`: runs the operations in order and prints one
 * line for each, "<op> ok", "<op> ok <value>" or "<op> err <ERRNO>". Fds are
 * kept in numbered slots (0..15). Ownership changes are to the caller's own
 * uid and gid, so they are possible (and change ctime) as root and as a user.
 *
 *   open SLOT PATH ro|rdnb|dir|wr|app|tmpfile   (rdnb: O_RDONLY|O_NONBLOCK)
 *   fchmod SLOT MODE   fchown SLOT   futimens SLOT   utimensat-null SLOT
 *   fsetxattr SLOT     ftruncate SLOT
 *   fchownat-empty SLOT   fchmodat2-empty SLOT MODE
 *   linkat-empty SLOT NEWPATH        (linkat(fd, "", AT_FDCWD, NEWPATH, AT_EMPTY_PATH))
 *   linkat-procfd SLOT NEWPATH       (linkat of /proc/self/fd/N, AT_SYMLINK_FOLLOW)
 *   ioctl SLOT NAME    (setversion setflags fssetxattr ficlone ficlonerange
 *                       fideduperange setfslabel enable-verity set-encryption-policy
 *                       btrfs-snap-create; each sets what it first read back or
 *                       passes an argument the kernel rejects, so that a call
 *                       let through changes at most the file's ctime)
 *   write SLOT DATA    close SLOT
 *   append PATH DATA   (open O_WRONLY|O_APPEND, write, close)
 *   create PATH DATA   (open O_WRONLY|O_CREAT|O_TRUNC, write, close)
 *   getattr PATH       (file_getattr, system call 468)
 *   getcwd SIZE        readlink PATH SIZE
 */
export const OPS_C = `
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/fs.h>

#define SETVERSION 0x40087602UL
#define SETFSLABEL 0x41009432UL
#define ENABLE_VERITY 0x40806685UL
#define SET_ENCRYPTION_POLICY 0x800c6613UL
#define BTRFS_SNAP_CREATE 0x50009401UL
#define FICLONE_ 0x40049409UL
#define FICLONERANGE_ 0x4020940dUL
#define FIDEDUPERANGE_ 0xc0189436UL

static int fds[16];

static void done(const char *op, long rc) {
  if (rc < 0) printf("%s err %s\\n", op, strerrorname_np(errno));
  else printf("%s ok\\n", op);
  fflush(stdout);
}

static int flags_of(const char *f) {
  if (!strcmp(f, "ro")) return O_RDONLY;
  if (!strcmp(f, "rdnb")) return O_RDONLY | O_NONBLOCK;
  if (!strcmp(f, "dir")) return O_RDONLY | O_DIRECTORY;
  if (!strcmp(f, "wr")) return O_WRONLY;
  if (!strcmp(f, "app")) return O_WRONLY | O_APPEND;
  if (!strcmp(f, "tmpfile")) return O_TMPFILE | O_RDWR;
  fprintf(stderr, "bad open flags %s\\n", f);
  exit(2);
}

static long do_ioctl(int fd, const char *name) {
  if (!strcmp(name, "setversion")) {
    long v = 0;
    if (ioctl(fd, FS_IOC_GETVERSION, &v) < 0) v = 12345;
    return ioctl(fd, SETVERSION, &v);
  }
  if (!strcmp(name, "setflags")) {
    int f = 0;
    ioctl(fd, FS_IOC_GETFLAGS, &f);
    return ioctl(fd, FS_IOC_SETFLAGS, &f);
  }
  if (!strcmp(name, "fssetxattr")) {
    struct fsxattr x;
    memset(&x, 0, sizeof x);
    ioctl(fd, FS_IOC_FSGETXATTR, &x);
    return ioctl(fd, FS_IOC_FSSETXATTR, &x);
  }
  if (!strcmp(name, "ficlone")) return ioctl(fd, FICLONE_, fd);
  if (!strcmp(name, "ficlonerange")) {
    struct { int64_t src_fd; uint64_t off, len, dest_off; } r = {fd, 0, 0, 0};
    return ioctl(fd, FICLONERANGE_, &r);
  }
  if (!strcmp(name, "fideduperange")) {
    struct { uint64_t off, len; uint16_t count, r1; uint32_t r2; int64_t dfd; uint64_t doff, bytes; int32_t status; uint32_t r3; } d;
    memset(&d, 0, sizeof d);
    d.len = 1; d.count = 1; d.dfd = fd;
    return ioctl(fd, FIDEDUPERANGE_, &d);
  }
  if (!strcmp(name, "setfslabel")) {
    /* 256 bytes without a NUL: too long for every filesystem, EINVAL from
       the kernel, so the filesystem's label can never change */
    char label[256];
    memset(label, 'x', sizeof label);
    return ioctl(fd, SETFSLABEL, label);
  }
  if (!strcmp(name, "enable-verity")) {
    /* version 0 is invalid: the kernel would answer EINVAL without changing anything */
    char arg[128];
    memset(arg, 0, sizeof arg);
    return ioctl(fd, ENABLE_VERITY, arg);
  }
  if (!strcmp(name, "set-encryption-policy")) {
    /* version 0xff is invalid: EINVAL from the kernel */
    char p[12];
    memset(p, 0, sizeof p);
    p[0] = (char)0xff;
    return ioctl(fd, SET_ENCRYPTION_POLICY, p);
  }
  if (!strcmp(name, "btrfs-snap-create")) {
    char arg[4096];
    memset(arg, 0, sizeof arg);
    *(int64_t *)arg = -1;
    return ioctl(fd, BTRFS_SNAP_CREATE, arg);
  }
  fprintf(stderr, "bad ioctl %s\\n", name);
  exit(2);
}

int main(int argc, char **argv) {
  char label[64];
  for (int i = 1; i < argc;) {
    const char *op = argv[i++];
#define ARG() (i < argc ? argv[i++] : (fprintf(stderr, "%s: missing argument\\n", op), exit(2), ""))
#define SLOT() fds[atoi(ARG()) & 15]
    errno = 0;
    if (!strcmp(op, "open")) {
      int s = atoi(ARG()) & 15;
      const char *path = ARG();
      int fd = open(path, flags_of(ARG()), 0644);
      fds[s] = fd;
      done(op, fd);
    } else if (!strcmp(op, "fchmod")) {
      int fd = SLOT();
      done(op, fchmod(fd, (mode_t)strtol(ARG(), 0, 8)));
    } else if (!strcmp(op, "fchown")) {
      done(op, fchown(SLOT(), getuid(), getgid()));
    } else if (!strcmp(op, "futimens")) {
      done(op, futimens(SLOT(), NULL));
    } else if (!strcmp(op, "utimensat-null")) {
      done(op, syscall(SYS_utimensat, SLOT(), NULL, NULL, 0));
    } else if (!strcmp(op, "fsetxattr")) {
      done(op, fsetxattr(SLOT(), "user.catbox-test", "1", 1, 0));
    } else if (!strcmp(op, "ftruncate")) {
      done(op, ftruncate(SLOT(), 0));
    } else if (!strcmp(op, "fchownat-empty")) {
      done(op, syscall(SYS_fchownat, SLOT(), "", getuid(), getgid(), AT_EMPTY_PATH));
    } else if (!strcmp(op, "fchmodat2-empty")) {
      int fd = SLOT();
      done(op, syscall(452, fd, "", (mode_t)strtol(ARG(), 0, 8), AT_EMPTY_PATH));
    } else if (!strcmp(op, "linkat-empty")) {
      int fd = SLOT();
      done(op, linkat(fd, "", AT_FDCWD, ARG(), AT_EMPTY_PATH));
    } else if (!strcmp(op, "linkat-procfd")) {
      char p[64];
      snprintf(p, sizeof p, "/proc/self/fd/%d", SLOT());
      done(op, linkat(AT_FDCWD, p, AT_FDCWD, ARG(), AT_SYMLINK_FOLLOW));
    } else if (!strcmp(op, "ioctl")) {
      int fd = SLOT();
      const char *name = ARG();
      snprintf(label, sizeof label, "ioctl-%s", name);
      done(label, do_ioctl(fd, name));
    } else if (!strcmp(op, "write")) {
      int fd = SLOT();
      const char *data = ARG();
      done(op, write(fd, data, strlen(data)));
    } else if (!strcmp(op, "close")) {
      done(op, close(SLOT()));
    } else if (!strcmp(op, "append") || !strcmp(op, "create")) {
      const char *path = ARG();
      const char *data = ARG();
      int fd = open(path, !strcmp(op, "append") ? O_WRONLY | O_APPEND : O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0) { done(op, -1); continue; }
      long rc = write(fd, data, strlen(data));
      int saved = errno;
      close(fd);
      errno = saved;
      done(op, rc);
    } else if (!strcmp(op, "getattr")) {
      char buf[64];
      memset(buf, 0, sizeof buf);
      done(op, syscall(468, AT_FDCWD, ARG(), buf, 24, 0));
    } else if (!strcmp(op, "getcwd")) {
      size_t size = (size_t)atol(ARG());
      char *buf = calloc(1, size + 1);
      long rc = syscall(SYS_getcwd, buf, size);
      if (rc < 0) done(op, rc); else printf("getcwd ok %s\\n", buf);
      free(buf);
    } else if (!strcmp(op, "readlink")) {
      const char *path = ARG();
      size_t size = (size_t)atol(ARG());
      char *buf = calloc(1, size + 1);
      long rc = readlink(path, buf, size);
      if (rc < 0) done(op, rc); else printf("readlink ok %.*s\\n", (int)rc, buf);
      free(buf);
    } else {
      fprintf(stderr, "unknown op %s\\n", op);
      return 2;
    }
    fflush(stdout);
  }
  return 0;
}
`

/** A program that prints its marker (two copies tell which one ran). */
export const markerC = (marker: string) => `
#include <stdio.h>
int main(void) { puts("${marker}"); return 0; }
`

/** Compiles the ops program into dir. */
export const compileOps = (dir: string) => compileC(dir, 'ops', OPS_C)

/**
 * A pipe held open for writing by this process (the one catbox runs in, so a
 * pipe of catbox's own), whose reader is `cat` copying everything to `out`:
 * what reaches the pipe shows in `out` once the pipe is closed. Harmless to
 * write into, unlike libuv's signal pipe, which makes catbox crash when the
 * check regresses.
 */
export interface HeldPipe {
  /** The fd of this process: /proc/<process.pid>/fd/<fd> is "pipe:[...]". */
  fd: number
  /** Closes this process's end, ends the reader, and returns what the pipe carried. */
  drain: () => Promise<string>
}

export async function holdPipe(out: string): Promise<HeldPipe> {
  // sleep keeps a writer open until drain(), so cat does not see EOF early.
  const sh: ChildProcess = spawn('/bin/sh', ['-c', 'sleep 600 | cat > "$0"', out], {stdio: 'ignore'})
  const exited = new Promise<void>((resolve) => sh.on('exit', () => resolve()))
  const children = () => {
    const file = `/proc/${sh.pid}/task/${sh.pid}/children`
    if (!existsSync(file)) return []
    return readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  }
  const comm = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
    } catch {
      return ''
    }
  }
  let cat = 0
  let sleep = 0
  await waitFor('the reader of the pipe', () => {
    for (const pid of children()) {
      if (comm(pid) === 'cat') cat = pid
      if (comm(pid) === 'sleep') sleep = pid
    }
    return cat > 0 && sleep > 0
  })
  const fd = openSync(`/proc/${cat}/fd/0`, 'w')
  if (!readlinkSync(`/proc/self/fd/${fd}`).startsWith('pipe:[')) throw new Error('the held fd is not a pipe')
  return {
    fd,
    drain: async () => {
      closeSync(fd)
      process.kill(sleep)
      await exited
      return readFileSync(out, 'utf8')
    },
  }
}
