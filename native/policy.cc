#include "policy.h"

#include <cerrno>
#include <fcntl.h>

namespace catbox {
namespace {

Decision violation(const Policy& policy, int err) {
  Decision d;
  d.violation = true;
  d.allow = policy.collect_only;
  d.err = d.allow ? 0 : err;
  return d;
}

// The kernel would fail the call on its own with `err`: answer that, record nothing.
Decision kernel_says(int err) { return Decision{false, err, false}; }

}  // namespace

Decision decide_unreadable(const Policy& policy) { return violation(policy, EACCES); }

bool reopens_for_writing(int held, int open_flags) {
  if (held < 0 || (held & O_ACCMODE) == O_RDONLY) return false;
  if (open_flags & O_TRUNC) return false;
  return !(held & O_APPEND) || (open_flags & O_APPEND);
}

Decision decide_path(const Policy& policy, Access access, int open_flags, const Resolved& r) {
  // Another process's objects (its pipes, /proc/PID/mem) are never the build's.
  if (r.foreign) return violation(policy, EACCES);
  // Reopening a pipe or socket of one's own, or writing to an unlinked
  // object (memfd, O_TMPFILE), changes nothing that has a name.
  if (r.anon) return {};
  if (r.error != 0) {
    // The lookup fails before the call could write (missing parent, ENOTDIR,
    // ELOOP, a bad dirfd). Failing it here with the same errno is what the
    // kernel does, and it never lets a path run that we could not resolve.
    return kernel_says(-r.error);
  }
  if (policy.writable.matches(r.path)) return {};
  if (access == Access::Open && (reopens_for_writing(r.reopened_fd_flags, open_flags) || policy.devices.matches(r.path))) return {};

  // Errno parity: answer what the kernel would have answered to a call that
  // could not have written anything, and record no violation for it.
  switch (access) {
    case Access::Open: {
      bool creates = open_flags & (O_CREAT | kOpenTmpfile);
      if (!r.exists) {
        if (!creates) return kernel_says(ENOENT);
        break;
      }
      if ((open_flags & O_CREAT) && (open_flags & O_EXCL) && !(open_flags & kOpenTmpfile)) return kernel_says(EEXIST);
      bool writes = (open_flags & O_ACCMODE) != O_RDONLY || (open_flags & O_CREAT);
      if (r.is_dir && writes && !(open_flags & kOpenTmpfile)) return kernel_says(EISDIR);
      break;
    }
    case Access::Modify:
    case Access::Remove:
      if (!r.exists) return kernel_says(ENOENT);
      break;
    case Access::Create:
      if (r.exists) return kernel_says(EEXIST);
      break;
    case Access::Replace:
    case Access::Read:
    case Access::None:
      break;
  }
  return violation(policy, EACCES);
}

Decision decide_net(const Policy& policy, const NetAddress& addr) {
  if (!addr.ip || policy.network == Network::Full) return {};
  if (policy.network == Network::Loopback && addr.loopback) return {};
  return violation(policy, EACCES);
}

Decision decide_signal(const Policy& policy) { return violation(policy, EPERM); }

}  // namespace catbox
