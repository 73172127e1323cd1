/*
 * System calls that the ported peer suites (test/ports/) need and no shell
 * tool makes as such: each op prints one line per call, "NAME ok" / "NAME err
 * ENAME" or a value, in the conventions of drv.h.
 */
#include "drv.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

static int ctor_runs = 0;
static void __attribute__((constructor)) count_ctor(void) { ctor_runs++; }

static void said(const char *name, long rc) {
  if (rc < 0) printf("%s err %s\n", name, drv_errname(errno));
  else printf("%s ok\n", name);
}

/* argv: every argument, argv[0] included, separated by spaces. */
static int op_argv(char **a, int n) {
  (void)a;
  (void)n;
  return 0; /* handled in main, which sees the whole argv */
}

/* open PATH...: open(O_RDONLY) of each path. */
static int op_open(char **a, int n) {
  for (int i = 0; i < n; i++) {
    long fd = syscall(SYS_openat, AT_FDCWD, a[i], O_RDONLY);
    said(a[i], fd);
    if (fd >= 0) close((int)fd);
  }
  return 0;
}

static void print_fd_link(const char *name, int fd) {
  char link[64], target[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t len = readlink(link, target, sizeof target - 1);
  if (len < 0) {
    printf("%s readlink err %s\n", name, drv_errname(errno));
    return;
  }
  target[len] = 0;
  printf("%s %s\n", name, target);
}

/* rootdots: open "/", then openat(it, ".") and openat(it, ".."): where each fd points. */
static int op_rootdots(char **a, int n) {
  (void)a;
  (void)n;
  int root = (int)syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY);
  if (root < 0) drv_setup_fail("open", "/");
  int dot = (int)syscall(SYS_openat, root, ".", O_RDONLY);
  int dotdot = (int)syscall(SYS_openat, root, "..", O_RDONLY);
  if (dot < 0 || dotdot < 0) drv_setup_fail("openat", ". or ..");
  print_fd_link("/.", dot);
  print_fd_link("/..", dotdot);
  return 0;
}

/* procfd DIR FILE: open both, then /proc/PID/fd/N/, /proc/PID/fd/N/.. of each, and of a closed fd. */
static int op_procfd(char **a, int n) {
  (void)n;
  int dir = open(a[0], O_RDONLY);
  int file = open(a[1], O_RDONLY);
  if (dir < 0 || file < 0) drv_setup_fail("open", a[0]);
  char path[96];
  const char *names[] = {"dir/", "dir/..", "file/..", "closed/.."};
  const int fds[] = {dir, dir, file, 999999};
  const char *tails[] = {"/", "/..", "/..", "/.."};
  for (int i = 0; i < 4; i++) {
    snprintf(path, sizeof path, "/proc/%d/fd/%d%s", (int)getpid(), fds[i], tails[i]);
    long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
    said(names[i], fd);
    if (fd >= 0) close((int)fd);
  }
  return 0;
}

/* lstat PATH: the type lstat(2) gives. */
static int op_lstat(char **a, int n) {
  (void)n;
  struct stat st;
  if (syscall(SYS_newfstatat, AT_FDCWD, a[0], &st, AT_SYMLINK_NOFOLLOW) < 0) {
    printf("err %s\n", drv_errname(errno));
    return 0;
  }
  printf("%s\n", S_ISLNK(st.st_mode) ? "link" : S_ISDIR(st.st_mode) ? "dir" : S_ISREG(st.st_mode) ? "file" : "other");
  return 0;
}

/* sizes: readlink(/proc/self/cwd) returns the length, getcwd(2) the length + 1; prints both checks and the cwd. */
static int op_sizes(char **a, int n) {
  (void)a;
  (void)n;
  char buf[4096];
  long len = syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/cwd", buf, sizeof buf);
  if (len < 0) drv_setup_fail("readlink", "/proc/self/cwd");
  buf[len] = 0;
  printf("readlink %s\n", (size_t)len == strlen(buf) ? "ok" : "wrong-size");
  long rc = syscall(SYS_getcwd, buf, sizeof buf);
  if (rc < 0) drv_setup_fail("getcwd", "");
  printf("getcwd %s %s\n", (size_t)rc == strlen(buf) + 1 ? "ok" : "wrong-size", buf);
  memset(buf, 0, sizeof buf);
  len = syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", buf, sizeof buf - 1);
  if (len < 0) drv_setup_fail("readlink", "/proc/self/exe");
  printf("exe %s %s\n", (size_t)len == strlen(buf) ? "ok" : "wrong-size", buf);
  return 0;
}

static void print_cwds(const char *when) {
  char cwd[4096], link[4096];
  if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, "err %s", drv_errname(errno));
  ssize_t len = readlink("/proc/self/cwd", link, sizeof link - 1);
  if (len < 0) snprintf(link, sizeof link, "err %s", drv_errname(errno));
  else link[len] = 0;
  printf("%s getcwd %s proc %s\n", when, cwd, link);
}

static void *chdir_thread(void *dir) { return (void *)(long)chdir((const char *)dir); }

/* thread_chdir DIR OTHER: a thread chdirs to DIR (the process's cwd), then a child chdirs to OTHER (only its own). */
static int op_thread_chdir(char **a, int n) {
  (void)n;
  pthread_t thread;
  void *rc;
  if (pthread_create(&thread, NULL, chdir_thread, a[0]) != 0 || pthread_join(thread, &rc) != 0) drv_setup_fail("pthread", a[0]);
  printf("thread chdir %s\n", rc == NULL ? "ok" : "failed");
  print_cwds("after-thread");
  pid_t pid = fork();
  if (pid == 0) _exit(chdir(a[1]) == 0 ? 0 : 1);
  int status;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) drv_setup_fail("fork", a[1]);
  printf("child chdir %s\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "failed");
  print_cwds("after-child");
  return 0;
}

static void *setuid_thread(void *uid) { return (void *)(long)setuid((uid_t)(long)uid); }

/* setuid_split: a child calls setuid(123) (its own uid only), then a thread calls setuid(124) (the whole process's). */
static int op_setuid_split(char **a, int n) {
  (void)a;
  (void)n;
  pid_t pid = fork();
  if (pid == 0) _exit(setuid(123) == 0 && getuid() == 123 ? 0 : 1);
  int status;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) drv_setup_fail("fork", "");
  printf("child %s\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "uid 123" : "failed");
  printf("parent uid %d\n", (int)getuid());
  pthread_t thread;
  void *rc;
  if (pthread_create(&thread, NULL, setuid_thread, (void *)124L) != 0 || pthread_join(thread, &rc) != 0) drv_setup_fail("pthread", "");
  printf("thread setuid %s\n", rc == NULL ? "ok" : "failed");
  printf("process uid %d\n", (int)getuid());
  return 0;
}

/* fchownat_loop NAME: NAME is made a link to itself; fchownat following it fails, without following it works. */
static int op_fchownat_loop(char **a, int n) {
  (void)n;
  if (symlink(a[0], a[0]) < 0) drv_setup_fail("symlink", a[0]);
  said("follow", syscall(SYS_fchownat, AT_FDCWD, a[0], getuid(), getgid(), 0));
  said("nofollow", syscall(SYS_fchownat, AT_FDCWD, a[0], getuid(), getgid(), AT_SYMLINK_NOFOLLOW));
  return 0;
}

/* execself empty|null: execv(/proc/self/exe) once, with an empty argv or a NULL one; the second run prints "again". */
static int op_execself(char **a, int n) {
  (void)n;
  static char *empty[] = {NULL};
  setenv("PORTS_AGAIN", "1", 1);
  fflush(stdout);
  syscall(SYS_execve, "/proc/self/exe", strcmp(a[0], "null") == 0 ? NULL : empty, environ);
  printf("execve err %s\n", drv_errname(errno));
  return 0;
}

/* vfork_true PROGRAM: vfork, execve PROGRAM with an empty environment, wait: its status. */
static int op_vfork_true(char **a, int n) {
  (void)n;
  char *argv[] = {"true", NULL};
  char *envp[] = {NULL};
  pid_t pid = vfork();
  if (pid == 0) {
    execve(a[0], argv, envp);
    _exit(127);
  }
  int status;
  if (pid < 0 || waitpid(pid, &status, 0) < 0) drv_setup_fail("vfork/wait", a[0]);
  printf("status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  return 0;
}

/* faccess_nofollow PATH: faccessat(2) X_OK with AT_SYMLINK_NOFOLLOW in the flags slot (the kernel ignores it). */
static int op_faccess_nofollow(char **a, int n) {
  (void)n;
  said("faccessat", syscall(SYS_faccessat, AT_FDCWD, a[0], X_OK, AT_SYMLINK_NOFOLLOW));
  return 0;
}

/* openat0: openat(0, "foo"), openat(0, ""), openat(0, NULL) with fd 0 not a directory. */
static int op_openat0(char **a, int n) {
  (void)a;
  (void)n;
  said("foo", syscall(SYS_openat, 0, "foo", O_RDONLY));
  said("empty", syscall(SYS_openat, 0, "", O_RDONLY));
  said("null", syscall(SYS_openat, 0, NULL, O_RDONLY));
  return 0;
}

/* execve_bad PATH...: execve of each (a directory, a file that is no program): the errno. */
static int op_execve_bad(char **a, int n) {
  char *argv[] = {"argv0", "argv1", NULL};
  for (int i = 0; i < n; i++) said(a[i], syscall(SYS_execve, a[i], argv, environ));
  return 0;
}

/* resids: getres[ug]id, then setresgid(1,1,1) and setresuid(1,1,1), and again. */
static int op_resids(char **a, int n) {
  (void)a;
  (void)n;
  uid_t r, e, s;
  gid_t gr, ge, gs;
  getresuid(&r, &e, &s);
  getresgid(&gr, &ge, &gs);
  printf("uid %d %d %d gid %d %d %d\n", (int)r, (int)e, (int)s, (int)gr, (int)ge, (int)gs);
  said("setresgid", setresgid(1, 1, 1));
  said("setresuid", setresuid(1, 1, 1));
  getresuid(&r, &e, &s);
  getresgid(&gr, &ge, &gs);
  printf("uid %d %d %d gid %d %d %d\n", (int)r, (int)e, (int)s, (int)gr, (int)ge, (int)gs);
  return 0;
}

static volatile sig_atomic_t trapped = 0;
static void on_trap(int sig) { trapped = sig == SIGTRAP; }

/* sigtrap: raise(SIGTRAP) with a handler set: the handler runs. */
static int op_sigtrap(char **a, int n) {
  (void)a;
  (void)n;
  signal(SIGTRAP, on_trap);
  raise(SIGTRAP);
  printf("%s\n", trapped ? "handled" : "lost");
  return 0;
}

/* forks N: N children that exit at once, each waited for: how many exited 0. */
static int op_forks(char **a, int n) {
  (void)n;
  int count = (int)drv_num(a[0]), good = 0;
  for (int i = 0; i < count; i++) {
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    int status;
    if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0) good++;
  }
  printf("exited %d\n", good);
  return 0;
}

/* pipekill N: N times, a child writing to a pipe forever, killed by SIGKILL at once and waited for. */
static int op_pipekill(char **a, int n) {
  (void)n;
  int count = (int)drv_num(a[0]), killed = 0;
  for (int i = 0; i < count; i++) {
    int fds[2];
    if (pipe(fds) < 0) drv_setup_fail("pipe", "");
    pid_t pid = fork();
    if (pid == 0) {
      while (write(fds[1], "!", 1) > 0) {
      }
      _exit(1);
    }
    close(fds[0]);
    close(fds[1]);
    int status;
    if (pid > 0 && kill(pid, SIGKILL) == 0 && waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
      killed++;
    }
  }
  printf("killed %d\n", killed);
  return 0;
}

/* forkkill N: N times, fork a child that waits, SIGKILL it at once and wait: prints "killed PID" for each. */
static int op_forkkill(char **a, int n) {
  (void)n;
  int count = (int)drv_num(a[0]);
  for (int i = 0; i < count; i++) {
    pid_t pid = fork();
    if (pid == 0) {
      pause();
      _exit(0);
    }
    int status;
    if (pid < 0 || kill(pid, SIGKILL) < 0 || waitpid(pid, &status, 0) != pid) drv_setup_fail("fork/kill", "");
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) printf("killed %d\n", (int)pid);
  }
  return 0;
}

/* ctor: how many times the constructor ran before main (1). */
static int op_ctor(char **a, int n) {
  (void)a;
  (void)n;
  printf("ctor %d\n", ctor_runs);
  return 0;
}

/* unix_bind PATH: bind a unix socket at PATH, then getsockname: the name and its length as the kernel gives it. */
static int op_unix_bind(char **a, int n) {
  (void)n;
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  snprintf(sun.sun_path, sizeof sun.sun_path, "%s", a[0]);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) drv_setup_fail("socket", "");
  long rc = syscall(SYS_bind, fd, &sun, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(sun.sun_path)));
  said("bind", rc);
  if (rc < 0) return 0;
  struct sockaddr_un got;
  socklen_t len = sizeof got;
  memset(&got, 0, sizeof got);
  if (getsockname(fd, (struct sockaddr *)&got, &len) < 0) drv_setup_fail("getsockname", "");
  printf("name %s len %d\n", got.sun_path, (int)(len - offsetof(struct sockaddr_un, sun_path)));
  return 0;
}

static const struct drv_op ops[] = {
    {"argv", 0, "ARGS...", op_argv},
    {"open", 1, "PATH...", op_open},
    {"rootdots", 0, "", op_rootdots},
    {"procfd", 2, "DIR FILE", op_procfd},
    {"lstat", 1, "PATH", op_lstat},
    {"sizes", 0, "", op_sizes},
    {"fchownat_loop", 1, "NAME", op_fchownat_loop},
    {"execself", 1, "empty|null", op_execself},
    {"vfork_true", 1, "PROGRAM", op_vfork_true},
    {"faccess_nofollow", 1, "PATH", op_faccess_nofollow},
    {"openat0", 0, "", op_openat0},
    {"execve_bad", 1, "PATH...", op_execve_bad},
    {"resids", 0, "", op_resids},
    {"sigtrap", 0, "", op_sigtrap},
    {"forks", 1, "N", op_forks},
    {"pipekill", 1, "N", op_pipekill},
    {"ctor", 0, "", op_ctor},
    {"forkkill", 1, "N", op_forkkill},
    {"unix_bind", 1, "PATH", op_unix_bind},
    {"thread_chdir", 2, "DIR OTHER", op_thread_chdir},
    {"setuid_split", 0, "", op_setuid_split},
    {0, 0, 0, 0},
};

int main(int argc, char **argv) {
  if (getenv("PORTS_AGAIN")) { /* the second run of execself */
    printf("again argc %d\n", argc);
    return 0;
  }
  /* Called under any name: "argv" as its first argument, or a program name ending in "argv". */
  size_t len = argc > 0 ? strlen(argv[0]) : 0;
  if ((argc >= 2 && strcmp(argv[1], "argv") == 0) || (len >= 4 && strcmp(argv[0] + len - 4, "argv") == 0)) {
    for (int i = 0; i < argc; i++) printf("%s%s", i ? " " : "", argv[i]);
    printf("\n");
    return 0;
  }
  return drv_main(ops, argc, argv);
}
