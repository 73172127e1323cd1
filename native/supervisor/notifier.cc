// The notifier thread, and the answers to notifications that the supervisor
// computes itself (a stat, an identity call, a read in the guest view).
#include "supervisor/supervisor.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <poll.h>
#include <sys/ioctl.h>

#include "supervisor/util.h"

namespace catbox {
namespace {

// Not in older kernel headers (linux/seccomp.h, Linux 6.6).
constexpr unsigned long kNotifSetFlags = _IOW('!', 4, uint64_t);
constexpr uint64_t kNotifSyncWakeUp = 1;

}  // namespace

// ---- seccomp user notifications: pure allow/deny questions ----

// The notifier thread: takes the listener from the first process, then
// answers its questions until the last process of the build is gone.
void Supervisor::notify_main(int report_fd, int ack_fd, pid_t first) {
  int listener = -1;
  int child_fd = -1;
  ssize_t n;
  while ((n = read(report_fd, &child_fd, sizeof child_fd)) < 0 && errno == EINTR) {
  }
  if (n == sizeof child_fd) {
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, first, 0));
    if (pidfd >= 0) {
      listener = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, child_fd, 0));
      close(pidfd);
    }
    char ack = listener >= 0 ? 'y' : 'n';
    if (write(ack_fd, &ack, 1) != 1) {
    }
  }
  close(report_fd);
  close(ack_fd);
  if (listener < 0) return;  // the first process gave up, or never asks
  // Synchronous wake-ups (Linux 6.6): the asking thread and this one hand
  // the CPU to each other instead of waking across CPUs, which on a
  // virtual machine costs an interrupt each way. Older kernels say EINVAL.
  uint64_t sync_flags = kNotifSyncWakeUp;
  ioctl(listener, kNotifSetFlags, sync_flags);
  set_member_check(is_member, this);
  // Plain enforce mode carries checked calls out itself, with the build's
  // umask on a cwd, root and umask of this thread's own.
  acts_ = !fake_ && !ov_ && act_thread_init();
  for (;;) {
    pollfd fds[2] = {{listener, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents) break;
    if (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL)) break;  // no process left to ask
    if (!(fds[0].revents & POLLIN)) continue;
    seccomp_notif req;
    memset(&req, 0, sizeof req);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) continue;  // gone before we looked
    seccomp_notif_resp resp;
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    if (answer(listener, req, &resp)) ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
  }
  set_member_check(nullptr, nullptr);
  end_fifo_waits();
  close(listener);
}

// Whether the thread that asked is still the one whose memory was read:
// asked before anything is written into it. An answer alone needs no such
// check: the kernel refuses it when the notification is gone.
bool Supervisor::still_asking(int listener, const seccomp_notif& req) {
  uint64_t id = req.id;
  return ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

// A stat of the stat family answered by the supervisor: done on path (a
// host path, or a magic link when follow), written into the tracee's
// buffer, then shown as fake root recorded it. false: nothing to answer.
bool Supervisor::stat_answer(int listener, const seccomp_notif& req, const Tracee& t, const SyscallDef& row,
                             const uint64_t* args, const std::string& path, bool follow, seccomp_notif_resp* resp) {
  int at = follow ? 0 : AT_SYMLINK_NOFOLLOW;
  int err = 0;
  if (row.nr == __NR_statx) {
    struct statx stx;
    int flags = static_cast<int>(args[row.flags_arg]);
    if (statx(AT_FDCWD, path.c_str(), at | (flags & AT_STATX_SYNC_TYPE), static_cast<unsigned>(args[3]), &stx) < 0) {
      err = errno;
    } else {
      if (!still_asking(listener, req)) return false;
      if (write_memory(t.tid, args[row.val_arg], &stx, sizeof stx) < 0) err = EFAULT;
    }
  } else {
    struct stat st;
    if (fstatat(AT_FDCWD, path.c_str(), &st, at) < 0) {
      err = errno;
    } else {
      if (!still_asking(listener, req)) return false;
      if (write_memory(t.tid, args[row.val_arg], &st, sizeof st) < 0) err = EFAULT;
    }
  }
  if (err) {
    resp->error = -err;
    return true;
  }
  if (fake_) {
    // Fake root shows what was recorded, as at a syscall-exit stop.
    Pending p;
    fake_->stat_entry(row, args, &p);
    p.object = path;  // what it names was looked up here: no need to read the arguments again
    p.object_follow = follow;
    fake_->exit(t, p, 0);
  }
  return true;
}

// Fake root: an identity call, answered from the thread's fake credentials.
bool Supervisor::identity_answer(int listener, const seccomp_notif& req, const SyscallDef& row, const uint64_t* args,
                                 seccomp_notif_resp* resp) {
  pid_t tid = static_cast<pid_t>(req.pid);
  auto it = procs_.find(tid);
  if (it == procs_.end()) {
    // Every process is followed in fake root, and seen before it runs.
    resp->error = -EPERM;
    return true;
  }
  // getresuid and getgroups write into its memory.
  if (!still_asking(listener, req)) return false;
  Action act = fake_->identity(tid, it->second.creds, row.nr, args);
  if (act.result < 0) {
    resp->error = static_cast<int32_t>(act.result);
  } else {
    resp->val = act.result;
  }
  return true;
}

// Fake root without the overlay: a stat of the stat family, done by the
// supervisor on the object the tracee names, written into its buffer and
// then shown as recorded, as the syscall-exit stop would.
bool Supervisor::fake_stat_answer(int listener, const seccomp_notif& req, const Tracee& t, const SyscallDef& row,
                                  const uint64_t* args, seccomp_notif_resp* resp) {
  auto fail = [&](int err) {
    resp->error = -err;
    return true;
  };
  int flags = row.flags_arg >= 0 ? static_cast<int>(args[row.flags_arg]) : 0;
  std::string path;     // the object, as the supervisor can reach it
  bool follow = false;  // path is a magic link to follow
  if (row.a.path < 0) {
    path = fd_link(t.tid, static_cast<int>(args[row.a.dirfd >= 0 ? row.a.dirfd : 0]));
    follow = true;
  } else {
    int dirfd = row.a.dirfd >= 0 ? static_cast<int>(args[row.a.dirfd]) : AT_FDCWD;
    std::string given;
    bool by_fd = false;
    if (int err = read_operand(t, row.a, args, flags, &given, &by_fd)) return fail(err);
    if (by_fd) {
      path = dirfd == AT_FDCWD ? "/proc/" + std::to_string(t.tid) + "/cwd" : fd_link(t.tid, dirfd);
      follow = true;
    } else {
      Resolved r = resolve_path(t, dirfd, given, follows(row.a.follow, flags, 0));
      if (r.error) return fail(-r.error);
      if (!r.exists) return fail(ENOENT);
      if (r.foreign) {
        // Another process's /proc entry: the kernel looks, nothing is recorded there.
        resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        return true;
      }
      follow = r.anon;
      path = r.anon ? r.link : r.path;
    }
  }
  return stat_answer(listener, req, t, row, args, path, follow, resp);
}

// A read in the guest view, answered by the supervisor itself: it does
// the call on the host path and hands back the result (the stat buffer,
// the link, an fd); false when nothing is left to send.
bool Supervisor::guest_answer(int listener, const seccomp_notif& req, const Tracee& t, const SyscallDef& row,
                              const uint64_t* args, seccomp_notif_resp* resp) {
  auto fail = [&](int err) {
    resp->error = -err;
    return true;
  };
  int flags = row.flags_arg >= 0 ? static_cast<int>(args[row.flags_arg]) : 0;
  bool is_open = row.a.access == Access::Open;
  int open_flags = flags;
  const PathOperand& op = row.a;
  int dirfd = op.dirfd >= 0 ? static_cast<int>(args[op.dirfd]) : AT_FDCWD;
  std::string given;
  bool by_fd = false;
  if (op.path < 0) {
    by_fd = true;  // fstat(fd, buf)
    dirfd = static_cast<int>(args[0]);
  } else if (int err = read_operand(t, op, args, flags, &given, &by_fd)) {
    return fail(err);
  }
  GuestObject o;
  std::string host;
  bool follow_host = false;  // the host path is a magic link to follow
  if (by_fd) {
    host = fd_link(t.tid, dirfd);  // the fd's own object
    follow_host = true;
    std::string target = read_link_or_empty(host);
    // No such fd: the kernel's EBADF (the magic link would say ENOENT).
    if (target.empty() && dirfd != AT_FDCWD && access(host.c_str(), F_OK) < 0 && errno == ENOENT) return fail(EBADF);
    // An open merged directory is the directory it lists, as a lookup by name finds it.
    std::string real = ov_->view_source(target);
    if (!real.empty()) {
      host = real;
      follow_host = false;
    }
  } else {
    o = ov_->resolve(t, dirfd, given, follows(op.follow, flags, open_flags));
    if (o.error == -ENOENT && !is_open && row.nr != __NR_readlink && row.nr != __NR_readlinkat && !given.empty() &&
        given[0] != '/' && given.find_first_not_of("./") == std::string::npos &&
        given.find("..") == std::string::npos) {
      // "." of a directory the guest removed (the cwd, a dirfd): the
      // kernel still stats it (and checks access to it), as it does by fd.
      host = dirfd == AT_FDCWD ? "/proc/" + std::to_string(t.tid) + "/cwd" : fd_link(t.tid, dirfd);
      follow_host = true;
      o = GuestObject{};
    } else {
      if (o.error) return fail(-o.error);
      if (is_open && o.foreign_link) return fail(EACCES);
      follow_host = o.anon;
      if (int err = read_host(o, is_open, &host, open_flags)) return fail(err);
    }
  }
  switch (row.nr) {
    case __NR_open:
    case __NR_openat: {
      if (spec_.trace.read && !by_fd && !o.anon) log_.access(t.tgid(), false, row.name, o.guest, o.exists);
      bool fifo = !by_fd && S_ISFIFO(o.mode);
      // Never block the supervisor, never take a terminal as its own.
      int fl =
          (open_flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC)) | O_NOCTTY | O_CLOEXEC | (fifo ? O_NONBLOCK : 0);
      int fd = ::open(host.c_str(), fl);
      if (fd < 0) return fail(errno);
      if (fifo && !(open_flags & O_NONBLOCK)) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      seccomp_notif_addfd add;
      memset(&add, 0, sizeof add);
      add.id = req.id;
      add.flags = SECCOMP_ADDFD_FLAG_SEND;  // the fd number is the call's result
      add.srcfd = static_cast<uint32_t>(fd);
      add.newfd_flags = (open_flags & O_CLOEXEC) ? O_CLOEXEC : 0;
      int rc = static_cast<int>(ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add));
      int err = errno;
      close(fd);
      if (rc >= 0 || err == ENOENT) return false;    // sent, or the thread is gone
      return fail(err == EMFILE ? EMFILE : EACCES);  // never leave it waiting
    }
    case __NR_access:
    case __NR_faccessat:
    case __NR_faccessat2: {
      int mode = static_cast<int>(row.nr == __NR_access ? args[1] : args[2]);
      int at = row.nr == __NR_faccessat2 ? (flags & AT_EACCESS) : 0;
      if (syscall(__NR_faccessat2, AT_FDCWD, host.c_str(), mode,
                  at | (row.nr == __NR_faccessat2 ? (flags & AT_SYMLINK_NOFOLLOW) : 0)) < 0)
        return fail(errno);
      if (!by_fd && read_only_write(o, mode)) return fail(EROFS);
      break;
    }
    case __NR_readlink:
    case __NR_readlinkat: {
      int base = row.a.path;
      int size = static_cast<int>(args[base + 2]);
      if (size <= 0) return fail(EINVAL);
      std::string link;
      if (o.guest == "/proc/self" || o.guest == "/proc/thread-self") {
        // Read here, these would name the supervisor: they name the asking thread.
        link = std::to_string(t.tgid()) + (o.guest == "/proc/self" ? "" : "/task/" + std::to_string(t.tid));
      } else {
        char buf[PATH_MAX];
        ssize_t n = readlink(host.c_str(), buf, sizeof buf);
        if (n < 0) return fail(errno);
        link.assign(buf, static_cast<size_t>(n));
      }
      if (o.magic) {
        pid_t cwd_of = cwd_link_pid(o.guest);
        link = cwd_of ? ov_->cwd_to_guest(cwd_of, link) : ov_->to_guest(link);
      }
      size_t len = std::min<size_t>(link.size(), static_cast<size_t>(size));
      if (!still_asking(listener, req)) return false;
      if (write_memory(t.tid, args[base + 1], link.data(), len) < 0) return fail(EFAULT);
      resp->val = static_cast<int64_t>(len);
      break;
    }
    default:  // stat, lstat, newfstatat, statx
      return stat_answer(listener, req, t, row, args, host, follow_host, resp);
  }
  return true;
}

}  // namespace catbox
