/*
 * Drivers for the hardening tests:
 *   hardening forkrace N   N rounds of: a child whose two threads fork in a
 *                          loop while its main thread exits (a parent dies
 *                          between fork and the tracer hearing of it)
 *   hardening memfd        memfd_create, ftruncate, write: prints ok or err E
 *   hardening call NAME [PATH]
 *                          one raw call the filter must refuse or check:
 *                          tiocsti, setflags PATH (FS_IOC_SETFLAGS through an
 *                          O_RDONLY fd), pidfd_getfd, io_uring_enter,
 *                          io_uring_register, process_vm_readv, fsopen,
 *                          open_tree, setxattrat PATH, file_setattr PATH,
 *                          fanotify_perm (a group that may get permission
 *                          events), fanotify_notif (one that may not);
 *                          prints ok or err E
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static void *forker(void *arg) {
  (void)arg;
  for (;;) {
    pid_t p = fork();
    if (p == 0) _exit(0);
  }
  return NULL;
}

static int forkrace(int rounds) {
  for (int i = 0; i < rounds; i++) {
    pid_t p = fork();
    if (p == 0) {
      pthread_t a, b;
      pthread_create(&a, NULL, forker, NULL);
      pthread_create(&b, NULL, forker, NULL);
      usleep(200);
      _exit(0);  // the whole process goes while its threads are inside fork()
    }
    waitpid(p, NULL, 0);
  }
  printf("ok\n");
  return 0;
}

static int memfd(void) {
  int fd = memfd_create("catbox-test", 0);
  if (fd < 0 || ftruncate(fd, 4096) < 0 || write(fd, "x", 1) != 1) {
    printf("err %s\n", strerrorname_np(errno));
    return 0;
  }
  printf("ok\n");
  return 0;
}

static int report(long rc) {
  if (rc < 0) printf("err %s\n", strerrorname_np(errno));
  else printf("ok\n");
  return 0;
}

static int call(const char *name, const char *path) {
  if (strcmp(name, "tiocsti") == 0) {
    char c = ' ';
    return report(ioctl(0, TIOCSTI, &c));
  }
  if (strcmp(name, "setflags") == 0) {
    int fd = open(path, O_RDONLY);
    int flags = 0;
    if (fd < 0 || ioctl(fd, FS_IOC_GETFLAGS, &flags) < 0) {
      printf("setup-err %s\n", strerrorname_np(errno));
      return 2;
    }
    return report(ioctl(fd, FS_IOC_SETFLAGS, &flags));  // the same flags: nothing would change
  }
  if (strcmp(name, "pidfd_getfd") == 0) {
    int pidfd = (int)syscall(SYS_pidfd_open, getppid(), 0);
    return report(syscall(438, pidfd, 0, 0));
  }
  if (strcmp(name, "io_uring_enter") == 0) return report(syscall(426, 0, 0, 0, 0, NULL, 0));
  if (strcmp(name, "io_uring_register") == 0) return report(syscall(427, 0, 0, NULL, 0));
  if (strcmp(name, "process_vm_readv") == 0) {
    char buf[8];
    struct iovec local = {buf, sizeof buf}, remote = {buf, sizeof buf};
    return report(syscall(SYS_process_vm_readv, getpid(), &local, 1, &remote, 1, 0));
  }
  if (strcmp(name, "fsopen") == 0) return report(syscall(430, "tmpfs", 0));
  if (strcmp(name, "open_tree") == 0) return report(syscall(428, AT_FDCWD, "/", 1 /* OPEN_TREE_CLONE */));
  if (strcmp(name, "setxattrat") == 0) return report(syscall(463, AT_FDCWD, path, 0, "user.x", NULL, 0));
  if (strcmp(name, "file_setattr") == 0) return report(syscall(469, AT_FDCWD, path, NULL, 0, 0));
  if (strcmp(name, "fanotify_perm") == 0) return report(syscall(SYS_fanotify_init, 0x4 /* FAN_CLASS_CONTENT */, O_RDONLY));
  if (strcmp(name, "fanotify_notif") == 0) return report(syscall(SYS_fanotify_init, 0 /* FAN_CLASS_NOTIF */, O_RDONLY));
  fprintf(stderr, "unknown call %s\n", name);
  return 2;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc >= 3 && strcmp(argv[1], "forkrace") == 0) return forkrace(atoi(argv[2]));
  if (argc >= 2 && strcmp(argv[1], "memfd") == 0) return memfd();
  if (argc >= 3 && strcmp(argv[1], "call") == 0) return call(argv[2], argc >= 4 ? argv[3] : "");
  fprintf(stderr, "usage: hardening forkrace N | memfd\n");
  return 2;
}
