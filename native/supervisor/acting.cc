// Enforce mode: a checked call carried out by the supervisor itself, on the
// operands its walk held and the arguments it copied (act/act.h), so that
// nothing the build changes after the check is looked at again.
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "supervisor/supervisor.h"

namespace catbox {

// The call checked, then carried out; a name that moved while it was
// walked is walked again.
bool Supervisor::act_answer(int listener, const seccomp_notif& req, const Tracee& t, const SyscallDef& row,
                            const uint64_t* args, seccomp_notif_resp* resp) {
  constexpr int kTries = 8;
  const ActKind kind = act_kind(row, args);
  if (kind == ActKind::Bind) return bind_answer(t, row, args, resp);
  for (int attempt = 1;; attempt++) {
    Walked walked[2];
    Operand ops[2];
    ops[0].walked = &walked[0];
    ops[1].walked = &walked[1];
    targets_[0] = targets_[1] = Target{};
    Fd held;
    Decision d = kind == ActKind::FdCall ? check_fd(t, row, static_cast<int>(args[row.fd_arg]), &held)
                                         : check_paths(t, row, args, ops);
    if (!d.allow) {
      resp->error = -d.err;
      return true;
    }
    bool checked = kind == ActKind::FdCall ? held.ok() : ops[0].checked || ops[1].checked;
    if (!checked) {
      // Nothing was judged a write (a read-only open; a device node the
      // kernel refuses to make): the kernel may do it as asked.
      resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
      return true;
    }
    if ((ops[0].checked && !still_named(ops[0])) || (ops[1].checked && !still_named(ops[1]))) {
      if (attempt < kTries) continue;  // a directory on the way moved while it was walked
      resp->error = -EAGAIN;
      return true;
    }
    CallCopy copy;
    if (int err = copy_call_args(t.tid, row, args, &copy)) {
      resp->error = -err;
      return true;
    }
    long rc;
    if (kind == ActKind::Open) {
      int flags = row.flags_arg >= 0 ? static_cast<int>(args[row.flags_arg]) : O_CREAT | O_WRONLY | O_TRUNC;
      mode_t mode = static_cast<mode_t>(args[row.val_arg]);
      bool again = false;
      int fd;
      {
        // The umask only matters to an open that makes a file: O_CREAT of a
        // name the walk did not find (one made meanwhile is opened, not
        // made, with O_CREAT alone), or O_TMPFILE.
        bool makes = (flags & kOpenTmpfile) == kOpenTmpfile || ((flags & O_CREAT) && !walked[0].object.ok());
        AsBuild as(t.tid, makes);
        fd = act_open(ops[0], flags, mode, t.tid, &again);
      }
      if (again && attempt < kTries) continue;
      if (fd == kOpenBlocks) return open_later(listener, req, std::move(walked[0].object), flags, t.tid);
      if (fd >= 0) {
        // A file this open made goes again when the thread cannot take it
        // (EMFILE): the kernel would have failed before making it.
        struct stat made;
        bool created = (flags & O_CREAT) && !walked[0].object.ok() && fstat(fd, &made) == 0;
        if (!hand_over(listener, req, fd, flags, resp)) return false;
        if (created) undo_create(ops[0], made);
        return true;
      }
      rc = fd;
    } else if (kind == ActKind::Call) {
      AsBuild as(t.tid, row.fake == Fake::Create || row.fake == Fake::Mknod || row.nr == __NR_symlink ||
                            row.nr == __NR_symlinkat);
      rc = act_call(row, copy, ops[0].checked ? &ops[0] : nullptr, ops[1].checked ? &ops[1] : nullptr);
    } else {
      AsBuild as(t.tid, false);
      rc = act_fd_call(row, copy, held.get());
    }
    if (rc == kLetKernel) {
      resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    } else if (rc < 0) {
      resp->error = static_cast<int32_t>(rc);
    } else {
      resp->val = rc;
    }
    return true;
  }
}

// bind, carried out on the supervisor's copy of the socket with the
// address it read (a unix socket's path excepted: act_bind).
bool Supervisor::bind_answer(const Tracee& t, const SyscallDef& row, const uint64_t* args, seccomp_notif_resp* resp) {
  // The socket first, as the kernel looks at it before the address.
  int held = copy_fd(t.tgid(), static_cast<int>(args[0]));
  if (held < 0) {
    resp->error = held == -EBADF ? -EBADF : -EACCES;
    return true;
  }
  Fd sock(held);
  BindCopy copy;
  Decision d = check_bind(t, row, args, nullptr, nullptr, &copy);
  if (!d.allow) {
    resp->error = -d.err;
    return true;
  }
  long rc;
  {
    AsBuild as(t.tid, false);  // a privileged port is the build's to bind, or not
    rc = act_bind(sock.get(), copy);
  }
  if (rc == kLetKernel) {
    resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  } else {
    resp->error = static_cast<int32_t>(rc < 0 ? rc : 0);
  }
  return true;
}

// Gives the supervisor's descriptor to the asking thread as the result of
// its open (SECCOMP_ADDFD_FLAG_SEND answers the notification too).
bool Supervisor::hand_over(int listener, const seccomp_notif& req, int fd, int flags, seccomp_notif_resp* resp) {
  seccomp_notif_addfd addfd;
  memset(&addfd, 0, sizeof addfd);
  addfd.id = req.id;
  addfd.flags = SECCOMP_ADDFD_FLAG_SEND;
  addfd.srcfd = static_cast<uint32_t>(fd);
  addfd.newfd_flags = (flags & O_CLOEXEC) ? O_CLOEXEC : 0;
  int rc = ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd);
  int err = errno;
  close(fd);
  if (rc >= 0) return false;  // answered
  resp->error = -err;         // EMFILE...: the question is still open
  return true;
}

// Removes the file an open made, when its name still names it.
void Supervisor::undo_create(const Operand& op, const struct stat& made) {
  const Walked& w = *op.walked;
  int dir = op.follow ? w.final_dir.get() : w.dir.get();
  const std::string& name = op.follow ? w.final_name : w.leaf;
  struct stat now;
  if (dir < 0 || fstatat(dir, name.c_str(), &now, AT_SYMLINK_NOFOLLOW) < 0) return;
  if (now.st_dev == made.st_dev && now.st_ino == made.st_ino) unlinkat(dir, name.c_str(), 0);
}

// A fifo opened for writing before it has a reader: the open blocks, so it
// waits on a thread of its own while the notifier goes on.
bool Supervisor::open_later(int listener, const seccomp_notif& req, Fd object, int flags, pid_t tid) {
  // Waits that ended are done with: their threads joined, their fds closed.
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (!it->done->load()) {
      ++it;
      continue;
    }
    it->thread.join();
    if (it->keep >= 0) close(it->keep);
    it = waiters_.erase(it);
  }
  Waiter& waiter = waiters_.emplace_back();
  waiter.keep = fcntl(object.get(), F_DUPFD_CLOEXEC, 0);
  waiter.done = std::make_shared<std::atomic<bool>>(false);
  waiter.thread = std::thread([listener, req, fd = object.release(), flags, tid, done = waiter.done] {
    struct Done {
      std::atomic<bool>& flag;
      ~Done() { flag.store(true); }
    } mark{*done};
    Fd obj(fd);
    int opened;
    {
      AsBuild as(tid, false);
      opened = reopen(obj.get(), flags);
    }
    seccomp_notif_resp resp;
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    if (opened >= 0) {
      if (!hand_over(listener, req, opened, flags, &resp)) return;
    } else {
      resp.error = opened;
    }
    ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
  });
  return false;
}

// The run is over: a writer still waiting for a fifo's reader is let go
// (its notification is gone), and its thread ends.
void Supervisor::end_fifo_waits() {
  for (auto& w : waiters_) {
    if (w.done->load() || w.keep < 0) continue;
    int r = open(own_link(w.keep).c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (r >= 0) close(r);
  }
  for (auto& w : waiters_) {
    if (w.thread.joinable()) w.thread.join();
    if (w.keep >= 0) close(w.keep);
  }
  waiters_.clear();
}

}  // namespace catbox
