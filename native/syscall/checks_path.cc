// Checks of calls that name paths or fds against the write rules, and the
// read and exec lines of the operation log.
#include "supervisor/supervisor.h"

#include <cerrno>
#include <fcntl.h>
#include <linux/capability.h>

#include "procfs.h"
#include "supervisor/util.h"

namespace catbox {

// Reads a path operand: 0 with *given (or *by_fd: the call names the dirfd
// itself, AT_EMPTY_PATH or a NULL path), or the errno the call fails with.
int Supervisor::read_operand(const Tracee& t, const PathOperand& op, const uint64_t* args, int flags,
                             std::string* given, bool* by_fd) {
  uint64_t ptr = args[op.path];
  bool empty_flag = flags & AT_EMPTY_PATH;
  *by_fd = ptr == 0 && (op.empty == Empty::NullOrAtEmptyPath || (op.empty == Empty::AtEmptyPath && empty_flag));
  if (*by_fd) return 0;
  int rc = read_string(t.tid, ptr, given, kMaxPath);
  if (rc < 0) return -rc;
  if (given->empty()) {
    if (op.empty == Empty::No || !empty_flag) return ENOENT;
    *by_fd = true;
  }
  return 0;
}

// ops: when the supervisor carries the call out, the operands as walked
// (their descriptors kept); an operand not checked stays unset.
Decision Supervisor::check_paths(const Tracee& t, const SyscallDef& row, const uint64_t* args, Operand* ops) {
  int flags = row.flags_arg >= 0 ? static_cast<int>(args[row.flags_arg]) : 0;
  int open_flags = flags;
  if (row.a.access == Access::Open) {
    if (row.flags_arg < 0) open_flags = O_CREAT | O_WRONLY | O_TRUNC;  // creat
    if (!(open_flags & kOpenWriteFlags)) {
      // A read: here only for the read log (or from a nested filter).
      if (spec_.trace.read) log_read(t, row, args, open_flags);
      return {};
    }
  }
  // mknod of a device node outside fake root (where it is a placeholder).
  bool device = !fake_ && row.fake == Fake::Mknod &&
                makes_device(static_cast<unsigned>(args[row.val_arg]), static_cast<uint32_t>(args[row.val_arg + 1]));
  // Without CAP_MKNOD the kernel refuses it itself, after its own lookup
  // errors: nothing can be made, so it answers (errno parity).
  if (device && !may_mknod(t.tid)) return {};
  int i = 0;
  for (const PathOperand* op : {&row.a, &row.b}) {
    Target& target = targets_[i++];
    if (op->access == Access::None || op->access == Access::Read) continue;
    Decision d = check_operand(t, row, *op, args, flags, open_flags, &target, device && op == &row.a,
                               ops ? &ops[i - 1] : nullptr);
    if (!d.allow) return d;
  }
  return {};
}

// Whether thread tid may make device nodes (CAP_MKNOD in its effective
// set). When that cannot be read, it is taken to may: judged, not let by.
bool Supervisor::may_mknod(pid_t tid) {
  long caps = proc_field("/proc/" + std::to_string(tid) + "/status", "CapEff:", 16, -1);
  return caps < 0 || (caps & (1L << CAP_MKNOD));
}

// device_node: the operand is a device node mknod would make (see check_paths).
Decision Supervisor::check_operand(const Tracee& t, const SyscallDef& row, const PathOperand& op, const uint64_t* args,
                                   int flags, int open_flags, Target* target, bool device_node, Operand* out) {
  int dirfd = op.dirfd >= 0 ? static_cast<int>(args[op.dirfd]) : AT_FDCWD;
  std::string given;
  bool names_fd = false;
  if (int err = read_operand(t, op, args, flags, &given, &names_fd)) {
    if (err != EPERM) return Decision{false, err, false};  // EFAULT, ENAMETOOLONG, ENOENT: the kernel's own
    // Its memory may not be read: nothing to judge, so not allowed.
    Decision d = decide_unreadable(spec_.policy);
    record(t.tid, row.name, "(catbox may not read its memory)", "", d);
    return d;
  }
  Resolved r;
  if (out) {
    // Judged on what the call will be carried out on: the supervisor's own
    // copy of the fd, or the walk's descriptors.
    out->checked = true;
    out->follow = follows(op.follow, flags, open_flags);
    out->by_fd = names_fd;
    out->null_path = names_fd && args[op.path] == 0;
    // utimensat(AT_FDCWD, NULL): no fd and no path, the kernel's EFAULT.
    if (names_fd && out->null_path && dirfd == AT_FDCWD) return Decision{false, EFAULT, false};
    if (names_fd) {
      int held = dirfd == AT_FDCWD ? hold_base(t, AT_FDCWD).release() : copy_fd(t.tgid(), dirfd);
      if (held < 0) return Decision{false, dirfd == AT_FDCWD ? ENOENT : EBADF, false};
      out->held = Fd(held);
      r = resolve_held(held);
    } else {
      *out->walked = walk_path(t, dirfd, given, out->follow);
      r = out->walked->r;
    }
  } else {
    r = names_fd ? resolve_fd(t, dirfd) : resolve_path(t, dirfd, given, follows(op.follow, flags, open_flags));
  }
  target->valid = r.error == 0 && !r.anon;
  target->path = r.path;
  if (names_fd) {
    target->stat_path = fd_link(t.tid, dirfd);
    target->follow = true;
  } else {
    target->stat_path = r.path;
  }
  Decision d = decide_path(spec_.policy, op.access, open_flags, r);
  // A device node is the device wherever it lives: one made in an allowed
  // directory would be a way to write the disk it names.
  if (device_node && d.allow && !d.violation) d = decide_device_node(spec_.policy);
  if (d.violation) record(t.tid, row.name, given.empty() ? r.path : given, r.path, d);
  if (spec_.trace.write && !r.anon && !r.path.empty()) log_.access(t.tgid(), true, row.name, r.path, d.allow);
  return d;
}

void Supervisor::log_read(const Tracee& t, const SyscallDef& row, const uint64_t* args, int open_flags) {
  const PathOperand& op = row.a;
  std::string given;
  if (read_string(t.tid, args[op.path], &given, kMaxPath) < 0 || given.empty()) return;
  int dirfd = op.dirfd >= 0 ? static_cast<int>(args[op.dirfd]) : AT_FDCWD;
  Resolved r = resolve_path(t, dirfd, given, follows(op.follow, 0, open_flags));
  if (r.anon || r.path.empty()) return;
  // A missing file is a failed lookup: a header searched for in several directories.
  log_.access(t.tgid(), false, row.name, r.path, r.exists && r.error == 0);
}

void Supervisor::log_exec(pid_t pid) {
  std::string base = "/proc/" + std::to_string(pid);
  std::string cmdline = read_small_file(base + "/cmdline", 256 * 1024);
  std::vector<std::string> argv;
  size_t i = 0;
  while (i < cmdline.size()) {
    size_t j = cmdline.find('\0', i);
    if (j == std::string::npos) j = cmdline.size();
    argv.push_back(cmdline.substr(i, j - i));
    i = j + 1;
  }
  std::string exe = read_link_or_empty(base + "/exe"), cwd = read_link_or_empty(base + "/cwd");
  if (ov_) {
    exe = ov_->to_guest(exe);
    cwd = ov_->to_guest(cwd);
  }
  log_.exec(pid, exe, argv, cwd);
}

// held: when the supervisor carries the call out, its own copy of the fd,
// which is what is judged.
Decision Supervisor::check_fd(const Tracee& t, const SyscallDef& row, int fd, Fd* held) {
  Resolved r;
  if (held) {
    int copy = copy_fd(t.tgid(), fd);
    if (copy == -EBADF) return Decision{false, EBADF, false};
    if (copy < 0) return refuse(EACCES);
    *held = Fd(copy);
    r = resolve_held(copy);
  } else {
    r = resolve_fd(t, fd);
  }
  if (r.error == -EBADF) return {};  // a bad fd: the kernel answers EBADF itself
  if (r.error) return refuse(-r.error);
  targets_[0] = Target{!r.anon, fd_link(t.tid, fd), true, r.path};
  Decision d = decide_path(spec_.policy, Access::Modify, 0, r);
  if (d.violation) record(t.tid, row.name, "fd " + std::to_string(fd), r.path, d);
  return d;
}

}  // namespace catbox
