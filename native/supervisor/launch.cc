// The start and the end of a run: the filter, the pipes, fork, PTRACE_SEIZE
// (or the reaper), the notifier thread; then the stand-ins removed and the
// statistics gathered.
#include "supervisor/supervisor.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>
#include <memory>
#include <mutex>
#include <sys/eventfd.h>
#include <thread>
#include <initializer_list>

#include "seccomp.h"
#include "supervisor/child.h"

namespace catbox {
namespace {

// Exec stops are needed even when execs are not logged: after an exec from a
// non-leader thread only the exec stop tells which tid is gone, and a stale
// entry would make a later process that reuses the tid look known.
constexpr int kPtraceOptions = PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
                               PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD;

// Reads len bytes unless end of file or an error comes first; returns how many.
size_t read_full(int fd, void* buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, static_cast<char*>(buf) + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

std::vector<char*> c_strings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

Outcome Supervisor::run() {
  FilterOptions fo;
  fo.restrict_network = spec_.policy.network != Network::Full;
  fo.trace_reads = spec_.trace.read;
  fo.fake_root = spec_.fake_root;
  std::string cwd = spec_.cwd, file = spec_.file;
  if (spec_.guest_view) {
    ov_ = std::make_unique<Overlay>();
    std::string err;
    if (!ov_->open(spec_.overlay, &err)) {
      out_.error = err;
      out_.exit_code = 126;
      return out_;
    }
    fo.overlay = true;
    // The first process enters its cwd before the filter is in place (so
    // the host path), and execs the guest path, translated at its stop.
    cwd = ov_->to_host(spec_.cwd);
    // ...by the name it was given (one host directory may have several).
    GuestObject start = ov_->resolve(Tracee{getpid(), getpid()}, AT_FDCWD, spec_.cwd, true);
    if (start.exists && start.is_dir && start.host == cwd) start_cwd_ = start.guest;
    if (file.find('/') == std::string::npos) file = find_program(file);
    if (file.empty()) {
      out_.error = spec_.file + ": command not found";
      out_.exit_code = 127;
      return out_;
    }
  }
  if (spec_.fake_root) {
    if (owners_.open(spec_.owner_db) < 0) return fail(("cannot open the ownership database " + spec_.owner_db).c_str());
    fake_ = std::make_unique<FakeRoot>(spec_.fake_uid, spec_.fake_gid, owners_);
    if (ov_)
      ov_->on_copy_up([this](const std::string& host, const std::string& upper, const std::string& g, mode_t mode) {
        fake_->copied_up(host, upper, g, mode);
      });
  }
  if (spec_.trace.any() && !spec_.event_log.empty() && log_.open(spec_.event_log) < 0)
    return fail(("cannot open the event log " + spec_.event_log).c_str());
  // /proc/PID of a process outside the build is not the build's to write.
  set_member_check(is_member, this);
  // Questions go by user notification where the supervisor can answer
  // them, several times cheaper than a ptrace stop (spec.user_notif false:
  // ptrace only, to compare). With fake root or the overlay only some are
  // (see seccomp.cc); the rest need their arguments changed.
  fo.notify = spec_.user_notif;
  // Then enforce mode asks nothing by ptrace stop, and unless the process
  // tree is wanted (the operation log, the library's process hooks) the
  // build runs untraced, kept together by a reaper (see reaper_main).
  unfollowed_ = fo.notify && !fo.overlay && !spec_.fake_root && !spec_.trace.any() && !spec_.follow_processes &&
                !spec_.hook_child_initialized;
  std::vector<sock_filter> filter = build_filter(fo);
  sock_fprog prog{static_cast<unsigned short>(filter.size()), filter.data()};
  std::vector<char*> argv = c_strings(spec_.argv);
  std::vector<char*> envp = c_strings(spec_.env);

  int sync[2];
  int report[2] = {-1, -1};
  int info[2] = {-1, -1};  // the reaper's reports
  auto close_pipes = [&]() {
    for (int fd : {sync[0], sync[1], report[0], report[1], info[0], info[1]})
      if (fd >= 0) close(fd);
  };
  if (pipe2(sync, O_CLOEXEC) < 0) return fail("pipe2");
  if ((fo.notify && pipe2(report, O_CLOEXEC) < 0) || (unfollowed_ && pipe2(info, O_CLOEXEC) < 0)) {
    int err = errno;
    close_pipes();
    errno = err;
    return fail("pipe2");
  }
  pid_t supervisor = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close_pipes();
    errno = err;
    return fail("fork");
  }
  if (pid == 0) {
    close(sync[1]);
    if (fo.notify) close(report[0]);
    ChildArgs child{cwd.c_str(), file.c_str(), sync[0], report[1], &prog, argv.data(), envp.data()};
    if (unfollowed_) {
      close(info[0]);
      reaper_main(supervisor, info[1], child);
    }
    child_main(child);
  }
  close(sync[0]);
  if (fo.notify) close(report[1]);
  if (unfollowed_) {
    close(info[1]);
    reaper_ = pid;
    pid_t first = 0;
    if (read_full(info[0], &first, sizeof first) != sizeof first || first <= 0) {
      kill(reaper_, SIGKILL);
      close(sync[1]);
      close(report[0]);
      close(info[0]);
      waitpid(reaper_, nullptr, __WALL);
      errno = ECHILD;
      return fail("the reaper did not start the first process");
    }
    pid = first;
  } else if (ptrace(PTRACE_SEIZE, pid, nullptr, reinterpret_cast<void*>(static_cast<long>(kPtraceOptions))) < 0) {
    int err = errno;
    kill(pid, SIGKILL);
    close(sync[1]);
    waitpid(pid, nullptr, __WALL);
    errno = err;
    return fail("ptrace(PTRACE_SEIZE)");
  }
  root_ = pid;
  if (ov_ && !start_cwd_.empty()) ov_->set_cwd_name(pid, start_cwd_, cwd);
  if (!unfollowed_) {
    procs_[pid] = Proc{pid};
    if (fake_) procs_[pid].creds = fake_->initial();
    out_.stats.processes++;
  }
  log_.start(pid);
  if (spec_.trace.exec) log_.proc(pid, getpid());
  Event start{Event::Type::Start};
  start.pid = pid;
  rec_.push(std::move(start));
  if (spec_.hook_child_initialized && hook_) hook_(pid, getpid());
  if (fo.notify) {
    stop_fd_ = eventfd(0, EFD_CLOEXEC);
    notifier_ = std::thread(&Supervisor::notify_main, this, report[0], sync[1], pid);
  }
  if (write(sync[1], "g", 1) != 1) {  // the child may go on
    kill(pid, SIGKILL);
  }
  if (!fo.notify) close(sync[1]);  // else the notifier answers on it, then closes it
  if (unfollowed_) {
    wait_reaper(info[0]);
  } else {
    loop();
  }
  if (notifier_.joinable()) {
    uint64_t one = 1;
    if (write(stop_fd_, &one, sizeof one) < 0) {
    }
    notifier_.join();
    close(stop_fd_);
  }
  log_.flush();
  set_member_check(nullptr, nullptr);
  out_.stats.log_lines = log_.lines();
  if (socket_dir_.made()) {
    // Stand-ins of bound sockets were moved away; any left are stale.
    // Through the folder's fd: its path may lead elsewhere by now.
    for (uint64_t i = 1; i <= socket_serial_; i++) socket_dir_.remove(std::to_string(i));
    socket_dir_.finish();
  }
  if (exec_dir_.made()) {
    for (const auto& [key, link] : exec_links_) {
      std::string rest = link.substr(exec_dir_.path().size() + 1);  // N/name
      exec_dir_.remove_link(rest.substr(0, rest.find('/')), rest.substr(rest.find('/') + 1));
    }
    exec_dir_.finish();
  }
  if (ov_) {
    out_.stats.copy_ups = ov_->copy_ups();
    out_.stats.whiteouts = ov_->whiteouts_added();
    out_.stats.merged_views = ov_->merged_views();
  }
  return out_;
}

Outcome Supervisor::fail(const char* what) {
  out_.error = std::string(what) + ": " + strerror(errno);
  out_.exit_code = 126;
  return out_;
}

// Unfollowed runs: the reaper ends after the last process of the build,
// and tells how the first one ended.
void Supervisor::wait_reaper(int info_fd) {
  int st = 0;
  while (waitpid(reaper_, &st, __WALL | __WNOTHREAD) < 0 && errno == EINTR) {
  }
  int first = -1;
  bool told = read_full(info_fd, &first, sizeof first) == sizeof first && first != -1;
  close(info_fd);
  std::lock_guard<std::mutex> lock(mu_);
  // Without a word the reaper was killed from outside; the build's
  // processes lost their keeper, and this run its first process's status.
  set_first_status(told ? first : SIGKILL);
}

void Supervisor::set_first_status(int st) {
  if (WIFEXITED(st)) {
    out_.exit_code = WEXITSTATUS(st);
  } else {
    out_.signal = WTERMSIG(st);
    out_.exit_code = 128 + out_.signal;
  }
}

Outcome trace_run(const Spec& spec, Recorder& recorder, const ChildInitialized& child_initialized) {
  Supervisor s(spec, recorder, child_initialized);
  return s.run();
}

}  // namespace catbox
