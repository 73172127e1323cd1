/*
 * Metadata: chmod, chown, time stamps and xattrs, by path, by fd and by
 * (fd, "", AT_EMPTY_PATH). Time stamps are always set to TIME (2001-09-09).
 */
#include "drv.h"

#include <sys/time.h>
#include <utime.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

#define TIME 1000000000

static long id_arg(const char *s) { return strcmp(s, "-1") == 0 ? -1 : drv_num(s); }

static int op_chmod(char **a, int n) {
  (void)n;
  return drv_report(syscall(SYS_chmod, drv_path(a[0]), drv_octal(a[1])));
}

static int op_fchmod(char **a, int n) {
  (void)n;
  int fd = drv_fd(a[0]);
  return drv_report(syscall(SYS_fchmod, fd, drv_octal(a[1])));
}

/* The kernel's fchmodat has no flags argument; glibc's emulation is not under test. */
static int op_fchmodat(char **a, int n) {
  (void)n;
  int dirfd = drv_fd(a[0]);
  return drv_report(syscall(SYS_fchmodat, dirfd, drv_path(a[1]), drv_octal(a[2])));
}

static int op_fchmodat2(char **a, int n) {
  (void)n;
  int dirfd = drv_fd(a[0]);
  return drv_report(
      syscall(SYS_fchmodat2, dirfd, drv_path(a[1]), drv_octal(a[2]), drv_atflags(a[3])));
}

static int op_chown(char **a, int n) {
  (void)n;
  return drv_report(syscall(SYS_chown, drv_path(a[0]), id_arg(a[1]), id_arg(a[2])));
}

static int op_lchown(char **a, int n) {
  (void)n;
  return drv_report(syscall(SYS_lchown, drv_path(a[0]), id_arg(a[1]), id_arg(a[2])));
}

static int op_fchown(char **a, int n) {
  (void)n;
  int fd = drv_fd(a[0]);
  return drv_report(syscall(SYS_fchown, fd, id_arg(a[1]), id_arg(a[2])));
}

static int op_fchownat(char **a, int n) {
  (void)n;
  int dirfd = drv_fd(a[0]);
  return drv_report(
      syscall(SYS_fchownat, dirfd, drv_path(a[1]), id_arg(a[2]), id_arg(a[3]), drv_atflags(a[4])));
}

static int op_utime(char **a, int n) {
  (void)n;
  struct utimbuf t = {TIME, TIME};
  return drv_report(syscall(SYS_utime, drv_path(a[0]), &t));
}

static int op_utimes(char **a, int n) {
  (void)n;
  struct timeval t[2] = {{TIME, 0}, {TIME, 0}};
  return drv_report(syscall(SYS_utimes, drv_path(a[0]), t));
}

static int op_futimesat(char **a, int n) {
  (void)n;
  int dirfd = drv_fd(a[0]);
  struct timeval t[2] = {{TIME, 0}, {TIME, 0}};
  return drv_report(syscall(SYS_futimesat, dirfd, drv_path(a[1]), t));
}

static int op_utimensat(char **a, int n) {
  (void)n;
  int dirfd = drv_fd(a[0]);
  struct timespec t[2] = {{TIME, 0}, {TIME, 0}};
  return drv_report(syscall(SYS_utimensat, dirfd, drv_path(a[1]), t, drv_atflags(a[2])));
}

/* glibc's futimens(fd) is utimensat(fd, NULL, times, 0). */
static int op_futimens(char **a, int n) {
  (void)n;
  int fd = drv_fd(a[0]);
  struct timespec t[2] = {{TIME, 0}, {TIME, 0}};
  return drv_report(syscall(SYS_utimensat, fd, NULL, t, 0));
}

static int op_setxattr(char **a, int n) {
  (void)n;
  return drv_report(syscall(SYS_setxattr, drv_path(a[0]), a[1], a[2], strlen(a[2]), 0));
}

static int op_lsetxattr(char **a, int n) {
  (void)n;
  return drv_report(syscall(SYS_lsetxattr, drv_path(a[0]), a[1], a[2], strlen(a[2]), 0));
}

static int op_fsetxattr(char **a, int n) {
  (void)n;
  int fd = drv_fd(a[0]);
  return drv_report(syscall(SYS_fsetxattr, fd, a[1], a[2], strlen(a[2]), 0));
}

static int op_removexattr(char **a, int n) {
  (void)n;
  return drv_report(syscall(SYS_removexattr, drv_path(a[0]), a[1]));
}

static int op_lremovexattr(char **a, int n) {
  (void)n;
  return drv_report(syscall(SYS_lremovexattr, drv_path(a[0]), a[1]));
}

static int op_fremovexattr(char **a, int n) {
  (void)n;
  int fd = drv_fd(a[0]);
  return drv_report(syscall(SYS_fremovexattr, fd, a[1]));
}

/* Not a call under test: lets the test read an xattr (Node has no xattr API). */
static int op_getxattr(char **a, int n) {
  (void)n;
  char value[256];
  long len = syscall(SYS_lgetxattr, drv_path(a[0]), a[1], value, sizeof value - 1);
  if (len < 0) return drv_report(len);
  value[len] = 0;
  printf("value %s\n", value);
  return 0;
}

static const struct drv_op ops[] = {
    {"chmod", 2, "PATH MODE", op_chmod},
    {"fchmod", 2, "FD MODE", op_fchmod},
    {"fchmodat", 3, "FD PATH MODE", op_fchmodat},
    {"fchmodat2", 4, "FD PATH MODE ATFLAGS", op_fchmodat2},
    {"chown", 3, "PATH UID GID", op_chown},
    {"lchown", 3, "PATH UID GID", op_lchown},
    {"fchown", 3, "FD UID GID", op_fchown},
    {"fchownat", 5, "FD PATH UID GID ATFLAGS", op_fchownat},
    {"utime", 1, "PATH", op_utime},
    {"utimes", 1, "PATH", op_utimes},
    {"futimesat", 2, "FD PATH", op_futimesat},
    {"utimensat", 3, "FD PATH ATFLAGS", op_utimensat},
    {"futimens", 1, "FD", op_futimens},
    {"setxattr", 3, "PATH NAME VALUE", op_setxattr},
    {"lsetxattr", 3, "PATH NAME VALUE", op_lsetxattr},
    {"fsetxattr", 3, "FD NAME VALUE", op_fsetxattr},
    {"removexattr", 2, "PATH NAME", op_removexattr},
    {"lremovexattr", 2, "PATH NAME", op_lremovexattr},
    {"fremovexattr", 2, "FD NAME", op_fremovexattr},
    {"getxattr", 2, "PATH NAME", op_getxattr},
    {0, 0, 0, 0},
};

int main(int argc, char **argv) { return drv_main(ops, argc, argv); }
