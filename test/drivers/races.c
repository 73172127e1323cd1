/*
 * Races against a check made before the kernel carries out a call (issue 13).
 * Each OP runs TRIES tries of one attack: thread A makes the call under test
 * with raw system calls, thread B keeps changing what the call will find, and
 * after each try A looks at where the write went. It prints one line:
 *   wins W allowed A denied D other O [swaps S]
 *   wins     the try's marker reached the forbidden target (read back through
 *            a descriptor opened on it before the race, or by its existence)
 *   allowed  the try's marker reached the allowed target
 *   denied   the call failed with EACCES, EPERM or EROFS
 *   other    anything else (ENOENT from a path read half-swapped, ELOOP...)
 *   swaps    how many swaps thread B made (renameat2 forms)
 * Each try writes its own marker ("race PID TRY"), so a write from an earlier
 * try is never counted again.
 *
 * "self-check" as the last argument makes the driver its own supervisor, of
 * the shape catbox has today: before B starts, it installs a seccomp filter
 * that sends A's and B's openat, mkdirat and renameat2 to a checker thread by
 * user notification, which answers them one at a time. The checker copies
 * the path, judges the copy (the path's prefix, or the object it leads to
 * now) and answers EACCES or CONTINUE, and then the kernel reads the live
 * path again. Run without catbox, this is the
 * bare control: it shows that such a checker loses the race at this number
 * of tries. (Under catbox the filter could not be installed: catbox refuses
 * a listener.)
 *
 * Ops:
 *   path-open TRIES ALLOWED FORBIDDEN [self-check]
 *       A opens a buffer holding ALLOWED with openat(O_WRONLY|O_CREAT|O_TRUNC)
 *       and writes its marker; during the call B rewrites the buffer to
 *       FORBIDDEN (the same length), and back after. Both files must exist
 *       (the forbidden one is read through a descriptor).
 *   path-mkdir TRIES ALLOWED_DIR FORBIDDEN_DIR [self-check]
 *       The same with mkdirat of DIR/dNNNNNN (a new name per try): B flips
 *       the directory part only.
 *   link-open TRIES DIR FORBIDDEN [self-check]
 *       In DIR (made if missing), x is a regular file and y a symbolic link
 *       to FORBIDDEN (an existing file); B swaps them with
 *       renameat2(RENAME_EXCHANGE); A opens DIR/x for writing.
 *   dir-open TRIES DIR FORBIDDEN_DIR [self-check]
 *       In DIR, sub is a directory holding f and lnk a symbolic link to
 *       FORBIDDEN_DIR (which holds an existing file f); B swaps sub and lnk;
 *       A opens DIR/sub/f for writing.
 *   scratch-open TRIES PATH FORBIDDEN LEN [self-check]
 *       A opens PATH for writing on a stack of its own, so its stack pointer
 *       is known; B keeps writing FORBIDDEN where a supervisor that puts a
 *       translated path of length LEN below the stack pointer (past the
 *       128-byte red zone, 16-byte aligned) puts it. With self-check, A
 *       passes that place, and the checker writes PATH there, as such a
 *       supervisor does.
 */
#include "drv.h"

#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>

#define MAXP 4096

static atomic_int stop;
static atomic_long swaps;

struct tally {
  long wins, allowed, denied, other;
};

static void report(const struct tally *t, int with_swaps) {
  printf("wins %ld allowed %ld denied %ld other %ld", t->wins, t->allowed, t->denied, t->other);
  if (with_swaps) printf(" swaps %ld", atomic_load(&swaps));
  printf("\n");
}

static int self_check(char **args, int nargs, int at) {
  if (nargs <= at) return 0;
  if (strcmp(args[at], "self-check") == 0) return 1;
  errno = EINVAL;
  drv_setup_fail("bad-mode", args[at]);
  return 0;
}

static void marker(char *m, size_t size, long i) { snprintf(m, size, "race %d %ld\n", (int)getpid(), i); }

/* Does the file behind fd now hold exactly marker m? */
static int fd_has(int fd, const char *m) {
  char buf[256];
  ssize_t n = pread(fd, buf, sizeof buf, 0);
  return n == (ssize_t)strlen(m) && memcmp(buf, m, (size_t)n) == 0;
}

/* Does the file at path (followed) now hold exactly marker m? */
static int path_has(const char *path, const char *m) {
  int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  int has = fd_has(fd, m);
  close(fd);
  return has;
}

static int open_ro(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) drv_setup_fail("open", path);
  return fd;
}

/*
 * One try: rc is what the call returned (-1 and err when it failed),
 * won and mine whether the try's marker is in the forbidden target and in
 * the allowed one. Every try reads both, refused or not, so that a refused
 * try takes about as long as another and B's states are sampled evenly.
 */
static void count(struct tally *t, long rc, int err, int won, int mine) {
  if (won)
    t->wins++;
  else if (rc >= 0 && mine)
    t->allowed++;
  else if (rc < 0 && (err == EACCES || err == EPERM || err == EROFS))
    t->denied++;
  else
    t->other++;
}

/* ---- the self-check: a supervisor thread answering user notifications ---- */

enum check_kind { CHECK_PREFIX, CHECK_INSIDE, CHECK_SCRATCH };
static struct {
  enum check_kind kind;
  const char *allowed; /* CHECK_PREFIX: the allowed path or directory; CHECK_SCRATCH: the path asked for */
  size_t len;          /* CHECK_PREFIX: how much of it to compare */
  const char *dir;     /* CHECK_INSIDE: where writes may land */
  char *slot;          /* CHECK_SCRATCH: where the translated path goes */
  atomic_int listener;
} checker;

static int resolves_inside(const char *path, const char *dir);

/* The checker's decision on a copy of the path: 1 to let the call through. */
static int judge(const char *copy, long nr, long flags) {
  if (nr == SYS_renameat2) return 1; /* B's exchanges, inside the allowed directory */
  int writes = nr == SYS_mkdirat || (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC));
  if (!writes) return 1;
  switch (checker.kind) {
    case CHECK_PREFIX: return strncmp(copy, checker.allowed, checker.len) == 0;
    case CHECK_INSIDE: return resolves_inside(copy, checker.dir);
    case CHECK_SCRATCH:
      /* The path asked for, translated (here: as is), put where the kernel
       * will read it instead: below the caller's stack pointer. */
      memcpy(checker.slot, checker.allowed, strlen(checker.allowed) + 1);
      return 1;
  }
  return 0;
}

static void *checker_main(void *unused) {
  (void)unused;
  int fd;
  while ((fd = atomic_load(&checker.listener)) < 0) sched_yield();
  for (;;) {
    struct seccomp_notif req;
    memset(&req, 0, sizeof req);
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
      if (errno == EINTR || errno == ENOENT) continue;
      return NULL;
    }
    /* The copy: the same address space, read once, as a supervisor reads it. */
    char copy[MAXP];
    const volatile char *from = (const volatile char *)(uintptr_t)req.data.args[1];
    size_t n = 0;
    while (n < MAXP - 1 && (copy[n] = from[n]) != 0) n++;
    copy[n] = 0;
    struct seccomp_notif_resp resp;
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    if (judge(copy, req.data.nr, req.data.nr == SYS_openat ? (long)req.data.args[2] : 0))
      resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    else
      resp.error = -EACCES;
    ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
  }
}

/* Starts the checker thread, then filters this thread and those it starts from now on. */
static void start_checker(void) {
  atomic_store(&checker.listener, -1);
  pthread_t th;
  if (pthread_create(&th, NULL, checker_main, NULL) != 0) drv_setup_fail("pthread_create", "checker");
  struct sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 3, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mkdirat, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_renameat2, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
  };
  struct sock_fprog prog = {sizeof code / sizeof code[0], code};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) drv_setup_fail("no_new_privs", "");
  long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
  if (fd < 0) drv_setup_fail("seccomp", "listener");
  atomic_store(&checker.listener, (int)fd);
}

/* Writes the marker to fd and closes it. */
static void put_marker(int fd, const char *m) {
  if (write(fd, m, strlen(m)) < 0) drv_setup_fail("write", m);
  close(fd);
}

/*
 * How B times its changes. The path flipper is told by A when A enters the
 * call under test (in_call); it waits a random while, from nothing to some
 * 60 microseconds with every scale about as likely, makes its change, waits
 * for the call to return and changes back, and only then may A start its
 * next try. A change that comes before the check is refused, one after the
 * kernel's own lookup does nothing; one in between wins. Whatever the
 * window's place and length, some of B's changes fall inside it; and B runs
 * while A waits for its answer, even when the two share one CPU. (A flipper
 * that never stops leaves torn strings, and where it shares a CPU with A,
 * A's tries all see whatever state B was left in.)
 *
 * The swapper exchanges the two names all the time, with short random
 * pauses (0-63 turns of a loop). Each exchange is a system call, which a
 * supervisor checks too: so one of B's exchanges is often being carried out
 * by the kernel while the supervisor looks at A's path.
 */
static atomic_int in_call, changed;

static void dwell(uint64_t *state, unsigned scales) {
  uint64_t x = *state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *state = x;
  uint64_t n = (x >> 8) & ((UINT64_C(1) << (x % scales)) - 1);
  for (volatile uint64_t j = 0; j < n; j++) {
  }
}

/* B: waits for A's next call; 0 once A is done. */
static int b_wait_call(void) {
  while (!atomic_load(&in_call)) {
    if (atomic_load(&stop)) return 0;
    sched_yield();
  }
  return 1;
}

static void b_wait_return(void) {
  while (atomic_load(&in_call)) sched_yield();
}

/* A: around the call under test. */
static void a_enter(void) {
  while (atomic_load(&changed)) sched_yield();
  atomic_store(&in_call, 1);
}

static void a_return(void) { atomic_store(&in_call, 0); }

/* ---- the path swap: B flips bytes [lo, hi) of buf between two strings ---- */

static char flip_buf[MAXP];
static struct {
  char alt[2][MAXP];
  size_t lo, hi;
} flip;

static void *flipper(void *unused) {
  (void)unused;
  uint64_t state = (uint64_t)getpid() * 2654435761u + 1;
  while (b_wait_call()) {
    dwell(&state, 17);
    atomic_store(&changed, 1);
    memcpy(flip_buf + flip.lo, flip.alt[1] + flip.lo, flip.hi - flip.lo);
    __asm__ volatile("" ::: "memory");
    b_wait_return();
    memcpy(flip_buf + flip.lo, flip.alt[0] + flip.lo, flip.hi - flip.lo);
    atomic_store(&changed, 0);
  }
  return NULL;
}

/* Sets up the flip of prefix a <-> b (same length) and starts B. */
static pthread_t start_flipper(const char *a, const char *b) {
  size_t len = strlen(a);
  if (strlen(b) != len || len + 16 >= MAXP) {
    errno = EINVAL;
    drv_setup_fail("lengths", b);
  }
  snprintf(flip.alt[0], MAXP, "%s", a);
  snprintf(flip.alt[1], MAXP, "%s", b);
  size_t lo = 0, hi = len;
  while (lo < len && a[lo] == b[lo]) lo++;
  while (hi > lo && a[hi - 1] == b[hi - 1]) hi--;
  if (lo == hi) {
    errno = EINVAL;
    drv_setup_fail("same-paths", b);
  }
  flip.lo = lo;
  flip.hi = hi;
  snprintf(flip_buf, MAXP, "%s", a);
  pthread_t th;
  if (pthread_create(&th, NULL, flipper, NULL) != 0) drv_setup_fail("pthread_create", "");
  return th;
}

/* The self-check of a path swap: the path starts with the allowed prefix (len bytes). */
static void check_prefix(int self, const char *allowed, size_t len) {
  if (!self) return;
  checker.kind = CHECK_PREFIX;
  checker.allowed = allowed;
  checker.len = len;
  start_checker();
}

static int op_path_open(char **args, int nargs) {
  long tries = drv_num(args[0]);
  const char *allowed = args[1], *forbidden = args[2];
  int self = self_check(args, nargs, 3);
  int target = open_ro(forbidden);
  struct tally t = {0};
  check_prefix(self, allowed, strlen(allowed) + 1);
  pthread_t th = start_flipper(allowed, forbidden);
  for (long i = 0; i < tries; i++) {
    char m[64];
    marker(m, sizeof m, i);
    a_enter();
    long fd = syscall(SYS_openat, AT_FDCWD, flip_buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err = errno;
    a_return();
    if (fd >= 0) put_marker((int)fd, m);
    int won = fd_has(target, m), mine = path_has(allowed, m);
    count(&t, fd, err, won, mine);
  }
  atomic_store(&stop, 1);
  pthread_join(th, NULL);
  report(&t, 0);
  return 0;
}

static int exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

static int op_path_mkdir(char **args, int nargs) {
  long tries = drv_num(args[0]);
  const char *allowed = args[1], *forbidden = args[2];
  int self = self_check(args, nargs, 3);
  struct tally t = {0};
  size_t len = strlen(allowed);
  check_prefix(self, allowed, len);
  pthread_t th = start_flipper(allowed, forbidden);
  for (long i = 0; i < tries; i++) {
    char name[32], in_allowed[MAXP], in_forbidden[MAXP];
    snprintf(name, sizeof name, "/d%06ld", i);
    /* B writes only the bytes that differ, inside the directory part. */
    memcpy(flip_buf + len, name, strlen(name) + 1);
    snprintf(in_allowed, sizeof in_allowed, "%s%s", allowed, name);
    snprintf(in_forbidden, sizeof in_forbidden, "%s%s", forbidden, name);
    a_enter();
    long rc = syscall(SYS_mkdirat, AT_FDCWD, flip_buf, 0755);
    int err = errno;
    a_return();
    int won = exists(in_forbidden), mine = exists(in_allowed);
    count(&t, rc, err, won, mine);
  }
  atomic_store(&stop, 1);
  pthread_join(th, NULL);
  report(&t, 0);
  return 0;
}

/* ---- the symlink swap: B exchanges two names of one directory ---- */

static char swap_a[MAXP], swap_b[MAXP];

static long exchange(void) {
  long rc = syscall(SYS_renameat2, AT_FDCWD, swap_a, AT_FDCWD, swap_b, RENAME_EXCHANGE);
  if (rc == 0) atomic_fetch_add(&swaps, 1);
  return rc;
}

static void *swapper(void *unused) {
  (void)unused;
  uint64_t state = (uint64_t)getpid() * 2654435761u + 1;
  while (!atomic_load(&stop)) {
    exchange();
    dwell(&state, 7);
  }
  return NULL;
}

/* Is the path's target, as it resolves now, inside dir? */
static int resolves_inside(const char *path, const char *dir) {
  char real[PATH_MAX], rdir[PATH_MAX];
  if (!realpath(path, real) || !realpath(dir, rdir)) return 0;
  size_t n = strlen(rdir);
  return strncmp(real, rdir, n) == 0 && real[n] == '/';
}

static void make_dir(const char *path) {
  if (mkdir(path, 0755) < 0 && errno != EEXIST) drv_setup_fail("mkdir", path);
}

static int make_file(const char *path) {
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) drv_setup_fail("create", path);
  return fd;
}

static void make_link(const char *target, const char *path) {
  if (symlink(target, path) < 0) drv_setup_fail("symlink", path);
}

/* A opens path for writing TRIES times while B swaps swap_a and swap_b;
 * target: a descriptor on the forbidden file, mine: one on the allowed one. */
static int swap_race(long tries, const char *path, const char *dir, int target, int mine, int self) {
  struct tally t = {0};
  if (self) {
    checker.kind = CHECK_INSIDE;
    checker.dir = dir;
    start_checker();
  }
  pthread_t th;
  if (pthread_create(&th, NULL, swapper, NULL) != 0) drv_setup_fail("pthread_create", "");
  for (long i = 0; i < tries; i++) {
    char m[64];
    marker(m, sizeof m, i);
    long fd = syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err = errno;
    if (fd >= 0) put_marker((int)fd, m);
    int won = fd_has(target, m), ours = fd_has(mine, m);
    count(&t, fd, err, won, ours);
  }
  atomic_store(&stop, 1);
  pthread_join(th, NULL);
  report(&t, 1);
  return 0;
}

static int op_link_open(char **args, int nargs) {
  long tries = drv_num(args[0]);
  const char *dir = args[1], *forbidden = args[2];
  int self = self_check(args, nargs, 3);
  int target = open_ro(forbidden);
  make_dir(dir);
  snprintf(swap_a, MAXP, "%s/x", dir);
  snprintf(swap_b, MAXP, "%s/y", dir);
  int mine = make_file(swap_a);
  make_link(forbidden, swap_b);
  return swap_race(tries, swap_a, dir, target, mine, self);
}

static int op_dir_open(char **args, int nargs) {
  long tries = drv_num(args[0]);
  const char *dir = args[1], *forbidden = args[2];
  int self = self_check(args, nargs, 3);
  char victim[MAXP], path[MAXP + 8];
  snprintf(victim, MAXP, "%s/f", forbidden);
  int target = open_ro(victim);
  make_dir(dir);
  snprintf(swap_a, MAXP, "%s/sub", dir);
  snprintf(swap_b, MAXP, "%s/lnk", dir);
  make_dir(swap_a);
  snprintf(path, sizeof path, "%s/f", swap_a);
  int mine = make_file(path);
  make_link(forbidden, swap_b);
  return swap_race(tries, path, dir, target, mine, self);
}

/* ---- the scratch swap: B writes where a supervisor's translated path goes ---- */

static char stack_area[1 << 16] __attribute__((aligned(16)));
static char *slot;
static char scratch_forbidden[MAXP];

static void *scribbler(void *unused) {
  (void)unused;
  size_t n = strlen(scratch_forbidden) + 1;
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    memcpy(slot, scratch_forbidden, n);
    __asm__ volatile("" ::: "memory");
  }
  return NULL;
}

/* openat(AT_FDCWD, path, flags, mode) with the stack pointer at top. */
static long openat_on_stack(void *top, const char *path, long flags, long mode) {
  long ret;
  register long r10 __asm__("r10") = mode;
  __asm__ volatile(
      "mov %%rsp, %%r12\n\t"
      "mov %[top], %%rsp\n\t"
      "syscall\n\t"
      "mov %%r12, %%rsp"
      : "=a"(ret)
      : "0"((long)SYS_openat), "D"((long)AT_FDCWD), "S"(path), "d"(flags), "r"(r10), [top] "r"(top)
      : "rcx", "r11", "r12", "memory");
  return ret;
}

static int op_scratch_open(char **args, int nargs) {
  long tries = drv_num(args[0]);
  const char *path = args[1], *forbidden = args[2];
  long len = drv_num(args[3]);
  int self = self_check(args, nargs, 4);
  if (len <= 0 || len >= MAXP || strlen(forbidden) >= MAXP || strlen(path) >= MAXP) {
    errno = EINVAL;
    drv_setup_fail("lengths", args[3]);
  }
  int target = open_ro(forbidden);
  snprintf(scratch_forbidden, MAXP, "%s", forbidden);
  char *top = stack_area + sizeof stack_area;
  slot = (char *)(((uintptr_t)top - 128 - (uintptr_t)(len + 1)) & ~(uintptr_t)15);
  struct tally t = {0};
  if (self) {
    checker.kind = CHECK_SCRATCH;
    checker.allowed = path;
    checker.slot = slot;
    start_checker();
  }
  pthread_t th;
  if (pthread_create(&th, NULL, scribbler, NULL) != 0) drv_setup_fail("pthread_create", "");
  for (long i = 0; i < tries; i++) {
    char m[64];
    marker(m, sizeof m, i);
    /* Self-checked, the argument already points where the checker puts its
     * translation; under a supervisor, at the path, which it translates. */
    long fd = openat_on_stack(top, self ? slot : path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err = fd < 0 ? (int)-fd : 0;
    if (fd >= 0) put_marker((int)fd, m);
    int won = fd_has(target, m), mine = path_has(path, m);
    count(&t, fd, err, won, mine);
  }
  atomic_store(&stop, 1);
  pthread_join(th, NULL);
  report(&t, 0);
  return 0;
}

static const struct drv_op ops[] = {
    {"path-open", 3, "TRIES ALLOWED FORBIDDEN [self-check]", op_path_open},
    {"path-mkdir", 3, "TRIES ALLOWED_DIR FORBIDDEN_DIR [self-check]", op_path_mkdir},
    {"link-open", 3, "TRIES DIR FORBIDDEN [self-check]", op_link_open},
    {"dir-open", 3, "TRIES DIR FORBIDDEN_DIR [self-check]", op_dir_open},
    {"scratch-open", 4, "TRIES PATH FORBIDDEN LEN [self-check]", op_scratch_open},
    {NULL, 0, NULL, NULL},
};

int main(int argc, char **argv) { return drv_main(ops, argc, argv); }
