// Where each call goes: on_seccomp (a ptrace stop), answer (a user
// notification), decide (the pure allow/deny questions both ask),
// on_syscall_exit, and record (a violation).
#include "supervisor/supervisor.h"

#include <sys/ptrace.h>
#include <sys/user.h>
#include <mutex>
#include <linux/audit.h>

#include "procfs.h"
#include "supervisor/util.h"

namespace catbox {
namespace {

std::string read_comm(pid_t pid) {
  std::string comm = read_small_file("/proc/" + std::to_string(pid) + "/comm", 64);
  while (!comm.empty() && comm.back() == '\n') comm.pop_back();
  return comm.empty() ? "?" : comm;
}

}  // namespace

void Supervisor::record(pid_t pid, const char* op, const std::string& given, const std::string& canonical,
                        const Decision& d) {
  out_.stats.violations++;
  // Nobody wants more of them than the result keeps: count only.
  if (spec_.violation_events >= 0 && out_.stats.violations > static_cast<uint64_t>(spec_.violation_events)) return;
  Event e{Event::Type::Violation};
  e.pid = pid;
  e.operation = op;
  e.path = given;
  e.canonical = canonical;
  e.program = read_comm(pid);
  e.denied = !d.allow;
  e.err = d.err;
  rec_.push(std::move(e));
  // The caller prints it before the build goes on, so the line comes
  // before the program's own error message about the same call.
  if (spec_.sync_violations) rec_.sync();
}

// Returns whether the tracee must stop again at the syscall's exit.
bool Supervisor::on_seccomp(pid_t pid) {
  user_regs_struct regs;
  if (ptrace(PTRACE_GETREGS, pid, nullptr, &regs) < 0) return false;
  const SyscallDef* row = lookup_syscall(static_cast<long>(regs.orig_rax));
  if (!row) return false;
  const uint64_t args[6] = {regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9};
  Proc& proc = procs_[pid];
  Tracee t{pid, proc.tgid};
  targets_[0] = targets_[1] = Target{};
  Action act;
  Decision d;
  bool dirty = false;  // regs were changed (translated arguments)
  if (ov_) {
    switch (row->kind) {
      case Kind::Path:
        if (row->a.path >= 0) d = guest_paths(t, proc, *row, args, regs, &act, &dirty);  // not fgetxattr, flistxattr
        break;
      case Kind::Stat:
        if (row->a.path >= 0) {
          d = guest_paths(t, proc, *row, args, regs, &act, &dirty);
        } else {
          guest_stat_fd(t, *row, static_cast<int>(args[0]), regs, &dirty);
        }
        if (d.allow && !act.skip && fake_) act.exit_stop |= fake_->stat_entry(*row, args, &proc.pending).exit_stop;
        break;
      case Kind::Cwd: {
        // The kernel writes the host path into a buffer of ours, which may
        // be longer than the tracee's; its guest path is copied over at exit.
        proc.ov = OvPending{};
        proc.ov.kind = OvPending::Kind::Cwd;
        proc.ov.buf = args[0];
        proc.ov.size = args[1];
        Scratch scratch(pid, regs.rsp);
        proc.ov.scratch = scratch.reserve(kMaxPath);
        regs.rdi = proc.ov.scratch;
        regs.rsi = kMaxPath;
        dirty = true;
        break;
      }
      case Kind::Fd:
      case Kind::Ioctl:
        d = is_owner_ioctl(*row, args) ? check_owner(t, *row, args)
                                       : guest_fd(t, *row, static_cast<int>(args[row->fd_arg]), args);
        break;
      case Kind::SockName: {
        // The kernel writes the address the socket was bound at, a host
        // path for a unix socket: its guest path is written over it at exit.
        uint32_t len = 0;
        if (args[1] != 0 && args[2] != 0 && read_memory(pid, args[2], &len, sizeof len) == 0) {
          proc.ov = OvPending{};
          proc.ov.kind = OvPending::Kind::SockName;
          proc.ov.buf = args[1];
          proc.ov.size = len;
          proc.ov.len_at = args[2];
          act.exit_stop = true;
        }
        break;
      }
      case Kind::Net: d = check_net(t, *row, args, &regs, &dirty); break;
      case Kind::Bind: d = check_bind(t, *row, args, &regs, &dirty); break;
      case Kind::Signal: d = check_signal(t, *row, args, &act); break;
      case Kind::Identity:
        if (fake_) act = fake_->identity(pid, proc.creds, row->nr, args);
        break;
    }
  } else if (row->kind == Kind::Identity) {
    if (fake_) act = fake_->identity(pid, proc.creds, row->nr, args);
  } else if (row->kind == Kind::Stat) {
    if (fake_) act = fake_->stat_entry(*row, args, &proc.pending);
  } else {
    d = decide(t, *row, args, &act);
  }
  if (proc.ov.kind != OvPending::Kind::None) act.exit_stop = true;
  if (!d.allow) {
    proc.ov = OvPending{};
    act = Action{};
    act.skip = true;
    act.result = -d.err;
  } else if (fake_ && row->fake != Fake::None && !act.skip) {
    Action fa = fake_->effect(*row, pid, args, targets_[0], targets_[1], &proc.pending);
    fa.exit_stop |= act.exit_stop;
    act = fa;
  }
  if (act.skip) proc.ov = OvPending{};
  if (!act.skip && act.arg < 0 && !dirty) return act.exit_stop;
  if (act.skip) {
    // Skip the call: with the number set to -1 the kernel runs nothing and
    // returns what the tracer put in rax (seccomp(2), SECCOMP_RET_TRACE).
    regs.orig_rax = static_cast<uint64_t>(-1);
    regs.rax = static_cast<uint64_t>(act.result);
  }
  if (act.arg >= 0) set_arg(regs, act.arg, act.value);
  if (act.arg2 >= 0) set_arg(regs, act.arg2, act.value2);
  ptrace(PTRACE_SETREGS, pid, nullptr, &regs);
  return act.exit_stop && !act.skip;
}

// The pure allow/deny questions, asked by a ptrace stop or a notification.
Decision Supervisor::decide(const Tracee& t, const SyscallDef& row, const uint64_t* args, Action* act) {
  switch (row.kind) {
    case Kind::Path: return check_paths(t, row, args);
    case Kind::Fd:
    case Kind::Ioctl:
      if (is_owner_ioctl(row, args)) return check_owner(t, row, args);
      return check_fd(t, row, static_cast<int>(args[row.fd_arg]));
    case Kind::Net: return check_net(t, row, args, nullptr, nullptr);
    case Kind::Bind: return check_bind(t, row, args, nullptr, nullptr);
    case Kind::Signal: return check_signal(t, row, args, act);
    default: return {};  // identity, stat, getcwd: not a question of allowing
  }
}

void Supervisor::on_syscall_exit(pid_t pid) {
  auto it = procs_.find(pid);
  if (it == procs_.end()) return;
  user_regs_struct regs;
  if (ptrace(PTRACE_GETREGS, pid, nullptr, &regs) < 0) return;
  if (ov_ && it->second.ov.kind != OvPending::Kind::None) guest_exit(pid, it->second.tgid, it->second.ov, regs);
  if (fake_) fake_->exit(Tracee{pid, it->second.tgid}, it->second.pending, static_cast<int64_t>(regs.rax));
}

// Decides one question as a ptrace stop would; false when the asking
// thread is gone (nothing to answer).
bool Supervisor::answer(int listener, const seccomp_notif& req, seccomp_notif_resp* resp) {
  std::lock_guard<std::mutex> lock(mu_);
  out_.stats.notifications++;
  const SyscallDef* row = req.data.arch == AUDIT_ARCH_X86_64 ? lookup_syscall(req.data.nr) : nullptr;
  pid_t tid = static_cast<pid_t>(req.pid);
  auto it = procs_.find(tid);
  Tracee t{tid, it != procs_.end() ? it->second.tgid : 0};  // unknown: looked up when needed
  uint64_t args[6];
  for (int i = 0; i < 6; i++) args[i] = req.data.args[i];
  targets_[0] = targets_[1] = Target{};
  Action act;
  Decision d;
  if (row && fake_ && row->kind == Kind::Identity) return identity_answer(listener, req, *row, args, resp);
  if (row && ov_) return guest_answer(listener, req, t, *row, args, resp);
  if (row && fake_ && row->kind == Kind::Stat) return fake_stat_answer(listener, req, t, *row, args, resp);
  if (row && acts_ && act_kind(*row, args) != ActKind::None) return act_answer(listener, req, t, *row, args, resp);
  if (row) d = decide(t, *row, args, &act);
  // No SECCOMP_IOCTL_NOTIF_ID_VALID here: the answer goes to this
  // notification only, and if its thread is gone (and its tid reused
  // before its memory was read) the kernel refuses the answer.
  if (!d.allow) {
    resp->error = -d.err;
  } else if (act.skip) {
    if (act.result < 0) {
      resp->error = static_cast<int32_t>(act.result);
    } else {
      resp->val = act.result;
    }
  } else {
    resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  }
  return true;
}

}  // namespace catbox
