/*
 * Known ways around a ptrace sandbox: another syscall ABI (int 0x80, x32),
 * io_uring, untraced or unseen children (CLONE_UNTRACED, clone3), a filter of
 * our own with a listener, reaching other processes (ptrace, process_vm_writev),
 * opening by handle, and changing what paths mean (mount, chroot, namespaces).
 */
#include "drv.h"

#include <linux/filter.h>
#include <linux/io_uring.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#define X32_BIT 0x40000000L

/* i386 numbers (arch/x86/entry/syscalls/syscall_32.tbl). */
#define I386_OPEN 5
#define I386_CREAT 8
#define I386_MKDIR 39
#define I386_CHMOD 15

/* A copy of s below 4 GiB, where a 32-bit register can point at it. */
static const char *low_copy(const char *s) {
  char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
  if (p == MAP_FAILED) drv_setup_fail("mmap32", NULL);
  snprintf(p, 4096, "%s", s);
  return p;
}

/* The compat entry clobbers r8-r11 (zeroed since 4.15). */
static long int80(long nr, long b, long c, long d) {
  long ret;
  __asm__ volatile("int $0x80"
                   : "=a"(ret)
                   : "a"(nr), "b"(b), "c"(c), "d"(d)
                   : "memory", "r8", "r9", "r10", "r11");
  return (int)ret;
}

static int op_int80(char **a, int n) {
  (void)n;
  long p = (long)(unsigned long)low_copy(a[1]);
  if (strcmp(a[0], "open") == 0) return drv_report_raw(int80(I386_OPEN, p, O_WRONLY | O_CREAT, 0644));
  if (strcmp(a[0], "creat") == 0) return drv_report_raw(int80(I386_CREAT, p, 0644, 0));
  if (strcmp(a[0], "mkdir") == 0) return drv_report_raw(int80(I386_MKDIR, p, 0755, 0));
  if (strcmp(a[0], "chmod") == 0) return drv_report_raw(int80(I386_CHMOD, p, 0600, 0));
  errno = EINVAL;
  drv_setup_fail("bad-call", a[0]);
  return 0;
}

/* x32 shares the x86-64 numbers for these, with bit 30 set. */
static int op_x32(char **a, int n) {
  (void)n;
  const char *p = drv_path(a[1]);
  if (strcmp(a[0], "open") == 0) return drv_report(syscall(X32_BIT | SYS_open, p, O_WRONLY | O_CREAT, 0644));
  if (strcmp(a[0], "creat") == 0) return drv_report(syscall(X32_BIT | SYS_creat, p, 0644));
  if (strcmp(a[0], "mkdir") == 0) return drv_report(syscall(X32_BIT | SYS_mkdir, p, 0755));
  errno = EINVAL;
  drv_setup_fail("bad-call", a[0]);
  return 0;
}

static int op_io_uring_setup(char **a, int n) {
  (void)a;
  (void)n;
  struct io_uring_params params;
  memset(&params, 0, sizeof params);
  return drv_report(syscall(SYS_io_uring_setup, 4, &params));
}

/* Child: try to create PATH, exit with 0 or the errno. */
static void child_create(const char *path) {
  long fd = syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT, 0644);
  syscall(SYS_exit_group, fd < 0 ? errno : 0);
}

/* Prints "err E" when the clone failed, else "child ok" / "child err E". */
static int report_child(long pid) {
  if (pid < 0) return drv_report(-1);
  int status;
  if (waitpid((pid_t)pid, &status, __WALL) < 0) drv_setup_fail("waitpid", NULL);
  if (!WIFEXITED(status)) {
    printf("child signal %d\n", WTERMSIG(status));
  } else if (WEXITSTATUS(status) == 0) {
    printf("child ok\n");
  } else {
    printf("child err %s\n", drv_errname(WEXITSTATUS(status)));
  }
  return 0;
}

static int op_clone_untraced(char **a, int n) {
  (void)n;
  const char *path = drv_path(a[0]);
  long pid = syscall(SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) child_create(path);
  return report_child(pid);
}

static int op_clone3(char **a, int n) {
  (void)n;
  const char *path = drv_path(a[0]);
  struct clone_args args;
  memset(&args, 0, sizeof args);
  args.flags = n > 1 && strcmp(a[1], "untraced") == 0 ? CLONE_UNTRACED : 0;
  args.exit_signal = SIGCHLD;
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) child_create(path);
  return report_child(pid);
}

static int op_seccomp_listener(char **a, int n) {
  (void)a;
  (void)n;
  struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
  struct sock_fprog prog = {1, allow};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) drv_setup_fail("no_new_privs", NULL);
  return drv_report(
      syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog));
}

static int op_ptrace_attach(char **a, int n) {
  (void)n;
  long pid = drv_num(a[0]);
  long rc = syscall(SYS_ptrace, PTRACE_ATTACH, pid, 0, 0);
  if (rc == 0) {
    int status;
    waitpid((pid_t)pid, &status, __WALL);
    syscall(SYS_ptrace, PTRACE_DETACH, pid, 0, 0);
  }
  return drv_report(rc);
}

/* Aims at an address that is never mapped: without the sandbox this is EFAULT. */
static int op_process_vm_writev(char **a, int n) {
  (void)n;
  char byte = 0;
  struct iovec local = {&byte, 1};
  struct iovec remote = {(void *)0x1000, 1};
  return drv_report(syscall(SYS_process_vm_writev, drv_num(a[0]), &local, 1, &remote, 1, 0));
}

static int op_open_by_handle_at(char **a, int n) {
  (void)n;
  struct {
    struct file_handle fh;
    unsigned char bytes[MAX_HANDLE_SZ];
  } h;
  int mount_id;
  h.fh.handle_bytes = MAX_HANDLE_SZ;
  if (syscall(SYS_name_to_handle_at, AT_FDCWD, drv_path(a[0]), &h.fh, &mount_id, 0) < 0) {
    drv_setup_fail("name_to_handle_at", a[0]);
  }
  int mount_fd = drv_fd(a[1]);
  return drv_report(syscall(SYS_open_by_handle_at, mount_fd, &h.fh, O_WRONLY));
}

static int op_mount(char **a, int n) {
  (void)n;
  const char *target = drv_path(a[0]);
  long rc = syscall(SYS_mount, "catbox", target, "tmpfs", 0, "size=64k");
  if (rc == 0) syscall(SYS_umount2, target, MNT_DETACH);
  return drv_report(rc);
}

static int op_umount2(char **a, int n) {
  (void)n;
  return drv_report(syscall(SYS_umount2, drv_path(a[0]), 0));
}

static int op_chroot(char **a, int n) {
  (void)n;
  return drv_report(syscall(SYS_chroot, drv_path(a[0])));
}

static int op_pivot_root(char **a, int n) {
  (void)n;
  return drv_report(syscall(SYS_pivot_root, drv_path(a[0]), drv_path(a[1])));
}

static int ns_flag(const char *s) {
  if (strcmp(s, "user") == 0) return CLONE_NEWUSER;
  if (strcmp(s, "mount") == 0) return CLONE_NEWNS;
  if (strcmp(s, "net") == 0) return CLONE_NEWNET;
  errno = EINVAL;
  drv_setup_fail("bad-namespace", s);
  return 0;
}

static int op_unshare(char **a, int n) {
  (void)n;
  return drv_report(syscall(SYS_unshare, ns_flag(a[0])));
}

/* Joins the namespace the file names (e.g. /proc/self/ns/net: our own). */
static int op_setns(char **a, int n) {
  (void)n;
  int fd = open(drv_path(a[0]), O_RDONLY);
  if (fd < 0) drv_setup_fail("open-ns", a[0]);
  return drv_report(syscall(SYS_setns, fd, 0));
}

static const struct drv_op ops[] = {
    {"int80", 2, "open|creat|mkdir|chmod PATH", op_int80},
    {"x32", 2, "open|creat|mkdir PATH", op_x32},
    {"io_uring_setup", 0, "", op_io_uring_setup},
    {"clone_untraced", 1, "PATH", op_clone_untraced},
    {"clone3", 1, "PATH [untraced]", op_clone3},
    {"seccomp_listener", 0, "", op_seccomp_listener},
    {"ptrace_attach", 1, "PID", op_ptrace_attach},
    {"process_vm_writev", 1, "PID", op_process_vm_writev},
    {"open_by_handle_at", 2, "PATH MOUNTFD", op_open_by_handle_at},
    {"mount", 1, "TARGET", op_mount},
    {"umount2", 1, "TARGET", op_umount2},
    {"chroot", 1, "PATH", op_chroot},
    {"pivot_root", 2, "NEW PUTOLD", op_pivot_root},
    {"unshare", 1, "user|mount|net", op_unshare},
    {"setns", 1, "NSFILE", op_setns},
    {0, 0, 0, 0},
};

int main(int argc, char **argv) { return drv_main(ops, argc, argv); }
