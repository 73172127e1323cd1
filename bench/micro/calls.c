// CALLS times one checked call, timed from inside: prints microseconds per call.
//   calls open-write PATH CALLS   open(PATH, O_WRONLY|O_CREAT) and close
//   calls readlink PATH CALLS     readlink(PATH) (EINVAL on a file that is no symlink)
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: calls open-write|readlink PATH CALLS\n");
    return 2;
  }
  const char* path = argv[2];
  long calls = atol(argv[3]);
  int open_write = strcmp(argv[1], "open-write") == 0;
  char buf[256];
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < calls; i++) {
    if (open_write) {
      int fd = open(path, O_WRONLY | O_CREAT, 0644);
      if (fd >= 0) close(fd);
    } else if (readlink(path, buf, sizeof buf) >= 0) {
      return 1;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.2f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3 / calls);
  return 0;
}
