/*
 * Modes given at creation, and what the stat family shows. Every call that
 * creates takes an octal MODE and runs with umask 022; with "write" after it,
 * a file opened gets "x" written into it (as root, a set-uid program if its
 * bits land on disk; as a user the kernel clears set-id bits on that write).
 *   open/openat/creat PATH MODE [write]   O_CREAT|O_WRONLY (creat: O_TRUNC too)
 *   mknod/mknodat PATH MODE         S_IFREG|MODE
 *   tmpfile DIR NEW MODE [write]    O_TMPFILE|O_WRONLY in DIR, then linked as NEW
 *                                   (linkat of /proc/self/fd/N, AT_SYMLINK_FOLLOW)
 *   mkdir/mkdirat PATH MODE
 * The stat forms print "MODE UID GID" (MODE in octal, type bits included):
 *   stat/lstat PATH                 stat(2), lstat(2)
 *   fstatat FD PATH ATFLAGS         newfstatat(2)
 *   statx FD PATH ATFLAGS           statx(2) asking STATX_BASIC_STATS only (no birth time)
 *   fstat FD                        fstat(2)
 */
#include "drv.h"

#include <linux/stat.h>

static int writes(char **a, int n, int at) { return n > at && strcmp(a[at], "write") == 0; }

static int created(long fd, int write) {
  if (fd < 0) return drv_report(fd);
  if (write && syscall(SYS_write, fd, "x", 1) != 1) drv_setup_fail("write", NULL);
  return drv_report(0);
}

static int op_open(char **a, int n) {
  return created(syscall(SYS_open, drv_path(a[0]), O_CREAT | O_WRONLY, drv_octal(a[1])), writes(a, n, 2));
}

static int op_openat(char **a, int n) {
  return created(syscall(SYS_openat, AT_FDCWD, drv_path(a[0]), O_CREAT | O_WRONLY, drv_octal(a[1])), writes(a, n, 2));
}

static int op_creat(char **a, int n) {
  return created(syscall(SYS_creat, drv_path(a[0]), drv_octal(a[1])), writes(a, n, 2));
}

static int op_mknod(char **a, int n) {
  (void)n;
  return drv_report(syscall(SYS_mknod, drv_path(a[0]), S_IFREG | drv_octal(a[1]), 0));
}

static int op_mknodat(char **a, int n) {
  (void)n;
  return drv_report(syscall(SYS_mknodat, AT_FDCWD, drv_path(a[0]), S_IFREG | drv_octal(a[1]), 0));
}

static int op_tmpfile(char **a, int n) {
  long fd = syscall(SYS_openat, AT_FDCWD, drv_path(a[0]), O_TMPFILE | O_WRONLY, drv_octal(a[2]));
  if (fd < 0) return drv_report(fd);
  if (writes(a, n, 3) && syscall(SYS_write, fd, "x", 1) != 1) drv_setup_fail("write", NULL);
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%ld", fd);
  return drv_report(syscall(SYS_linkat, AT_FDCWD, proc, AT_FDCWD, drv_path(a[1]), AT_SYMLINK_FOLLOW));
}

static int op_mkdir(char **a, int n) {
  (void)n;
  return drv_report(syscall(SYS_mkdir, drv_path(a[0]), drv_octal(a[1])));
}

static int op_mkdirat(char **a, int n) {
  (void)n;
  return drv_report(syscall(SYS_mkdirat, AT_FDCWD, drv_path(a[0]), drv_octal(a[1])));
}

static int shown(long rc, const struct stat *st) {
  if (rc < 0) return drv_report(rc);
  printf("%o %u %u\n", st->st_mode, st->st_uid, st->st_gid);
  return 0;
}

static int op_stat(char **a, int n) {
  (void)n;
  struct stat st;
  return shown(syscall(SYS_stat, drv_path(a[0]), &st), &st);
}

static int op_lstat(char **a, int n) {
  (void)n;
  struct stat st;
  return shown(syscall(SYS_lstat, drv_path(a[0]), &st), &st);
}

static int op_fstatat(char **a, int n) {
  (void)n;
  int fd = drv_fd(a[0]);
  struct stat st;
  return shown(syscall(SYS_newfstatat, fd, drv_path(a[1]), &st, drv_atflags(a[2])), &st);
}

static int op_fstat(char **a, int n) {
  (void)n;
  int fd = drv_fd(a[0]);
  struct stat st;
  return shown(syscall(SYS_fstat, fd, &st), &st);
}

static int op_statx(char **a, int n) {
  (void)n;
  int fd = drv_fd(a[0]);
  struct statx sx;
  long rc = syscall(SYS_statx, fd, drv_path(a[1]), drv_atflags(a[2]), STATX_BASIC_STATS, &sx);
  if (rc < 0) return drv_report(rc);
  printf("%o %u %u\n", sx.stx_mode, sx.stx_uid, sx.stx_gid);
  return 0;
}

static const struct drv_op ops[] = {
    {"open", 2, "PATH MODE [write]", op_open},
    {"openat", 2, "PATH MODE [write]", op_openat},
    {"creat", 2, "PATH MODE [write]", op_creat},
    {"mknod", 2, "PATH MODE", op_mknod},
    {"mknodat", 2, "PATH MODE", op_mknodat},
    {"tmpfile", 3, "DIR NEW MODE [write]", op_tmpfile},
    {"mkdir", 2, "PATH MODE", op_mkdir},
    {"mkdirat", 2, "PATH MODE", op_mkdirat},
    {"stat", 1, "PATH", op_stat},
    {"lstat", 1, "PATH", op_lstat},
    {"fstatat", 3, "FD PATH ATFLAGS", op_fstatat},
    {"statx", 3, "FD PATH ATFLAGS", op_statx},
    {"fstat", 1, "FD", op_fstat},
    {0, 0, 0, 0},
};

int main(int argc, char **argv) {
  umask(022);
  return drv_main(ops, argc, argv);
}
