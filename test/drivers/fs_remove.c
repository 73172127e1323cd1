/* Removing and moving names: unlink(at), rmdir, rename, renameat, renameat2. */
#include "drv.h"

#include <linux/fs.h>

static unsigned rename_flags(const char *s) {
  if (strcmp(s, "0") == 0) return 0;
  if (strcmp(s, "RENAME_NOREPLACE") == 0) return RENAME_NOREPLACE;
  if (strcmp(s, "RENAME_EXCHANGE") == 0) return RENAME_EXCHANGE;
  if (strcmp(s, "RENAME_WHITEOUT") == 0) return RENAME_WHITEOUT;
  errno = EINVAL;
  drv_setup_fail("bad-flag", s);
  return 0;
}

static int op_unlink(char **a, int n) {
  (void)n;
  return drv_report(syscall(SYS_unlink, drv_path(a[0])));
}

static int op_unlinkat(char **a, int n) {
  int dirfd = drv_fd(a[0]);
  int flags = n > 2 ? drv_atflags(a[2]) : 0;
  return drv_report(syscall(SYS_unlinkat, dirfd, drv_path(a[1]), flags));
}

static int op_rmdir(char **a, int n) {
  (void)n;
  return drv_report(syscall(SYS_rmdir, drv_path(a[0])));
}

static int op_rename(char **a, int n) {
  (void)n;
  return drv_report(syscall(SYS_rename, drv_path(a[0]), drv_path(a[1])));
}

static int op_renameat(char **a, int n) {
  (void)n;
  int olddir = drv_fd(a[0]);
  int newdir = drv_fd(a[2]);
  return drv_report(syscall(SYS_renameat, olddir, drv_path(a[1]), newdir, drv_path(a[3])));
}

static int op_renameat2(char **a, int n) {
  (void)n;
  int olddir = drv_fd(a[0]);
  int newdir = drv_fd(a[2]);
  return drv_report(
      syscall(SYS_renameat2, olddir, drv_path(a[1]), newdir, drv_path(a[3]), rename_flags(a[4])));
}

static const struct drv_op ops[] = {
    {"unlink", 1, "PATH", op_unlink},
    {"unlinkat", 2, "FD PATH [0|AT_REMOVEDIR]", op_unlinkat},
    {"rmdir", 1, "PATH", op_rmdir},
    {"rename", 2, "OLD NEW", op_rename},
    {"renameat", 4, "OLDFD OLD NEWFD NEW", op_renameat},
    {"renameat2", 5, "OLDFD OLD NEWFD NEW 0|RENAME_NOREPLACE|RENAME_EXCHANGE|RENAME_WHITEOUT",
     op_renameat2},
    {0, 0, 0, 0},
};

int main(int argc, char **argv) { return drv_main(ops, argc, argv); }
