#include "tracer.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#include <memory>
#include <mutex>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "fakeroot.h"
#include "memory.h"
#include "owners.h"
#include "procfs.h"
#include "resolver.h"
#include "seccomp.h"
#include "standin.h"
#include "syscalls.h"
#include "supervisor/supervisor.h"
#include "supervisor/util.h"
#include "supervisor/child.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace catbox {
namespace {

}  // namespace

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
Decision Supervisor::guest_paths(const Tracee& t, Proc& proc, const SyscallDef& row, const uint64_t* args, user_regs_struct& regs,
                     Action* act, bool* dirty) {
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
                      : ov_->resolve(t, dirfd, slash ? given[i].substr(0, end + 1) : given[i], follows(op.follow, flags, open_flags));
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
      if (link.error == 0 && S_ISLNK(link.mode) && link.layer == Layer::Lower && stat(link.host.c_str(), &via_link) == 0 &&
          stat(obj[0].host.c_str(), &target) == 0 && via_link.st_dev == target.st_dev && via_link.st_ino == target.st_ino)
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
  bool device = !fake_ && row.fake == Fake::Mknod && makes_device(static_cast<unsigned>(args[row.val_arg]), static_cast<uint32_t>(args[row.val_arg + 1]));
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
    if (row.nr == __NR_rmdir || (row.nr == __NR_unlinkat && (flags & AT_REMOVEDIR))) return name == "." ? EINVAL : ENOTEMPTY;
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
Decision Supervisor::guest_read(const Tracee& t, Proc& proc, const SyscallDef& row, const GuestObject& o, const std::string& given,
                    bool by_fd, bool is_open, const uint64_t* args, user_regs_struct& regs, bool* dirty,
                    const std::string& exec_via) {
  if (spec_.trace.read && is_open && !o.anon && !o.guest.empty()) log_.access(t.tgid(), false, row.name, o.guest, o.exists);
  if (by_fd) {
    // The kernel acts on the fd itself, except a stat of a merged view.
    if (row.kind == Kind::Stat) guest_stat_fd(t, row, row.a.dirfd >= 0 ? static_cast<int>(args[row.a.dirfd]) : AT_FDCWD, regs, dirty);
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

// The interpreter line of a "#!" script: false when the file is none.
bool Supervisor::read_shebang(const std::string& host, std::string* interp, std::string* optarg) {
  char head[256];
  // Never block on a fifo the build made executable, never follow a link.
  int fd = ::open(host.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
  if (fd < 0) return false;
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return false;
  }
  ssize_t n = read(fd, head, sizeof head - 1);
  close(fd);
  if (n < 3 || head[0] != '#' || head[1] != '!') return false;
  head[n] = '\0';
  std::string line(head + 2, strcspn(head + 2, "\n"));
  size_t b = line.find_first_not_of(" \t");
  if (b == std::string::npos) return false;
  size_t e = line.find_first_of(" \t", b);
  *interp = line.substr(b, e == std::string::npos ? std::string::npos : e - b);
  optarg->clear();
  if (e != std::string::npos) {
    size_t ob = line.find_first_not_of(" \t", e);
    if (ob != std::string::npos) *optarg = line.substr(ob, line.find_last_not_of(" \t") - ob + 1);
  }
  return true;
}

// The kernel's exec permission check of the file at host for thread tid:
// a regular file, not on a noexec mount, with execute permission for the
// thread's fs ids, or any x bit with CAP_DAC_OVERRIDE in its effective set;
// 0 or the errno. When the thread's ids and that capability are the
// supervisor's own, the kernel itself answers (faccessat), ACLs included;
// otherwise the mode bits decide.
int Supervisor::exec_permission(pid_t tid, const std::string& host) {
  struct stat st;
  if (stat(host.c_str(), &st) < 0) return errno;
  if (!S_ISREG(st.st_mode)) return EACCES;
  struct Creds {
    std::vector<unsigned long> uid, gid, groups;
    bool override = false;
  };
  auto creds_of = [](const std::string& status) {
    auto ids = [&](const char* key) {
      std::vector<unsigned long> out;
      size_t at = status.find(key);
      if (at == std::string::npos) return out;
      const char* p = status.c_str() + at + strlen(key);
      for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        char* end = nullptr;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p) break;
        out.push_back(v);
        p = end;
      }
      return out;
    };
    Creds c{ids("\nUid:"), ids("\nGid:"), ids("\nGroups:")};
    std::sort(c.groups.begin(), c.groups.end());
    c.override = field_in(status, "CapEff:", 16, 0) & (1L << CAP_DAC_OVERRIDE);
    return c;
  };
  Creds them = creds_of(read_small_file("/proc/" + std::to_string(tid) + "/status"));
  if (them.uid.size() < 4 || them.gid.size() < 4) return faccessat(AT_FDCWD, host.c_str(), X_OK, AT_EACCESS) < 0 ? errno : 0;
  Creds us = creds_of(read_small_file("/proc/thread-self/status"));
  if (us.uid.size() >= 4 && us.gid.size() >= 4 && us.uid[3] == them.uid[3] && us.gid[3] == them.gid[3] &&
      us.groups == them.groups && us.override == them.override)
    return faccessat(AT_FDCWD, host.c_str(), X_OK, AT_EACCESS) < 0 ? errno : 0;
  struct statvfs vfs;
  if (statvfs(host.c_str(), &vfs) == 0 && (vfs.f_flag & ST_NOEXEC)) return EACCES;
  if (them.override) return st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH) ? 0 : EACCES;
  unsigned long fsuid = them.uid[3], fsgid = them.gid[3];
  mode_t bit = S_IXOTH;
  if (fsuid == st.st_uid)
    bit = S_IXUSR;
  else if (fsgid == st.st_gid || std::binary_search(them.groups.begin(), them.groups.end(), static_cast<unsigned long>(st.st_gid)))
    bit = S_IXGRP;
  return st.st_mode & bit ? 0 : EACCES;
}

// execve of a "#!" script that lives in the environment or whose
// interpreter does, or that the kernel would be handed by another name than
// the one given (a relative name, a guest path): the kernel would look the
// interpreter up on the host and show the script's host path. Done here as
// the kernel would do it, in guest paths: check that each file may be
// executed, then exec the interpreter with the script as its argument.
// kernel_path is the path the kernel would otherwise be handed. Leaves
// *dirty false when the kernel can do it itself.
Decision Supervisor::guest_script(const Tracee& t, const SyscallDef& row, const GuestObject& o, const std::string& given,
                      const std::string& host, const std::string& kernel_path, const uint64_t* args,
                      user_regs_struct& regs, Scratch& scratch, bool* dirty) {
  // argv as strings to write (text) or the tracee's own pointers (ptr).
  struct Arg {
    std::string text;
    uint64_t ptr = 0;
  };
  std::vector<Arg> argv;
  std::string file_guest = given, file_host = host, exec_host;  // the script as named
  bool translated = host != o.guest || kernel_path != given;
  for (int depth = 0;; depth++) {
    std::string interp, optarg;
    if (!read_shebang(file_host, &interp, &optarg)) break;
    // The kernel checks the script may be executed before it reads it (a
    // file that is no script is left to the kernel, whose check it is).
    if (depth == 0)
      if (int err = exec_permission(t.tid, file_host)) return refuse(err);
    // The kernel follows five levels of scripts; a sixth (a script that
    // names itself) is ELOOP.
    if (depth >= 5) return refuse(ELOOP);
    if (interp.empty() || interp[0] != '/') return {};
    GuestObject io = ov_->resolve(t, AT_FDCWD, interp, true);
    if (io.error || !io.exists || io.is_dir) return {};  // the kernel gives its own error
    if (io.host != interp) translated = true;
    // ... and that the interpreter may be, as it opens it.
    if (int err = exec_permission(t.tid, io.host)) return refuse(err);
    if (depth == 0) {
      int argv_arg = row.nr == __NR_execve ? 1 : 2;
      uint64_t at = args[argv_arg];
      for (size_t i = 0; at != 0; i++) {
        uint64_t p = 0;
        if (read_memory(t.tid, at + 8 * i, &p, sizeof p) < 0) return refuse(EFAULT);
        if (p == 0) break;
        if (i > 65536) return refuse(E2BIG);
        argv.push_back(Arg{"", p});
      }
    }
    // The kernel's rule: interpreter, its one argument, the script as named, the rest.
    std::vector<Arg> next{Arg{interp, 0}};
    if (!optarg.empty()) next.push_back(Arg{optarg, 0});
    next.push_back(Arg{file_guest, 0});
    for (size_t i = 1; i < argv.size(); i++) next.push_back(argv[i]);
    argv = std::move(next);
    file_guest = interp;
    file_host = io.host;
    exec_host = io.host;
  }
  if (!translated || exec_host.empty()) return {};
  std::vector<uint64_t> vec;
  for (const Arg& a : argv) {
    uint64_t p = a.ptr ? a.ptr : scratch.put(a.text);
    if (!p) return refuse(ENOMEM);
    vec.push_back(p);
  }
  vec.push_back(0);
  // The process is named after the script as it was given, not its interpreter.
  std::string named = exec_stand_in(given.substr(given.rfind('/') + 1), exec_host);
  uint64_t file = scratch.put(named.empty() ? exec_host : named);
  uint64_t vp = scratch.put(vec.data(), vec.size() * sizeof(uint64_t));
  if (!file || !vp) return refuse(ENOMEM);
  // execveat(dirfd, path, argv, envp, flags) becomes execve(file, argv, envp).
  uint64_t envp = row.nr == __NR_execve ? args[2] : args[3];
  regs.orig_rax = __NR_execve;
  regs.rdi = file;
  regs.rsi = vp;
  regs.rdx = envp;
  *dirty = true;
  return {};
}

// Where each operand of a permitted write goes on the host; may copy up,
// make parents, or do the whole call itself (act->skip).
Decision Supervisor::guest_write(const SyscallDef& row, int flags, int open_flags, GuestObject* obj, const bool* by_fd,
                     bool recorded, std::string* host, OvPending* pend, Action* act) {
  const OverlayConfig& cfg = ov_->config();
  *pend = OvPending{};
  auto upper_of = [&](const GuestObject& o) { return cfg.upper_dir + o.guest; };
  bool rename = row.fake == Fake::Rename;
  bool link = row.nr == __NR_link || row.nr == __NR_linkat;
  if (rename || row.nr == __NR_rmdir || (row.nr == __NR_unlinkat && (flags & AT_REMOVEDIR))) {
    // A directory may go or move: cached lookups go now and once it has.
    ov_->forget();
    pend->kind = OvPending::Kind::Forget;
  }
  GuestObject& a = obj[0];
  GuestObject& b = obj[1];
  if (row.fake == Fake::Chmod && a.is_dir) {
    // A directory's search permission decides what lookups below it find.
    ov_->forget();
    pend->kind = OvPending::Kind::Forget;
  }

  if (rename || link) {
    if (by_fd[0]) {
      // linkat(fd, "", ..., AT_EMPTY_PATH): judged by the object the fd
      // names; only an object of the environment may get a name in it.
      if (!cfg.upper) {
        host[1] = b.host;
        return {};
      }
      if (!a.anon && !ov_->in_upper(a.fd_target)) return refuse(EXDEV);
      if (b.layer == Layer::Map || b.layer == Layer::Virtual) return refuse(EXDEV);
      if (b.exists) return refuse(EEXIST);
      int rc = ov_->make_parents(b.guest);
      if (rc < 0) return refuse(-rc);
      host[1] = upper_of(b);
      return {};
    }
    if (!a.exists) return refuse(ENOENT);
    if (a.layer == Layer::Virtual || b.layer == Layer::Virtual) return refuse(EBUSY);
    if (!by_fd[0] && a.map != b.map) return refuse(EXDEV);  // like two mount points
    if (a.layer == Layer::Map || !cfg.upper) {
      host[0] = a.host;
      host[1] = b.host;
      return {};
    }
    if (link) {
      if (b.exists) return refuse(EEXIST);
      if (a.anon) {
        host[0] = a.host;  // an O_TMPFILE through /proc/self/fd/N
      } else {
        if (a.is_dir) return refuse(EPERM);
        if (a.layer == Layer::Lower) {
          int rc = ov_->copy_up(a);
          if (rc < 0) return refuse(rc == -EROFS ? EXDEV : -rc);
        }
        host[0] = upper_of(a);
      }
      int rc = ov_->make_parents(b.guest);
      if (rc < 0) return refuse(-rc);
      host[1] = upper_of(b);
      return {};
    }
    unsigned rflags = row.nr == __NR_renameat2 ? static_cast<unsigned>(flags) : 0;
    constexpr unsigned kNoReplace = 1, kExchange = 2;
    if ((rflags & kNoReplace) && b.exists) return refuse(EEXIST);
    if (rflags & kExchange) {
      if (!b.exists) return refuse(ENOENT);
      if ((a.is_dir && a.lower) || (b.is_dir && b.lower)) return refuse(EXDEV);
      for (GuestObject* o : {&a, &b}) {
        if (o->layer != Layer::Lower) continue;
        int rc = ov_->copy_up(*o);
        if (rc < 0) return refuse(rc == -EROFS ? EXDEV : -rc);
      }
    } else {
      // A directory with host entries cannot move: the host keeps them.
      // EXDEV makes mv copy it instead, as on overlayfs.
      if (a.is_dir && (a.lower || ov_->needs_merge(a))) return refuse(EXDEV);
      if (b.exists && b.is_dir) {
        if (!a.is_dir) return refuse(EISDIR);
        if ((b.lower || ov_->needs_merge(b)) && !ov_->list(b).empty()) return refuse(ENOTEMPTY);
      }
      if (b.exists && !b.is_dir && a.is_dir) return refuse(ENOTDIR);
      if (a.layer == Layer::Lower) {
        int rc = ov_->copy_up(a);
        if (rc < 0) return refuse(rc == -EROFS ? EXDEV : -rc);
      }
      int rc = ov_->make_parents(b.guest);
      if (rc < 0) return refuse(-rc);
    }
    host[0] = upper_of(a);
    host[1] = upper_of(b);
    if (a.lower || b.lower) pend->kind = OvPending::Kind::Hide;
    if (a.lower) pend->hide[0] = a.guest;
    if (b.lower) pend->hide[1] = b.guest;
    return {};
  }

  if (by_fd[0]) {
    // fchownat(fd, "", AT_EMPTY_PATH), utimensat(fd, NULL): the object the
    // fd names, not what its name shows now.
    if (!a.anon && ov_->protected_host(a.fd_target) && !recorded) return refuse(EROFS);
    return {};
  }
  // Nothing can be made in /proc or /sys: the kernel says so itself.
  bool kernel_fs = a.guest.compare(0, 6, "/proc/") == 0 || a.guest.compare(0, 5, "/sys/") == 0;
  if (kernel_fs && !a.exists && (row.a.access == Access::Create || row.a.access == Access::Open)) {
    host[0] = a.guest;
    return {};
  }
  if (a.anon || a.layer == Layer::Map || !cfg.upper) {
    host[0] = a.host;
    return {};
  }
  switch (row.a.access) {
    case Access::Remove: {
      bool dir_call = row.nr == __NR_rmdir || (row.nr == __NR_unlinkat && (flags & AT_REMOVEDIR));
      if (!a.exists) return refuse(ENOENT);
      if (a.layer == Layer::Virtual) return refuse(EBUSY);
      if (!a.upper) {
        // Only the host has it: the kernel's permission and sticky checks
        // come first (it will be hidden, which the kernel never sees).
        if (int rc = ov_->may_remove(a)) return refuse(-rc);
      }
      if (dir_call && !a.is_dir) return refuse(ENOTDIR);
      if (!dir_call && a.is_dir) return refuse(EISDIR);
      if (dir_call && (a.lower || ov_->needs_merge(a)) && !ov_->list(a).empty()) return refuse(ENOTEMPTY);
      if (a.upper) {
        host[0] = a.host;
        if (a.lower) {
          pend->kind = OvPending::Kind::Hide;
          pend->hide[0] = a.guest;
        }
        return {};
      }
      // Only the host has it: hide it, and the call is done.
      int rc = ov_->add_whiteout(a.guest);
      act->skip = true;
      act->result = rc;
      return {};
    }
    case Access::Open:
      if (a.exists) {
        if (a.is_dir) {
          if (!(open_flags & kOpenTmpfile)) return refuse(EISDIR);
          if (!a.upper) {
            int rc = ov_->copy_up(a);
            if (rc < 0) return refuse(-rc);
          }
          host[0] = upper_of(a);
        } else if (a.reopened_fd_flags >= 0 && !a.fd_link.empty() && reopens_for_writing(a.reopened_fd_flags, open_flags)) {
          host[0] = a.fd_link;  // /dev/stdout: the fd the build already writes to, in place
        } else if (a.layer == Layer::Lower && S_ISREG(a.mode)) {
          int rc = ov_->copy_up(a);
          if (rc < 0) return refuse(-rc);
          host[0] = upper_of(a);
        } else if (a.layer == Layer::Lower && S_ISBLK(a.mode)) {
          return refuse(EROFS);  // the host's disks are never the build's
        } else {
          host[0] = a.host;  // upper, or a device, fifo or socket used in place
        }
        return {};
      }
      [[fallthrough]];
    case Access::Create: {
      if (a.exists) {
        if (a.layer == Layer::Virtual) return refuse(EEXIST);
        host[0] = a.host;  // the kernel answers EEXIST
        return {};
      }
      int rc = ov_->make_parents(a.guest);
      if (rc < 0) return refuse(-rc);
      host[0] = upper_of(a);
      return {};
    }
    case Access::Modify: {
      if (!a.exists) return refuse(ENOENT);
      if (a.layer == Layer::Lower || a.layer == Layer::Virtual) {
        int rc = ov_->copy_up(a);
        if (rc < 0) return refuse(-rc);
        host[0] = upper_of(a);
      } else {
        host[0] = a.host;
      }
      return {};
    }
    default:
      host[0] = a.host;
      return {};
  }
}

// fchmod, fchown, ftruncate, f*xattr, chattr: the object behind the fd.
Decision Supervisor::guest_fd(const Tracee& t, const SyscallDef& row, int fd, const uint64_t* args) {
  Resolved r = resolve_fd(t, fd);
  if (r.error == -EBADF) return {};  // a bad fd: the kernel answers EBADF itself
  if (r.error) return refuse(-r.error);
  std::string host = r.path;
  r.catbox_own = !r.anon && is_stand_in_path(host);
  if (!r.anon) r.path = ov_->to_guest(host);
  targets_[0] = Target{!r.anon, fd_link(t.tid, fd), true, r.path};
  Decision d = decide_path(spec_.policy, Access::Modify, 0, r);
  if (d.violation) record(t.tid, row.name, "fd " + std::to_string(fd), r.path, d);
  if (!d.allow || r.anon) return d;
  if (row.fake == Fake::Chmod) ov_->forget();  // a directory's search permission may change
  // An fd opened for reading on a host file cannot be copied up under it.
  // Fake root's chown and privileged xattrs are only recorded (setcap opens
  // the file for reading, then fsetxattr's it): the object is not changed.
  bool recorded = fake_ && (row.fake == Fake::Chown || FakeRoot::records_xattr(row, t.tid, args));
  if (ov_->protected_host(host) && !recorded) return refuse(EROFS);
  return d;
}

// bind (creates the socket file) or connect to a unix socket path.
Decision Supervisor::guest_unix(const Tracee& t, const SyscallDef& row, const std::string& path, bool create,
                    user_regs_struct* regs, bool* dirty) {
  GuestObject o = ov_->resolve(t, AT_FDCWD, path, !create);
  if (o.error) return refuse(-o.error);
  std::string host = o.host;
  if (create) {
    Decision d = decide_path(spec_.policy, Access::Create, 0, as_resolved(o));
    if (d.violation) record(t.tid, row.name, path, o.guest, d);
    if (!d.allow && !d.violation && d.err == EEXIST) d.err = EADDRINUSE;
    if (!d.allow) return d;
    if (o.exists) return refuse(EADDRINUSE);
    if (o.layer == Layer::Map && !o.map->rw) return refuse(EROFS);
    if (o.layer != Layer::Map && ov_->config().upper) {
      int rc = ov_->make_parents(o.guest);
      if (rc < 0) return refuse(-rc);
      host = ov_->config().upper_dir + o.guest;
    }
  }
  if (host.empty()) return refuse(ENOENT);
  sockaddr_un un;
  memset(&un, 0, sizeof un);
  if (host.size() >= sizeof un.sun_path) {
    // Too long for sun_path: bind at a short stand-in and move the socket
    // to its place after, or connect through a short symlink.
    std::string stand_in = socket_stand_in();
    if (stand_in.empty() || stand_in.size() >= sizeof un.sun_path) return refuse(ENAMETOOLONG);
    if (!create && !socket_dir_.add_symlink(stand_in.substr(stand_in.rfind('/') + 1), host)) return refuse(ENAMETOOLONG);
    Proc& proc = procs_[t.tid];
    proc.ov = OvPending{};
    proc.ov.kind = OvPending::Kind::Socket;
    proc.ov.stand_in = stand_in;
    if (create) proc.ov.hide[1] = host;
    host = stand_in;
  }
  // The kernel keeps a socket's address as bind was given it, and hands
  // that back (getsockname, getpeername, accept): the guest's own words.
  if (create && bound_names_.size() < 65536) bound_names_[host] = path;
  un.sun_family = AF_UNIX;
  memcpy(un.sun_path, host.data(), host.size());
  Scratch scratch(t.tid, regs->rsp);
  uint64_t at = scratch.put(&un, sizeof un);
  if (!at) return refuse(ENOMEM);
  regs->rsi = at;
  regs->rdx = offsetof(sockaddr_un, sun_path) + host.size() + 1;
  *dirty = true;
  return {};
}

// A fresh short path for a unix socket stand-in, in a directory of this
// run's own (made on first use, removed at the end); "" if none can be made.
std::string Supervisor::socket_stand_in() {
  if (!socket_dir_.make("/tmp/catbox-sock-XXXXXX", 0700) || !socket_dir_.intact()) return "";
  return socket_dir_.path() + "/" + std::to_string(++socket_serial_);
}

// A symlink called name that leads to target, in a directory of this
// run's own (made once per pair, removed at the end): exec'd by that path,
// the program is named after it (comm), as the kernel names a script's
// process after the script. "" if it cannot be made.
std::string Supervisor::exec_stand_in(const std::string& name, const std::string& target) {
  if (name.empty() || name == "." || name == "..") return "";
  std::string key = name + '\0' + target;
  auto it = exec_links_.find(key);
  if (it != exec_links_.end()) {
    // Only a link that still leads where it did when made: else the
    // program runs by its own path (named after the interpreter).
    std::string rest = it->second.substr(exec_dir_.path().size() + 1);  // N/name
    return exec_dir_.link_intact(rest.substr(0, rest.find('/')), name, target) ? it->second : "";
  }
  // 0755: a build that drops to another uid still runs its scripts.
  if (!exec_dir_.make("/tmp/catbox-exec-XXXXXX", 0755) || !exec_dir_.intact()) return "";
  std::string sub = std::to_string(exec_links_.size() + 1);
  if (!exec_dir_.add_link(sub, name, target)) return "";
  std::string link = exec_dir_.path() + "/" + sub + "/" + name;
  exec_links_[key] = link;
  return link;
}

// The syscall-exit stop of a call whose result carries host paths, or
// whose success leaves host entries to hide.
void Supervisor::guest_exit(pid_t pid, pid_t tgid, OvPending& pend, user_regs_struct& regs) {
  OvPending p = std::move(pend);
  pend = OvPending{};
  int64_t ret = static_cast<int64_t>(regs.rax);
  switch (p.kind) {
    case OvPending::Kind::None:
      return;
    case OvPending::Kind::Hide:
      if (ret == 0)
        for (const auto& g : p.hide)
          if (!g.empty()) ov_->add_whiteout(g);
      ov_->forget();
      return;
    case OvPending::Kind::Forget:
      ov_->forget();
      return;
    case OvPending::Kind::Chdir:
      if (ret == 0) ov_->set_cwd_name(tgid, p.hide[0], p.hide[1]);
      return;
    case OvPending::Kind::Socket: {
      std::string name = p.stand_in.substr(p.stand_in.rfind('/') + 1);
      if (ret == 0 && !p.hide[1].empty()) {
        int err = socket_dir_.move_out(name, p.hide[1]);
        if (err == 0) return;
        // The socket cannot go where bind was checked: the bind fails.
        socket_dir_.remove(name);
        regs.rax = static_cast<uint64_t>(-(err == EEXIST ? EADDRINUSE : err));
        ptrace(PTRACE_SETREGS, pid, nullptr, &regs);
        return;
      }
      socket_dir_.remove(name);
      return;
    }
    case OvPending::Kind::SockName: {
      if (ret < 0) return;  // the kernel's error stands
      uint32_t len = 0;
      if (read_memory(pid, p.len_at, &len, sizeof len) < 0) return;
      sockaddr_un un;
      memset(&un, 0, sizeof un);
      size_t have = std::min<size_t>({len, p.size, sizeof un});
      constexpr size_t kPathAt = offsetof(sockaddr_un, sun_path);
      if (have <= kPathAt || read_memory(pid, p.buf, &un, have) < 0 || un.sun_family != AF_UNIX) return;
      if (un.sun_path[0] == '\0') return;  // unnamed or abstract: no path
      std::string host(un.sun_path, strnlen(un.sun_path, std::min(len, static_cast<uint32_t>(sizeof un)) - kPathAt));
      auto bound = bound_names_.find(host);
      std::string guest = bound != bound_names_.end() ? bound->second : ov_->to_guest(host);
      if (guest == host) return;
      // As the kernel does: as much as fits, and the length the whole address needs.
      std::vector<char> out(kPathAt + guest.size() + 1, '\0');
      memcpy(out.data(), &un, kPathAt);
      memcpy(out.data() + kPathAt, guest.data(), guest.size());
      uint32_t full = static_cast<uint32_t>(out.size());
      if (write_memory(pid, p.buf, out.data(), std::min<size_t>(out.size(), p.size)) < 0) return;
      write_memory(pid, p.len_at, &full, sizeof full);
      return;
    }
    case OvPending::Kind::Cwd:
    case OvPending::Kind::Readlink: {
      if (ret <= 0) return;  // the kernel's error stands
      std::string buf(std::min<size_t>(static_cast<size_t>(ret), kMaxPath), '\0');
      if (read_memory(pid, p.scratch, buf.data(), buf.size()) < 0) {
        regs.rax = static_cast<uint64_t>(-EFAULT);
        ptrace(PTRACE_SETREGS, pid, nullptr, &regs);
        return;
      }
      bool cwd = p.kind == OvPending::Kind::Cwd;
      if (cwd) buf.resize(strnlen(buf.data(), buf.size()));
      std::string guest = cwd ? ov_->cwd_to_guest(tgid, buf) : p.cwd_of ? ov_->cwd_to_guest(p.cwd_of, buf) : ov_->to_guest(buf);
      if (cwd) {
        // A directory the guest removed is gone, though the host keeps it.
        GuestObject now = ov_->locate(guest);
        if (!now.exists || !now.is_dir) {
          regs.rax = static_cast<uint64_t>(-ENOENT);
        } else if (guest.size() + 1 > p.size) {
          regs.rax = static_cast<uint64_t>(-ERANGE);
        } else {
          regs.rax = write_memory(pid, p.buf, guest.c_str(), guest.size() + 1) < 0 ? static_cast<uint64_t>(-EFAULT)
                                                                                   : guest.size() + 1;
        }
      } else {
        size_t n = std::min<size_t>(guest.size(), p.size);
        regs.rax = write_memory(pid, p.buf, guest.data(), n) < 0 ? static_cast<uint64_t>(-EFAULT) : n;
      }
      ptrace(PTRACE_SETREGS, pid, nullptr, &regs);
      return;
    }
  }
}

}  // namespace catbox
