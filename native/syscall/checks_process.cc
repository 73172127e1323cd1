// Checks of calls aimed at other processes (signals, scheduling, memory,
// an fd's owner), and which processes are the build's.
#include "supervisor/supervisor.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/perf_event.h>

#include "procfs.h"

namespace catbox {
namespace {

// Whether the thread tid belongs to a process below ancestor (not ancestor itself).
bool descends_from(pid_t tid, pid_t ancestor) {
  ProcIds ids = proc_ids(tid);
  if (ids.tgid <= 0 || ids.tgid == ancestor) return false;
  pid_t p = ids.ppid;  // a thread's status names its process's parent
  for (int depth = 0; depth < 100000 && p > 1; depth++) {
    if (p == ancestor) return true;
    p = proc_ids(p).ppid;
  }
  return false;
}

// The processes below root, from the children lists of its threads and theirs.
std::vector<pid_t> descendants(pid_t root) {
  std::vector<pid_t> out;
  std::vector<pid_t> todo{root};
  while (!todo.empty() && out.size() < 1000000) {
    pid_t p = todo.back();
    todo.pop_back();
    std::string task = "/proc/" + std::to_string(p) + "/task";
    DIR* d = opendir(task.c_str());
    if (!d) continue;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::string list = read_small_file(task + "/" + e->d_name + "/children");
      size_t i = 0;
      while (i < list.size()) {
        size_t j = list.find(' ', i);
        if (j == std::string::npos) j = list.size();
        if (j > i) {
          pid_t child = static_cast<pid_t>(atol(list.substr(i, j - i).c_str()));
          if (child > 0) {
            out.push_back(child);
            todo.push_back(child);
          }
        }
        i = j + 1;
      }
    }
    closedir(d);
  }
  return out;
}

}  // namespace

// Signals may reach processes of the build only: not catbox itself, not
// the user's shell or editor, not the machine (kill -1 as root).
Decision Supervisor::check_signal(const Tracee& t, const SyscallDef& row, const uint64_t* args, Action* act) {
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
      pid_t group = pid == 0 ? getpgid(t.tgid()) : -pid;
      int sent = 0;
      for (pid_t member : members()) {
        if (pid == -1 ? member == t.tgid() : getpgid(member) != group) continue;
        if (kill(member, sig) == 0) sent++;
      }
      act->skip = true;
      act->result = sent > 0 ? 0 : -ESRCH;
      return {};
    }
    case __NR_tkill:
    case __NR_rt_sigqueueinfo: target = static_cast<pid_t>(args[0]); break;
    case __NR_tgkill:
    case __NR_rt_tgsigqueueinfo: target = static_cast<pid_t>(args[1]); break;
    case __NR_pidfd_send_signal:
      target = static_cast<pid_t>(proc_field(
          "/proc/" + std::to_string(t.tid) + "/fdinfo/" + std::to_string(static_cast<int>(args[0])), "Pid:", 10, 0));
      if (target <= 0) return {};  // not a pidfd, or its process is gone: the kernel answers
      break;
    case __NR_fcntl: return check_owner(t, row, args);
    case __NR_prlimit64:
      target = static_cast<pid_t>(args[0]);
      if (target == t.tid || target == t.tgid()) return {};
      break;
    default: return check_other(t, row, args);
  }
  if (target <= 0 || is_member(this, target)) return {};
  Decision d = decide_signal(spec_.policy);
  if (d.violation) record(t.tid, row.name, "pid " + std::to_string(target), "", d);
  return d;
}

// Calls aimed at another process's scheduling, memory or events: like
// kill(), the build's own processes only. A perf event with sigtrap is a
// SIGTRAP to its process; SCHED_FIFO or a CPU mask can starve one.
Decision Supervisor::check_other(const Tracee& t, const SyscallDef& row, const uint64_t* args) {
  auto own = [&](pid_t pid) { return pid == 0 || pid == t.tid || pid == t.tgid() || is_member(this, pid); };
  auto outside = [&](const std::string& who) {
    Decision d = decide_signal(spec_.policy);
    if (d.violation) record(t.tid, row.name, who, "", d);
    return d;
  };
  auto pid_of_pidfd = [&](uint64_t fd) {
    return static_cast<pid_t>(proc_field(
        "/proc/" + std::to_string(t.tid) + "/fdinfo/" + std::to_string(static_cast<int>(fd)), "Pid:", 10, 0));
  };
  switch (row.nr) {
    case __NR_perf_event_open: {
      pid_t pid = static_cast<pid_t>(args[1]);
      int cpu = static_cast<int>(args[2]);
      if (args[4] & PERF_FLAG_PID_CGROUP) return outside("cgroup (fd " + std::to_string(pid) + ")");
      if (pid == -1) {
        if (cpu < 0) return {};  // the kernel's EINVAL
        return outside("every process on cpu " + std::to_string(cpu));
      }
      if (pid < 0 || own(pid)) return {};  // a negative pid: the kernel's ESRCH
      return outside("pid " + std::to_string(pid));
    }
    case __NR_setpriority:
    case __NR_ioprio_set: {
      // PRIO_PROCESS/PGRP/USER are 0/1/2; IOPRIO_WHO_PROCESS/PGRP/USER are 1/2/3.
      int which = static_cast<int>(args[0]) - (row.nr == __NR_ioprio_set ? 1 : 0);
      pid_t who = static_cast<pid_t>(args[1]);
      switch (which) {
        case 0: return who < 0 || own(who) ? Decision{} : outside("pid " + std::to_string(who));
        case 1: {
          // 0: the caller's group, which the first process shares with catbox.
          pid_t group = who == 0 ? getpgid(t.tgid()) : who;
          return who < 0 || (group > 0 && is_member(this, group)) ? Decision{}
                                                                  : outside("group " + std::to_string(group));
        }
        case 2: {
          // Every process of a user (0: the caller's real uid): never only the build's.
          long uid = who != 0 ? static_cast<uid_t>(who)
                              : proc_field("/proc/" + std::to_string(t.tid) + "/status", "Uid:", 10, 0);
          return outside("user " + std::to_string(uid));
        }
        default: return {};  // the kernel's EINVAL
      }
    }
    case __NR_kcmp: {
      pid_t a = static_cast<pid_t>(args[0]), b = static_cast<pid_t>(args[1]);
      if (a > 0 && !own(a)) return outside("pid " + std::to_string(a));
      if (b > 0 && !own(b)) return outside("pid " + std::to_string(b));
      return {};
    }
    case __NR_process_madvise:
    case __NR_process_mrelease: {
      pid_t pid = pid_of_pidfd(args[0]);
      if (pid <= 0 || own(pid)) return {};  // not a pidfd, or its process is gone: the kernel answers
      return outside("pid " + std::to_string(pid));
    }
    default: {
      // sched_set*, migrate_pages, move_pages, get_robust_list: arg 0, 0 for the caller.
      pid_t pid = static_cast<pid_t>(args[0]);
      if (pid <= 0 || own(pid)) return {};
      return outside("pid " + std::to_string(pid));
    }
  }
}

// fcntl F_SETOWN/F_SETOWN_EX, ioctl FIOSETOWN/SIOCSPGRP: the process (or
// process group) that will get the fd's SIGIO, SIGURG or F_SETSIG signal.
// Like kill(): the build's own processes, or a group one of them leads.
Decision Supervisor::check_owner(const Tracee& t, const SyscallDef& row, const uint64_t* args) {
  pid_t pid = 0;    // > 0: a process or thread
  pid_t group = 0;  // > 0: a process group
  int cmd = static_cast<int>(args[1]);
  if (row.nr == __NR_fcntl && cmd == F_SETOWN) {
    int owner = static_cast<int>(args[2]);
    if (owner > 0) pid = owner;
    if (owner < 0) group = -owner;
  } else {
    // F_SETOWN_EX (struct f_owner_ex) or the ioctls (an int): from its memory.
    int word[2] = {0, 0};
    size_t len = row.nr == __NR_fcntl ? sizeof word : sizeof word[0];
    if (read_memory(t.tid, args[2], word, len) < 0) return {};  // the kernel answers EFAULT
    if (row.nr == __NR_fcntl) {
      if (word[0] == F_OWNER_PGRP) {
        group = word[1];
      } else {
        pid = word[1];
      }
    } else if (word[0] > 0) {
      pid = word[0];
    } else if (word[0] < 0) {
      group = -word[0];
    }
  }
  if (pid <= 0 && group <= 0) return {};  // no owner, or the kernel's EINVAL
  if (pid > 0 ? pid == t.tgid() || pid == t.tid || is_member(this, pid) : is_member(this, group)) return {};
  Decision d = decide_signal(spec_.policy);
  if (d.violation)
    record(t.tid, row.name, (pid > 0 ? "owner pid " : "owner group ") + std::to_string(pid > 0 ? pid : group), "", d);
  return d;
}

bool Supervisor::is_owner_ioctl(const SyscallDef& row, const uint64_t* args) {
  if (row.nr != __NR_ioctl) return false;
  for (uint32_t cmd : kOwnerIoctls)
    if (static_cast<uint32_t>(args[1]) == cmd) return true;
  return false;
}

// For the resolvers: whether pid is a process (or thread) of the build.
bool Supervisor::is_member(const void* ctx, pid_t pid) {
  const Supervisor* s = static_cast<const Supervisor*>(ctx);
  if (s->unfollowed_) return descends_from(pid, s->reaper_);
  return s->procs_.count(pid) > 0 || s->born_.count(pid) > 0;
}

// The processes of the build (not their threads).
std::vector<pid_t> Supervisor::members() const {
  if (unfollowed_) return descendants(reaper_);
  std::vector<pid_t> out;
  for (const auto& [tid, proc] : procs_)
    if (tid == proc.tgid) out.push_back(tid);
  return out;
}

}  // namespace catbox
