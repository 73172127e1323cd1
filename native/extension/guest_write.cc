// Writes in the guest view: where each operand goes on the host (copy-up,
// parents, whiteouts), calls on fds, unix sockets, and the work of the
// syscall-exit stop.
#include "supervisor/supervisor.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include "supervisor/util.h"

namespace catbox {

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
        } else if (a.reopened_fd_flags >= 0 && !a.fd_link.empty() &&
                   reopens_for_writing(a.reopened_fd_flags, open_flags)) {
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
    default: host[0] = a.host; return {};
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
    if (!create && !socket_dir_.add_symlink(stand_in.substr(stand_in.rfind('/') + 1), host))
      return refuse(ENAMETOOLONG);
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

// The syscall-exit stop of a call whose result carries host paths, or
// whose success leaves host entries to hide.
void Supervisor::guest_exit(pid_t pid, pid_t tgid, OvPending& pend, user_regs_struct& regs) {
  OvPending p = std::move(pend);
  pend = OvPending{};
  int64_t ret = static_cast<int64_t>(regs.rax);
  switch (p.kind) {
    case OvPending::Kind::None: return;
    case OvPending::Kind::Hide:
      if (ret == 0)
        for (const auto& g : p.hide)
          if (!g.empty()) ov_->add_whiteout(g);
      ov_->forget();
      return;
    case OvPending::Kind::Forget: ov_->forget(); return;
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
      std::string guest = cwd        ? ov_->cwd_to_guest(tgid, buf)
                          : p.cwd_of ? ov_->cwd_to_guest(p.cwd_of, buf)
                                     : ov_->to_guest(buf);
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
