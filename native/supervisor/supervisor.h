// The supervisor of one run: the state the tracer loop and the notifier
// thread share (they take turns, under mu_), and the member functions that
// the units of native/supervisor, native/syscall and native/extension define;
// each group below names its file. docs/supervisor.md has the map.
#pragma once
#include <atomic>
#include <cstdint>
#include <linux/seccomp.h>
#include <memory>
#include <mutex>
#include <string>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/user.h>
#include <thread>
#include <unordered_map>
#include <vector>

#include "act/act.h"
#include "fakeroot.h"
#include "memory.h"
#include "overlay.h"
#include "owners.h"
#include "policy.h"
#include "recorder.h"
#include "resolver.h"
#include "standin.h"
#include "syscalls.h"
#include "tracelog.h"
#include "tracer.h"

namespace catbox {

// Overlay work for a thread's syscall-exit stop.
struct OvPending {
  enum class Kind { None, Cwd, Readlink, Hide, Socket, Forget, SockName, Chdir } kind = Kind::None;
  uint64_t buf = 0, size = 0;  // the tracee's result buffer (getcwd, readlink; SockName: the address's)
  uint64_t len_at = 0;         // SockName: where the tracee's address length is
  uint64_t scratch = 0;        // where the kernel wrote the host path instead
  std::string hide[2];         // guest paths to hide once the call succeeded (Chdir: the new cwd's guest, host path)
  pid_t cwd_of = 0;            // Readlink: the process whose cwd link it reads
  // Socket: a short stand-in for a unix socket path too long for sun_path;
  // a bound socket moves to hide[1] once bind succeeded. Removed either way.
  std::string stand_in;
};

struct Proc {
  pid_t tgid = 0;
  Creds creds;      // fake root: what the process believes it is
  Pending pending;  // fake root: work for this thread's syscall-exit stop
  OvPending ov;     // overlay: the same
};

// Room below a stopped tracee's stack pointer for what the supervisor hands
// the kernel instead of the tracee's own arguments (translated paths). The
// red zone is left alone; the tracee is inside a system call, so nothing of
// its own lives below it.
class Scratch {
 public:
  Scratch(pid_t pid, uint64_t rsp) : pid_(pid), sp_(rsp - 128) {}
  // The address of the copy, or 0 when it cannot be written.
  uint64_t put(const void* data, size_t len) {
    sp_ = (sp_ - len) & ~uint64_t(15);
    return write_memory(pid_, sp_, data, len) < 0 ? 0 : sp_;
  }
  uint64_t put(const std::string& s) { return put(s.c_str(), s.size() + 1); }
  // Room for the kernel to write a result into.
  uint64_t reserve(size_t len) {
    sp_ = (sp_ - len) & ~uint64_t(15);
    return sp_;
  }

 private:
  pid_t pid_;
  uint64_t sp_;
};

class Supervisor {
 public:
  Supervisor(const Spec& spec, Recorder& rec, const ChildInitialized& hook) : spec_(spec), rec_(rec), hook_(hook) {}

  Outcome run();

 private:
  // ---- supervisor/launch.cc: the start and the end of a run ----
  Outcome fail(const char* what);
  void wait_reaper(int info_fd);
  void set_first_status(int st);

  // ---- supervisor/loop.cc: the ptrace loop (first stops, events, exits) ----
  void resume(pid_t pid, int sig = 0, bool to_exit = false);
  void loop();
  static void fake_auxv(pid_t pid, const Creds& c);
  void on_first_stop(pid_t pid);
  void on_exit(pid_t pid, int st);
  void child_died(pid_t pid, int sig);
  static bool clones_thread(pid_t pid);

  // ---- syscall/dispatch.cc: where each call goes, by ptrace stop or by notification ----
  void record(pid_t pid, const char* op, const std::string& given, const std::string& canonical, const Decision& d);
  bool on_seccomp(pid_t pid);
  Decision decide(const Tracee& t, const SyscallDef& row, const uint64_t* args, Action* act);
  void on_syscall_exit(pid_t pid);
  bool answer(int listener, const seccomp_notif& req, seccomp_notif_resp* resp);

  // ---- supervisor/notifier.cc: the notifier thread and the answers it computes itself ----
  void notify_main(int report_fd, int ack_fd, pid_t first);
  static bool still_asking(int listener, const seccomp_notif& req);
  bool stat_answer(int listener, const seccomp_notif& req, const Tracee& t, const SyscallDef& row, const uint64_t* args,
                   const std::string& path, bool follow, seccomp_notif_resp* resp);
  bool identity_answer(int listener, const seccomp_notif& req, const SyscallDef& row, const uint64_t* args,
                       seccomp_notif_resp* resp);
  bool fake_stat_answer(int listener, const seccomp_notif& req, const Tracee& t, const SyscallDef& row,
                        const uint64_t* args, seccomp_notif_resp* resp);
  bool guest_answer(int listener, const seccomp_notif& req, const Tracee& t, const SyscallDef& row,
                    const uint64_t* args, seccomp_notif_resp* resp);

  // ---- supervisor/acting.cc: enforce mode's checked calls carried out by the supervisor ----
  bool act_answer(int listener, const seccomp_notif& req, const Tracee& t, const SyscallDef& row, const uint64_t* args,
                  seccomp_notif_resp* resp);
  bool bind_answer(const Tracee& t, const SyscallDef& row, const uint64_t* args, seccomp_notif_resp* resp);
  static bool hand_over(int listener, const seccomp_notif& req, int fd, int flags, seccomp_notif_resp* resp);
  static void undo_create(const Operand& op, const struct stat& made);
  bool open_later(int listener, const seccomp_notif& req, Fd object, int flags, pid_t tid);
  void end_fifo_waits();

  // ---- syscall/checks_path.cc: calls that name paths or fds ----
  static int read_operand(const Tracee& t, const PathOperand& op, const uint64_t* args, int flags, std::string* given,
                          bool* by_fd);
  Decision check_paths(const Tracee& t, const SyscallDef& row, const uint64_t* args, Operand* ops = nullptr);
  static bool may_mknod(pid_t tid);
  Decision check_operand(const Tracee& t, const SyscallDef& row, const PathOperand& op, const uint64_t* args, int flags,
                         int open_flags, Target* target, bool device_node = false, Operand* out = nullptr);
  void log_read(const Tracee& t, const SyscallDef& row, const uint64_t* args, int open_flags);
  void log_exec(pid_t pid);
  Decision check_fd(const Tracee& t, const SyscallDef& row, int fd, Fd* held = nullptr);

  // ---- syscall/checks_net.cc: network calls ----
  bool read_addr(pid_t tid, uint64_t ptr, uint64_t len, NetAddress* out, int* err, std::string* raw = nullptr);
  Decision net_decision(const Tracee& t, const SyscallDef& row, const NetAddress& a);
  Decision check_net(const Tracee& t, const SyscallDef& row, const uint64_t* args, user_regs_struct* regs, bool* dirty);
  static bool routes_v4(const unsigned char* p, size_t len);
  static bool routes_in_control(const std::vector<unsigned char>& buf);
  Decision route_decision(const Tracee& t, const SyscallDef& row, const char* what);
  Decision check_control(const Tracee& t, const SyscallDef& row, const msghdr& m);
  Decision check_sockopt(const Tracee& t, const SyscallDef& row, const uint64_t* args);
  Decision check_bind(const Tracee& t, const SyscallDef& row, const uint64_t* args, user_regs_struct* regs, bool* dirty,
                      BindCopy* out = nullptr);

  // ---- syscall/checks_process.cc: calls aimed at processes; who is a member of the build ----
  Decision check_signal(const Tracee& t, const SyscallDef& row, const uint64_t* args, Action* act);
  Decision check_other(const Tracee& t, const SyscallDef& row, const uint64_t* args);
  Decision check_owner(const Tracee& t, const SyscallDef& row, const uint64_t* args);
  static bool is_owner_ioctl(const SyscallDef& row, const uint64_t* args);
  static bool is_member(const void* ctx, pid_t pid);
  std::vector<pid_t> members() const;

  // ---- extension/guest_paths.cc: the guest view of path calls and reads ----
  std::string find_program(const std::string& name);
  static Resolved as_resolved(const GuestObject& o);
  Decision guest_paths(const Tracee& t, Proc& proc, const SyscallDef& row, const uint64_t* args, user_regs_struct& regs,
                       Action* act, bool* dirty);
  static int dot_name_error(const SyscallDef& row, Access access, int flags, const std::string& given);
  int read_host(const GuestObject& o, bool is_open, std::string* host, int open_flags = 0);
  Decision guest_read(const Tracee& t, Proc& proc, const SyscallDef& row, const GuestObject& o,
                      const std::string& given, bool by_fd, bool is_open, const uint64_t* args, user_regs_struct& regs,
                      bool* dirty, const std::string& exec_via = "");
  void guest_stat_fd(const Tracee& t, const SyscallDef& row, int fd, user_regs_struct& regs, bool* dirty);
  static bool read_only_write(const GuestObject& o, int mode);
  static Decision refuse(int err) { return Decision{false, err, false}; }

  // ---- extension/guest_exec.cc: exec in the guest view ----
  static bool read_shebang(const std::string& host, std::string* interp, std::string* optarg);
  static int exec_permission(pid_t tid, const std::string& host);
  Decision guest_script(const Tracee& t, const SyscallDef& row, const GuestObject& o, const std::string& given,
                        const std::string& host, const std::string& kernel_path, const uint64_t* args,
                        user_regs_struct& regs, Scratch& scratch, bool* dirty);
  std::string exec_stand_in(const std::string& name, const std::string& target);

  // ---- extension/guest_write.cc: writes in the guest view, and its syscall-exit work ----
  Decision guest_write(const SyscallDef& row, int flags, int open_flags, GuestObject* obj, const bool* by_fd,
                       bool recorded, std::string* host, OvPending* pend, Action* act);
  Decision guest_fd(const Tracee& t, const SyscallDef& row, int fd, const uint64_t* args);
  Decision guest_unix(const Tracee& t, const SyscallDef& row, const std::string& path, bool create,
                      user_regs_struct* regs, bool* dirty);
  std::string socket_stand_in();
  void guest_exit(pid_t pid, pid_t tgid, OvPending& pend, user_regs_struct& regs);

  const Spec& spec_;
  Recorder& rec_;
  const ChildInitialized& hook_;
  Outcome out_;
  TraceLog log_;
  OwnerDb owners_;
  std::unique_ptr<FakeRoot> fake_;
  std::unique_ptr<Overlay> ov_;  // the guest view, when there is one
  std::mutex mu_;                // the tracer loop and the notifier take turns
  bool acts_ = false;            // the notifier carries checked calls out itself (act/act.h)
  // Opens that wait (a fifo's reader, a lease's break), each on a thread.
  struct Waiter {
    std::thread thread;
    int keep = -1;                            // the object, to let a fifo's writer go at the end
    std::shared_ptr<std::atomic<bool>> done;  // the thread has answered
  };
  std::vector<Waiter> waiters_;
  std::thread notifier_;
  int stop_fd_ = -1;                                          // tells the notifier the run is over
  StandInDir socket_dir_;                                     // stand-ins for long unix socket paths
  std::unordered_map<std::string, std::string> bound_names_;  // unix socket host path -> the path bind was given
  std::string start_cwd_;                                     // the guest path of the first process's cwd
  StandInDir exec_dir_;                                       // stand-ins that name an interpreter after its script
  std::unordered_map<std::string, std::string> exec_links_;   // script name NUL interpreter -> stand-in
  uint64_t socket_serial_ = 0;
  Target targets_[2];  // what the current call's operands named
  pid_t root_ = 0;
  bool unfollowed_ = false;  // no ptrace: a reaper keeps the build together
  pid_t reaper_ = 0;
  std::unordered_map<pid_t, Proc> procs_;
  // Announced by a fork event, first stop not seen yet: whether it is a process (not a thread).
  std::unordered_map<pid_t, bool> born_;
  // Killed by a signal before anything announced them: their fork event may still come.
  std::unordered_map<pid_t, int> died_early_;
};

}  // namespace catbox
