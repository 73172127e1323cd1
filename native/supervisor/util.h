// Small helpers that several units of the supervisor share.
#pragma once
#include <cstddef>
#include <cstdint>
#include <fcntl.h>
#include <string>
#include <sys/types.h>
#include <sys/user.h>
#include <unistd.h>

#include "syscalls.h"

namespace catbox {

constexpr size_t kMaxPath = 4096;

inline void set_arg(user_regs_struct& r, int i, uint64_t v) {
  switch (i) {
    case 0: r.rdi = v; break;
    case 1: r.rsi = v; break;
    case 2: r.rdx = v; break;
    case 3: r.r10 = v; break;
    case 4: r.r8 = v; break;
    case 5: r.r9 = v; break;
  }
}

// Whether the kernel follows a final symlink for this operand.
inline bool follows(Follow f, int flags, int open_flags) {
  switch (f) {
    case Follow::Yes: return true;
    case Follow::No: return false;
    case Follow::UnlessNoFollow: return !(flags & AT_SYMLINK_NOFOLLOW);
    case Follow::IfFollow: return flags & AT_SYMLINK_FOLLOW;
    case Follow::OpenFlags:
      // O_CREAT|O_EXCL never follows a final symlink (it fails with EEXIST).
      return !(open_flags & O_NOFOLLOW) && !((open_flags & O_CREAT) && (open_flags & O_EXCL));
  }
  return true;
}

inline std::string read_link_or_empty(const std::string& path) {
  char buf[4096];
  ssize_t n = readlink(path.c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, n) : std::string();
}

inline std::string fd_link(pid_t tid, int fd) {
  return "/proc/" + std::to_string(tid) + (fd == AT_FDCWD ? "/cwd" : "/fd/" + std::to_string(fd));
}

}  // namespace catbox
