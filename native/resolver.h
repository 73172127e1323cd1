// The path resolver: (tracee, dirfd, path, follow?) -> the canonical path the
// kernel would act on, walked component by component in the tracee's view:
// its cwd, its fds, `..`, symlinks, /proc/self and /proc/thread-self.
#pragma once
#include <string>
#include <sys/types.h>

namespace catbox {

struct Resolved {
  std::string path;     // canonical absolute path; the object name for anonymous fds
  int error = 0;        // 0, or -errno when the kernel would fail the lookup itself
  bool exists = false;  // the final object exists (lstat when not following)
  bool is_dir = false;
  mode_t mode = 0;    // the final object's type and mode, when it exists
  dev_t rdev = 0;     // ...and the device it names, when it is a device node
  bool anon = false;  // pipe:[..], socket:[..], anon_inode:[..]: not in the filesystem
  std::string link;   // anon: the magic link that reaches it (/proc/TID/fd/N), to stat it by
  // Reached through /proc/self/fd/N (/dev/stdout...): the flags the tracee
  // holds fd N open with (fdinfo), else -1. Reopening an fd already open for
  // writing gives no new way to write, unless it truncates or drops O_APPEND.
  int reopened_fd_flags = -1;
  // A magic link of a process in another mount namespace: its path means
  // something else there, so it cannot be judged here.
  bool foreign = false;
  // Set by the guest view: the host object is in one of catbox's own
  // stand-in folders (standin.h), which no build may change.
  bool catbox_own = false;
};

struct Tracee {
  pid_t tid;                 // the thread that made the call
  mutable pid_t known_tgid;  // its process, or 0 until tgid() looks it up
  // Its process (what /proc/self means), from /proc/TID/status when not known.
  pid_t tgid() const;
};

// Whether pid belongs to the build: its /proc/PID entries (fds, mem) are the
// build's own. Set per tracer thread; without a check every pid counts.
using MemberCheck = bool (*)(const void* ctx, pid_t pid);
void set_member_check(MemberCheck check, const void* ctx);
bool is_build_process(pid_t pid);

// /proc/PID/... of a process outside the build (PID > 0), or 0.
pid_t other_process_under_proc(const std::string& path, const Tracee& self);

// Resolves `path` as the tracee's kernel would. dirfd may be AT_FDCWD.
Resolved resolve_path(const Tracee& t, int dirfd, const std::string& path, bool follow_last);

// The object an open fd of the tracee names (AT_FDCWD: its cwd).
Resolved resolve_fd(const Tracee& t, int fd);

}  // namespace catbox
