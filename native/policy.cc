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

Decision decide_path(const Policy& policy, Access access, int open_flags, const Resolved& r) {
  if (r.anon) return {};  // reopening a pipe or socket of one's own creates nothing
  if (r.error != 0) {
    // The lookup fails before the call could write (missing parent, ENOTDIR,
    // ELOOP, a bad dirfd). Failing it here with the same errno is what the
    // kernel does, and it never lets a path run that we could not resolve.
    return kernel_says(-r.error);
  }
  if (policy.writable.matches(r.path)) return {};
  if (access == Access::Open && (r.reopens_writable_fd || policy.devices.matches(r.path))) return {};

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

}  // namespace catbox
