// Carrying out a checked call in the supervisor, on its own copy of the
// arguments and on the descriptors its walk held: the build's memory and the
// names it can still change are not read again after the check.
#pragma once
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

#include <linux/capability.h>

#include "resolver.h"
#include "syscalls.h"

namespace catbox {

// Gives the calling thread its own cwd, root and umask (unshare(CLONE_FS)),
// so that acting for a build never changes the rest of the process.
bool act_thread_init();

// While alive, this thread creates with the build thread's umask and, when
// the supervisor is privileged, uses the build thread's filesystem ids and
// groups (per thread, raw system calls). Only what differs is changed.
class AsBuild {
 public:
  AsBuild(pid_t tid, bool creates);
  ~AsBuild();
  AsBuild(const AsBuild&) = delete;
  AsBuild& operator=(const AsBuild&) = delete;

 private:
  void take_caps(const std::string& status);

  bool ids_ = false;
  bool caps_saved_ = false;
  bool caps_changed_ = false;
  __user_cap_data_struct caps_[2] = {};
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  std::vector<gid_t> groups_;
};

// act_call, act_open: nothing held to act on (collect-only mode let through
// a call on what the walk could not reach): the kernel does it.
constexpr long kLetKernel = -1000000;
// act_open: a fifo with no reader yet, opened for writing: it blocks.
constexpr int kOpenBlocks = -1000001;

// How a call is carried out.
enum class ActKind { None, Open, Call, FdCall, Bind };
ActKind act_kind(const SyscallDef& row, const uint64_t* args);

// The call's pointer arguments other than paths (times, xattr names and
// values, a symlink's target), copied once. 0, or the errno the call fails with.
struct CallCopy {
  uint64_t args[6] = {};
  std::vector<std::string> bufs;  // what the copied pointers point into
};
int copy_call_args(pid_t tid, const SyscallDef& row, const uint64_t* args, CallCopy* out);

// One path operand as walked: how the call's own lookup would treat its last
// component (follow), and for a call that names an fd (AT_EMPTY_PATH, NULL
// path) the supervisor's copy of that fd.
struct Operand {
  bool checked = false;  // judged as a write (else not acted on)
  Walked* walked = nullptr;
  bool follow = false;
  bool by_fd = false;
  bool null_path = false;
  Fd held;  // by_fd: the copy
};

// Whether the walk's descriptors still name what was checked (no directory
// on the way was moved in between): else the call is walked again.
bool still_named(const Operand& op);

// A path call (not open) carried out: its result, or -errno.
long act_call(const SyscallDef& row, CallCopy& c, Operand* a, Operand* b);

// The object the walk holds, opened anew as an open with these flags asks
// (the creating flags dropped), close-on-exec and never a controlling
// terminal: an fd, or -errno.
int reopen(int object, int flags);

// An open for writing carried out: the supervisor's fd (>= 0) or -errno.
// *again: a name changed under the walk (a symlink put in its place): walk again.
int act_open(const Operand& op, int flags, mode_t mode, pid_t tid, bool* again);

// An fd call (ftruncate, fchmod, fchown, fsetxattr, fremovexattr) on the
// supervisor's copy of the fd: its result, or -errno.
long act_fd_call(const SyscallDef& row, CallCopy& c, int held);

// bind's address as read.
struct BindCopy {
  std::string addr;
  bool unix_path = false;  // a unix socket's path (a file is made)
};

// bind on the supervisor's copy of the socket with the address read: 0 or
// -errno; kLetKernel for a unix socket's path.
long act_bind(int sock, const BindCopy& b);

}  // namespace catbox
