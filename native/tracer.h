// The tracer loop: one thread forks the first process, owns every waitpid and
// ptrace call for the whole tree, and asks the policy about each stop.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "overlay.h"
#include "policy.h"
#include "recorder.h"
#include "tracelog.h"

namespace catbox {

struct Spec {
  std::string file;  // absolute path of the program
  std::vector<std::string> argv;
  std::vector<std::string> env;  // KEY=VALUE
  std::string cwd;
  Policy policy;
  bool hook_child_initialized = false;
  bool sync_violations = false;  // wait for the caller to take each violation
  // Violation events sent at most (the rest are only counted); -1: all.
  int64_t violation_events = -1;
  bool user_notif = true;  // pure allow/deny questions by seccomp user notification
  // Follow every process with ptrace even when no question needs it (the
  // library's process hooks want the tree); else enforce mode runs untraced.
  bool follow_processes = false;
  TraceOptions trace;
  std::string event_log;  // where the operation log goes when trace.any()
  bool fake_root = false;
  uint32_t fake_uid = 0;  // what getuid() and unrecorded files show
  uint32_t fake_gid = 0;
  std::string owner_db;  // the ownership journal (fake root)
  // The guest view: a root overlay and/or maps. file and cwd are guest paths then.
  bool guest_view = false;
  OverlayConfig overlay;
};

struct Stats {
  uint64_t processes = 0;  // processes and threads traced
  uint64_t seccomp_stops = 0;
  uint64_t notifications = 0;  // questions answered by seccomp user notification
  uint64_t event_stops = 0;
  uint64_t exit_stops = 0;
  uint64_t signals_forwarded = 0;
  uint64_t violations = 0;
  uint64_t log_lines = 0;
  uint64_t copy_ups = 0;      // overlay: lower files copied into the environment
  uint64_t whiteouts = 0;     // overlay: lower entries hidden
  uint64_t merged_views = 0;  // overlay: merged directory listings made
};

struct Outcome {
  int exit_code = 0;
  int signal = 0;  // 0 when the first process exited normally
  Stats stats;
  std::string error;  // set when the run could not start
};

// Called with the new process stopped; it continues when this returns.
using ChildInitialized = std::function<void(pid_t pid, pid_t ppid)>;

// Runs spec to the end of its last traced process. Must be called on a thread
// that blocks all signals and whose children are only the run's (see supervisor/launch.cc).
Outcome trace_run(const Spec& spec, Recorder& recorder, const ChildInitialized& child_initialized);

}  // namespace catbox
