// Fake-root mode: the build sees itself as root. Identity calls are answered
// from per-process fake credentials; chown is recorded, not performed; chmod
// is performed with harmless bits and recorded in full; a device node becomes
// an empty placeholder; the stat family shows what was recorded.
#pragma once
#include <cstdint>
#include <string>
#include <sys/types.h>

#include "owners.h"
#include "resolver.h"
#include "syscalls.h"

namespace catbox {

struct Creds {
  uint32_t ruid = 0, euid = 0, suid = 0, fsuid = 0;
  uint32_t rgid = 0, egid = 0, sgid = 0, fsgid = 0;
};

// How to look at the object an operand named: a canonical path (not
// followed), or /proc/TID/fd/N (followed) for fd forms.
struct Target {
  bool valid = false;
  std::string stat_path;
  bool follow = false;
  std::string path;  // its name, for the record
};

// Work left for the syscall-exit stop of one thread.
struct Pending {
  enum class Kind { None, Stat, Mknod, Create, Drop } kind = Kind::None;
  long nr = 0;
  uint64_t args[6] = {};
  FileId id;
  std::string path;    // the record's name
  std::string at;      // Mknod, Create: where to look at the new object (not followed)
  bool by_fd = false;  // Create: the call returns an fd to the new object (open, creat, O_TMPFILE)
  uint32_t mode = 0;   // Mknod, Create: the mode asked for, after the umask, type bits included
  uint64_t rdev = 0;
  // Stat: the object the supervisor itself looked at (a notification's
  // answer); empty when the call's own arguments name it.
  std::string object;
  bool object_follow = false;
};

// What to do with the call at its seccomp stop.
struct Action {
  bool skip = false;  // do not run it; it returns `result`
  int64_t result = 0;
  bool exit_stop = false;  // stop again at syscall exit (Pending is set)
  int arg = -1;            // rewrite this argument register...
  uint64_t value = 0;      // ...with this value
  int arg2 = -1;
  uint64_t value2 = 0;
};

class FakeRoot {
 public:
  FakeRoot(uint32_t uid, uint32_t gid, OwnerDb& db) : uid_(uid), gid_(gid), db_(db) {}
  Creds initial() const;
  Action identity(pid_t tid, Creds& c, long nr, const uint64_t* args);
  // A call the write rules allowed: what fake root does instead.
  Action effect(const SyscallDef& row, pid_t tid, const uint64_t* args, const Target& a, const Target& b, Pending* p);
  Action stat_entry(const SyscallDef& row, const uint64_t* args, Pending* p);
  void exit(const Tracee& t, Pending& p, int64_t result);
  // An overlay copy-up made `upper` from `host`: the copy keeps what the guest
  // saw, the host's record (if any) and its mode (set-id bits included).
  void copied_up(const std::string& host, const std::string& upper, const std::string& guest, uint32_t host_mode);
  // Whether a set or remove of an xattr names one fake root records instead of
  // performing (security.*, trusted.*): then the object itself is not changed.
  static bool records_xattr(const SyscallDef& row, pid_t tid, const uint64_t* args);

 private:
  // The mode argument of a call that creates an object of `type`.
  Action create(const SyscallDef& row, pid_t tid, const uint64_t* args, const Target& a, uint32_t type, Pending* p);
  void rewrite_stat(const Tracee& t, const Pending& p);
  void rewrite_statx(const Tracee& t, const Pending& p);
  // The record for an inode the tracee stat'ed, checked against a reused inode number.
  const OwnerRecord* lookup(const Tracee& t, const Pending& p, uint64_t dev, uint64_t ino, int64_t btime);

  // The xattr calls: what fake root records and shows instead.
  Action xattr(const SyscallDef& row, pid_t tid, const uint64_t* args, const Target& a);
  // setxattr of an ACL that is only a mode (cp -a, cp -p set modes so): done as chmod.
  Action acl_mode(const SyscallDef& row, pid_t tid, const uint64_t* args, const Target& a);
  // The object a call that reads names (its operand or fd), when the tracer did not resolve it.
  Target object(const SyscallDef& row, pid_t tid, const uint64_t* args, const Target& a) const;

  uint32_t uid_, gid_;
  OwnerDb& db_;
};

}  // namespace catbox
