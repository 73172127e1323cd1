// The guest view at a ptrace stop: path calls judged on guest paths and
// handed to the kernel as host paths; reads; a stat by fd.
#include "supervisor/supervisor.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "supervisor/util.h"

namespace catbox {

// ---- the guest view (overlay and maps) ----

// The program's guest path, searched in PATH as execvp would; "" if none.
std::string Supervisor::find_program(const std::string& name) {
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& kv : spec_.env)
    if (kv.compare(0, 5, "PATH=") == 0) path = kv.substr(5);
  Tracee self{getpid(), getpid()};
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find(':', i);
    if (j == std::string::npos) j = path.size();
    std::string dir = path.substr(i, j - i);
    i = j + 1;
    if (dir.empty() || dir[0] != '/') continue;
    std::string g = dir + "/" + name;
    GuestObject o = ov_->resolve(self, AT_FDCWD, g, true);
    if (o.error == 0 && o.exists && !o.is_dir && access(o.host.c_str(), X_OK) == 0) return g;
  }
  return "";
}

Resolved Supervisor::as_resolved(const GuestObject& o) {
  Resolved r;
  r.path = o.guest;
  r.catbox_own = is_stand_in_path(o.host);
  r.exists = o.exists;
  r.is_dir = o.is_dir;
  r.anon = o.anon;
  r.foreign = o.foreign;
  r.reopened_fd_flags = o.reopened_fd_flags;
  r.mode = o.mode;
  struct stat st;
  if (o.exists && (S_ISCHR(o.mode) || S_ISBLK(o.mode)) && lstat(o.host.c_str(), &st) == 0) r.rdev = st.st_rdev;
  return r;
}

// A path call in the guest view: judged on guest paths, handed to the
// kernel as absolute host paths written below the tracee's stack.
Decision Supervisor::guest_paths(const Tracee& t, Proc& proc, const SyscallDef& row, const uint64_t* args,
                                 user_regs_struct& regs, Action* act, bool* dirty) {
  int flags = row.flags_arg >= 0 ? static_cast<int>(args[row.flags_arg]) : 0;
  int open_flags = flags;
  bool is_open = row.a.access == Access::Open;
  if (is_open && row.flags_arg < 0) open_flags = O_CREAT | O_WRONLY | O_TRUNC;  // creat
  bool reading = row.a.access == Access::Read || (is_open && !(open_flags & kOpenWriteFlags));
  const PathOperand* ops[2] = {&row.a, &row.b};
  GuestObject obj[2];
  std::string given[2];
  bool by_fd[2] = {false, false};
  for (int i = 0; i < 2; i++) {
    const PathOperand& op = *ops[i];
    if (op.access == Access::None) continue;
    int dirfd = op.dirfd >= 0 ? static_cast<int>(args[op.dirfd]) : AT_FDCWD;
    if (int err = read_operand(t, op, args, flags, &given[i], &by_fd[i])) return refuse(err);
    // Calls that make, remove or rename a name never follow its last
    // symlink, not even for a trailing "/": the name is looked up bare
    // and must then be a directory.
    bool names_entry = op.access == Access::Create || op.access == Access::Remove || op.access == Access::Replace;
    size_t end = given[i].find_last_not_of('/');
    bool slash = names_entry && !by_fd[i] && end != std::string::npos && end + 1 < given[i].size();
    obj[i] = by_fd[i] ? ov_->resolve_fd(t, dirfd)
                      : ov_->resolve(t, dirfd, slash ? given[i].substr(0, end + 1) : given[i],
                                     follows(op.follow, flags, open_flags));
    if (obj[i].error) return refuse(-obj[i].error);
    if (slash) {
      if (obj[i].exists && !obj[i].is_dir) return refuse(op.access == Access::Create ? EEXIST : ENOTDIR);
      if (!obj[i].exists) obj[i].slash = true;
    }
  }
  if (reading) {
    bool exec = row.nr == __NR_execve || row.nr == __NR_execveat;
    std::string exec_via;  // the host symlink a program is exec'd through, if any
    if (exec && !by_fd[0] && obj[0].layer == Layer::Lower) {
      // A program reached through a host symlink (/bin/sh -> dash) is named
      // by the link, as the kernel would name it (comm, AT_EXECFN), when the
      // host would follow the link to the same file.
      int dirfd = row.a.dirfd >= 0 ? static_cast<int>(args[row.a.dirfd]) : AT_FDCWD;
      GuestObject link = ov_->resolve(t, dirfd, given[0], false);
      struct stat via_link, target;
      if (link.error == 0 && S_ISLNK(link.mode) && link.layer == Layer::Lower &&
          stat(link.host.c_str(), &via_link) == 0 && stat(obj[0].host.c_str(), &target) == 0 &&
          via_link.st_dev == target.st_dev && via_link.st_ino == target.st_ino)
        exec_via = link.host;
    }
    // A script run by execveat relative to a dirfd is named by its guest
    // path (the kernel would say /dev/fd/N/NAME, useless once N is closed).
    std::string named = given[0];
    if (row.nr == __NR_execveat && !named.empty() && named[0] != '/' && static_cast<int>(args[0]) != AT_FDCWD)
      named = obj[0].guest;
    // Fake root's xattr reads look at the host object the guest path names.
    if (fake_ && (row.fake == Fake::GetXattr || row.fake == Fake::ListXattr))
      targets_[0] = Target{obj[0].exists && !obj[0].anon, obj[0].host, false, obj[0].guest};
    return guest_read(t, proc, row, obj[0], named, by_fd[0], is_open, args, regs, dirty, exec_via);
  }

  // A last name "." or ".." is refused by the kernel before any other check.
  for (int i = 0; i < 2; i++) {
    if (ops[i]->access == Access::None || ops[i]->access == Access::Read || by_fd[i]) continue;
    if (int err = dot_name_error(row, ops[i]->access, flags, given[i])) return refuse(err);
  }
  // A rename or link between two mounts fails before any other check.
  bool two_names = row.fake == Fake::Rename || row.nr == __NR_link || row.nr == __NR_linkat;
  if (two_names && !by_fd[0] && obj[0].exists && obj[0].map != obj[1].map) return refuse(EXDEV);
  // mknod of a device node outside fake root: without CAP_MKNOD the
  // kernel's answer (EEXIST, else EPERM), else judged below.
  bool device = !fake_ && row.fake == Fake::Mknod &&
                makes_device(static_cast<unsigned>(args[row.val_arg]), static_cast<uint32_t>(args[row.val_arg + 1]));
  if (device && !may_mknod(t.tid)) return refuse(obj[0].exists ? EEXIST : EPERM);
  // A write: the rules speak of guest paths.
  for (int i = 0; i < 2; i++) {
    const GuestObject& o = obj[i];
    Access access = ops[i]->access;
    if (access == Access::None || access == Access::Read) continue;
    // A read-only map is a read-only mount: EROFS comes before any rule
    // (with the kernel's own answers first: ENOENT, EEXIST...).
    static const Policy read_only;
    bool ro = o.layer == Layer::Map && !o.map->rw && !o.anon;
    Decision d = decide_path(ro ? read_only : spec_.policy, access, open_flags, as_resolved(o));
    if (ro && d.violation) d.err = EROFS;
    if (device && i == 0 && d.allow && !d.violation) d = decide_device_node(spec_.policy);
    if (d.violation) record(t.tid, row.name, given[i].empty() ? o.guest : given[i], o.guest, d);
    if (spec_.trace.write && !o.anon) log_.access(t.tgid(), true, row.name, o.guest, d.allow);
    if (!d.allow) return d;
  }
  std::string host[2];
  // Fake root's chown and privileged xattrs are only recorded (setcap opens
  // the file for reading, then fsetxattr's it): the object is not changed.
  bool recorded = fake_ && (row.fake == Fake::Chown || FakeRoot::records_xattr(row, t.tid, args));
  Decision d = guest_write(row, flags, open_flags, obj, by_fd, recorded, host, &proc.ov, act);
  if (!d.allow || act->skip) return d;
  for (int i = 0; i < 2; i++) {
    if (ops[i]->access == Access::None) continue;
    if (by_fd[i]) {
      int dirfd = ops[i]->dirfd >= 0 ? static_cast<int>(args[ops[i]->dirfd]) : AT_FDCWD;
      targets_[i] = Target{!obj[i].anon, fd_link(t.tid, dirfd), true, obj[i].guest};
      continue;
    }
    targets_[i] = Target{obj[i].exists && !obj[i].anon, host[i], false, obj[i].guest};
    // "new/": the kernel decides what a trailing slash allows (mkdir, not creat).
    if (!obj[i].exists && obj[i].slash && !host[i].empty()) host[i] += "/";
  }
  Scratch scratch(t.tid, regs.rsp);
  for (int i = 0; i < 2; i++) {
    if (ops[i]->access == Access::None || by_fd[i] || host[i].empty()) continue;
    uint64_t at = scratch.put(host[i]);
    if (!at) return refuse(ENOMEM);
    set_arg(regs, ops[i]->path, at);
    *dirty = true;
  }
  if (proc.ov.kind != OvPending::Kind::None) act->exit_stop = true;
  return d;
}

// The kernel's answer when the last name of a path to change is "." or
// "..", which no call may remove, make or rename; 0 otherwise.
int Supervisor::dot_name_error(const SyscallDef& row, Access access, int flags, const std::string& given) {
  size_t end = given.find_last_not_of('/');
  if (end == std::string::npos) return 0;  // "/" itself
  size_t start = given.rfind('/', end);
  start = start == std::string::npos ? 0 : start + 1;
  std::string name = given.substr(start, end + 1 - start);
  if (name != "." && name != "..") return 0;
  if (row.fake == Fake::Rename) return EBUSY;
  if (access == Access::Remove) {
    if (row.nr == __NR_rmdir || (row.nr == __NR_unlinkat && (flags & AT_REMOVEDIR)))
      return name == "." ? EINVAL : ENOTEMPTY;
    return EISDIR;  // unlink
  }
  if (access == Access::Create) return EEXIST;
  return 0;  // open, chmod, a link's source...: the directory itself
}

// The host path a read of o goes to: a directory's merged listing when it
// is opened and needs one (a virtual directory always); 0 or an errno.
// open_flags: the open's, whose permission to read the directory itself
// is checked before its listing is opened instead (not for O_PATH).
int Supervisor::read_host(const GuestObject& o, bool is_open, std::string* host, int open_flags) {
  *host = o.host;
  if (o.exists && !o.anon && (o.layer == Layer::Virtual || (is_open && o.is_dir && ov_->needs_merge(o)))) {
    if (is_open && !(open_flags & O_PATH) && o.layer != Layer::Virtual && !o.host.empty() &&
        faccessat(AT_FDCWD, o.host.c_str(), R_OK, AT_EACCESS) < 0 && errno == EACCES)
      return EACCES;
    int err = 0;
    *host = ov_->merged_view(o, &err);
    if (host->empty()) return err ? err : ENOMEM;
  }
  return host->empty() ? ENOENT : 0;
}

// exec_via: for an exec, the host symlink to hand the kernel instead of
// o.host (the file it leads to), so that the process is named after it.
Decision Supervisor::guest_read(const Tracee& t, Proc& proc, const SyscallDef& row, const GuestObject& o,
                                const std::string& given, bool by_fd, bool is_open, const uint64_t* args,
                                user_regs_struct& regs, bool* dirty, const std::string& exec_via) {
  if (spec_.trace.read && is_open && !o.anon && !o.guest.empty())
    log_.access(t.tgid(), false, row.name, o.guest, o.exists);
  if (by_fd) {
    // The kernel acts on the fd itself, except a stat of a merged view.
    if (row.kind == Kind::Stat)
      guest_stat_fd(t, row, row.a.dirfd >= 0 ? static_cast<int>(args[row.a.dirfd]) : AT_FDCWD, regs, dirty);
    return {};
  }
  // Reading from another process's fd (catbox's own pipes) is no build's business.
  if (is_open && o.foreign_link) return refuse(EACCES);
  std::string host;
  if (int err = read_host(o, is_open, &host)) return refuse(err);
  if (row.nr == __NR_access || row.nr == __NR_faccessat || row.nr == __NR_faccessat2) {
    int mode = static_cast<int>(row.nr == __NR_access ? args[1] : args[2]);
    if (read_only_write(o, mode)) {
      // The permission check comes first, as the kernel makes it.
      int flags = row.nr == __NR_faccessat2 ? static_cast<int>(args[3]) & (AT_EACCESS | AT_SYMLINK_NOFOLLOW) : 0;
      if (syscall(__NR_faccessat2, AT_FDCWD, host.c_str(), mode, flags) < 0) return refuse(errno);
      return refuse(EROFS);
    }
  }
  Scratch scratch(t.tid, regs.rsp);
  if ((row.nr == __NR_execve || row.nr == __NR_execveat) && o.exists && !o.is_dir) {
    Decision d = guest_script(t, row, o, given, host, exec_via.empty() ? host : exec_via, args, regs, scratch, dirty);
    if (!d.allow || *dirty) return d;
    if (!exec_via.empty()) host = exec_via;
  }
  if ((row.nr == __NR_readlink || row.nr == __NR_readlinkat) && o.magic && static_cast<int>(args[row.a.path + 2]) > 0) {
    int base = row.a.path;
    proc.ov = OvPending{};
    proc.ov.kind = OvPending::Kind::Readlink;
    proc.ov.buf = args[base + 1];
    proc.ov.size = static_cast<uint32_t>(args[base + 2]);
    proc.ov.scratch = scratch.reserve(kMaxPath);
    proc.ov.cwd_of = cwd_link_pid(o.guest);
    set_arg(regs, base + 1, proc.ov.scratch);
    set_arg(regs, base + 2, kMaxPath);
  }
  if (row.nr == __NR_chdir && o.exists && o.is_dir && !o.anon) {
    // The name it is entered by is the one getcwd answers, once it is.
    proc.ov = OvPending{};
    proc.ov.kind = OvPending::Kind::Chdir;
    proc.ov.hide[0] = o.guest;
    proc.ov.hide[1] = host;
  }
  uint64_t at = scratch.put(host);
  if (!at) return refuse(ENOMEM);
  set_arg(regs, row.a.path, at);
  *dirty = true;
  return {};
}

// A stat by fd (fstat, AT_EMPTY_PATH) at a ptrace stop: an open merged
// directory shows the directory it lists, as a lookup by name finds it, so
// the call becomes a stat of that directory's host path.
void Supervisor::guest_stat_fd(const Tracee& t, const SyscallDef& row, int fd, user_regs_struct& regs, bool* dirty) {
  std::string real = ov_->view_source(read_link_or_empty(fd_link(t.tid, fd)));
  if (real.empty()) return;
  Scratch scratch(t.tid, regs.rsp);
  uint64_t at = scratch.put(real);
  if (!at) return;
  if (row.nr == __NR_fstat) {
    // fstat(fd, buf) becomes newfstatat(AT_FDCWD, path, buf, 0).
    regs.orig_rax = __NR_newfstatat;
    regs.rdx = regs.rsi;
    regs.rdi = static_cast<uint64_t>(AT_FDCWD);
    regs.rsi = at;
    regs.r10 = 0;
  } else {
    set_arg(regs, row.a.dirfd, static_cast<uint64_t>(AT_FDCWD));
    set_arg(regs, row.a.path, at);
  }
  *dirty = true;
}

// Whether access(mode) of o, once permitted, is EROFS: asked to write an
// object of a read-only map, which the kernel says of a read-only mount
// (devices, fifos and sockets excepted).
bool Supervisor::read_only_write(const GuestObject& o, int mode) {
  if (!(mode & W_OK) || o.anon || !o.exists || o.layer != Layer::Map || !o.map || o.map->rw) return false;
  return !(S_ISCHR(o.mode) || S_ISBLK(o.mode) || S_ISFIFO(o.mode) || S_ISSOCK(o.mode));
}

}  // namespace catbox
