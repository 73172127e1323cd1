#include "syscalls.h"

#include <cerrno>
#include <cstdio>
#include <sys/syscall.h>

// Numbers newer than the build host's kernel headers (x86_64 table).
#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif
#ifndef __NR_lsm_set_self_attr
#define __NR_lsm_set_self_attr 460
#endif
#ifndef __NR_quotactl_fd
#define __NR_quotactl_fd 443
#endif
#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif
#ifndef __NR_openat2
#define __NR_openat2 437
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif
#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424
#endif
#ifndef __NR_clone3
#define __NR_clone3 435
#endif
#ifndef __NR_process_madvise
#define __NR_process_madvise 440
#endif
#ifndef __NR_process_mrelease
#define __NR_process_mrelease 448
#endif

namespace catbox {
namespace {

constexpr PathOperand kNone{-1, -1, Follow::Yes, Access::None, Empty::No};

constexpr PathOperand P(int8_t path, Follow f, Access a) { return {-1, path, f, a, Empty::No}; }
constexpr PathOperand At(int8_t dirfd, int8_t path, Follow f, Access a, Empty empty = Empty::No) {
  return {dirfd, path, f, a, empty};
}

constexpr SyscallDef path1(int nr, const char* name, PathOperand a, int8_t flags = -1, Fake fake = Fake::None,
                           int8_t val = -1) {
  return {nr, name, Filter::Trace, Kind::Path, flags, -1, a, kNone, 0, fake, val};
}
constexpr SyscallDef path2(int nr, const char* name, PathOperand a, PathOperand b, int8_t flags = -1,
                           Fake fake = Fake::None) {
  return {nr, name, Filter::Trace, Kind::Path, flags, -1, a, b, 0, fake, -1};
}
constexpr SyscallDef open_call(int nr, const char* name, PathOperand a, int8_t flags, int8_t mode) {
  return {nr, name, Filter::TraceOpen, Kind::Path, flags, -1, a, kNone, 0, Fake::Create, mode};
}
constexpr SyscallDef fd_call(int nr, const char* name, Fake fake = Fake::None, int8_t val = -1) {
  return {nr, name, Filter::Trace, Kind::Fd, -1, 0, kNone, kNone, 0, fake, val};
}
constexpr SyscallDef refuse(int nr, const char* name, int err) {
  return {nr, name, Filter::Errno, Kind::Path, -1, -1, kNone, kNone, err, Fake::None, -1};
}
constexpr SyscallDef special(int nr, const char* name, Filter f, Kind k = Kind::Path, int8_t flags = -1) {
  return {nr, name, f, k, flags, 0, kNone, kNone, 0, Fake::None, -1};
}
constexpr SyscallDef identity(int nr, const char* name) {
  return {nr, name, Filter::FakeRoot, Kind::Identity, -1, -1, kNone, kNone, 0, Fake::None, -1};
}
constexpr SyscallDef stat_call(int nr, const char* name, int8_t buf, PathOperand a = kNone, int8_t flags = -1) {
  return {nr, name, Filter::FakeRoot, Kind::Stat, flags, -1, a, kNone, 0, Fake::None, buf};
}
// A read of a path: only the overlay needs to see it (to translate it).
constexpr SyscallDef read_call(int nr, const char* name, PathOperand a, int8_t flags = -1) {
  return {nr, name, Filter::Overlay, Kind::Path, flags, -1, a, kNone, 0, Fake::None, -1};
}
// getxattr and listxattr (and their fd forms, fd in arg 0): stop in fake root
// (and in overlay mode when they name a path).
constexpr SyscallDef xattr_read(int nr, const char* name, PathOperand a, Fake fake, int8_t val) {
  return {nr, name, Filter::FakeRoot, Kind::Path, -1, static_cast<int8_t>(a.path < 0 ? 0 : -1), a, kNone, 0, fake, val};
}
constexpr SyscallDef overlay_refuse(int nr, const char* name, int err) {
  return {nr, name, Filter::OverlayErrno, Kind::Path, -1, -1, kNone, kNone, err, Fake::None, -1};
}

// Most frequent first: the filter tests rows in this order.
const SyscallDef kRows[] = {
    // --- opening for write ---
    open_call(__NR_openat, "openat", At(0, 1, Follow::OpenFlags, Access::Open), 2, 3),
    open_call(__NR_open, "open", P(0, Follow::OpenFlags, Access::Open), 1, 2),
    path1(__NR_creat, "creat", P(0, Follow::OpenFlags, Access::Open), -1, Fake::Create, 1),
    refuse(__NR_openat2, "openat2", ENOSYS),  // open_how lives in tracee memory; libc falls back to openat
    path1(__NR_truncate, "truncate", P(0, Follow::Yes, Access::Modify)),
    fd_call(__NR_ftruncate, "ftruncate"),

    // --- namespace: create, remove, rename, link ---
    path1(__NR_mkdir, "mkdir", P(0, Follow::No, Access::Create), -1, Fake::Create, 1),
    path1(__NR_mkdirat, "mkdirat", At(0, 1, Follow::No, Access::Create), -1, Fake::Create, 2),
    path1(__NR_mknod, "mknod", P(0, Follow::No, Access::Create), -1, Fake::Mknod, 1),
    path1(__NR_mknodat, "mknodat", At(0, 1, Follow::No, Access::Create), -1, Fake::Mknod, 2),
    path1(__NR_rmdir, "rmdir", P(0, Follow::No, Access::Remove), -1, Fake::Unlink),
    path1(__NR_unlink, "unlink", P(0, Follow::No, Access::Remove), -1, Fake::Unlink),
    path1(__NR_unlinkat, "unlinkat", At(0, 1, Follow::No, Access::Remove), 2, Fake::Unlink),
    path2(__NR_rename, "rename", P(0, Follow::No, Access::Remove), P(1, Follow::No, Access::Replace), -1, Fake::Rename),
    path2(__NR_renameat, "renameat", At(0, 1, Follow::No, Access::Remove), At(2, 3, Follow::No, Access::Replace), -1,
          Fake::Rename),
    // RENAME_EXCHANGE changes both names, RENAME_WHITEOUT leaves a device behind:
    // both sides are writes either way.
    path2(__NR_renameat2, "renameat2", At(0, 1, Follow::No, Access::Remove), At(2, 3, Follow::No, Access::Replace), 4,
          Fake::Rename),
    // A hard link's source is checked as a write: otherwise a link from outside
    // into an allowed directory would let the build write the outside file.
    path2(__NR_link, "link", P(0, Follow::No, Access::Modify), P(1, Follow::No, Access::Create)),
    path2(__NR_linkat, "linkat", At(0, 1, Follow::IfFollow, Access::Modify, Empty::AtEmptyPath),
          At(2, 3, Follow::No, Access::Create), 4),
    path1(__NR_symlink, "symlink", P(1, Follow::No, Access::Create)),
    path1(__NR_symlinkat, "symlinkat", At(1, 2, Follow::No, Access::Create)),

    // --- metadata ---
    path1(__NR_chmod, "chmod", P(0, Follow::Yes, Access::Modify), -1, Fake::Chmod, 1),
    fd_call(__NR_fchmod, "fchmod", Fake::Chmod, 1),
    path1(__NR_fchmodat, "fchmodat", At(0, 1, Follow::Yes, Access::Modify), -1, Fake::Chmod, 2),
    path1(__NR_fchmodat2, "fchmodat2", At(0, 1, Follow::UnlessNoFollow, Access::Modify, Empty::AtEmptyPath), 3,
          Fake::Chmod, 2),
    path1(__NR_chown, "chown", P(0, Follow::Yes, Access::Modify), -1, Fake::Chown, 1),
    fd_call(__NR_fchown, "fchown", Fake::Chown, 1),
    path1(__NR_lchown, "lchown", P(0, Follow::No, Access::Modify), -1, Fake::Chown, 1),
    path1(__NR_fchownat, "fchownat", At(0, 1, Follow::UnlessNoFollow, Access::Modify, Empty::AtEmptyPath), 4,
          Fake::Chown, 2),
    path1(__NR_utime, "utime", P(0, Follow::Yes, Access::Modify)),
    path1(__NR_utimes, "utimes", P(0, Follow::Yes, Access::Modify)),
    path1(__NR_futimesat, "futimesat", At(0, 1, Follow::Yes, Access::Modify, Empty::NullOrAtEmptyPath)),
    path1(__NR_utimensat, "utimensat", At(0, 1, Follow::UnlessNoFollow, Access::Modify, Empty::NullOrAtEmptyPath), 3),
    path1(__NR_setxattr, "setxattr", P(0, Follow::Yes, Access::Modify), -1, Fake::SetXattr, 1),
    path1(__NR_lsetxattr, "lsetxattr", P(0, Follow::No, Access::Modify), -1, Fake::SetXattr, 1),
    fd_call(__NR_fsetxattr, "fsetxattr", Fake::SetXattr, 1),
    path1(__NR_removexattr, "removexattr", P(0, Follow::Yes, Access::Modify), -1, Fake::RemoveXattr, 1),
    path1(__NR_lremovexattr, "lremovexattr", P(0, Follow::No, Access::Modify), -1, Fake::RemoveXattr, 1),
    fd_call(__NR_fremovexattr, "fremovexattr", Fake::RemoveXattr, 1),
    special(__NR_ioctl, "ioctl", Filter::TraceIoctl, Kind::Ioctl),

    // --- fake root: identity and what stat shows ---
    identity(__NR_getuid, "getuid"),
    identity(__NR_geteuid, "geteuid"),
    identity(__NR_getgid, "getgid"),
    identity(__NR_getegid, "getegid"),
    identity(__NR_getresuid, "getresuid"),
    identity(__NR_getresgid, "getresgid"),
    identity(__NR_setuid, "setuid"),
    identity(__NR_setgid, "setgid"),
    identity(__NR_setreuid, "setreuid"),
    identity(__NR_setregid, "setregid"),
    identity(__NR_setresuid, "setresuid"),
    identity(__NR_setresgid, "setresgid"),
    identity(__NR_setfsuid, "setfsuid"),
    identity(__NR_setfsgid, "setfsgid"),
    identity(__NR_setgroups, "setgroups"),
    identity(__NR_getgroups, "getgroups"),
    identity(__NR_capset, "capset"),
    stat_call(__NR_newfstatat, "newfstatat", 2, At(0, 1, Follow::UnlessNoFollow, Access::Read, Empty::AtEmptyPath), 3),
    stat_call(__NR_statx, "statx", 4, At(0, 1, Follow::UnlessNoFollow, Access::Read, Empty::AtEmptyPath), 2),
    stat_call(__NR_fstat, "fstat", 1),
    stat_call(__NR_stat, "stat", 1, P(0, Follow::Yes, Access::Read)),
    stat_call(__NR_lstat, "lstat", 1, P(0, Follow::No, Access::Read)),

    // --- reads: translated in overlay mode, never stopped otherwise ---
    read_call(__NR_access, "access", P(0, Follow::Yes, Access::Read)),
    read_call(__NR_faccessat, "faccessat", At(0, 1, Follow::Yes, Access::Read)),
    read_call(__NR_faccessat2, "faccessat2", At(0, 1, Follow::UnlessNoFollow, Access::Read, Empty::AtEmptyPath), 3),
    read_call(__NR_readlink, "readlink", P(0, Follow::No, Access::Read)),
    read_call(__NR_readlinkat, "readlinkat", At(0, 1, Follow::No, Access::Read)),
    read_call(__NR_chdir, "chdir", P(0, Follow::Yes, Access::Read)),
    read_call(__NR_execve, "execve", P(0, Follow::Yes, Access::Read)),
    read_call(__NR_execveat, "execveat", At(0, 1, Follow::UnlessNoFollow, Access::Read, Empty::AtEmptyPath), 4),
    // Reads of xattrs: translated in overlay mode, shown as recorded in fake root.
    xattr_read(__NR_getxattr, "getxattr", P(0, Follow::Yes, Access::Read), Fake::GetXattr, 1),
    xattr_read(__NR_lgetxattr, "lgetxattr", P(0, Follow::No, Access::Read), Fake::GetXattr, 1),
    xattr_read(__NR_fgetxattr, "fgetxattr", kNone, Fake::GetXattr, 1),
    xattr_read(__NR_listxattr, "listxattr", P(0, Follow::Yes, Access::Read), Fake::ListXattr, 1),
    xattr_read(__NR_llistxattr, "llistxattr", P(0, Follow::No, Access::Read), Fake::ListXattr, 1),
    xattr_read(__NR_flistxattr, "flistxattr", kNone, Fake::ListXattr, 1),
    read_call(__NR_statfs, "statfs", P(0, Follow::Yes, Access::Read)),
    read_call(__NR_inotify_add_watch, "inotify_add_watch", P(1, Follow::Yes, Access::Read)),
    read_call(__NR_name_to_handle_at, "name_to_handle_at", At(0, 1, Follow::IfFollow, Access::Read, Empty::AtEmptyPath),
              4),
    read_call(__NR_fanotify_mark, "fanotify_mark", At(3, 4, Follow::Yes, Access::Read)),
    {__NR_getcwd, "getcwd", Filter::Overlay, Kind::Cwd, -1, -1, kNone, kNone, 0, Fake::None, -1},
    special(__NR_getsockname, "getsockname", Filter::Overlay, Kind::SockName),
    special(__NR_getpeername, "getpeername", Filter::Overlay, Kind::SockName),
    special(__NR_accept, "accept", Filter::Overlay, Kind::SockName),
    special(__NR_accept4, "accept4", Filter::Overlay, Kind::SockName),
    overlay_refuse(464, "getxattrat", ENOSYS),
    overlay_refuse(468, "file_getattr", ENOSYS),
    overlay_refuse(465, "listxattrat", ENOSYS),

    // --- network ---
    special(__NR_bind, "bind", Filter::Trace, Kind::Bind),
    special(__NR_connect, "connect", Filter::TraceNet, Kind::Net),
    special(__NR_sendto, "sendto", Filter::TraceNet, Kind::Net),
    special(__NR_sendmsg, "sendmsg", Filter::TraceNet, Kind::Net),
    special(__NR_sendmmsg, "sendmmsg", Filter::TraceNet, Kind::Net),
    special(__NR_socket, "socket", Filter::Socket),
    // IP_OPTIONS with a source route, IPv6 routing headers: the datagram goes
    // first to an address the destination check never saw.
    special(__NR_setsockopt, "setsockopt", Filter::TraceSockopt, Kind::Net),

    // --- signals: the build may signal its own processes, nothing else ---
    special(__NR_kill, "kill", Filter::Trace, Kind::Signal),
    special(__NR_tkill, "tkill", Filter::Trace, Kind::Signal),
    special(__NR_tgkill, "tgkill", Filter::Trace, Kind::Signal),
    special(__NR_rt_sigqueueinfo, "rt_sigqueueinfo", Filter::Trace, Kind::Signal),
    special(__NR_rt_tgsigqueueinfo, "rt_tgsigqueueinfo", Filter::Trace, Kind::Signal),
    special(__NR_pidfd_send_signal, "pidfd_send_signal", Filter::Trace, Kind::Signal),
    // Signals by way of a descriptor: SIGIO/SIGURG (or any F_SETSIG signal)
    // go to the fd's owner. FIOSETOWN and SIOCSPGRP set it too (ioctl, below).
    special(__NR_fcntl, "fcntl", Filter::TraceFcntl, Kind::Signal),
    // Another process's limits: RLIMIT_CPU of 1 s kills it as surely as a signal.
    special(__NR_prlimit64, "prlimit64", Filter::TraceOtherPid, Kind::Signal),

    // --- processes: what would leave the supervisor's sight ---
    special(__NR_clone, "clone", Filter::Clone),
    refuse(__NR_clone3, "clone3", ENOSYS),  // flags in memory; glibc falls back to clone
    special(__NR_seccomp, "seccomp", Filter::Seccomp),
    refuse(__NR_ptrace, "ptrace", EPERM),
    refuse(__NR_process_vm_writev, "process_vm_writev", EPERM),
    refuse(__NR_process_vm_readv, "process_vm_readv", EPERM),
    refuse(__NR_pidfd_getfd, "pidfd_getfd", EPERM),
    refuse(__NR_io_uring_setup, "io_uring_setup", ENOSYS),  // its operations never pass a stop
    refuse(__NR_io_uring_enter, "io_uring_enter", ENOSYS),
    refuse(__NR_io_uring_register, "io_uring_register", ENOSYS),
    refuse(__NR_open_by_handle_at, "open_by_handle_at", EPERM),
    refuse(__NR_bpf, "bpf", EPERM),

    // --- what changes the meaning of "/" or of a path ---
    refuse(__NR_mount, "mount", EPERM),
    refuse(__NR_umount2, "umount2", EPERM),
    refuse(__NR_pivot_root, "pivot_root", EPERM),
    refuse(__NR_chroot, "chroot", EPERM),
    refuse(__NR_unshare, "unshare", EPERM),
    refuse(__NR_setns, "setns", EPERM),
    refuse(__NR_open_tree, "open_tree", ENOSYS),
    refuse(__NR_move_mount, "move_mount", ENOSYS),
    refuse(__NR_fsopen, "fsopen", ENOSYS),
    refuse(__NR_fsconfig, "fsconfig", ENOSYS),
    refuse(__NR_fsmount, "fsmount", ENOSYS),
    refuse(__NR_fspick, "fspick", ENOSYS),
    refuse(__NR_mount_setattr, "mount_setattr", ENOSYS),
    refuse(467, "open_tree_attr", ENOSYS),

    // --- path-taking calls newer than the table's handlers ---
    refuse(463, "setxattrat", ENOSYS),
    refuse(466, "removexattrat", ENOSYS),
    refuse(469, "file_setattr", ENOSYS),
    refuse(__NR_uselib, "uselib", ENOSYS),
    refuse(__NR__sysctl, "_sysctl", ENOSYS),

    // --- the host, not the build ---
    refuse(__NR_acct, "acct", EPERM),
    refuse(__NR_swapon, "swapon", EPERM),
    refuse(__NR_swapoff, "swapoff", EPERM),
    refuse(__NR_reboot, "reboot", EPERM),
    refuse(__NR_kexec_load, "kexec_load", EPERM),
    refuse(__NR_kexec_file_load, "kexec_file_load", EPERM),
    refuse(__NR_init_module, "init_module", EPERM),
    refuse(__NR_finit_module, "finit_module", EPERM),
    refuse(__NR_delete_module, "delete_module", EPERM),
    refuse(__NR_quotactl, "quotactl", EPERM),
    refuse(__NR_quotactl_fd, "quotactl_fd", EPERM),
    refuse(__NR_sethostname, "sethostname", EPERM),
    refuse(__NR_setdomainname, "setdomainname", EPERM),
    refuse(__NR_settimeofday, "settimeofday", EPERM),
    refuse(__NR_clock_settime, "clock_settime", EPERM),
    refuse(__NR_clock_adjtime, "clock_adjtime", EPERM),
    refuse(__NR_adjtimex, "adjtimex", EPERM),
    refuse(__NR_syslog, "syslog", EPERM),
    refuse(__NR_vhangup, "vhangup", EPERM),
    refuse(__NR_iopl, "iopl", EPERM),
    refuse(__NR_ioperm, "ioperm", EPERM),
    refuse(__NR_lsm_set_self_attr, "lsm_set_self_attr", EPERM),

    // --- other processes' scheduling, memory and events: the build's own only ---
    // (rare calls, last: every row before a call costs it a test in the filter)
    // A perf event on another process can send it SIGTRAP (a breakpoint with
    // sigtrap); pid -1 watches every process on a CPU.
    special(__NR_perf_event_open, "perf_event_open", Filter::Trace, Kind::Signal),
    special(__NR_sched_setattr, "sched_setattr", Filter::TraceOtherPid, Kind::Signal),
    special(__NR_sched_setparam, "sched_setparam", Filter::TraceOtherPid, Kind::Signal),
    special(__NR_sched_setscheduler, "sched_setscheduler", Filter::TraceOtherPid, Kind::Signal),
    special(__NR_sched_setaffinity, "sched_setaffinity", Filter::TraceOtherPid, Kind::Signal),
    special(__NR_setpriority, "setpriority", Filter::TraceOtherWho, Kind::Signal),
    special(__NR_ioprio_set, "ioprio_set", Filter::TraceOtherWho, Kind::Signal),
    special(__NR_migrate_pages, "migrate_pages", Filter::TraceOtherPid, Kind::Signal),
    special(__NR_move_pages, "move_pages", Filter::TraceOtherPid, Kind::Signal),
    special(__NR_get_robust_list, "get_robust_list", Filter::TraceOtherPid, Kind::Signal),
    special(__NR_kcmp, "kcmp", Filter::Trace, Kind::Signal),
    special(__NR_process_madvise, "process_madvise", Filter::Trace, Kind::Signal),
    special(__NR_process_mrelease, "process_mrelease", Filter::Trace, Kind::Signal),
    // Permission events (root): every other process's open on a filesystem
    // would wait for the build's answer.
    special(__NR_fanotify_init, "fanotify_init", Filter::Fanotify),
};

constexpr int kRowCount = sizeof(kRows) / sizeof(kRows[0]);

struct Index {
  const SyscallDef* by_nr[kMaxSyscall] = {};
  Index() {
    for (const auto& row : kRows) by_nr[row.nr] = &row;
  }
};

const Index& index() {
  static const Index idx;
  return idx;
}

}  // namespace

const SyscallDef* lookup_syscall(long nr) {
  if (nr < 0 || nr >= kMaxSyscall) return nullptr;
  return index().by_nr[nr];
}

const SyscallDef* syscall_rows(int* count) {
  *count = kRowCount;
  return kRows;
}

const char* syscall_name(long nr) {
  const SyscallDef* row = lookup_syscall(nr);
  if (row) return row->name;
  static thread_local char buf[32];
  snprintf(buf, sizeof buf, "syscall_%ld", nr);
  return buf;
}

}  // namespace catbox
