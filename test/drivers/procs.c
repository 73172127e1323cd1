/*
 * Process trees under the supervisor: fork trees, threads, vfork+exec, exec
 * from a non-leader thread, a double-forked daemon, exit codes and signals.
 * Results of several processes are printed on one line as RESULT@PID tokens
 * (RESULT is "ok" or an errno name), in a fixed order.
 */
#include "drv.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

static void token(char *out, size_t size, int err, long pid) {
  snprintf(out, size, "%s@%ld", err ? drv_errname(err) : "ok", pid);
}

static int try_create(const char *path) {
  long fd = syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT, 0644);
  if (fd < 0) return errno;
  syscall(SYS_close, fd);
  return 0;
}

static int op_creat(char **a, int n) {
  (void)n;
  return drv_report(syscall(SYS_creat, drv_path(a[0]), 0644));
}

/* Fork tree: node i has children i*W+1 .. i*W+W while below DEPTH; each creates PREFIX.i. */
struct node_result {
  int err;
  long pid;
};

static void tree_node(struct node_result *res, const char *prefix, int id, int level, int depth,
                      int width) {
  char path[4096];
  snprintf(path, sizeof path, "%s.%d", prefix, id);
  res[id].pid = getpid();
  res[id].err = try_create(path);
  if (level == depth) return;
  for (int i = 1; i <= width; i++) {
    int child = id * width + i;
    pid_t pid = fork();
    if (pid < 0) drv_setup_fail("fork", NULL);
    if (pid == 0) {
      tree_node(res, prefix, child, level + 1, depth, width);
      _exit(0);
    }
  }
  while (wait(NULL) > 0) {
  }
}

/* Shared results of a tree of `width`-ary depth `depth`: one slot per node, counted in *count. */
static struct node_result *tree_results(int depth, int width, int *count) {
  *count = 0;
  for (int l = 0, k = 1; l <= depth; l++, k *= width) *count += k;
  struct node_result *res =
      mmap(NULL, sizeof *res * (size_t)*count, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (res == MAP_FAILED) drv_setup_fail("mmap", NULL);
  return res;
}

static int op_tree(char **a, int n) {
  (void)n;
  int depth = (int)drv_num(a[1]);
  int width = (int)drv_num(a[2]);
  int count;
  struct node_result *res = tree_results(depth, width, &count);
  tree_node(res, drv_path(a[0]), 0, 0, depth, width);
  for (int i = 0; i < count; i++) {
    char t[64];
    token(t, sizeof t, res[i].err, res[i].pid);
    printf("%s%s", i ? " " : "", t);
  }
  printf("\n");
  return 0;
}

/*
 * The same tree, but each node forks its children first and makes its write
 * while they run and end: its SIGCHLDs arrive while the write is being asked
 * about. Prints how many writes were made and how many failed with EACCES.
 */
static void late_node(struct node_result *res, const char *prefix, int id, int level, int depth, int width) {
  char path[4096];
  if (level < depth) {
    for (int i = 1; i <= width; i++) {
      int child = id * width + i;
      pid_t pid = fork();
      if (pid < 0) drv_setup_fail("fork", NULL);
      if (pid == 0) {
        late_node(res, prefix, child, level + 1, depth, width);
        _exit(0);
      }
    }
  }
  snprintf(path, sizeof path, "%s.%d", prefix, id);
  res[id].pid = getpid();
  res[id].err = try_create(path);
  while (wait(NULL) > 0) {
  }
}

static int op_tree_late(char **a, int n) {
  (void)n;
  int depth = (int)drv_num(a[1]);
  int width = (int)drv_num(a[2]);
  int count;
  struct node_result *res = tree_results(depth, width, &count);
  late_node(res, drv_path(a[0]), 0, 0, depth, width);
  int denied = 0;
  for (int i = 0; i < count; i++) denied += res[i].err == EACCES;
  printf("writes %d denied %d\n", count, denied);
  return 0;
}

/*
 * N children, one at a time or several at once, each killed with SIGKILL at
 * a point chosen by a seeded random number: at once after fork (often before
 * the child has run at all), after a few yields, after a short sleep, or
 * later while it is busy making system calls. Prints the children's pids.
 */
static int op_kill_children(char **a, int n) {
  (void)n;
  int count = (int)drv_num(a[0]);
  srand((unsigned)drv_num(a[1]));
  pid_t *pids = calloc((size_t)count, sizeof *pids);
  if (!pids) drv_setup_fail("calloc", NULL);
  int killed = 0; /* pids[killed..i] are started and not yet killed */
  for (int i = 0; i < count; i++) {
    pid_t pid = fork();
    if (pid < 0) drv_setup_fail("fork", NULL);
    if (pid == 0) {
      for (;;) syscall(SYS_getppid);
    }
    pids[i] = pid;
    int how = rand() % 5;
    if (how == 1) {
      for (int y = rand() % 8; y > 0; y--) sched_yield();
    } else if (how == 2) {
      usleep((useconds_t)(rand() % 2000));
    } else if (how == 3 && i + 1 < count) {
      continue; /* killed together with the next ones */
    }
    while (killed < i + 1) {
      kill(pids[killed++], SIGKILL);
    }
  }
  for (int i = 0; i < count; i++) waitpid(pids[i], NULL, 0);
  for (int i = 0; i < count; i++) printf("%s%d", i ? " " : "", (int)pids[i]);
  printf("\n");
  free(pids);
  return 0;
}

struct thread_arg {
  char path[4096];
  int err;
  long tid;
};

static void *thread_create(void *p) {
  struct thread_arg *t = p;
  t->tid = syscall(SYS_gettid);
  t->err = try_create(t->path);
  return NULL;
}

/* N threads, thread i creates PREFIX.i. */
static int op_threads(char **a, int n) {
  (void)n;
  int count = (int)drv_num(a[1]);
  struct thread_arg args[16];
  pthread_t th[16];
  if (count < 1 || count > 16) drv_setup_fail("bad-count", a[1]);
  for (int i = 0; i < count; i++) {
    snprintf(args[i].path, sizeof args[i].path, "%s.%d", drv_path(a[0]), i);
    if (pthread_create(&th[i], NULL, thread_create, &args[i]) != 0) drv_setup_fail("pthread", NULL);
  }
  for (int i = 0; i < count; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < count; i++) {
    char t[64];
    token(t, sizeof t, args[i].err, args[i].tid);
    printf("%s%s", i ? " " : "", t);
  }
  printf("\n");
  return 0;
}

/* vfork, and the child execs this driver's "creat PATH", which prints the result. */
static int op_vfork_exec(char **a, int n) {
  (void)n;
  static char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len < 0) drv_setup_fail("readlink", NULL);
  self[len] = 0;
  char *argv[] = {self, "creat", a[0], NULL};
  fflush(stdout);
  pid_t pid = vfork();
  if (pid == 0) {
    execv(self, argv);
    _exit(127);
  }
  int status;
  if (pid < 0 || waitpid(pid, &status, 0) < 0) drv_setup_fail("vfork", NULL);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) printf("child-status %d\n", status);
  return 0;
}

static char exec_self[4096];
static char *exec_argv[4];

static void *thread_exec(void *p) {
  (void)p;
  execv(exec_self, exec_argv);
  drv_setup_fail("execv", exec_self);
  return NULL;
}

/* A second thread execs this driver's "creat PATH"; the new image prints the result. */
static int op_exec_thread(char **a, int n) {
  (void)n;
  ssize_t len = readlink("/proc/self/exe", exec_self, sizeof exec_self - 1);
  if (len < 0) drv_setup_fail("readlink", NULL);
  exec_self[len] = 0;
  exec_argv[0] = exec_self;
  exec_argv[1] = "creat";
  exec_argv[2] = a[0];
  exec_argv[3] = NULL;
  fflush(stdout);
  pthread_t th;
  if (pthread_create(&th, NULL, thread_exec, NULL) != 0) drv_setup_fail("pthread", NULL);
  for (;;) pause(); /* the exec ends this thread */
  return 0;
}

/*
 * Double fork + setsid. The grandchild waits until the first process has
 * exited (EOF on a pipe only that process holds open), then creates PATH and
 * writes its result to RESULT. The first process prints "parent-exit".
 */
static int op_daemon(char **a, int n) {
  (void)n;
  const char *path = drv_path(a[0]);
  const char *result = drv_path(a[1]);
  int p[2];
  if (pipe(p) < 0) drv_setup_fail("pipe", NULL);
  fflush(stdout);
  pid_t mid = fork();
  if (mid < 0) drv_setup_fail("fork", NULL);
  if (mid == 0) {
    setsid();
    if (fork() != 0) _exit(0);
    close(p[1]);
    char c;
    while (read(p[0], &c, 1) > 0) {
    }
    int err = try_create(path);
    char line[64];
    int len = snprintf(line, sizeof line, "%s %s\n", err ? "err" : "ok", err ? drv_errname(err) : "");
    if (!err) len = snprintf(line, sizeof line, "ok\n");
    int fd = open(result, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      if (write(fd, line, (size_t)len) != len) _exit(1);
      close(fd);
    }
    _exit(0);
  }
  close(p[0]);
  waitpid(mid, NULL, 0);
  printf("parent-exit\n");
  return 0;
}

static int op_exit(char **a, int n) {
  (void)n;
  syscall(SYS_exit_group, drv_num(a[0]));
  return 0;
}

static int op_signal(char **a, int n) {
  (void)n;
  int sig = (int)drv_num(a[0]);
  signal(sig, SIG_DFL);
  syscall(SYS_kill, getpid(), sig);
  for (;;) pause();
  return 0;
}

static const struct drv_op ops[] = {
    {"creat", 1, "PATH", op_creat},
    {"tree", 3, "PREFIX DEPTH WIDTH", op_tree},
    {"tree_late", 3, "PREFIX DEPTH WIDTH", op_tree_late},
    {"kill_children", 2, "COUNT SEED", op_kill_children},
    {"threads", 2, "PREFIX COUNT", op_threads},
    {"vfork_exec", 1, "PATH", op_vfork_exec},
    {"exec_thread", 1, "PATH", op_exec_thread},
    {"daemon", 2, "PATH RESULT", op_daemon},
    {"exit", 1, "CODE", op_exit},
    {"signal", 1, "SIGNO", op_signal},
    {0, 0, 0, 0},
};

int main(int argc, char **argv) { return drv_main(ops, argc, argv); }
