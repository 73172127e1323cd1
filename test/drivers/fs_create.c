/* Creating names: mkdir(at), mknod(at), symlink(at), link(at), bind of a unix socket. */
#include "drv.h"

#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>

static int node_mode(const char *type) {
  if (strcmp(type, "fifo") == 0) return S_IFIFO | 0644;
  if (strcmp(type, "reg") == 0) return S_IFREG | 0644;
  if (strcmp(type, "chr") == 0) return S_IFCHR | 0644;
  errno = EINVAL;
  drv_setup_fail("bad-node-type", type);
  return 0;
}

/* /dev/null's device number, for "chr" (only root may make it). */
static unsigned long node_dev(const char *type) {
  return strcmp(type, "chr") == 0 ? makedev(1, 3) : 0;
}

static int op_mkdir(char **a, int n) {
  (void)n;
  return drv_report(syscall(SYS_mkdir, drv_path(a[0]), 0755));
}

static int op_mkdirat(char **a, int n) {
  (void)n;
  int dirfd = drv_fd(a[0]);
  return drv_report(syscall(SYS_mkdirat, dirfd, drv_path(a[1]), 0755));
}

static int op_mknod(char **a, int n) {
  (void)n;
  return drv_report(syscall(SYS_mknod, drv_path(a[0]), node_mode(a[1]), node_dev(a[1])));
}

static int op_mknodat(char **a, int n) {
  (void)n;
  int dirfd = drv_fd(a[0]);
  return drv_report(syscall(SYS_mknodat, dirfd, drv_path(a[1]), node_mode(a[2]), node_dev(a[2])));
}

static int op_symlink(char **a, int n) {
  (void)n;
  return drv_report(syscall(SYS_symlink, a[0], drv_path(a[1])));
}

static int op_symlinkat(char **a, int n) {
  (void)n;
  int dirfd = drv_fd(a[1]);
  return drv_report(syscall(SYS_symlinkat, a[0], dirfd, drv_path(a[2])));
}

static int op_link(char **a, int n) {
  (void)n;
  return drv_report(syscall(SYS_link, drv_path(a[0]), drv_path(a[1])));
}

static int op_linkat(char **a, int n) {
  (void)n;
  int olddir = drv_fd(a[0]);
  int newdir = drv_fd(a[2]);
  return drv_report(
      syscall(SYS_linkat, olddir, drv_path(a[1]), newdir, drv_path(a[3]), drv_atflags(a[4])));
}

static int op_bind(char **a, int n) {
  (void)n;
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  snprintf(sun.sun_path, sizeof sun.sun_path, "%s", drv_path(a[0]));
  long fd = syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) drv_setup_fail("socket", NULL);
  return drv_report(syscall(SYS_bind, fd, &sun, sizeof sun));
}

/*
 * An unnamed file made with O_TMPFILE in DIR, then given the name NEW:
 * "empty" links the fd itself (AT_EMPTY_PATH), "proc" links /proc/self/fd/N
 * with AT_SYMLINK_FOLLOW. Only the linkat is the call under test.
 */
static int op_tmpfile_link(char **a, int n) {
  (void)n;
  long fd = syscall(SYS_openat, AT_FDCWD, drv_path(a[0]), O_TMPFILE | O_WRONLY, 0644);
  if (fd < 0) drv_setup_fail("o_tmpfile", a[0]);
  if (syscall(SYS_write, fd, "tmp", 3) != 3) drv_setup_fail("write", NULL);
  if (strcmp(a[2], "empty") == 0) {
    return drv_report(syscall(SYS_linkat, fd, "", AT_FDCWD, drv_path(a[1]), AT_EMPTY_PATH));
  }
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%ld", fd);
  return drv_report(syscall(SYS_linkat, AT_FDCWD, proc, AT_FDCWD, drv_path(a[1]), AT_SYMLINK_FOLLOW));
}

static const struct drv_op ops[] = {
    {"mkdir", 1, "PATH", op_mkdir},
    {"mkdirat", 2, "FD PATH", op_mkdirat},
    {"mknod", 2, "PATH fifo|reg|chr", op_mknod},
    {"mknodat", 3, "FD PATH fifo|reg|chr", op_mknodat},
    {"symlink", 2, "TARGET LINKPATH", op_symlink},
    {"symlinkat", 3, "TARGET FD LINKPATH", op_symlinkat},
    {"link", 2, "OLD NEW", op_link},
    {"linkat", 5, "OLDFD OLD NEWFD NEW ATFLAGS", op_linkat},
    {"bind", 1, "PATH", op_bind},
    {"tmpfile_link", 3, "DIR NEW empty|proc", op_tmpfile_link},
    {0, 0, 0, 0},
};

int main(int argc, char **argv) { return drv_main(ops, argc, argv); }
