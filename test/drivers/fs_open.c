/* Opening for write and truncating: open, openat, creat, openat2, truncate, ftruncate. */
#include "drv.h"

#include <linux/openat2.h>

/* With DATA, write it through the new fd: shows that the open really gave write access. */
static int opened(long fd, char **a, int n, int data) {
  if (fd < 0 || n <= data) return drv_report(fd);
  return drv_report(syscall(SYS_write, fd, a[data], strlen(a[data])));
}

static int op_open(char **a, int n) {
  return opened(syscall(SYS_open, drv_path(a[0]), drv_oflags(a[1]), 0644), a, n, 2);
}

static int op_openat(char **a, int n) {
  int dirfd = drv_fd(a[0]);
  return opened(syscall(SYS_openat, dirfd, drv_path(a[1]), drv_oflags(a[2]), 0644), a, n, 3);
}

static int op_creat(char **a, int n) {
  return opened(syscall(SYS_creat, drv_path(a[0]), 0644), a, n, 1);
}

static int op_openat2(char **a, int n) {
  (void)n;
  int dirfd = drv_fd(a[0]);
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (unsigned)drv_oflags(a[2]);
  if (how.flags & (O_CREAT | O_TMPFILE)) how.mode = 0644;
  return drv_report(syscall(SYS_openat2, dirfd, drv_path(a[1]), &how, sizeof how));
}

static int op_truncate(char **a, int n) {
  (void)n;
  return drv_report(syscall(SYS_truncate, drv_path(a[0]), drv_num(a[1])));
}

static int op_ftruncate(char **a, int n) {
  (void)n;
  int fd = drv_fd(a[0]);
  return drv_report(syscall(SYS_ftruncate, fd, drv_num(a[1])));
}

static const struct drv_op ops[] = {
    {"open", 2, "PATH FLAGS [DATA]", op_open},
    {"openat", 3, "FD PATH FLAGS [DATA]", op_openat},
    {"creat", 1, "PATH [DATA]", op_creat},
    {"openat2", 3, "FD PATH FLAGS", op_openat2},
    {"truncate", 2, "PATH LENGTH", op_truncate},
    {"ftruncate", 2, "FD LENGTH", op_ftruncate},
    {0, 0, 0, 0},
};

int main(int argc, char **argv) { return drv_main(ops, argc, argv); }
