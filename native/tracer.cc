#include "tracer.h"

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "fakeroot.h"
#include "memory.h"
#include "owners.h"
#include "procfs.h"
#include "resolver.h"
#include "seccomp.h"
#include "syscalls.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace catbox {
namespace {

// Exec stops are needed even when execs are not logged: after an exec from a
// non-leader thread only the exec stop tells which tid is gone, and a stale
// entry would make a later process that reuses the tid look known.
constexpr int kPtraceOptions = PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
                               PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL |
                               PTRACE_O_TRACESYSGOOD;
constexpr size_t kMaxPath = 4096;
constexpr unsigned kMaxMmsg = 1024;

// ---- the child, between fork and exec: async-signal-safe calls only ----

void child_say(const char* a, const char* b = "", const char* c = "") {
  for (const char* s : {a, b, c}) {
    size_t n = strlen(s);
    while (n > 0) {
      ssize_t w = write(2, s, n);
      if (w <= 0) return;
      s += w;
      n -= w;
    }
  }
}

const char* errno_text(int err) {
  switch (err) {
    case ENOENT: return "No such file or directory";
    case EACCES: return "Permission denied";
    case ENOEXEC: return "Exec format error";
    case ENOTDIR: return "Not a directory";
    case ELOOP: return "Too many levels of symbolic links";
    case E2BIG: return "Argument list too long";
    case ENOMEM: return "Out of memory";
    default: return "cannot run it";
  }
}

[[noreturn]] void child_main(const Spec& spec, int sync_fd, const sock_fprog* prog, char* const* argv,
                             char* const* envp) {
  // Node blocks signals on this thread and ignores SIGPIPE: both survive exec.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, nullptr);
  // Node marks its stdio close-on-exec, and a terminal or pipe it touched
  // non-blocking: a build expects blocking stdio (read and cat would fail
  // with EAGAIN). The flag is the open file's, shared with the terminal.
  for (int fd = 0; fd <= 2; fd++) {
    fcntl(fd, F_SETFD, 0);
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK)) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  }

  // If the tracer thread dies before it seizes us, die with it.
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  // Wait until the tracer has seized us: nothing may run unseen. End of file
  // instead of the go byte means the supervisor is gone.
  char byte;
  ssize_t n;
  while ((n = read(sync_fd, &byte, 1)) < 0 && errno == EINTR) {
  }
  if (n != 1) _exit(126);
  close(sync_fd);
  // Descriptors inherited from Node (logs, lock files, sockets) are writes that
  // name no path: none of them reaches the build.
  syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);

  // A crashing program makes the kernel write a core file into its cwd, a
  // write no system call of the build names. Hard limit 0: it cannot be raised.
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  if (chdir(spec.cwd.c_str()) < 0) {
    child_say("catbox: cannot enter ", spec.cwd.c_str(), "\n");
    _exit(126);
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog) < 0) {
    child_say("catbox: cannot install the seccomp filter: ", errno_text(errno), "\n");
    _exit(126);
  }
  execve(spec.file.c_str(), argv, envp);
  int err = errno;
  child_say("catbox: ", spec.file.c_str(), ": ");
  child_say(errno_text(err), "\n");
  _exit(err == ENOENT ? 127 : 126);
}

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// ---- the supervisor ----

struct Proc {
  pid_t tgid = 0;
  Creds creds;      // fake root: what the process believes it is
  Pending pending;  // fake root: work for this thread's syscall-exit stop
};

void set_arg(user_regs_struct& r, int i, uint64_t v) {
  switch (i) {
    case 0: r.rdi = v; break;
    case 1: r.rsi = v; break;
    case 2: r.rdx = v; break;
    case 3: r.r10 = v; break;
    case 4: r.r8 = v; break;
    case 5: r.r9 = v; break;
  }
}

std::string read_comm(pid_t pid) {
  std::string comm = read_small_file("/proc/" + std::to_string(pid) + "/comm", 64);
  while (!comm.empty() && comm.back() == '\n') comm.pop_back();
  return comm.empty() ? "?" : comm;
}

// Whether the kernel follows a final symlink for this operand.
bool follows(Follow f, int flags, int open_flags) {
  switch (f) {
    case Follow::Yes: return true;
    case Follow::No: return false;
    case Follow::UnlessNoFollow: return !(flags & AT_SYMLINK_NOFOLLOW);
    case Follow::IfFollow: return flags & AT_SYMLINK_FOLLOW;
    case Follow::OpenFlags:
      // O_CREAT|O_EXCL never follows a final symlink (it fails with EEXIST).
      return !(open_flags & O_NOFOLLOW) && !((open_flags & O_CREAT) && (open_flags & O_EXCL));
  }
  return true;
}

std::string read_link_or_empty(const std::string& path) {
  char buf[4096];
  ssize_t n = readlink(path.c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, n) : std::string();
}

std::string fd_link(pid_t tid, int fd) {
  return "/proc/" + std::to_string(tid) + (fd == AT_FDCWD ? "/cwd" : "/fd/" + std::to_string(fd));
}

bool is_stop_signal(int sig) { return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU; }

NetAddress parse_sockaddr(const unsigned char* buf, size_t len) {
  NetAddress a;
  if (len < sizeof(sa_family_t)) return a;
  memcpy(&a.family, buf, sizeof(sa_family_t));
  a.family &= 0xffff;
  char text[INET6_ADDRSTRLEN + 16];
  switch (a.family) {
    case AF_INET: {
      a.ip = true;
      sockaddr_in in;
      memset(&in, 0, sizeof in);
      memcpy(&in, buf, std::min(len, sizeof in));
      inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
      a.text = std::string(text) + ":" + std::to_string(ntohs(in.sin_port));
      a.loopback = (ntohl(in.sin_addr.s_addr) >> 24) == 127;
      break;
    }
    case AF_INET6: {
      a.ip = true;
      sockaddr_in6 in6;
      memset(&in6, 0, sizeof in6);
      memcpy(&in6, buf, std::min(len, sizeof in6));
      inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
      a.text = "[" + std::string(text) + "]:" + std::to_string(ntohs(in6.sin6_port));
      const uint8_t* b = in6.sin6_addr.s6_addr;
      a.loopback = IN6_IS_ADDR_LOOPBACK(&in6.sin6_addr) || (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr) && b[12] == 127);
      break;
    }
    case AF_UNIX: {
      size_t off = offsetof(sockaddr_un, sun_path);
      if (len <= off) break;  // unnamed
      const char* p = reinterpret_cast<const char*>(buf + off);
      size_t n = len - off;
      if (p[0] == '\0') {
        a.text = "@" + std::string(p + 1, strnlen(p + 1, n - 1));
      } else {
        a.text = std::string(p, strnlen(p, n));
      }
      break;
    }
    case AF_UNSPEC:
    case AF_NETLINK:
      break;
    default:
      // Packet, bluetooth, vsock...: treated as network, refused unless full.
      a.ip = true;
      a.text = "family " + std::to_string(a.family);
  }
  return a;
}

class Supervisor {
 public:
  Supervisor(const Spec& spec, Recorder& rec, const ChildInitialized& hook)
      : spec_(spec), rec_(rec), hook_(hook) {}

  Outcome run() {
    FilterOptions fo;
    fo.restrict_network = spec_.policy.network != Network::Full;
    fo.trace_reads = spec_.trace.read;
    fo.fake_root = spec_.fake_root;
    if (spec_.fake_root) {
      if (owners_.open(spec_.owner_db) < 0) return fail(("cannot open the ownership database " + spec_.owner_db).c_str());
      fake_ = std::make_unique<FakeRoot>(spec_.fake_uid, spec_.fake_gid, owners_);
    }
    if (spec_.trace.any() && !spec_.event_log.empty() && log_.open(spec_.event_log) < 0)
      return fail(("cannot open the event log " + spec_.event_log).c_str());
    std::vector<sock_filter> filter = build_filter(fo);
    sock_fprog prog{static_cast<unsigned short>(filter.size()), filter.data()};
    std::vector<char*> argv = c_strings(spec_.argv);
    std::vector<char*> envp = c_strings(spec_.env);

    int sync[2];
    if (pipe2(sync, O_CLOEXEC) < 0) return fail("pipe2");
    pid_t pid = fork();
    if (pid < 0) {
      close(sync[0]);
      close(sync[1]);
      return fail("fork");
    }
    if (pid == 0) {
      close(sync[1]);
      child_main(spec_, sync[0], &prog, argv.data(), envp.data());
    }
    close(sync[0]);
    if (ptrace(PTRACE_SEIZE, pid, nullptr, reinterpret_cast<void*>(static_cast<long>(kPtraceOptions))) < 0) {
      int err = errno;
      kill(pid, SIGKILL);
      close(sync[1]);
      waitpid(pid, nullptr, __WALL);
      errno = err;
      return fail("ptrace(PTRACE_SEIZE)");
    }
    root_ = pid;
    procs_[pid] = Proc{pid};
    if (fake_) procs_[pid].creds = fake_->initial();
    log_.start(pid);
    if (spec_.trace.exec) log_.proc(pid, getpid());
    Event start{Event::Type::Start};
    start.pid = pid;
    rec_.push(std::move(start));
    out_.stats.processes++;
    if (spec_.hook_child_initialized && hook_) hook_(pid, getpid());
    if (write(sync[1], "g", 1) != 1) {  // the child may go on
      kill(pid, SIGKILL);
    }
    close(sync[1]);
    loop();
    log_.flush();
    out_.stats.log_lines = log_.lines();
    return out_;
  }

 private:
  Outcome fail(const char* what) {
    out_.error = std::string(what) + ": " + strerror(errno);
    out_.exit_code = 126;
    return out_;
  }

  void resume(pid_t pid, int sig = 0, bool to_exit = false) {
    ptrace(to_exit ? PTRACE_SYSCALL : PTRACE_CONT, pid, nullptr, reinterpret_cast<void*>(static_cast<long>(sig)));
  }

  void loop() {
    for (;;) {
      int st = 0;
      pid_t pid = waitpid(-1, &st, __WALL | __WNOTHREAD);
      if (pid < 0) {
        if (errno == EINTR) continue;
        break;  // ECHILD: the last traced process is gone
      }
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
          if (ptrace(PTRACE_GETEVENTMSG, pid, nullptr, &child) == 0 && !procs_.count(static_cast<pid_t>(child)))
            born_.insert(static_cast<pid_t>(child));
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
        default:
          resume(pid);
      }
    }
  }

  // The first stop of an auto-attached child. It is resumed at once, whether
  // or not its parent's fork event came first: that event never comes when
  // the parent is killed right after fork (ptrace_stop skips stops while a
  // fatal signal is pending), and waiting for it would hold the child forever.
  // The child inherited the filter and the ptrace options, so it is never
  // unsupervised.
  void on_first_stop(pid_t pid) {
    born_.erase(pid);
    std::string status = read_small_file("/proc/" + std::to_string(pid) + "/status");
    pid_t tgid = static_cast<pid_t>(field_in(status, "Tgid:", 10, pid));
    // A thread's creator is its own process; a process's is its parent.
    pid_t parent = tgid != pid ? tgid : static_cast<pid_t>(field_in(status, "PPid:", 10, 0));
    Proc proc{tgid};
    auto from = procs_.find(parent);
    if (from != procs_.end()) proc.creds = from->second.creds;  // inherited across fork and clone
    procs_[pid] = proc;
    if (spec_.trace.exec && tgid == pid) log_.proc(pid, parent);
    out_.stats.processes++;
    if (spec_.hook_child_initialized && hook_) hook_(pid, parent);
    resume(pid);
  }

  void on_exit(pid_t pid, int st) {
    auto it = procs_.find(pid);
    bool leader = it != procs_.end() && it->second.tgid == pid;
    if (it != procs_.end()) procs_.erase(it);
    born_.erase(pid);
    if (leader && spec_.trace.exec) log_.exit(pid, WIFEXITED(st) ? WEXITSTATUS(st) : 0, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    if (WIFSIGNALED(st) && leader) {
      Event e{Event::Type::ChildDied};
      e.pid = pid;
      e.signal = WTERMSIG(st);
      rec_.push(std::move(e));
    }
    if (pid != root_) return;
    if (WIFEXITED(st)) {
      out_.exit_code = WEXITSTATUS(st);
    } else {
      out_.signal = WTERMSIG(st);
      out_.exit_code = 128 + out_.signal;
    }
  }

  void record(pid_t pid, const char* op, const std::string& given, const std::string& canonical, const Decision& d) {
    out_.stats.violations++;
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
  bool on_seccomp(pid_t pid) {
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
    switch (row->kind) {
      case Kind::Path: d = check_paths(t, *row, args); break;
      case Kind::Fd:
      case Kind::Ioctl: d = check_fd(t, *row, static_cast<int>(args[row->fd_arg])); break;
      case Kind::Net: d = check_net(t, *row, args); break;
      case Kind::Bind: d = check_bind(t, *row, args); break;
      case Kind::Signal: d = check_signal(t, *row, args, &act); break;
      case Kind::Identity:
        if (fake_) act = fake_->identity(pid, proc.creds, row->nr, args);
        break;
      case Kind::Stat:
        if (fake_) act = fake_->stat_entry(*row, args, &proc.pending);
        break;
    }
    if (!d.allow) {
      act = Action{};
      act.skip = true;
      act.result = -d.err;
    } else if (fake_ && row->fake != Fake::None) {
      act = fake_->effect(*row, pid, args, targets_[0], targets_[1], &proc.pending);
    }
    if (!act.skip && act.arg < 0) return act.exit_stop;
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

  void on_syscall_exit(pid_t pid) {
    auto it = procs_.find(pid);
    if (it == procs_.end() || !fake_) return;
    user_regs_struct regs;
    if (ptrace(PTRACE_GETREGS, pid, nullptr, &regs) < 0) return;
    fake_->exit(Tracee{pid, it->second.tgid}, it->second.pending, static_cast<int64_t>(regs.rax));
  }

  Decision check_paths(const Tracee& t, const SyscallDef& row, const uint64_t* args) {
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
    int i = 0;
    for (const PathOperand* op : {&row.a, &row.b}) {
      Target& target = targets_[i++];
      if (op->access == Access::None) continue;
      Decision d = check_operand(t, row, *op, args, flags, open_flags, &target);
      if (!d.allow) return d;
    }
    return {};
  }

  Decision check_operand(const Tracee& t, const SyscallDef& row, const PathOperand& op, const uint64_t* args,
                         int flags, int open_flags, Target* target) {
    int dirfd = op.dirfd >= 0 ? static_cast<int>(args[op.dirfd]) : AT_FDCWD;
    uint64_t ptr = args[op.path];
    std::string given;
    Resolved r;
    bool empty_path_flag = flags & AT_EMPTY_PATH;
    bool names_fd = ptr == 0 && (op.empty == Empty::NullOrAtEmptyPath || (op.empty == Empty::AtEmptyPath && empty_path_flag));
    if (!names_fd) {
      int rc = read_string(t.tid, ptr, &given, kMaxPath);
      if (rc < 0) return Decision{false, -rc, false};
      if (given.empty()) {
        if (op.empty == Empty::No || !empty_path_flag) return Decision{false, ENOENT, false};
        names_fd = true;
      }
    }
    r = names_fd ? resolve_fd(t, dirfd) : resolve_path(t, dirfd, given, follows(op.follow, flags, open_flags));
    target->valid = r.error == 0 && !r.anon;
    target->path = r.path;
    if (names_fd) {
      target->stat_path = fd_link(t.tid, dirfd);
      target->follow = true;
    } else {
      target->stat_path = r.path;
    }
    Decision d = decide_path(spec_.policy, op.access, open_flags, r);
    if (d.violation) record(t.tid, row.name, given.empty() ? r.path : given, r.path, d);
    if (spec_.trace.write && !r.anon && !r.path.empty()) log_.access(t.tgid, true, row.name, r.path, d.allow);
    return d;
  }

  void log_read(const Tracee& t, const SyscallDef& row, const uint64_t* args, int open_flags) {
    const PathOperand& op = row.a;
    std::string given;
    if (read_string(t.tid, args[op.path], &given, kMaxPath) < 0 || given.empty()) return;
    int dirfd = op.dirfd >= 0 ? static_cast<int>(args[op.dirfd]) : AT_FDCWD;
    Resolved r = resolve_path(t, dirfd, given, follows(op.follow, 0, open_flags));
    if (r.anon || r.path.empty()) return;
    // A missing file is a failed lookup: a header searched for in several directories.
    log_.access(t.tgid, false, row.name, r.path, r.exists && r.error == 0);
  }

  void log_exec(pid_t pid) {
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
    log_.exec(pid, read_link_or_empty(base + "/exe"), argv, read_link_or_empty(base + "/cwd"));
  }

  Decision check_fd(const Tracee& t, const SyscallDef& row, int fd) {
    Resolved r = resolve_fd(t, fd);
    if (r.error) return {};  // a bad fd: the kernel answers EBADF itself
    targets_[0] = Target{!r.anon, fd_link(t.tid, fd), true, r.path};
    Decision d = decide_path(spec_.policy, Access::Modify, 0, r);
    if (d.violation) record(t.tid, row.name, "fd " + std::to_string(fd), r.path, d);
    return d;
  }

  // Reads a sockaddr; false (with *err) when the memory cannot be read.
  bool read_addr(pid_t tid, uint64_t ptr, uint64_t len, NetAddress* out, int* err) {
    unsigned char buf[sizeof(sockaddr_storage)];
    size_t n = std::min<uint64_t>(len, sizeof buf);
    int rc = read_memory(tid, ptr, buf, n);
    if (rc < 0) {
      *err = -rc;
      return false;
    }
    *out = parse_sockaddr(buf, n);
    return true;
  }

  Decision net_decision(const Tracee& t, const SyscallDef& row, const NetAddress& a) {
    Decision d = decide_net(spec_.policy, a);
    if (d.violation) record(t.tid, row.name, a.text, "", d);
    return d;
  }

  Decision check_net(const Tracee& t, const SyscallDef& row, const uint64_t* args) {
    int err = 0;
    NetAddress a;
    switch (row.nr) {
      case __NR_connect:
        if (!read_addr(t.tid, args[1], args[2], &a, &err)) return Decision{false, err, false};
        return net_decision(t, row, a);
      case __NR_sendto:
        if (args[4] == 0) return {};  // a connected socket: connect was checked
        if (!read_addr(t.tid, args[4], args[5], &a, &err)) return Decision{false, err, false};
        return net_decision(t, row, a);
      case __NR_sendmsg: {
        msghdr m;
        if (read_memory(t.tid, args[1], &m, sizeof m) < 0) return Decision{false, EFAULT, false};
        if (!m.msg_name) return {};
        if (!read_addr(t.tid, reinterpret_cast<uint64_t>(m.msg_name), m.msg_namelen, &a, &err))
          return Decision{false, err, false};
        return net_decision(t, row, a);
      }
      case __NR_sendmmsg: {
        unsigned vlen = std::min<unsigned>(static_cast<unsigned>(args[2]), kMaxMmsg);
        for (unsigned i = 0; i < vlen; i++) {
          mmsghdr m;
          if (read_memory(t.tid, args[1] + i * sizeof(mmsghdr), &m, sizeof m) < 0) return Decision{false, EFAULT, false};
          if (!m.msg_hdr.msg_name) continue;
          if (!read_addr(t.tid, reinterpret_cast<uint64_t>(m.msg_hdr.msg_name), m.msg_hdr.msg_namelen, &a, &err))
            return Decision{false, err, false};
          Decision d = net_decision(t, row, a);
          if (!d.allow) return d;
        }
        return {};
      }
    }
    return {};
  }

  Decision check_bind(const Tracee& t, const SyscallDef& row, const uint64_t* args) {
    int err = 0;
    NetAddress a;
    if (!read_addr(t.tid, args[1], args[2], &a, &err)) return Decision{false, err, false};
    if (a.family == AF_UNIX) {
      if (a.text.empty() || a.text[0] == '@') return {};  // abstract or unnamed: no file
      // Binding a unix socket creates a file at its path.
      Resolved r = resolve_path(t, AT_FDCWD, a.text, false);
      Decision d = decide_path(spec_.policy, Access::Create, 0, r);
      if (d.violation) record(t.tid, row.name, a.text, r.path, d);
      if (!d.allow && !d.violation && d.err == EEXIST) d.err = EADDRINUSE;
      return d;
    }
    return net_decision(t, row, a);
  }

  // Signals may reach processes of the build only: not catbox itself, not
  // the user's shell or editor, not the machine (kill -1 as root).
  Decision check_signal(const Tracee& t, const SyscallDef& row, const uint64_t* args, Action* act) {
    pid_t target = 0;
    switch (row.nr) {
      case __NR_kill: {
        pid_t pid = static_cast<pid_t>(args[0]);
        if (pid > 0) {
          target = pid;
          break;
        }
        // A process group (0: the caller's) or everyone (-1): the first
        // process shares catbox's group, so deliver to the build's members
        // of it ourselves and leave everyone else out.
        int sig = static_cast<int>(args[1]);
        if (sig < 0 || sig > SIGRTMAX) return {};  // the kernel's EINVAL
        pid_t group = pid == 0 ? getpgid(t.tgid) : -pid;
        int sent = 0;
        for (const auto& [tid, proc] : procs_) {
          if (tid != proc.tgid) continue;  // one signal per process
          if (pid == -1 ? tid == t.tgid : getpgid(tid) != group) continue;
          if (kill(tid, sig) == 0) sent++;
        }
        act->skip = true;
        act->result = sent > 0 ? 0 : -ESRCH;
        return {};
      }
      case __NR_tkill:
      case __NR_rt_sigqueueinfo:
        target = static_cast<pid_t>(args[0]);
        break;
      case __NR_tgkill:
      case __NR_rt_tgsigqueueinfo:
        target = static_cast<pid_t>(args[1]);
        break;
      case __NR_pidfd_send_signal:
        target = static_cast<pid_t>(
            proc_field("/proc/" + std::to_string(t.tid) + "/fdinfo/" + std::to_string(static_cast<int>(args[0])), "Pid:", 10, 0));
        if (target <= 0) return {};  // not a pidfd, or its process is gone: the kernel answers
        break;
    }
    if (target <= 0 || procs_.count(target) || born_.count(target)) return {};
    Decision d = decide_signal(spec_.policy);
    if (d.violation) record(t.tid, row.name, "pid " + std::to_string(target), "", d);
    return d;
  }

  const Spec& spec_;
  Recorder& rec_;
  const ChildInitialized& hook_;
  Outcome out_;
  TraceLog log_;
  OwnerDb owners_;
  std::unique_ptr<FakeRoot> fake_;
  Target targets_[2];  // what the current call's operands named
  pid_t root_ = 0;
  std::unordered_map<pid_t, Proc> procs_;
  std::unordered_set<pid_t> born_;  // announced by a fork event, first stop not seen yet
};

}  // namespace

Outcome trace_run(const Spec& spec, Recorder& recorder, const ChildInitialized& child_initialized) {
  Supervisor s(spec, recorder, child_initialized);
  return s.run();
}

}  // namespace catbox
