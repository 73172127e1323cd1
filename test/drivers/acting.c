/*
 * What a call carried out by the supervisor must keep as the kernel has it
 * (docs/supervisor.md, "What the supervisor carries out"). Each OP prints one
 * line describing the outcome; the test compares it with a bare run.
 *
 *   umask MASK PATH      umask(MASK), then open(PATH, O_CREAT|O_WRONLY, 0666)
 *                        and mkdir(PATH.d, 0777): "file MODE dir MODE"
 *   cloexec PATH         open(PATH) for writing with and without O_CLOEXEC:
 *                        "cloexec 1 plain 0"
 *   lowest PATH          opens /dev/null three times, closes the middle one,
 *                        opens PATH for writing: "same" when it got that slot
 *   emfile PATH          RLIMIT_NOFILE lowered to the fds in use, then an
 *                        open of PATH for writing: "err EMFILE"
 *   fifo PATH [nofollow] mkfifo PATH; a child opens it for reading after
 *                        100 ms, after making PATH.mark (a checked call that
 *                        must not wait behind the parent's open); the
 *                        parent's open for writing (O_NOFOLLOW too) waits
 *                        for it: "ok" and what the child read
 *   tty                  setsid(), then open("/dev/tty", O_WRONLY): the
 *                        process has no controlling terminal: "err ENXIO"
 *   asuser UID PATH      (root) setresgid/setresuid to UID, then creates PATH:
 *                        "owner UID:GID"
 *   dropthen UPATH RPATH (root) a child drops to uid 65534 and creates UPATH;
 *                        then the root parent creates RPATH (in a directory
 *                        only CAP_DAC_OVERRIDE lets it into): "ok"
 *   tmpfile DIR          open(DIR, O_TMPFILE|O_WRONLY, 0600), write, linkat
 *                        it as DIR/linked: "ok SIZE"
 */
#include "drv.h"

#include <grp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

static int op_umask(char **a, int n) {
  (void)n;
  umask((mode_t)drv_octal(a[0]));
  int fd = open(a[1], O_CREAT | O_WRONLY, 0666);
  if (fd < 0) return drv_report(-1);
  struct stat st, sd;
  fstat(fd, &st);
  char dir[4096];
  snprintf(dir, sizeof dir, "%s.d", a[1]);
  if (mkdir(dir, 0777) < 0 || stat(dir, &sd) < 0) return drv_report(-1);
  printf("file %o dir %o\n", st.st_mode & 07777, sd.st_mode & 07777);
  return 0;
}

static int op_cloexec(char **a, int n) {
  (void)n;
  int with = open(a[0], O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  int without = open(a[0], O_WRONLY);
  if (with < 0 || without < 0) return drv_report(-1);
  printf("cloexec %d plain %d\n", !!(fcntl(with, F_GETFD) & FD_CLOEXEC), !!(fcntl(without, F_GETFD) & FD_CLOEXEC));
  return 0;
}

static int op_lowest(char **a, int n) {
  (void)n;
  int x = open("/dev/null", O_RDONLY), y = open("/dev/null", O_RDONLY), z = open("/dev/null", O_RDONLY);
  if (x < 0 || y < 0 || z < 0) drv_setup_fail("open", "/dev/null");
  close(y);
  int fd = open(a[0], O_CREAT | O_WRONLY, 0644);
  if (fd < 0) return drv_report(-1);
  printf(fd == y ? "same\n" : "other %d (not %d)\n", fd, y);
  return 0;
}

static int op_emfile(char **a, int n) {
  (void)n;
  int top = open("/dev/null", O_RDONLY);
  if (top < 0) drv_setup_fail("open", "/dev/null");
  struct rlimit rl = {(rlim_t)top + 1, (rlim_t)top + 1};
  if (setrlimit(RLIMIT_NOFILE, &rl) < 0) drv_setup_fail("setrlimit", "");
  return drv_report(open(a[0], O_CREAT | O_WRONLY, 0644));
}

static int op_fifo(char **a, int n) {
  int extra = n > 1 && strcmp(a[1], "nofollow") == 0 ? O_NOFOLLOW : 0;
  if (mkfifo(a[0], 0600) < 0) drv_setup_fail("mkfifo", a[0]);
  pid_t child = fork();
  if (child == 0) {
    struct timespec ts = {0, 100000000};
    nanosleep(&ts, NULL);
    // A checked call first: it must not wait behind the writer's open.
    char mark[4096];
    snprintf(mark, sizeof mark, "%s.mark", a[0]);
    int m = open(mark, O_CREAT | O_WRONLY, 0644);
    if (m < 0) _exit(1);
    close(m);
    int fd = open(a[0], O_RDONLY);
    char buf[16] = {0};
    if (fd < 0 || read(fd, buf, sizeof buf - 1) < 0) _exit(1);
    _exit(strcmp(buf, "hi") == 0 ? 0 : 1);
  }
  int fd = open(a[0], O_WRONLY | extra);
  if (fd < 0) return drv_report(-1);
  if (write(fd, "hi", 2) != 2) drv_setup_fail("write", a[0]);
  close(fd);
  int st = 0;
  waitpid(child, &st, 0);
  printf("ok reader %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "got it" : "failed");
  return 0;
}

static int op_tty(char **a, int n) {
  (void)a;
  (void)n;
  pid_t child = fork();
  if (child == 0) {
    if (setsid() < 0) drv_setup_fail("setsid", "");
    drv_report(open("/dev/tty", O_WRONLY));
    fflush(stdout);
    _exit(0);
  }
  int st;
  waitpid(child, &st, 0);
  return 0;
}

static int op_asuser(char **a, int n) {
  (void)n;
  uid_t uid = (uid_t)drv_num(a[0]);
  if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
    drv_setup_fail("setresuid", a[0]);
  int fd = open(a[1], O_CREAT | O_WRONLY | O_EXCL, 0644);
  if (fd < 0) return drv_report(-1);
  struct stat st;
  fstat(fd, &st);
  printf("owner %u:%u\n", (unsigned)st.st_uid, (unsigned)st.st_gid);
  return 0;
}

static int op_dropthen(char **a, int n) {
  (void)n;
  pid_t child = fork();
  if (child == 0) {
    if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0) _exit(2);
    int fd = open(a[0], O_CREAT | O_WRONLY, 0644);
    _exit(fd < 0 ? 1 : 0);
  }
  int st = 0;
  waitpid(child, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) drv_setup_fail("child", a[0]);
  return drv_report(open(a[1], O_CREAT | O_WRONLY, 0644));
}

static int op_tmpfile(char **a, int n) {
  (void)n;
  int fd = open(a[0], O_TMPFILE | O_WRONLY, 0600);
  if (fd < 0) return drv_report(-1);
  if (write(fd, "tmp", 3) != 3) drv_setup_fail("write", a[0]);
  char proc[64], to[4096];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  snprintf(to, sizeof to, "%s/linked", a[0]);
  if (linkat(AT_FDCWD, proc, AT_FDCWD, to, AT_SYMLINK_FOLLOW) < 0) return drv_report(-1);
  struct stat st;
  if (stat(to, &st) < 0) return drv_report(-1);
  printf("ok %lld\n", (long long)st.st_size);
  return 0;
}

static const struct drv_op ops[] = {
    {"umask", 2, "MASK PATH", op_umask},
    {"cloexec", 1, "PATH", op_cloexec},
    {"lowest", 1, "PATH", op_lowest},
    {"emfile", 1, "PATH", op_emfile},
    {"fifo", 1, "PATH [nofollow]", op_fifo},
    {"tty", 0, "", op_tty},
    {"asuser", 2, "UID PATH", op_asuser},
    {"dropthen", 2, "USERPATH ROOTPATH", op_dropthen},
    {"tmpfile", 1, "DIR", op_tmpfile},
    {NULL, 0, NULL, NULL},
};

int main(int argc, char **argv) { return drv_main(ops, argc, argv); }
