/*
 * Drivers for the hardening tests:
 *   hardening forkrace N   N rounds of: a child whose two threads fork in a
 *                          loop while its main thread exits (a parent dies
 *                          between fork and the tracer hearing of it)
 *   hardening memfd        memfd_create, ftruncate, write: prints ok or err E
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc >= 3 && strcmp(argv[1], "forkrace") == 0) return forkrace(atoi(argv[2]));
  if (argc >= 2 && strcmp(argv[1], "memfd") == 0) return memfd();
  fprintf(stderr, "usage: hardening forkrace N | memfd\n");
  return 2;
}
