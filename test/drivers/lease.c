/*
 * lease FILE [REMOVE...]: holds a write lease on FILE, so that the next
 * process to open FILE blocks in open(2) until the lease is let go (or the
 * kernel's lease-break-time passes). This makes "another process is inside
 * open(FILE) now" a fact a test can wait for, without timing: the kernel
 * tells the lease holder with SIGIO.
 *
 * Prints "leased" once the lease is held, and "broken" when an open of FILE
 * is waiting. Then it unlinks each REMOVE path (printing "removed PATH"); with
 * none, it waits for end of input on stdin. It lets the lease go, prints
 * "released" and exits 0. Setup failures print "setup-err ..." and exit 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *what) {
  printf("setup-err %s: %s\n", what, strerrorname_np(errno));
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: lease FILE [REMOVE...]\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  sigset_t io;
  sigemptyset(&io);
  sigaddset(&io, SIGIO);
  if (sigprocmask(SIG_BLOCK, &io, NULL) != 0) return fail("sigprocmask");
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) return fail("open");
  if (fcntl(fd, F_SETLEASE, F_WRLCK) != 0) return fail("F_SETLEASE");
  printf("leased\n");
  if (sigwaitinfo(&io, NULL) != SIGIO) return fail("sigwaitinfo");
  printf("broken\n");
  if (argc > 2) {
    for (int i = 2; i < argc; i++) {
      if (unlink(argv[i]) != 0) return fail("unlink");
      printf("removed %s\n", argv[i]);
    }
  } else {
    char buf[256];
    while (read(0, buf, sizeof buf) > 0) {
    }
  }
  if (fcntl(fd, F_SETLEASE, F_UNLCK) != 0) return fail("F_UNLCK");
  printf("released\n");
  return 0;
}
