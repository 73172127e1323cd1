// The cost of one seccomp user notification round trip on this machine, with
// and without SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: a child whose getppid() is
// sent to its parent, which answers CONTINUE. Prints microseconds per call.
//   notify-roundtrip SYNC(0|1) CALLS
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOTIF_SET_FLAGS _IOW('!', 4, unsigned long long)  // Linux 6.6

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: notify-roundtrip SYNC(0|1) CALLS\n");
    return 2;
  }
  int sync = atoi(argv[1]);
  long calls = atol(argv[2]);
  int report[2], result[2];
  if (pipe(report) < 0 || pipe(result) < 0) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    int listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    if (write(report[1], &listener, sizeof listener) != sizeof listener) _exit(1);
    char go;
    if (read(result[0], &go, 1) != 1) _exit(1);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < calls; i++) syscall(SYS_getppid);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double us = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3 / calls;
    if (write(report[1], &us, sizeof us) != sizeof us) _exit(1);
    _exit(0);
  }
  int listener;
  if (read(report[0], &listener, sizeof listener) != sizeof listener || listener < 0) return 1;
  int pidfd = syscall(SYS_pidfd_open, pid, 0);
  int fd = syscall(SYS_pidfd_getfd, pidfd, listener, 0);
  if (fd < 0) return 1;
  if (sync) {
    unsigned long long flags = 1;
    if (ioctl(fd, NOTIF_SET_FLAGS, flags) < 0) {
      fprintf(stderr, "SECCOMP_IOCTL_NOTIF_SET_FLAGS: %s\n", strerror(errno));
      return 1;
    }
  }
  if (write(result[1], "g", 1) != 1) return 1;
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, -1) < 0 || (p.revents & POLLHUP)) break;
    struct seccomp_notif req;
    memset(&req, 0, sizeof req);
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) continue;
    struct seccomp_notif_resp resp;
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
  }
  double us = 0;
  if (read(report[0], &us, sizeof us) != sizeof us) return 1;
  waitpid(pid, NULL, 0);
  printf("%.2f\n", us);
  return 0;
}
