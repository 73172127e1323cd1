/*
 * Whether each directory has one identity (st_dev, st_ino) whichever way it
 * is asked, as tools that walk trees (fts: find, du, chmod -R, rm -r) check:
 *   dirid DIR...
 * For each DIR the reference is stat(DIR); it is compared with lstat,
 * newfstatat and statx by name, with fstat, newfstatat(AT_EMPTY_PATH) and
 * statx(AT_EMPTY_PATH) of an fd opened on DIR, with stat(DIR/SUB/..) and
 * fstat(openat(DIR/SUB, "..")) for each subdirectory SUB, and with stat of
 * DIR/. Prints one line per DIR: "DIR same N" (N comparisons made) or
 * "DIR differs CALL", the first call that disagreed. Raw system calls.
 */
#include "drv.h"

#include <dirent.h>
#include <sys/sysmacros.h>

struct id {
  unsigned long long dev, ino;
};

static struct id of_stat(const struct stat *st) { return (struct id){(unsigned long long)st->st_dev, st->st_ino}; }

static struct id of_statx(const struct statx *sx) {
  return (struct id){(unsigned long long)makedev(sx->stx_dev_major, sx->stx_dev_minor), sx->stx_ino};
}

static int check(const char *dir) {
  struct stat st;
  struct statx sx;
  char path[4096];
  if (syscall(SYS_stat, dir, &st) < 0) drv_setup_fail("stat", dir);
  struct id ref = of_stat(&st);
  int n = 0;
  const char *bad = NULL;
#define SAME(call, idv)                                                           \
  do {                                                                            \
    struct id got_ = (idv);                                                       \
    n++;                                                                          \
    if (!bad && (got_.dev != ref.dev || got_.ino != ref.ino)) bad = (call);       \
  } while (0)
  if (syscall(SYS_lstat, dir, &st) < 0) drv_setup_fail("lstat", dir);
  SAME("lstat", of_stat(&st));
  if (syscall(SYS_newfstatat, AT_FDCWD, dir, &st, 0) < 0) drv_setup_fail("newfstatat", dir);
  SAME("newfstatat", of_stat(&st));
  if (syscall(SYS_statx, AT_FDCWD, dir, 0, STATX_INO, &sx) < 0) drv_setup_fail("statx", dir);
  SAME("statx", of_statx(&sx));
  snprintf(path, sizeof path, "%s/.", dir);
  if (syscall(SYS_stat, path, &st) < 0) drv_setup_fail("stat", path);
  SAME("stat(DIR/.)", of_stat(&st));
  int fd = (int)syscall(SYS_openat, AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) drv_setup_fail("open", dir);
  if (syscall(SYS_fstat, fd, &st) < 0) drv_setup_fail("fstat", dir);
  SAME("fstat", of_stat(&st));
  if (syscall(SYS_newfstatat, fd, "", &st, AT_EMPTY_PATH) < 0) drv_setup_fail("newfstatat(AT_EMPTY_PATH)", dir);
  SAME("newfstatat(AT_EMPTY_PATH)", of_stat(&st));
  if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_INO, &sx) < 0) drv_setup_fail("statx(AT_EMPTY_PATH)", dir);
  SAME("statx(AT_EMPTY_PATH)", of_statx(&sx));
  if (syscall(SYS_newfstatat, fd, ".", &st, 0) < 0) drv_setup_fail("newfstatat(fd, .)", dir);
  SAME("newfstatat(fd, .)", of_stat(&st));
  DIR *d = fdopendir(dup(fd));
  if (!d) drv_setup_fail("fdopendir", dir);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    struct stat sub;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (syscall(SYS_lstat, path, &sub) < 0 || !S_ISDIR(sub.st_mode)) continue;
    snprintf(path, sizeof path, "%s/%s/..", dir, e->d_name);
    if (syscall(SYS_stat, path, &st) < 0) drv_setup_fail("stat", path);
    SAME("stat(DIR/SUB/..)", of_stat(&st));
    int sfd = (int)syscall(SYS_openat, fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sfd < 0) drv_setup_fail("openat", e->d_name);
    int up = (int)syscall(SYS_openat, sfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (up < 0) drv_setup_fail("openat ..", e->d_name);
    if (syscall(SYS_fstat, up, &st) < 0) drv_setup_fail("fstat ..", e->d_name);
    SAME("fstat(openat(SUB, ..))", of_stat(&st));
    /* SUB itself: opened by its parent's fd or asked by name, one identity. */
    if (syscall(SYS_fstat, sfd, &st) < 0) drv_setup_fail("fstat", e->d_name);
    if (st.st_dev != sub.st_dev || st.st_ino != sub.st_ino) {
      n++;
      if (!bad) bad = "fstat(openat(DIR, SUB))";
    }
    close(up);
    close(sfd);
  }
  closedir(d);
  close(fd);
  if (bad) {
    printf("%s differs %s\n", dir, bad);
  } else {
    printf("%s same %d\n", dir, n);
  }
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) {
    fprintf(stderr, "usage: dirid DIR...\n");
    return 2;
  }
  for (int i = 1; i < argc; i++) check(argv[i]);
  return 0;
}
