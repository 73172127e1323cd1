#include "policy.h"

#include <cerrno>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include "standin.h"

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

// Pseudo-terminal slaves (/dev/pts/N): char majors 136-143 (UNIX98_PTY_SLAVE_MAJOR and the seven after it).
constexpr unsigned kPtySlaveMajorFirst = 136, kPtySlaveMajorLast = 143;

bool device_may_open(const Policy& policy, mode_t mode, dev_t rdev) {
  bool block = S_ISBLK(mode);
  unsigned maj = major(rdev);
  long min = static_cast<long>(minor(rdev));
  for (const DeviceRange& d : policy.open_devices) {
    if (d.block == block && d.major_lo <= maj && maj <= d.major_hi && (d.minor < 0 || d.minor == min)) return true;
  }
  return false;
}

}  // namespace

void allow_device_node(Policy* policy, const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) < 0) return;
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    DeviceRange d;
    d.block = S_ISBLK(st.st_mode);
    d.major_lo = d.major_hi = major(st.st_rdev);
    d.minor = static_cast<long>(minor(st.st_rdev));
    policy->open_devices.push_back(d);
    return;
  }
  struct statfs fs;
  if (S_ISDIR(st.st_mode) && statfs(path.c_str(), &fs) == 0 && fs.f_type == DEVPTS_SUPER_MAGIC) {
    DeviceRange d;
    d.major_lo = kPtySlaveMajorFirst;
    d.major_hi = kPtySlaveMajorLast;
    policy->open_devices.push_back(d);
  }
}

bool makes_device(unsigned mode, unsigned long dev) {
  if (S_ISBLK(mode)) return true;
  return S_ISCHR(mode) && dev != 0;
}

Decision decide_device_node(const Policy& policy) { return violation(policy, EPERM); }

Decision decide_route(const Policy& policy) {
  if (policy.network == Network::Full) return {};
  return violation(policy, EPERM);
}

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
  // Catbox's own stand-in folders in the shared /tmp (this run's and other
  // runs'): the supervisor relies on what it put there, so no build may
  // change them, whatever the rules say (collect-only too).
  if (r.catbox_own || is_stand_in_path(r.path)) return Decision{false, EACCES, true};
  if (access == Access::Open && r.exists && (S_ISCHR(r.mode) || S_ISBLK(r.mode))) {
    // A device node is the device wherever it lives (a node for a disk made
    // in an allowed directory is the disk): judged by its numbers. Reopening
    // an fd already open for writing (a serial console as stdout) stays fine.
    if (device_may_open(policy, r.mode, r.rdev) || reopens_for_writing(r.reopened_fd_flags, open_flags)) return {};
    if ((open_flags & O_CREAT) && (open_flags & O_EXCL)) return kernel_says(EEXIST);
    return violation(policy, EACCES);
  }
  if (policy.writable.matches(r.path)) return {};
  if (access == Access::Open &&
      (reopens_for_writing(r.reopened_fd_flags, open_flags) || policy.devices.matches(r.path)))
    return {};

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
    case Access::None: break;
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
