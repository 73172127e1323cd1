/*
 * Races on the build's fd table (the review of issue 13): thread B keeps
 * dup2()ing fd 9 between a descriptor of an allowed object and one of a
 * forbidden object, while thread A makes a call that names fd 9 through
 * /proc/self/fd/9. Unlike a symlink swap, a dup2 is no checked call, so B
 * never waits for catbox. Prints "wins W allowed A denied D other O": a win
 * is a try whose call reached the forbidden object.
 *
 *   reopen TRIES FORBIDDEN_FILE ALLOWED_FILE
 *       9 is FORBIDDEN_FILE opened read-only, or ALLOWED_FILE opened for
 *       writing; A opens /proc/self/fd/9 for writing (reopening an fd open
 *       for writing is no new write), and writes its marker when it got the
 *       forbidden file.
 *   unlinked TRIES FORBIDDEN_FILE ALLOWED_DIR
 *       The same, where 9 is FORBIDDEN_FILE opened read-only (its name ends
 *       in " (deleted)") or a file made in ALLOWED_DIR and unlinked there: an
 *       object with no name left, which a build may write.
 *   slash TRIES FORBIDDEN_DIR ALLOWED_DIR
 *       9 is either directory; A sets the times of "/proc/self/fd/9/" with
 *       AT_SYMLINK_NOFOLLOW (the trailing slash makes the kernel follow fd 9
 *       all the same) to a time of its own per try; a win is the forbidden
 *       directory showing that time.
 */
#include "drv.h"

#include <pthread.h>
#include <stdatomic.h>

static int fd_a, fd_b;
static atomic_int stop;

static void *swapper(void *arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    dup2(fd_a, 9);
    dup2(fd_b, 9);
  }
  return NULL;
}

static void start(pthread_t *th) {
  dup2(fd_b, 9);
  if (pthread_create(th, NULL, swapper, NULL) != 0) drv_setup_fail("pthread_create", "");
}

static void finish(pthread_t th, long tries, int wins, int allowed, int denied) {
  atomic_store(&stop, 1);
  pthread_join(th, NULL);
  printf("wins %d allowed %d denied %d other %ld\n", wins, allowed, denied, tries - wins - allowed - denied);
}

static int reopen(char **a, int unlinked) {
  long tries = drv_num(a[0]);
  fd_a = open(a[1], O_RDONLY);
  if (unlinked) {
    char name[4096];
    snprintf(name, sizeof name, "%s/unlinked", a[2]);
    fd_b = open(name, O_RDWR | O_CREAT | O_EXCL, 0644);
    if (fd_b >= 0 && unlink(name) < 0) drv_setup_fail("unlink", name);
  } else {
    fd_b = open(a[2], O_WRONLY);
  }
  if (fd_a < 0 || fd_b < 0) drv_setup_fail("open", a[1]);
  struct stat forbidden;
  fstat(fd_a, &forbidden);
  pthread_t th;
  start(&th);
  int wins = 0, allowed = 0, denied = 0;
  for (long i = 0; i < tries; i++) {
    int fd = open("/proc/self/fd/9", O_WRONLY);
    if (fd < 0) {
      if (errno == EACCES || errno == EPERM) denied++;
      continue;
    }
    struct stat st;
    fstat(fd, &st);
    if (st.st_dev == forbidden.st_dev && st.st_ino == forbidden.st_ino) {
      char m[64];
      int len = snprintf(m, sizeof m, "race %d %ld\n", (int)getpid(), i);
      lseek(fd, 0, SEEK_END);
      if (write(fd, m, (size_t)len) != len) drv_setup_fail("write", a[1]);
      wins++;
    } else {
      allowed++;
    }
    close(fd);
  }
  finish(th, tries, wins, allowed, denied);
  return 0;
}

static int op_reopen(char **a, int n) {
  (void)n;
  return reopen(a, 0);
}

static int op_unlinked(char **a, int n) {
  (void)n;
  return reopen(a, 1);
}

static int op_slash(char **a, int n) {
  (void)n;
  long tries = drv_num(a[0]);
  fd_a = open(a[1], O_RDONLY | O_DIRECTORY);
  fd_b = open(a[2], O_RDONLY | O_DIRECTORY);
  if (fd_a < 0 || fd_b < 0) drv_setup_fail("open", a[1]);
  pthread_t th;
  start(&th);
  int wins = 0, allowed = 0, denied = 0;
  // Times no earlier run used: this run's pid picks them.
  const long base = 1000000000L + (long)getpid() * 100000L;
  for (long i = 0; i < tries; i++) {
    struct timespec ts[2] = {{base + i, 0}, {base + i, 0}};
    if (utimensat(AT_FDCWD, "/proc/self/fd/9/", ts, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == EACCES || errno == EPERM) denied++;
      continue;
    }
    struct stat st;
    if (fstat(fd_a, &st) == 0 && st.st_mtime == base + i) {
      wins++;
    } else {
      allowed++;
    }
  }
  finish(th, tries, wins, allowed, denied);
  return 0;
}

static const struct drv_op ops[] = {
    {"reopen", 3, "TRIES FORBIDDEN_FILE ALLOWED_FILE", op_reopen},
    {"unlinked", 3, "TRIES FORBIDDEN_FILE ALLOWED_DIR", op_unlinked},
    {"slash", 3, "TRIES FORBIDDEN_DIR ALLOWED_DIR", op_slash},
    {NULL, 0, NULL, NULL},
};

int main(int argc, char **argv) { return drv_main(ops, argc, argv); }
