#include "seccomp.h"

#include <cerrno>
#include <cstddef>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#ifndef __NR_faccessat2
#define __NR_faccessat2 439
#endif
#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif

#include "syscalls.h"

namespace catbox {
namespace {

// Flags that take a child out of the supervisor's sight (CLONE_UNTRACED) or
// give it a new view of mounts, pids or users that the tracer does not share.
constexpr uint32_t kDeniedCloneFlags = CLONE_UNTRACED | CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
                                       CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

// Ioctls that change a file or make one through a descriptor: checked as
// writes of the fd's object (and refused on the host's files in overlay mode).
constexpr uint32_t kWritingIoctls[] = {
    0x40086602,  // FS_IOC_SETFLAGS (chattr)
    0x40046602,  // FS_IOC32_SETFLAGS
    0x401c5820,  // FS_IOC_FSSETXATTR
    0x40087602,  // FS_IOC_SETVERSION
    0x40047602,  // FS_IOC32_SETVERSION
    0x41009432,  // FS_IOC_SETFSLABEL
    0x40806685,  // FS_IOC_ENABLE_VERITY
    0x800c6613,  // FS_IOC_SET_ENCRYPTION_POLICY
    0x50009401,  // BTRFS_IOC_SNAP_CREATE
    0x5000940e,  // BTRFS_IOC_SUBVOL_CREATE
    0x5000940f,  // BTRFS_IOC_SNAP_DESTROY
    0x50009417,  // BTRFS_IOC_SNAP_CREATE_V2
    0x50009418,  // BTRFS_IOC_SUBVOL_CREATE_V2
    0x40049409,  // BTRFS_IOC_CLONE (FICLONE)
    0x4020940d,  // BTRFS_IOC_CLONE_RANGE (FICLONERANGE)
    0xc0189436,  // FIDEDUPERANGE
};
constexpr uint32_t kTiocsti = 0x5412;  // pushes keystrokes into the terminal
constexpr uint32_t kTioclinux = 0x541C;

constexpr uint32_t arg_lo(int i) { return offsetof(seccomp_data, args) + 8 * i; }

class Program {
 public:
  void load(uint32_t offset) { code_.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offset)); }
  void ret(uint32_t action) { code_.push_back(BPF_STMT(BPF_RET | BPF_K, action)); }
  // if (A == k) run the next `len` instructions, else skip them
  void if_eq(uint32_t k, uint8_t len) { code_.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, 0, len)); }
  void if_set(uint32_t k, uint8_t len) { code_.push_back(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, k, 0, len)); }
  // if (A != k) run the next `len` instructions, else skip them
  void if_ne(uint32_t k, uint8_t len) { code_.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, len, 0)); }
  void if_ge(uint32_t k, uint8_t len) { code_.push_back(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, k, 0, len)); }
  void and_k(uint32_t k) { code_.push_back(BPF_STMT(BPF_ALU | BPF_AND | BPF_K, k)); }
  // if (A == k) skip `jt` instructions, else skip `jf`
  void jump_eq(uint32_t k, uint8_t jt, uint8_t jf) { code_.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, jt, jf)); }
  std::vector<sock_filter> take() { return std::move(code_); }

 private:
  std::vector<sock_filter> code_;
};

constexpr uint32_t errno_action(int err) { return SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA); }

// How the filter asks the supervisor: a ptrace stop, or a user notification
// when every question is a pure allow/deny.
uint32_t ask_action(const FilterOptions& opt) {
  return opt.notify && !opt.fake_root && !opt.overlay ? SECCOMP_RET_USER_NOTIF : SECCOMP_RET_TRACE;
}

// In overlay mode, the reads the supervisor can answer itself (it does the
// call on the host path and hands back the result or the fd): the stat
// family, access and readlink. Everything else must be translated in place.
bool answered_in_overlay(const SyscallDef& row) {
  // fstat too: an open merged directory must show the directory it lists.
  if (row.kind == Kind::Stat) return true;
  switch (row.nr) {
    case __NR_access:
    case __NR_faccessat:
    case __NR_faccessat2:
    case __NR_readlink:
    case __NR_readlinkat: return true;
  }
  return false;
}

// In fake-root mode, the calls the supervisor can answer itself: identity
// calls from the fake credentials, and (without the overlay, whose reads are
// answered above) the stat family, done on the object and written back with
// what was recorded. chown, chmod and mknod stay ptrace stops (arguments change).
bool answered_in_fake_root(const SyscallDef& row, const FilterOptions& opt) {
  return row.kind == Kind::Identity || (row.kind == Kind::Stat && !opt.overlay);
}

enum class Test { Equals, AnyBitOf };

// For call nr: fail with err when argument `arg` passes the test against k,
// else allow. The block always returns.
void refuse_when(Program& p, int nr, int arg, Test test, uint32_t k, int err) {
  p.if_eq(nr, 4);
  p.load(arg_lo(arg));
  if (test == Test::Equals) {
    p.if_eq(k, 1);
  } else {
    p.if_set(k, 1);
  }
  p.ret(errno_action(err));
  p.ret(SECCOMP_RET_ALLOW);
}

// Emits the block for one row; the block always returns.
void emit_row(Program& p, const SyscallDef& row, const FilterOptions& opt) {
  const bool overlay_reads = opt.notify && opt.overlay;
  const bool notified =
      (overlay_reads && answered_in_overlay(row)) || (opt.notify && opt.fake_root && answered_in_fake_root(row, opt));
  const uint32_t kAsk = notified ? SECCOMP_RET_USER_NOTIF : ask_action(opt);
  switch (row.filter) {
    case Filter::Allow: return;
    case Filter::Trace:
      p.if_eq(row.nr, 1);
      p.ret(kAsk);
      return;
    case Filter::Errno:
      p.if_eq(row.nr, 1);
      p.ret(errno_action(row.err));
      return;
    case Filter::TraceOpen:
      if (overlay_reads) {
        // Opening for writing is translated in place; a read-only open is
        // answered with an fd the supervisor opened at the host path, except
        // O_PATH, which cannot be handed over (SECCOMP_IOCTL_NOTIF_ADDFD).
        p.if_eq(row.nr, 4);
        p.load(arg_lo(row.flags_arg));
        p.if_set(kOpenWriteFlags | O_PATH, 1);
        p.ret(SECCOMP_RET_TRACE);
        p.ret(SECCOMP_RET_USER_NOTIF);
        return;
      }
      if (opt.trace_reads || opt.overlay) {
        p.if_eq(row.nr, 1);
        p.ret(kAsk);
        return;
      }
      p.if_eq(row.nr, 4);
      p.load(arg_lo(row.flags_arg));
      p.if_set(kOpenWriteFlags, 1);
      p.ret(kAsk);
      p.ret(SECCOMP_RET_ALLOW);
      return;
    case Filter::FakeRoot:
      if (!opt.fake_root && !(opt.overlay && (row.a.path >= 0 || row.kind == Kind::Stat))) return;
      p.if_eq(row.nr, 1);
      p.ret(kAsk);
      return;
    case Filter::Overlay:
      if (!opt.overlay) return;
      p.if_eq(row.nr, 1);
      p.ret(kAsk);
      return;
    case Filter::OverlayErrno:
      if (!opt.overlay) return;
      p.if_eq(row.nr, 1);
      p.ret(errno_action(row.err));
      return;
    case Filter::TraceNet:
      // In overlay mode a unix socket's path must be translated.
      if (!opt.restrict_network && !opt.overlay) return;
      p.if_eq(row.nr, 1);
      p.ret(kAsk);
      return;
    case Filter::Socket:
      // Packet sockets (EACCES), and IP raw sockets of protocol IPPROTO_RAW,
      // which write their own IP header (EPERM, the kernel's answer to a
      // user): the header's destination is not the one the check sees.
      if (!opt.restrict_network) return;
      p.if_eq(row.nr, 12);
      p.load(arg_lo(0));           // family
      p.jump_eq(AF_PACKET, 9, 0);  // -> EACCES
      p.jump_eq(AF_INET, 1, 0);    // -> the type
      p.jump_eq(AF_INET6, 0, 5);   // -> allow
      p.load(arg_lo(1));           // type, with SOCK_NONBLOCK/SOCK_CLOEXEC
      p.and_k(0xf);
      p.jump_eq(SOCK_RAW, 0, 2);     // -> allow
      p.load(arg_lo(2));             // protocol
      p.jump_eq(IPPROTO_RAW, 1, 0);  // -> EPERM
      p.ret(SECCOMP_RET_ALLOW);
      p.ret(errno_action(EPERM));
      p.ret(errno_action(EACCES));
      return;
    case Filter::TraceFcntl:
      p.if_eq(row.nr, 6);
      p.load(arg_lo(1));
      p.if_eq(F_SETOWN, 1);
      p.ret(kAsk);
      p.if_eq(F_SETOWN_EX, 1);
      p.ret(kAsk);
      p.ret(SECCOMP_RET_ALLOW);
      return;
    case Filter::TraceOtherPid:
      p.if_eq(row.nr, 4);
      p.load(arg_lo(0));
      p.if_eq(0, 1);
      p.ret(SECCOMP_RET_ALLOW);
      p.ret(kAsk);
      return;
    case Filter::TraceOtherWho: {
      // setpriority(PRIO_PROCESS, 0) and ioprio_set(IOPRIO_WHO_PROCESS, 0)
      // name the caller (nice, ionice): no stop. Any other pid, a process
      // group or a user's processes are asked about.
      constexpr uint32_t kIoprioWhoProcess = 1;
      uint32_t self_which = row.nr == __NR_setpriority ? static_cast<uint32_t>(PRIO_PROCESS) : kIoprioWhoProcess;
      p.if_eq(row.nr, 7);
      p.load(arg_lo(0));
      p.if_ne(self_which, 1);
      p.ret(kAsk);
      p.load(arg_lo(1));
      p.if_eq(0, 1);
      p.ret(SECCOMP_RET_ALLOW);
      p.ret(kAsk);
      return;
    }
    case Filter::TraceSockopt:
      // Source routes send a datagram to a first hop that is not its
      // destination: IP_OPTIONS (SOL_IP) may hold LSRR/SSRR, and IPv6
      // routing headers come as IPV6_RTHDR, IPV6_2292RTHDR or inside
      // IPV6_2292PKTOPTIONS. Only these stop, and only when restricted.
      if (!opt.restrict_network) return;
      // IP_HDRINCL and IPV6_HDRINCL too: a raw socket that writes its own
      // header sends it wherever the header says.
      p.if_eq(row.nr, 13);
      p.load(arg_lo(1));              // level
      p.jump_eq(IPPROTO_IP, 0, 3);    // -> the IPv6 test
      p.load(arg_lo(2));              // optname
      p.jump_eq(IP_OPTIONS, 8, 0);    // -> ask
      p.jump_eq(IP_HDRINCL, 7, 6);    // -> ask : allow
      p.jump_eq(IPPROTO_IPV6, 0, 5);  // -> allow
      p.load(arg_lo(2));
      p.jump_eq(57 /* IPV6_RTHDR */, 4, 0);
      p.jump_eq(5 /* IPV6_2292RTHDR */, 3, 0);
      p.jump_eq(6 /* IPV6_2292PKTOPTIONS */, 2, 0);
      p.jump_eq(36 /* IPV6_HDRINCL */, 1, 0);
      p.ret(SECCOMP_RET_ALLOW);
      p.ret(kAsk);
      return;
    case Filter::Clone: refuse_when(p, row.nr, 0, Test::AnyBitOf, kDeniedCloneFlags, EPERM); return;
    case Filter::Seccomp:
      // A user-notification filter outranks SECCOMP_RET_TRACE: the tracee
      // could answer its own openat calls and skip the tracer.
      refuse_when(p, row.nr, 1, Test::AnyBitOf, SECCOMP_FILTER_FLAG_NEW_LISTENER, EPERM);
      return;
    case Filter::Fanotify:
      // FAN_CLASS_CONTENT and FAN_CLASS_PRE_CONTENT: the classes that may ask
      // for permission events. EPERM is the kernel's answer to a user.
      refuse_when(p, row.nr, 0, Test::AnyBitOf, 0x4 | 0x8, EPERM);
      return;
    case Filter::TraceIoctl: {
      constexpr size_t n =
          sizeof kWritingIoctls / sizeof kWritingIoctls[0] + sizeof kOwnerIoctls / sizeof kOwnerIoctls[0];
      p.if_eq(row.nr, static_cast<uint8_t>(6 + 2 * n));
      p.load(arg_lo(1));
      p.if_eq(kTiocsti, 1);
      p.ret(errno_action(EPERM));
      p.if_eq(kTioclinux, 1);
      p.ret(errno_action(EPERM));
      for (uint32_t cmd : kWritingIoctls) {
        p.if_eq(cmd, 1);
        p.ret(kAsk);
      }
      for (uint32_t cmd : kOwnerIoctls) {
        p.if_eq(cmd, 1);
        p.ret(kAsk);
      }
      p.ret(SECCOMP_RET_ALLOW);
      return;
    }
  }
}

}  // namespace

std::vector<sock_filter> build_filter(const FilterOptions& options) {
  Program p;
  // Only the native 64-bit ABI is served. i386 numbers (int 0x80, 32-bit
  // programs) mean other calls than the table's, so they never run.
  p.load(offsetof(seccomp_data, arch));
  p.if_ne(AUDIT_ARCH_X86_64, 1);
  p.ret(errno_action(ENOSYS));
  p.load(offsetof(seccomp_data, nr));
  // x32 numbers arrive with the x86_64 arch and bit 30 set.
  p.if_set(__X32_SYSCALL_BIT, 1);
  p.ret(errno_action(ENOSYS));
  // Default deny for what the table does not know yet (the next new openat).
  p.if_ge(kMaxSyscall, 1);
  p.ret(errno_action(ENOSYS));
  int count = 0;
  const SyscallDef* rows = syscall_rows(&count);
  for (int i = 0; i < count; i++) emit_row(p, rows[i], options);
  p.ret(SECCOMP_RET_ALLOW);
  return p.take();
}

}  // namespace catbox
