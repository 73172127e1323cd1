/*
 * Shared by the test drivers. A driver is called as `DRIVER OP ARGS...`, makes
 * one raw system call (syscall(2) or inline asm) and prints one line:
 *   ok              the call returned >= 0
 *   err ENAME       the call failed with errno ENAME
 *   setup-err ...   something before the call under test failed (exit 2)
 * It exits 0 in both first cases, so the test reads the line, not the status.
 * On stderr it prints "pid N" first, so a test can match violations to it.
 *
 * Argument conventions shared by all drivers:
 *   FD     "cwd" (AT_FDCWD), "dir:PATH" (O_RDONLY|O_DIRECTORY), "path:PATH"
 *          (O_PATH|O_NOFOLLOW), "ro:PATH" (O_RDONLY), "rw:PATH" (O_RDWR),
 *          or a number. Opening it is setup, not the call under test.
 *   PATH   "NULL" is the null pointer; "{fd}" is replaced by the number of the
 *          last FD opened, "{pid}" by getpid().
 * When CATBOX_DRV_READY and CATBOX_DRV_GO are set, a driver that opened an FD
 * creates the READY file after opening it and waits until the GO file exists
 * (the test moves the file in between).
 */
#ifndef CATBOX_TEST_DRV_H
#define CATBOX_TEST_DRV_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct drv_op {
  const char *name;
  int nargs; /* minimum number of arguments after OP */
  const char *usage;
  int (*fn)(char **args, int nargs);
};

static int drv_last_fd = -1;

static inline const char *drv_errname(int e) {
  static char buf[32];
  const char *name = strerrorname_np(e);
  if (name) return name;
  snprintf(buf, sizeof buf, "E%d", e);
  return buf;
}

/* Print the outcome of a syscall(2)-style call (-1 and errno on failure). */
static inline int drv_report(long rc) {
  if (rc == -1) {
    printf("err %s\n", drv_errname(errno));
  } else {
    printf("ok\n");
  }
  return 0;
}

/* Same, for a raw result that carries -errno itself (inline asm). */
static inline int drv_report_raw(long rc) {
  if (rc < 0 && rc > -4096) {
    printf("err %s\n", drv_errname((int)-rc));
  } else {
    printf("ok\n");
  }
  return 0;
}

static inline void drv_setup_fail(const char *what, const char *arg) {
  printf("setup-err %s %s %s\n", what, arg ? arg : "", drv_errname(errno));
  fflush(stdout);
  exit(2);
}

static inline long drv_num(const char *s) {
  char *end;
  long v = strtol(s, &end, 0);
  if (*s == 0 || *end != 0) {
    errno = EINVAL;
    drv_setup_fail("bad-number", s);
  }
  return v;
}

static inline long drv_octal(const char *s) {
  char *end;
  long v = strtol(s, &end, 8);
  if (*s == 0 || *end != 0) {
    errno = EINVAL;
    drv_setup_fail("bad-mode", s);
  }
  return v;
}

static inline void drv_sync(void) {
  const char *ready = getenv("CATBOX_DRV_READY");
  const char *go = getenv("CATBOX_DRV_GO");
  if (!ready || !go) return;
  int fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) drv_setup_fail("ready", ready);
  close(fd);
  struct stat st;
  for (int i = 0; i < 60000; i++) { /* at most about 60 s */
    if (stat(go, &st) == 0) return;
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  errno = ETIMEDOUT;
  drv_setup_fail("go", go);
}

/* Replace "{fd}" and "{pid}"; "NULL" is the null pointer. */
static inline const char *drv_path(const char *s) {
  if (strcmp(s, "NULL") == 0) return NULL;
  if (!strchr(s, '{')) return s;
  static char bufs[4][4096];
  static int which;
  char *out = bufs[which++ % 4];
  size_t n = 0;
  while (*s && n < 4000) {
    if (strncmp(s, "{fd}", 4) == 0) {
      n += (size_t)snprintf(out + n, 4096 - n, "%d", drv_last_fd);
      s += 4;
    } else if (strncmp(s, "{pid}", 5) == 0) {
      n += (size_t)snprintf(out + n, 4096 - n, "%d", (int)getpid());
      s += 5;
    } else {
      out[n++] = *s++;
    }
  }
  out[n] = 0;
  return out;
}

static inline int drv_fd(const char *spec) {
  static const struct {
    const char *prefix;
    int flags;
  } kinds[] = {
      {"dir:", O_RDONLY | O_DIRECTORY},
      {"path:", O_PATH | O_NOFOLLOW},
      {"ro:", O_RDONLY},
      {"rw:", O_RDWR},
  };
  if (strcmp(spec, "cwd") == 0) return AT_FDCWD;
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    size_t len = strlen(kinds[i].prefix);
    if (strncmp(spec, kinds[i].prefix, len) == 0) {
      int fd = open(drv_path(spec + len), kinds[i].flags);
      if (fd < 0) drv_setup_fail("open-fd", spec);
      drv_last_fd = fd;
      drv_sync();
      return fd;
    }
  }
  return (int)drv_num(spec);
}

struct drv_flag {
  const char *name;
  int value;
};

/* Names from `names` joined with "|" -> their values or'ed; an unknown name is a setup failure. */
static inline int drv_flags_of(const char *s, const struct drv_flag *names, size_t count) {
  int flags = 0;
  char copy[256];
  snprintf(copy, sizeof copy, "%s", s);
  for (char *tok = strtok(copy, "|"); tok; tok = strtok(NULL, "|")) {
    size_t i;
    for (i = 0; i < count; i++) {
      if (strcmp(tok, names[i].name) == 0) break;
    }
    if (i == count) {
      errno = EINVAL;
      drv_setup_fail("bad-flag", tok);
    }
    flags |= names[i].value;
  }
  return flags;
}

static inline int drv_oflags(const char *s) {
  static const struct drv_flag names[] = {
      {"O_RDONLY", O_RDONLY},       {"O_WRONLY", O_WRONLY},     {"O_RDWR", O_RDWR},
      {"O_CREAT", O_CREAT},         {"O_EXCL", O_EXCL},         {"O_TRUNC", O_TRUNC},
      {"O_APPEND", O_APPEND},       {"O_NOFOLLOW", O_NOFOLLOW}, {"O_DIRECTORY", O_DIRECTORY},
      {"O_PATH", O_PATH},           {"O_TMPFILE", O_TMPFILE},   {"O_CLOEXEC", O_CLOEXEC},
      {"O_NONBLOCK", O_NONBLOCK},
  };
  return drv_flags_of(s, names, sizeof names / sizeof names[0]);
}

/* AT_* flags: "0" or names joined with "|". */
static inline int drv_atflags(const char *s) {
  static const struct drv_flag names[] = {
      {"0", 0},
      {"AT_SYMLINK_NOFOLLOW", AT_SYMLINK_NOFOLLOW},
      {"AT_SYMLINK_FOLLOW", AT_SYMLINK_FOLLOW},
      {"AT_EMPTY_PATH", AT_EMPTY_PATH},
      {"AT_REMOVEDIR", AT_REMOVEDIR},
  };
  return drv_flags_of(s, names, sizeof names / sizeof names[0]);
}

static inline int drv_main(const struct drv_op *ops, int argc, char **argv) {
  fprintf(stderr, "pid %d\n", (int)getpid());
  /* "withfd FD OP ARGS..." opens FD first, so "{fd}" can be used in OP's paths. */
  while (argc >= 3 && strcmp(argv[1], "withfd") == 0) {
    drv_fd(argv[2]);
    argv += 2;
    argc -= 2;
  }
  if (argc >= 2) {
    for (const struct drv_op *op = ops; op->name; op++) {
      if (strcmp(argv[1], op->name) != 0) continue;
      if (argc - 2 < op->nargs) break;
      int rc = op->fn(argv + 2, argc - 2);
      fflush(stdout);
      return rc;
    }
  }
  fprintf(stderr, "usage: %s [withfd FD] OP ARGS...\n", argv[0]);
  for (const struct drv_op *op = ops; op->name; op++) {
    fprintf(stderr, "  %s %s\n", op->name, op->usage);
  }
  return 64;
}

#endif
