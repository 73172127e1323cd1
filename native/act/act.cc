#include "act/act.h"

#include <cerrno>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "memory.h"
#include "procfs.h"

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif

namespace catbox {
namespace {

constexpr size_t kXattrNameMax = 255;    // XATTR_NAME_MAX
constexpr size_t kXattrSizeMax = 65536;  // XATTR_SIZE_MAX

// "Uid:\tR\tE\tS\tFS": the fourth number of a status line.
long fourth(const std::string& status, const char* key) {
  size_t at = status.find(key);
  if (at == std::string::npos) return -1;
  const char* p = status.c_str() + at + strlen(key);
  long v = -1;
  for (int i = 0; i < 4; i++) {
    char* end = nullptr;
    v = strtol(p, &end, 10);
    if (end == p) return -1;
    p = end;
  }
  return v;
}

std::vector<gid_t> groups_in(const std::string& status) {
  std::vector<gid_t> out;
  size_t at = status.find("Groups:");
  if (at == std::string::npos) return out;
  const char* p = status.c_str() + at + 7;
  for (;;) {
    while (*p == ' ' || *p == '\t') p++;
    if (*p < '0' || *p > '9') break;
    char* end = nullptr;
    out.push_back(static_cast<gid_t>(strtoul(p, &end, 10)));
    p = end;
  }
  return out;
}

// Reads a pointer argument of len bytes into the copy; NULL stays NULL.
int copy_bytes(pid_t tid, uint64_t ptr, size_t len, CallCopy* c, int arg) {
  if (ptr == 0) return 0;
  c->bufs.emplace_back(len, '\0');
  std::string& b = c->bufs.back();
  if (read_memory(tid, ptr, b.data(), len) < 0) return EFAULT;
  c->args[arg] = reinterpret_cast<uint64_t>(b.data());
  return 0;
}

int copy_string(pid_t tid, uint64_t ptr, size_t max, CallCopy* c, int arg, int too_long) {
  c->bufs.emplace_back();
  std::string& b = c->bufs.back();
  int rc = read_string(tid, ptr, &b, max);
  if (rc == -ENAMETOOLONG) return too_long;
  if (rc < 0) return -rc;
  c->args[arg] = reinterpret_cast<uint64_t>(b.c_str());
  return 0;
}

int copy_xattr(pid_t tid, const uint64_t* args, CallCopy* c, bool value) {
  if (int err = copy_string(tid, args[1], kXattrNameMax + 1, c, 1, ERANGE)) return err;
  if (!value) return 0;
  size_t size = args[3];
  if (size > kXattrSizeMax) return E2BIG;
  return copy_bytes(tid, args[2], size, c, 2);
}

// The tty_nr field of /proc/PID/stat (after the command name), or -1.
long tty_of(const std::string& pid) {
  std::string s = read_small_file("/proc/" + pid + "/stat", 1024);
  size_t p = s.rfind(')');
  if (p == std::string::npos) return -1;
  // ") S ppid pgrp session tty_nr"
  const char* q = s.c_str() + p + 1;
  long v = -1;
  for (int i = 0; i < 5; i++) {
    while (*q == ' ') q++;
    if (i == 0) {
      while (*q && *q != ' ') q++;
      continue;
    }
    char* end = nullptr;
    v = strtol(q, &end, 10);
    if (end == q) return -1;
    q = end;
  }
  return v;
}

// /dev/tty is the caller's controlling terminal, which need not be the
// supervisor's: opened as the device it is for the build thread.
int open_tty(pid_t tid, int object, int flags) {
  long theirs = tty_of(std::to_string(tid));
  if (theirs == 0) return -ENXIO;
  long mine = tty_of("self");
  if (theirs > 0 && theirs != mine) {
    unsigned major = (static_cast<unsigned long>(theirs) >> 8) & 0xfff;
    unsigned minor =
        (static_cast<unsigned long>(theirs) & 0xff) | ((static_cast<unsigned long>(theirs) >> 12) & 0xfff00);
    if (major >= 136 && major <= 143) {
      std::string pts = "/dev/pts/" + std::to_string((major - 136) * 256 + minor);
      int fd = open(pts.c_str(), flags);
      return fd < 0 ? -errno : fd;
    }
  }
  return reopen(object, flags);
}

}  // namespace

int reopen(int object, int flags) {
  int fd = open(own_link(object).c_str(), (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC | O_NOCTTY);
  return fd < 0 ? -errno : fd;
}

bool act_thread_init() { return unshare(CLONE_FS) == 0; }

AsBuild::AsBuild(pid_t tid, bool creates) {
  bool privileged = geteuid() == 0;
  if (!creates && !privileged) return;
  std::string status = read_small_file("/proc/" + std::to_string(tid) + "/status", 8192);
  if (creates) umask(static_cast<mode_t>(field_in(status, "Umask:", 8, 022)));
  if (!privileged) return;
  long fsuid = fourth(status, "Uid:"), fsgid = fourth(status, "Gid:");
  if (fsuid < 0 || fsgid < 0) return;
  // The supervisor's capabilities as they are before anything changes them
  // (a new fsuid drops the file-system ones): what the end puts back.
  __user_cap_header_struct head{_LINUX_CAPABILITY_VERSION_3, 0};
  caps_saved_ = syscall(SYS_capget, &head, caps_) == 0;
  std::vector<gid_t> theirs = groups_in(status);
  int n = getgroups(0, nullptr);
  std::vector<gid_t> mine(n > 0 ? n : 0);
  if (n > 0 && getgroups(n, mine.data()) < 0) mine.clear();
  uid_t my_uid = static_cast<uid_t>(syscall(SYS_setfsuid, -1));
  gid_t my_gid = static_cast<gid_t>(syscall(SYS_setfsgid, -1));
  if (static_cast<uid_t>(fsuid) != my_uid || static_cast<gid_t>(fsgid) != my_gid || theirs != mine) {
    ids_ = true;
    uid_ = my_uid;
    gid_ = my_gid;
    groups_ = mine;
    // Raw system calls: glibc's wrappers would change every thread.
    syscall(SYS_setgroups, theirs.size(), theirs.data());
    syscall(SYS_setfsgid, fsgid);
    syscall(SYS_setfsuid, fsuid);
  }
  take_caps(status);
}

void AsBuild::take_caps(const std::string& status) {
  // The thread's effective capabilities (this thread only): a root build
  // that dropped some may not do with them what the supervisor could.
  long theirs = field_in(status, "CapEff:", 16, -1);
  if (theirs < 0 || !caps_saved_) return;
  __user_cap_header_struct head{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct now[2];
  if (syscall(SYS_capget, &head, now) < 0) return;
  uint64_t eff = now[0].effective | (static_cast<uint64_t>(now[1].effective) << 32);
  uint64_t prm = now[0].permitted | (static_cast<uint64_t>(now[1].permitted) << 32);
  uint64_t want = static_cast<uint64_t>(theirs) & prm;
  if (want == eff) return;
  now[0].effective = static_cast<uint32_t>(want);
  now[1].effective = static_cast<uint32_t>(want >> 32);
  caps_changed_ = syscall(SYS_capset, &head, now) == 0;
}

AsBuild::~AsBuild() {
  if (ids_) {
    syscall(SYS_setfsuid, uid_);
    syscall(SYS_setfsgid, gid_);
    syscall(SYS_setgroups, groups_.size(), groups_.data());
  }
  if ((ids_ || caps_changed_) && caps_saved_) {
    __user_cap_header_struct head{_LINUX_CAPABILITY_VERSION_3, 0};
    syscall(SYS_capset, &head, caps_);
  }
}

// The inode-flag ioctls whose argument is a plain struct of this size
// (read once and passed on); 0 for any other command.
static size_t ioctl_arg_size(uint32_t cmd) {
  switch (cmd) {
    case 0x40086602:  // FS_IOC_SETFLAGS: the kernel reads an int
    case 0x40046602:  // FS_IOC32_SETFLAGS
    case 0x40087602:  // FS_IOC_SETVERSION
    case 0x40047602:  // FS_IOC32_SETVERSION
      return sizeof(int);
    case 0x401c5820:  // FS_IOC_FSSETXATTR: struct fsxattr
      return 28;
    case 0x41009432:  // FS_IOC_SETFSLABEL: char[256]
      return 256;
    default: return 0;  // the verity, encryption and btrfs ones hold pointers or grow by version
  }
}

ActKind act_kind(const SyscallDef& row, const uint64_t* args) {
  switch (row.nr) {
    case __NR_open:
    case __NR_openat:
    case __NR_creat: return ActKind::Open;
    case __NR_truncate:
    case __NR_mkdir:
    case __NR_mkdirat:
    case __NR_mknod:
    case __NR_mknodat:
    case __NR_rmdir:
    case __NR_unlink:
    case __NR_unlinkat:
    case __NR_rename:
    case __NR_renameat:
    case __NR_renameat2:
    case __NR_link:
    case __NR_linkat:
    case __NR_symlink:
    case __NR_symlinkat:
    case __NR_chmod:
    case __NR_fchmodat:
    case __NR_fchmodat2:
    case __NR_chown:
    case __NR_lchown:
    case __NR_fchownat:
    case __NR_utime:
    case __NR_utimes:
    case __NR_futimesat:
    case __NR_utimensat:
    case __NR_setxattr:
    case __NR_lsetxattr:
    case __NR_removexattr:
    case __NR_lremovexattr: return ActKind::Call;
    case __NR_ftruncate:
    case __NR_fchmod:
    case __NR_fchown:
    case __NR_fsetxattr:
    case __NR_fremovexattr: return ActKind::FdCall;
    case __NR_bind: return ActKind::Bind;
    case __NR_ioctl: return ioctl_arg_size(static_cast<uint32_t>(args[1])) ? ActKind::FdCall : ActKind::None;
    default: return ActKind::None;
  }
}

int copy_call_args(pid_t tid, const SyscallDef& row, const uint64_t* args, CallCopy* c) {
  for (int i = 0; i < 6; i++) c->args[i] = args[i];
  c->bufs.reserve(8);  // the copies must not move: the arguments point into them
  switch (row.nr) {
    case __NR_symlink:
    case __NR_symlinkat: return copy_string(tid, args[0], PATH_MAX, c, 0, ENAMETOOLONG);
    case __NR_utime: return copy_bytes(tid, args[1], 2 * sizeof(long), c, 1);
    case __NR_utimes: return copy_bytes(tid, args[1], 4 * sizeof(long), c, 1);
    case __NR_futimesat:
    case __NR_utimensat: return copy_bytes(tid, args[2], 4 * sizeof(long), c, 2);
    case __NR_setxattr:
    case __NR_lsetxattr:
    case __NR_fsetxattr: return copy_xattr(tid, args, c, true);
    case __NR_removexattr:
    case __NR_lremovexattr:
    case __NR_fremovexattr: return copy_xattr(tid, args, c, false);
    case __NR_ioctl: return copy_bytes(tid, args[2], ioctl_arg_size(static_cast<uint32_t>(args[1])), c, 2);
    default: return 0;
  }
}

bool still_named(const Operand& op) {
  if (op.by_fd || !op.walked) return true;
  const Walked& w = *op.walked;
  if (op.follow && w.object.ok()) return w.r.anon || fd_path(w.object.get()) == w.r.path;
  if (op.follow && w.final_dir.ok()) {
    size_t slash = w.r.path.rfind('/');
    std::string parent = slash == 0 ? "/" : w.r.path.substr(0, slash);
    return fd_path(w.final_dir.get()) == parent;
  }
  if (!op.follow && w.dir.ok()) return fd_path(w.dir.get()) == w.dir_path;
  return true;
}

long act_call(const SyscallDef& row, CallCopy& c, Operand* a, Operand* b) {
  static const char kEmpty[] = "";
  std::string paths[2];
  Operand* ops[2] = {a, b};
  const PathOperand* defs[2] = {&row.a, &row.b};
  for (int i = 0; i < 2; i++) {
    Operand* op = ops[i];
    const PathOperand& def = *defs[i];
    if (!op || def.path < 0) continue;
    if (op->by_fd && row.nr == __NR_linkat && i == 0) {
      // linkat(fd, "", AT_EMPTY_PATH) needs the caller to be the one that
      // opened fd (or CAP_DAC_READ_SEARCH), which the supervisor is not:
      // it links the file it holds through its own link instead.
      paths[i] = own_link(op->held.get());
      c.args[def.dirfd] = static_cast<uint64_t>(AT_FDCWD);
      c.args[def.path] = reinterpret_cast<uint64_t>(paths[i].c_str());
      c.args[row.flags_arg] = (c.args[row.flags_arg] & ~static_cast<uint64_t>(AT_EMPTY_PATH)) | AT_SYMLINK_FOLLOW;
      continue;
    }
    if (op->by_fd) {
      if (def.dirfd >= 0) c.args[def.dirfd] = static_cast<uint64_t>(op->held.get());
      c.args[def.path] = op->null_path ? 0 : reinterpret_cast<uint64_t>(kEmpty);
      continue;
    }
    const Walked& w = *op->walked;
    bool slash = !w.leaf.empty() && w.leaf.back() == '/';
    if (slash && def.access == Access::Modify) {
      // "name/" makes the kernel follow name and want a directory: the
      // object the walk followed to, through the supervisor's own link.
      struct stat st;
      if (!w.object.ok()) return -ENOENT;
      if (fstat(w.object.get(), &st) < 0) return -errno;
      if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
      paths[i] = own_link(w.object.get()) + "/";
    } else if (op->follow && w.object.ok()) {
      paths[i] = own_link(w.object.get());
    } else if (op->follow && w.final_dir.ok()) {
      paths[i] = own_link(w.final_dir.get()) + "/" + w.final_name;
    } else if (!op->follow && w.dir.ok()) {
      paths[i] = own_link(w.dir.get()) + "/" + w.leaf;
    } else if (w.r.error == 0 && w.r.path == "/") {
      paths[i] = "/";
    } else {
      return kLetKernel;
    }
    if (def.dirfd >= 0) c.args[def.dirfd] = static_cast<uint64_t>(AT_FDCWD);
    c.args[def.path] = reinterpret_cast<uint64_t>(paths[i].c_str());
  }
  long rc = syscall(row.nr, c.args[0], c.args[1], c.args[2], c.args[3], c.args[4], c.args[5]);
  return rc < 0 ? -errno : rc;
}

int act_open(const Operand& op, int flags, mode_t mode, pid_t tid, bool* again) {
  *again = false;
  // Ours is close-on-exec and never makes a controlling terminal; the
  // build's close-on-exec goes with the descriptor it is given.
  int base = (flags & ~O_CLOEXEC) | O_CLOEXEC | O_NOCTTY;
  if (op.by_fd) return -EBADF;
  const Walked& w = *op.walked;
  const bool slash = !w.leaf.empty() && w.leaf.back() == '/';
  const bool excl = (flags & O_CREAT) && (flags & O_EXCL);
  // The kernel's own refusals, before it looks at anything.
  if ((flags & O_CREAT) && (flags & O_DIRECTORY) && (flags & kOpenTmpfile) != kOpenTmpfile) return -EINVAL;
  if (slash && (flags & O_CREAT)) return -EISDIR;
  int fd;
  if (w.object.ok()) {
    struct stat st;
    if (fstat(w.object.get(), &st) < 0) return -errno;
    // Not followed (O_NOFOLLOW, or O_CREAT|O_EXCL): a symlink is refused as
    // the kernel refuses it.
    if (S_ISLNK(st.st_mode)) return excl ? -EEXIST : -ELOOP;
    if (excl) return -EEXIST;
    if (slash && !S_ISDIR(st.st_mode)) return -ENOTDIR;
    if ((flags & kOpenTmpfile) == kOpenTmpfile) {
      fd = openat(w.object.get(), ".", base, mode);
      return fd < 0 ? -errno : fd;
    }
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(5, 0)) return open_tty(tid, w.object.get(), flags);
    if (flags & O_NONBLOCK) return reopen(w.object.get(), flags);
    // A fifo opened for reading waits for a writer, which O_NONBLOCK would
    // not: it waits on a thread of its own from the start.
    if (S_ISFIFO(st.st_mode) && (flags & O_ACCMODE) == O_RDONLY) return kOpenBlocks;
    // The notifier must not wait: an open that would (a fifo with no reader
    // yet, a lease to break) waits on a thread of its own.
    fd = reopen(w.object.get(), flags | O_NONBLOCK);
    if (fd >= 0) {
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      return fd;
    }
    if (fd == -EWOULDBLOCK || (fd == -ENXIO && S_ISFIFO(st.st_mode))) return kOpenBlocks;
    return fd;
  }
  // A new name: made with O_EXCL in the directory the walk holds, so that a
  // name made meanwhile (or a symlink put there) makes it walk again.
  if (slash) return -ENOENT;  // with O_CREAT: EISDIR, above
  if (op.follow && w.final_tail) return w.final_tail == 1 && (flags & O_CREAT) ? -EISDIR : -ENOENT;
  int dir = op.follow ? w.final_dir.get() : w.dir.get();
  const std::string& name = op.follow ? w.final_name : w.leaf;
  if (dir < 0) return kLetKernel;
  // O_CREAT|O_EXCL follows no symlink (it fails EEXIST on one); O_NOFOLLOW
  // would stay in the file's flags, where F_GETFL shows it.
  fd = openat(dir, name.c_str(), base | ((flags & O_CREAT) ? O_EXCL : O_NOFOLLOW), mode);
  if (fd < 0 && (errno == ELOOP || (errno == EEXIST && !excl))) {
    *again = true;
    return -errno;
  }
  return fd < 0 ? -errno : fd;
}

long act_fd_call(const SyscallDef& row, CallCopy& c, int held) {
  c.args[0] = static_cast<uint64_t>(held);
  long rc = syscall(row.nr, c.args[0], c.args[1], c.args[2], c.args[3], c.args[4], c.args[5]);
  return rc < 0 ? -errno : rc;
}

long act_bind(int sock, const BindCopy& b) {
  // A unix socket's path is what getsockname gives back, so binding it by
  // another name (the walk's directory and the last name) would show; it
  // is bound by the kernel as asked (see docs/supervisor.md, "What the
  // supervisor carries out").
  if (b.unix_path) return kLetKernel;
  int rc = bind(sock, reinterpret_cast<const sockaddr*>(b.addr.data()), static_cast<socklen_t>(b.addr.size()));
  return rc < 0 ? -errno : 0;
}

}  // namespace catbox
