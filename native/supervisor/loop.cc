// The tracer loop: one thread owns every waitpid and ptrace call for the whole
// tree (first stops, fork, clone and exec events, group-stops, exits).
#include "supervisor/supervisor.h"

#include <cerrno>
#include <csignal>
#include <elf.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <mutex>

#include "procfs.h"

namespace catbox {
namespace {

bool is_stop_signal(int sig) { return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU; }

}  // namespace

void Supervisor::resume(pid_t pid, int sig, bool to_exit) {
  ptrace(to_exit ? PTRACE_SYSCALL : PTRACE_CONT, pid, nullptr, reinterpret_cast<void*>(static_cast<long>(sig)));
}

void Supervisor::loop() {
  for (;;) {
    int st = 0;
    pid_t pid = waitpid(-1, &st, __WALL | __WNOTHREAD);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD: the last traced process is gone
    }
    // One event at a time with the notifier: they share the state.
    std::lock_guard<std::mutex> lock(mu_);
    if (WIFEXITED(st) || WIFSIGNALED(st)) {
      on_exit(pid, st);
      continue;
    }
    if (!WIFSTOPPED(st)) continue;
    if (!procs_.count(pid)) {
      on_first_stop(pid);
      continue;
    }
    int sig = WSTOPSIG(st);
    int event = static_cast<unsigned>(st) >> 16;
    switch (event) {
      case 0:
        if (sig == (SIGTRAP | 0x80)) {
          // The syscall-exit stop asked for at a seccomp stop (TRACESYSGOOD).
          out_.stats.exit_stops++;
          on_syscall_exit(pid);
          resume(pid);
          break;
        }
        // A signal on its way to the tracee: deliver it unchanged.
        out_.stats.signals_forwarded++;
        resume(pid, sig);
        break;
      case PTRACE_EVENT_SECCOMP:
        out_.stats.seccomp_stops++;
        resume(pid, 0, on_seccomp(pid));
        break;
      case PTRACE_EVENT_FORK:
      case PTRACE_EVENT_VFORK:
      case PTRACE_EVENT_CLONE: {
        out_.stats.event_stops++;
        // The child starts at its own first stop, which may come before
        // this event or never be followed by it. Until then it is a member
        // of the build already: the parent may signal it at once.
        unsigned long child = 0;
        if (ptrace(PTRACE_GETEVENTMSG, pid, nullptr, &child) == 0) {
          pid_t c = static_cast<pid_t>(child);
          bool process = event != PTRACE_EVENT_CLONE || !clones_thread(pid);
          auto early = died_early_.find(c);
          // (Unless the pid was taken again by this new child: then it lives.)
          if (early != died_early_.end() && kill(c, 0) < 0 && errno == ESRCH) {
            // Killed before this event was seen (by a group kill, say).
            if (process) child_died(c, early->second);
            died_early_.erase(early);
          } else {
            if (early != died_early_.end()) died_early_.erase(early);
            if (!procs_.count(c)) born_[c] = process;
          }
        }
        resume(pid);
        break;
      }
      case PTRACE_EVENT_EXEC: {
        out_.stats.event_stops++;
        // After an exec from a non-leader thread the thread takes over the
        // leader's pid; the old tid is gone without an exit report.
        unsigned long old_tid = 0;
        ptrace(PTRACE_GETEVENTMSG, pid, nullptr, &old_tid);
        if (static_cast<pid_t>(old_tid) != pid) procs_.erase(static_cast<pid_t>(old_tid));
        if (fake_) {
          auto me = procs_.find(pid);
          if (me != procs_.end()) fake_auxv(pid, me->second.creds);
        }
        if (spec_.trace.exec) log_exec(pid);
        resume(pid);
        break;
      }
      case PTRACE_EVENT_STOP:
        // Group-stop (SIGSTOP, Ctrl-Z): stay stopped but keep reporting, so
        // job control works and SIGCONT reaches the tracee.
        if (is_stop_signal(sig)) {
          ptrace(PTRACE_LISTEN, pid, nullptr, nullptr);
        } else {
          resume(pid);
        }
        break;
      default: resume(pid);
    }
  }
}

// Fake root, at the exec stop: the new program's auxiliary vector says the
// ids the process believes it has (AT_UID, AT_EUID, AT_GID, AT_EGID), as
// getuid does; the kernel wrote the real ones on its stack, after argc,
// argv and envp. Only those four words of the tracee's own stack change;
// /proc/PID/auxv keeps the kernel's.
void Supervisor::fake_auxv(pid_t pid, const Creds& c) {
  user_regs_struct regs;
  if (ptrace(PTRACE_GETREGS, pid, nullptr, &regs) < 0) return;
  // Everything from the stack pointer up to the strings above the vector
  // is mapped: read it page by page, as far as needed.
  constexpr size_t kPage = 4096;
  std::vector<uint64_t> words;
  uint64_t base = regs.rsp, end = regs.rsp;
  auto word = [&](size_t i, uint64_t* out) {
    while (base + 8 * (i + 1) > end) {
      if (words.size() > (1u << 20)) return false;  // 8 MiB: no such stack
      uint64_t next = (end / kPage + 1) * kPage;
      std::vector<uint64_t> chunk((next - end) / 8);
      if (read_memory(pid, end, chunk.data(), next - end) < 0) return false;
      words.insert(words.end(), chunk.begin(), chunk.end());
      end = next;
    }
    *out = words[i];
    return true;
  };
  uint64_t argc = 0, v = 0;
  if (base % 8 || !word(0, &argc)) return;
  size_t i = argc + 2;  // past argc, argv and its NULL
  do {
    if (!word(i++, &v)) return;
  } while (v != 0);  // envp and its NULL
  for (uint64_t type = 0; word(i, &type) && type != AT_NULL; i += 2) {
    uint64_t id;
    switch (type) {
      case AT_UID: id = c.ruid; break;
      case AT_EUID: id = c.euid; break;
      case AT_GID: id = c.rgid; break;
      case AT_EGID: id = c.egid; break;
      default: continue;
    }
    write_memory(pid, base + 8 * (i + 1), &id, sizeof id);
  }
}

// The first stop of an auto-attached child. It is resumed at once, whether
// or not its parent's fork event came first: that event never comes when
// the parent is killed right after fork (ptrace_stop skips stops while a
// fatal signal is pending), and waiting for it would hold the child forever.
// The child inherited the filter and the ptrace options, so it is never
// unsupervised.
void Supervisor::on_first_stop(pid_t pid) {
  born_.erase(pid);
  ProcIds ids = proc_ids(pid);
  pid_t tgid = ids.tgid > 0 ? ids.tgid : pid;
  // A thread's creator is its own process; a process's is its parent.
  pid_t parent = tgid != pid ? tgid : ids.ppid;
  Proc proc{tgid};
  auto from = procs_.find(parent);
  if (from != procs_.end()) proc.creds = from->second.creds;  // inherited across fork and clone
  procs_[pid] = proc;
  if (ov_ && tgid == pid) ov_->inherit_cwd_name(from != procs_.end() ? from->second.tgid : parent, pid);
  if (spec_.trace.exec && tgid == pid) log_.proc(pid, parent);
  out_.stats.processes++;
  if (spec_.hook_child_initialized && hook_) hook_(pid, parent);
  resume(pid);
}

void Supervisor::on_exit(pid_t pid, int st) {
  auto it = procs_.find(pid);
  bool known = it != procs_.end();
  bool leader = known && it->second.tgid == pid;
  if (known) procs_.erase(it);
  if (ov_ && leader) ov_->forget_cwd_name(pid);
  // A child killed before its first stop is known only by its parent's
  // fork event (born_), or not yet at all when that event is still to come.
  auto born = born_.find(pid);
  bool unseen_process = !known && born != born_.end() && born->second;
  bool unknown = !known && born == born_.end();
  if (born != born_.end()) born_.erase(born);
  if (leader && spec_.trace.exec)
    log_.exit(pid, WIFEXITED(st) ? WEXITSTATUS(st) : 0, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  if (WIFSIGNALED(st) && (leader || unseen_process)) child_died(pid, WTERMSIG(st));
  if (WIFSIGNALED(st) && unknown) died_early_[pid] = WTERMSIG(st);
  if (pid == root_) set_first_status(st);
}

void Supervisor::child_died(pid_t pid, int sig) {
  Event e{Event::Type::ChildDied};
  e.pid = pid;
  e.signal = sig;
  rec_.push(std::move(e));
}

// At a clone event: whether the call makes a thread (CLONE_THREAD), read
// from the stopped caller's arguments (clone3: its struct clone_args).
bool Supervisor::clones_thread(pid_t pid) {
  constexpr uint64_t kCloneThread = 0x00010000;
  user_regs_struct regs;
  if (ptrace(PTRACE_GETREGS, pid, nullptr, &regs) < 0) return false;
  uint64_t flags = regs.rdi;
  if (regs.orig_rax == __NR_clone3 && read_memory(pid, regs.rdi, &flags, sizeof flags) < 0) return false;
  return (flags & kCloneThread) != 0;
}

}  // namespace catbox
