// The first process between fork and exec, and the reaper that keeps an
// unfollowed build together (see child.cc). Both run in the child of a
// fork from Node's process: async-signal-safe calls only.
#pragma once
#include <linux/filter.h>
#include <sys/types.h>

namespace catbox {

// What the first process is given, between fork and exec.
struct ChildArgs {
  const char* cwd;
  const char* file;
  int sync_fd;
  int report_fd;
  const sock_fprog* prog;
  char* const* argv;
  char* const* envp;
};

// The first process: waits for the go byte, installs the filter, execs.
[[noreturn]] void child_main(const ChildArgs& c);

// The reaper of an unfollowed run, which forks the first process.
[[noreturn]] void reaper_main(pid_t supervisor, int info_fd, const ChildArgs& c);

}  // namespace catbox
