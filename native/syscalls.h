// The syscall table: the single source of truth for what catbox sees.
// One row per x86_64 system call that is not simply allowed. The seccomp
// filter is generated from it and one generic decoder reads it; adding a
// system call is adding a row.
#pragma once
#include <cstdint>
#include <fcntl.h>

namespace catbox {

// What the in-kernel filter does with a call.
enum class Filter : uint8_t {
  Allow,          // never stops (the default for unlisted numbers below kMaxSyscall)
  Trace,          // always stops at the tracer
  TraceOpen,      // stops only when the open flags can write (flags in flags_arg)
  TraceNet,       // stops only when the network is restricted
  TraceIoctl,     // stops only for ioctls that change inode flags
  Clone,          // EPERM for CLONE_UNTRACED / namespace flags, else allowed
  Seccomp,        // EPERM when a tracee asks for a user-notification listener
  Fanotify,       // EPERM for fanotify groups that may get permission events
  Socket,         // EACCES for packet sockets when the network is restricted
  TraceFcntl,     // stops only for fcntl F_SETOWN / F_SETOWN_EX (who gets the fd's signals)
  TraceOtherPid,  // stops only when arg 0, a pid, is not 0 (another process's limits)
  TraceOtherWho,  // setpriority, ioprio_set: stops unless (arg 0, arg 1) is (this process, 0)
  TraceSockopt,   // stops only for options that route (IP_OPTIONS, IPv6 routing headers)
                  // when the network is restricted
  Errno,          // fails in the kernel with `err`, never runs
  FakeRoot,       // stops only in fake-root mode (identity and stat calls), and in
                  // overlay mode when it names a path
  Overlay,        // stops only in overlay mode: a read whose path must be translated
  OverlayErrno,   // fails with `err` in overlay mode (a path call catbox cannot translate)
};

// How the tracer reads one path operand.
enum class Follow : uint8_t {
  Yes,             // the last component's symlink is followed
  No,              // it is not (lchown, unlink, rename, mkdir...)
  UnlessNoFollow,  // followed unless AT_SYMLINK_NOFOLLOW is in flags_arg
  IfFollow,        // followed only if AT_SYMLINK_FOLLOW is in flags_arg (linkat)
  OpenFlags,       // open: followed unless O_NOFOLLOW, or O_CREAT|O_EXCL
};

// What the call does to the object the operand names.
enum class Access : uint8_t {
  None,
  Read,     // looks at the object (translated in overlay mode, never a write)
  Open,     // decided by the open flags
  Modify,   // content or metadata of an existing object
  Create,   // a new name (fails with EEXIST when it exists)
  Replace,  // a new name that may replace an existing one (rename target)
  Remove,   // removes a name
};

enum class Kind : uint8_t {
  Path,      // one or two path operands (below)
  Fd,        // the object is the open file in arg `fd_arg`
  Net,       // a socket address: connect, sendto, sendmsg, sendmmsg; routing options
  Bind,      // bind: a unix path is a Create, an IP address a network check
  Ioctl,     // FS_IOC_SETFLAGS-like on the fd in arg 0
  Signal,    // kill and friends, and calls aimed at another process's scheduling,
             // memory or events: only processes of the build may be reached
  Identity,  // getuid, setresgid...: answered from the fake credentials
  Stat,      // stat family: the result is rewritten at syscall exit
  Cwd,       // getcwd: the result is translated back in overlay mode
  SockName,  // getsockname, getpeername, accept: a unix socket's path translated back in overlay mode
};

// What fake-root mode does instead of (or besides) the call, once the
// write rules allow it.
enum class Fake : uint8_t {
  None,
  Chown,        // not performed; uid at val_arg, gid at val_arg + 1 recorded
  Chmod,        // performed with harmless bits; the full mode (val_arg) recorded
  Mknod,        // a device becomes an empty file; mode at val_arg, dev at val_arg + 1 recorded;
                // other types are created as Create does
  Create,       // creates with a mode at val_arg (open with O_CREAT or O_TMPFILE, creat, mkdir):
                // made on disk without set-id or sticky bits and with the owner's access, and the
                // mode asked for recorded when that differs
  SetXattr,     // a privileged xattr (security.*, trusted.*) recorded, not set; name at val_arg
  RemoveXattr,  // a recorded one removed; name at val_arg
  GetXattr,     // a recorded one shown; name at val_arg, buffer and size after it
  ListXattr,    // recorded names shown with the real ones; buffer at val_arg, size after it
  Unlink,       // operand a's record goes when its last link does
  Rename,       // operand b's record goes when it is replaced
};

// When the path may name the dirfd itself instead of an entry.
enum class Empty : uint8_t {
  No,
  AtEmptyPath,        // "" with AT_EMPTY_PATH in flags_arg
  NullOrAtEmptyPath,  // also a NULL path (utimensat, futimesat)
};

struct PathOperand {
  int8_t dirfd;  // argument index of the directory fd; -1 means AT_FDCWD
  int8_t path;   // argument index of the path; -1 for none
  Follow follow;
  Access access;
  Empty empty;
};

struct SyscallDef {
  int nr;
  const char* name;
  Filter filter;
  Kind kind;
  int8_t flags_arg;  // argument index of the flags word, -1 if none
  int8_t fd_arg;     // Kind::Fd / Ioctl: argument index of the fd
  PathOperand a;
  PathOperand b;
  int err;         // Filter::Errno: the errno
  Fake fake;       // fake-root behaviour
  int8_t val_arg;  // Fake: the argument with the uid or mode; Kind::Stat: the result buffer
};

// The kernel's own O_TMPFILE bit. glibc's __O_TMPFILE also carries
// O_DIRECTORY, which would make every opendir() look like a write.
constexpr int kOpenTmpfile = 020000000;
// Open flags that can create, truncate or write.
constexpr int kOpenWriteFlags = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | kOpenTmpfile;

// Ioctls that make a process the owner of an fd's signals (SIGIO, SIGURG):
// stopped by the filter and checked like kill() of that process.
constexpr uint32_t kOwnerIoctls[] = {
    0x8901,  // FIOSETOWN
    0x8902,  // SIOCSPGRP
};

// Numbers at or above this are unknown to catbox and fail with ENOSYS.
constexpr int kMaxSyscall = 470;

// The row for nr, or nullptr when the call is simply allowed.
const SyscallDef* lookup_syscall(long nr);
// All rows, for the filter generator.
const SyscallDef* syscall_rows(int* count);
// A name for any number (for messages); "syscall_N" when unknown.
const char* syscall_name(long nr);

}  // namespace catbox
