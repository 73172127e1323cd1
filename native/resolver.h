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

// An O_PATH descriptor of the supervisor's own, closed when it goes.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// A walk that keeps what it walked through open, so that a call can be
// carried out on exactly what was checked: the names the build could still
// change are never looked up again.
struct Walked {
  Resolved r;
  // The directory the path's last component was looked up in, and that
  // component as the kernel would read it there ("name", "name/", "." or
  // ".."), before any symlink it names is followed. Not set when the walk
  // failed before it, or when the path named an fd or the root.
  Fd dir;
  std::string leaf;
  std::string dir_path;  // what dir was reached as
  // After following: the directory the final name is in and that name
  // (a new name to create), and the final object when it exists.
  Fd final_dir;
  std::string final_name;
  int final_tail = 0;  // final_name came with "/" after it (1), or "/." (2)
  Fd object;
};

// Resolves `path` as the tracee's kernel would. dirfd may be AT_FDCWD.
Resolved resolve_path(const Tracee& t, int dirfd, const std::string& path, bool follow_last);

// The same walk, keeping the descriptors (open with O_PATH and
// O_NOFOLLOW, one component at a time, symlinks followed by the walk).
Walked walk_path(const Tracee& t, int dirfd, const std::string& path, bool follow_last);

// The object an fd of the supervisor's own names (a copy of a tracee's fd).
Resolved resolve_held(int fd);

// The path an fd of the supervisor's names now ("" when it cannot be read).
std::string fd_path(int fd);

// /proc/self/fd/FD: the supervisor's own link to what its fd holds.
std::string own_link(int fd);

// The tracee's cwd (AT_FDCWD) or what its fd names, held (O_PATH).
Fd hold_base(const Tracee& t, int dirfd);

// A copy of the tracee's fd (pidfd_getfd), or -errno (-EBADF: no such fd).
// The pidfds are kept per thread, one per process of the build.
int copy_fd(pid_t tgid, int fd);

// The object an open fd of the tracee names (AT_FDCWD: its cwd).
Resolved resolve_fd(const Tracee& t, int fd);

}  // namespace catbox
