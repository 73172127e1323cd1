/*
 * Prints what the stat family says about each PATH, one line per call:
 *   stat|lstat|fstatat|fstat|statx PATH UID:GID MODE(octal, type included) RDEV(major,minor)
 * Raw system calls, so a static build shows what the kernel (or catbox's
 * fake root) answers, with no libc in between.
 */
#include "drv.h"

#include <sys/sysmacros.h>

static void show(const char *call, const char *path, long rc, unsigned uid, unsigned gid, unsigned mode,
                 unsigned maj, unsigned min) {
  if (rc < 0) {
    printf("%s %s err %s\n", call, path, strerrorname_np(errno));
    return;
  }
  printf("%s %s %u:%u %o %u,%u\n", call, path, uid, gid, mode, maj, min);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int i = 1; i < argc; i++) {
    const char *p = argv[i];
    struct stat st;
    long rc = syscall(SYS_stat, p, &st);
    show("stat", p, rc, st.st_uid, st.st_gid, st.st_mode, major(st.st_rdev), minor(st.st_rdev));
    rc = syscall(SYS_lstat, p, &st);
    show("lstat", p, rc, st.st_uid, st.st_gid, st.st_mode, major(st.st_rdev), minor(st.st_rdev));
    rc = syscall(SYS_newfstatat, AT_FDCWD, p, &st, AT_SYMLINK_NOFOLLOW);
    show("fstatat", p, rc, st.st_uid, st.st_gid, st.st_mode, major(st.st_rdev), minor(st.st_rdev));
    int fd = open(p, O_PATH | O_NOFOLLOW);
    rc = fd < 0 ? -1 : syscall(SYS_fstat, fd, &st);
    show("fstat", p, rc, st.st_uid, st.st_gid, st.st_mode, major(st.st_rdev), minor(st.st_rdev));
    if (fd >= 0) close(fd);
    struct statx sx;
    rc = syscall(SYS_statx, AT_FDCWD, p, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx);
    show("statx", p, rc, sx.stx_uid, sx.stx_gid, sx.stx_mode, sx.stx_rdev_major, sx.stx_rdev_minor);
  }
  return 0;
}
