/*
 * Known ways around a ptrace sandbox: another syscall ABI (int 0x80, x32),
 * io_uring, untraced or unseen children (CLONE_UNTRACED, clone3), a filter of
 * our own with a listener, reaching other processes (ptrace, process_vm_writev),
 * opening by handle, and changing what paths mean (mount, chroot, namespaces).
 * Calls aimed at another process's scheduling, memory or events:
 *   victim                  a process to aim at: calls victim_tick() in a loop
 *   perf PID sigtrap|count  perf_event_open on PID: a breakpoint on its
 *                           victim_tick() that sends SIGTRAP (PID runs this
 *                           same program), or a counter; PID -1 is every
 *                           process on CPU 0
 *   other CALL PID          one call aimed at PID (sched_setattr, setpriority,
 *                           ...); PID "child" is a victim child of our own
 *   sock_swap DIR TARGET N  N binds of unix sockets at DIR/sI while a thread
 *                           keeps swapping DIR for a symlink to TARGET and
 *                           back: prints how many binds succeeded
 */
#include "drv.h"

#include <linux/filter.h>
#include <linux/hw_breakpoint.h>
#include <linux/io_uring.h>
#include <linux/kcmp.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
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

/* ---- other processes ---- */

__attribute__((noinline)) void victim_tick(void) { __asm__ volatile("" ::: "memory"); }

static void victim_loop(void) {
  for (;;) {
    victim_tick();
    usleep(1000);
  }
}

static int op_victim(char **a, int n) {
  (void)a;
  (void)n;
  printf("ready\n");
  fflush(stdout);
  victim_loop();
  return 0;
}

/* The start and file offset of the mapping of `path` in /proc/PID/maps that
 * holds addr (pid 0: ours; addr 0: the one at `offset`). */
static int find_mapping(const char *maps, unsigned long addr, unsigned long *start, unsigned long *offset, char *path) {
  FILE *f = fopen(maps, "r");
  if (!f) return -1;
  char line[4096];
  int found = -1;
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi, off;
    char file[4096] = "";
    if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %4095s", &lo, &hi, &off, file) < 3) continue;
    if (addr ? (lo <= addr && addr < hi) : (off == *offset && strcmp(file, path) == 0)) {
      *start = lo;
      *offset = off;
      strcpy(path, file);
      found = 0;
      break;
    }
  }
  fclose(f);
  return found;
}

/* victim_tick's address in process pid (which runs this same program). */
static unsigned long victim_tick_in(long pid) {
  unsigned long mine = (unsigned long)&victim_tick, start, offset, theirs;
  char path[4096];
  if (find_mapping("/proc/self/maps", mine, &start, &offset, path) < 0) drv_setup_fail("own-maps", NULL);
  char maps[64];
  snprintf(maps, sizeof maps, "/proc/%ld/maps", pid);
  if (find_mapping(maps, 0, &theirs, &offset, path) < 0) drv_setup_fail("victim-maps", maps);
  return theirs + (mine - start);
}

/* "child": a victim of our own (a process of the build), killed at exit. */
static pid_t victim_child = 0;

static void kill_victim_child(void) {
  if (victim_child > 0) kill(victim_child, SIGKILL);
}

static long target_pid(const char *s) {
  if (strcmp(s, "child") != 0) return drv_num(s);
  victim_child = fork();
  if (victim_child < 0) drv_setup_fail("fork", NULL);
  if (victim_child == 0) victim_loop();
  atexit(kill_victim_child);
  return victim_child;
}

static int op_perf(char **a, int n) {
  (void)n;
  long pid = target_pid(a[0]);
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  if (strcmp(a[1], "sigtrap") == 0) {
    attr.type = PERF_TYPE_BREAKPOINT;
    attr.bp_type = HW_BREAKPOINT_X;
    attr.bp_addr = victim_tick_in(pid);
    attr.bp_len = sizeof(long);
    attr.sample_period = 1;
    attr.sigtrap = 1;
    attr.remove_on_exec = 1;  /* the kernel wants it with sigtrap */
  } else {
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_TASK_CLOCK;
  }
  int cpu = pid == -1 ? 0 : -1;
  long fd = syscall(SYS_perf_event_open, &attr, pid, cpu, -1, 0);
  drv_report(fd);
  if (fd < 0 || pid <= 0 || strcmp(a[1], "sigtrap") != 0) return 0;
  /* The event lives as long as its fd: hold it until the breakpoint fires
   * (at most about 10 s), then say how the target ended. */
  for (int i = 0; i < 10000; i++) {
    if (pid == victim_child) {
      int status;
      if (waitpid(victim_child, &status, WNOHANG) == victim_child) {
        victim_child = 0;
        printf("target %s %d\n", WIFSIGNALED(status) ? "signal" : "exit", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        return 0;
      }
    } else {
      char stat[64], buf[256] = "";
      snprintf(stat, sizeof stat, "/proc/%ld/stat", pid);
      FILE *f = fopen(stat, "r");
      if (f) {
        if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
        fclose(f);
      }
      char *state = strrchr(buf, ')');
      if (!f || (state && (state[2] == 'Z' || state[2] == 'X'))) {
        printf("target gone\n");
        return 0;
      }
    }
    usleep(1000);
  }
  printf("target alive\n");
  return 0;
}

/* A pidfd of pid, for the calls that take one. */
static int pidfd_of(long pid) {
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) drv_setup_fail("pidfd_open", NULL);
  return fd;
}

/* One page of pid's stack, for process_madvise. */
static struct iovec stack_of(long pid) {
  char maps[64], line[4096];
  snprintf(maps, sizeof maps, "/proc/%ld/maps", pid);
  FILE *f = fopen(maps, "r");
  if (!f) drv_setup_fail("maps", maps);
  struct iovec iov = {0, 0};
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    if (strstr(line, "[stack]") && sscanf(line, "%lx-%lx", &lo, &hi) == 2) {
      iov.iov_base = (void *)(hi - 4096);
      iov.iov_len = 4096;
    }
  }
  fclose(f);
  if (!iov.iov_len) drv_setup_fail("no-stack", maps);
  return iov;
}

static int op_other(char **a, int n) {
  (void)n;
  const char *call = a[0];
  long pid = target_pid(a[1]);
  if (strcmp(call, "sched_setattr") == 0) {
    struct {
      uint32_t size, policy;
      uint64_t flags;
      int32_t nice;
      uint32_t priority;
      uint64_t runtime, deadline, period;
    } attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.policy = SCHED_IDLE;
    return drv_report(syscall(SYS_sched_setattr, pid, &attr, 0));
  }
  struct sched_param param = {0};
  if (strcmp(call, "sched_setparam") == 0) return drv_report(syscall(SYS_sched_setparam, pid, &param));
  if (strcmp(call, "sched_setscheduler") == 0) return drv_report(syscall(SYS_sched_setscheduler, pid, SCHED_IDLE, &param));
  if (strcmp(call, "sched_setaffinity") == 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    return drv_report(syscall(SYS_sched_setaffinity, pid, sizeof set, &set));
  }
  if (strcmp(call, "setpriority") == 0) return drv_report(syscall(SYS_setpriority, PRIO_PROCESS, pid, 19));
  if (strcmp(call, "setpriority_pgrp") == 0) return drv_report(syscall(SYS_setpriority, PRIO_PGRP, pid, 19));
  if (strcmp(call, "setpriority_user") == 0) return drv_report(syscall(SYS_setpriority, PRIO_USER, pid, 19));
  /* IOPRIO_WHO_PROCESS, class idle */
  if (strcmp(call, "ioprio_set") == 0) return drv_report(syscall(SYS_ioprio_set, 1, pid, 3 << 13));
  if (strcmp(call, "migrate_pages") == 0) {
    unsigned long nodes = 1;
    return drv_report(syscall(SYS_migrate_pages, pid, 8 * sizeof nodes, &nodes, &nodes));
  }
  if (strcmp(call, "move_pages") == 0) return drv_report(syscall(SYS_move_pages, pid, 0, NULL, NULL, NULL, 0));
  if (strcmp(call, "get_robust_list") == 0) {
    void *head;
    size_t len;
    return drv_report(syscall(SYS_get_robust_list, pid, &head, &len));
  }
  if (strcmp(call, "kcmp") == 0) return drv_report(syscall(SYS_kcmp, getpid(), pid, KCMP_VM, 0, 0));
  if (strcmp(call, "process_madvise") == 0) {
    struct iovec iov = stack_of(pid);
    return drv_report(syscall(440, pidfd_of(pid), &iov, 1, 20 /* MADV_COLD */, 0));
  }
  if (strcmp(call, "process_mrelease") == 0) return drv_report(syscall(448, pidfd_of(pid), 0));
  errno = EINVAL;
  drv_setup_fail("bad-call", call);
  return 0;
}

struct swap_args {
  const char *dir, *target;
  volatile int stop;
};

static void *swapper(void *p) {
  struct swap_args *a = p;
  char real[4096];
  snprintf(real, sizeof real, "%s.real", a->dir);
  while (!a->stop) {
    rename(a->dir, real);
    symlink(a->target, a->dir);
    unlink(a->dir);
    rename(real, a->dir);
  }
  return NULL;
}

static int op_sock_swap(char **a, int n) {
  (void)n;
  struct swap_args sa = {a[0], a[1], 0};
  long count = drv_num(a[2]);
  if (mkdir(a[0], 0755) < 0) drv_setup_fail("mkdir", a[0]);
  pthread_t th;
  if (pthread_create(&th, NULL, swapper, &sa) != 0) drv_setup_fail("pthread_create", NULL);
  long ok = 0;
  for (long i = 0; i < count; i++) {
    int s = (int)syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un u;
    memset(&u, 0, sizeof u);
    u.sun_family = AF_UNIX;
    if (snprintf(u.sun_path, sizeof u.sun_path, "%s/s%ld", a[0], i) >= (int)sizeof u.sun_path) drv_setup_fail("too-long", a[0]);
    if (syscall(SYS_bind, s, &u, sizeof u) == 0) ok++;
    close(s);
  }
  sa.stop = 1;
  pthread_join(th, NULL);
  printf("binds %ld ok %ld\n", count, ok);
  return 0;
}

static const struct drv_op ops[] = {
    {"int80", 2, "open|creat|mkdir|chmod PATH", op_int80},
    {"sock_swap", 3, "DIR TARGET N", op_sock_swap},
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
    {"victim", 0, "", op_victim},
    {"perf", 2, "PID|child sigtrap|count", op_perf},
    {"other", 2, "CALL PID|child", op_other},
    {0, 0, 0, 0},
};

int main(int argc, char **argv) { return drv_main(ops, argc, argv); }
