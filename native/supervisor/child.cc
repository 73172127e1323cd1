// The first process between fork and exec, and the reaper that keeps an
// unfollowed build together: async-signal-safe calls only.
#include "supervisor/child.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <initializer_list>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace catbox {
namespace {

// SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (Linux 5.19).
constexpr unsigned long kFilterWaitKillableRecv = 1UL << 5;

// ---- the child, between fork and exec: async-signal-safe calls only ----

void child_say(const char* a, const char* b = "", const char* c = "") {
  for (const char* s : {a, b, c}) {
    size_t n = strlen(s);
    while (n > 0) {
      ssize_t w = write(2, s, n);
      if (w <= 0) return;
      s += w;
      n -= w;
    }
  }
}

const char* errno_text(int err) {
  switch (err) {
    case ENOENT: return "No such file or directory";
    case EACCES: return "Permission denied";
    case ENOEXEC: return "Exec format error";
    case ENOTDIR: return "Not a directory";
    case ELOOP: return "Too many levels of symbolic links";
    case E2BIG: return "Argument list too long";
    case ENOMEM: return "Out of memory";
    default: return "cannot run it";
  }
}

}  // namespace

[[noreturn]] void child_main(const ChildArgs& c) {
  // Node blocks signals on this thread and ignores SIGPIPE: both survive exec.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, nullptr);
  // Node marks its stdio close-on-exec, and a terminal or pipe it touched
  // non-blocking: a build expects blocking stdio (read and cat would fail
  // with EAGAIN). The flag is the open file's, shared with the terminal.
  for (int fd = 0; fd <= 2; fd++) {
    fcntl(fd, F_SETFD, 0);
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK)) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  }

  // If the tracer thread dies before it seizes us, die with it.
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  // Wait until the tracer has seized us: nothing may run unseen. End of file
  // instead of the go byte means the supervisor is gone.
  char byte;
  ssize_t n;
  while ((n = read(c.sync_fd, &byte, 1)) < 0 && errno == EINTR) {
  }
  if (n != 1) _exit(126);
  if (c.report_fd < 0) close(c.sync_fd);
  // Descriptors inherited from Node (logs, lock files, sockets) are writes that
  // name no path: none of them reaches the build.
  syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);

  // A crashing program makes the kernel write a core file into its cwd, a
  // write no system call of the build names. Hard limit 0: it cannot be raised.
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  if (chdir(c.cwd) < 0) {
    child_say("catbox: cannot enter ", c.cwd, "\n");
    _exit(126);
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    child_say("catbox: cannot install the seccomp filter: ", errno_text(errno), "\n");
    _exit(126);
  }
  if (c.report_fd < 0) {
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, c.prog) < 0) {
      child_say("catbox: cannot install the seccomp filter: ", errno_text(errno), "\n");
      _exit(126);
    }
  } else {
    // The filter asks by user notification: its listener goes to the
    // supervisor, which says when it holds it. Until then no call of ours
    // may ask (write and read do not), and the build never sees it (it is
    // closed here and close-on-exec anyway).
    // Once the supervisor has taken a question, the asking thread waits
    // for the answer killable only (Linux 5.19): a signal meanwhile (a
    // SIGCHLD, which a traced process is sent even when it ignores it)
    // would abandon the question and restart the call, asking it twice and
    // recording its violation twice. Older kernels say EINVAL: without it.
    int listener = static_cast<int>(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                                            SECCOMP_FILTER_FLAG_NEW_LISTENER | kFilterWaitKillableRecv, c.prog));
    if (listener < 0 && errno == EINVAL)
      listener =
          static_cast<int>(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, c.prog));
    if (listener < 0) {
      child_say("catbox: cannot install the seccomp filter: ", errno_text(errno), "\n");
      _exit(126);
    }
    char ok = 0;
    if (write(c.report_fd, &listener, sizeof listener) != sizeof listener) _exit(126);
    while ((n = read(c.sync_fd, &ok, 1)) < 0 && errno == EINTR) {
    }
    if (n != 1 || ok != 'y') _exit(126);
    close(listener);
    close(c.report_fd);
    close(c.sync_fd);
  }
  execve(c.file, c.argv, c.envp);
  int err = errno;
  child_say("catbox: ", c.file, ": ");
  child_say(errno_text(err), "\n");
  _exit(err == ENOENT ? 127 : 126);
}

// ---- the reaper (enforce mode without ptrace): async-signal-safe calls only ----
//
// When every question goes by user notification, nothing needs a ptrace
// stop, and the build runs without any. Its processes are then kept together
// by a small process between the supervisor and the first process: a child
// subreaper, so every orphan of the build becomes its child instead of
// init's. It reaps them all (the run ends when the last is gone, as with
// ptrace), and when the supervisor dies (parent-death signal) it kills them,
// as PTRACE_O_EXITKILL would: none goes on without its supervisor.

namespace {

volatile sig_atomic_t g_supervisor_gone = 0;

// Appends the decimal digits of n to p; returns the new end.
char* put_number(char* p, long n) {
  char digits[24];
  int k = 0;
  do {
    digits[k++] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n > 0 && k < 23);
  while (k > 0) *p++ = digits[--k];
  return p;
}

// SIGKILL to each child of this (single-threaded) process. Their children
// come to us when they die, and are killed at the next call.
void kill_children() {
  char path[64];
  char* p = path;
  const char head[] = "/proc/self/task/";
  memcpy(p, head, sizeof head - 1);
  p = put_number(p + sizeof head - 1, syscall(SYS_gettid));
  const char tail[] = "/children";
  memcpy(p, tail, sizeof tail);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char buf[4096];
  long pid = 0;
  bool digit = false;
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n; i++) {
      if (buf[i] >= '0' && buf[i] <= '9') {
        pid = pid * 10 + (buf[i] - '0');
        digit = true;
      } else {
        if (digit) kill(static_cast<pid_t>(pid), SIGKILL);
        pid = 0;
        digit = false;
      }
    }
  }
  if (digit) kill(static_cast<pid_t>(pid), SIGKILL);
  close(fd);
}

void on_supervisor_gone(int) {
  int saved = errno;
  g_supervisor_gone = 1;
  kill_children();
  errno = saved;
}

}  // namespace

// Forks the first process, tells the supervisor its pid on info_fd, reaps
// the whole build and ends with the first process's wait status on info_fd.
[[noreturn]] void reaper_main(pid_t supervisor, int info_fd, const ChildArgs& c) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_supervisor_gone;  // no SA_RESTART: waitpid returns
  sigfillset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, nullptr);
  // Terminal signals (Ctrl-C, Ctrl-Z) are the build's, not ours: the reaper
  // only waits, and wakes for the parent-death signal.
  sigset_t all_but_one;
  sigfillset(&all_but_one);
  sigdelset(&all_but_one, SIGUSR1);
  sigprocmask(SIG_SETMASK, &all_but_one, nullptr);
  prctl(PR_SET_NAME, "catbox-reaper", 0, 0, 0);  // what ps shows as the build's first parent
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0);
  if (getppid() != supervisor) _exit(1);  // gone before the signal was set
  pid_t first = fork();
  if (first == 0) {
    close(info_fd);
    child_main(c);
  }
  if (first < 0) _exit(1);
  // Node's descriptors (its pipes, its event loop's) are none of the
  // reaper's business, and must not stay open as long as the build runs.
  if (info_fd > 3) syscall(SYS_close_range, 3, info_fd - 1, 0);
  syscall(SYS_close_range, info_fd + 1, ~0U, 0);
  if (write(info_fd, &first, sizeof first) != sizeof first) {
    kill(first, SIGKILL);
  }
  int first_status = -1;
  for (;;) {
    int st = 0;
    pid_t pid = waitpid(-1, &st, __WALL);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD: the last process of the build is gone
    }
    if (pid == first) first_status = st;
    if (g_supervisor_gone) kill_children();
  }
  if (write(info_fd, &first_status, sizeof first_status) != sizeof first_status) _exit(1);
  _exit(0);
}

}  // namespace catbox
