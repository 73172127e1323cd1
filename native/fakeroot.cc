#include "fakeroot.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "memory.h"
#include "procfs.h"

namespace catbox {
namespace {

constexpr uint32_t kUnchanged = 0xffffffffu;  // -1 as a uid_t argument

uint32_t u32(uint64_t v) { return static_cast<uint32_t>(v); }

Action skip(int64_t result) {
  Action a;
  a.skip = true;
  a.result = result;
  return a;
}

int id_of(const Target& t, FileId* id, uint32_t* mode, uint64_t* nlink) {
  if (!t.valid) return -ENOENT;
  return file_id_at(t.stat_path, t.follow, id, mode, nlink);
}

uint32_t umask_of(pid_t tid) {
  return static_cast<uint32_t>(proc_field("/proc/" + std::to_string(tid) + "/status", "Umask:", 8, 022));
}

// The permission bits a mode is made with on disk in fake root: no set-id or
// sticky bit, and the owner (the build) keeps the access root would have.
uint32_t disk_bits(uint32_t want, bool dir) { return (want & 0777) | S_IRUSR | S_IWUSR | (dir ? S_IXUSR : 0); }

}  // namespace

Creds FakeRoot::initial() const {
  Creds c;
  c.ruid = c.euid = c.suid = c.fsuid = uid_;
  c.rgid = c.egid = c.sgid = c.fsgid = gid_;
  return c;
}

Action FakeRoot::identity(pid_t tid, Creds& c, long nr, const uint64_t* args) {
  auto set3 = [](uint32_t* r, uint32_t* e, uint32_t* s, uint64_t a, uint64_t b, uint64_t d) {
    if (u32(a) != kUnchanged) *r = u32(a);
    if (u32(b) != kUnchanged) *e = u32(b);
    if (u32(d) != kUnchanged) *s = u32(d);
  };
  auto put3 = [tid](const uint64_t* ptrs, uint32_t a, uint32_t b, uint32_t d) {
    uint32_t v[3] = {a, b, d};
    for (int i = 0; i < 3; i++)
      if (write_memory(tid, ptrs[i], &v[i], sizeof v[i]) < 0) return skip(-EFAULT);
    return skip(0);
  };
  // As root, every change is allowed; the kernel's real credentials never change.
  switch (nr) {
    case __NR_getuid: return skip(c.ruid);
    case __NR_geteuid: return skip(c.euid);
    case __NR_getgid: return skip(c.rgid);
    case __NR_getegid: return skip(c.egid);
    case __NR_getresuid: return put3(args, c.ruid, c.euid, c.suid);
    case __NR_getresgid: return put3(args, c.rgid, c.egid, c.sgid);
    case __NR_setuid: c.ruid = c.euid = c.suid = c.fsuid = u32(args[0]); return skip(0);
    case __NR_setgid: c.rgid = c.egid = c.sgid = c.fsgid = u32(args[0]); return skip(0);
    case __NR_setreuid:
      set3(&c.ruid, &c.euid, &c.suid, args[0], args[1], kUnchanged);
      c.fsuid = c.euid;
      return skip(0);
    case __NR_setregid:
      set3(&c.rgid, &c.egid, &c.sgid, args[0], args[1], kUnchanged);
      c.fsgid = c.egid;
      return skip(0);
    case __NR_setresuid:
      set3(&c.ruid, &c.euid, &c.suid, args[0], args[1], args[2]);
      c.fsuid = c.euid;
      return skip(0);
    case __NR_setresgid:
      set3(&c.rgid, &c.egid, &c.sgid, args[0], args[1], args[2]);
      c.fsgid = c.egid;
      return skip(0);
    case __NR_setfsuid: {
      uint32_t old = c.fsuid;
      if (u32(args[0]) != kUnchanged) c.fsuid = u32(args[0]);
      return skip(old);
    }
    case __NR_setfsgid: {
      uint32_t old = c.fsgid;
      if (u32(args[0]) != kUnchanged) c.fsgid = u32(args[0]);
      return skip(old);
    }
    case __NR_setgroups: return skip(0);
    // Root may raise any capability (setcap raises CAP_SETFCAP before it
    // sets a file's): allowed, and changing nothing, as under fakeroot.
    case __NR_capset: return skip(0);
    case __NR_getgroups: {
      // One supplementary group: the fake gid (root's usual view).
      if (static_cast<int>(args[0]) == 0) return skip(1);
      uint32_t g = c.egid;
      return write_memory(tid, args[1], &g, sizeof g) < 0 ? skip(-EFAULT) : skip(1);
    }
  }
  return {};
}

Action FakeRoot::effect(const SyscallDef& row, pid_t tid, const uint64_t* args, const Target& a, const Target& b,
                        Pending* p) {
  FileId id;
  uint32_t mode = 0;
  uint64_t nlink = 0;
  switch (row.fake) {
    case Fake::None: return {};
    case Fake::Chown: {
      // Nothing exists to record: let the kernel give its ENOENT.
      if (id_of(a, &id, &mode, nullptr) < 0) return {};
      // -1 leaves that id as it is: as recorded, else as shown (the fake
      // owner of a file never chowned).
      const OwnerRecord* r = db_.find(id);
      uint32_t uid = u32(args[row.val_arg]), gid = u32(args[row.val_arg + 1]);
      if (uid == kUnchanged) uid = r && r->has_owner ? r->uid : uid_;
      if (gid == kUnchanged) gid = r && r->has_owner ? r->gid : gid_;
      db_.set_owner(id, a.path, mode, uid, gid);
      return skip(0);
    }
    case Fake::Chmod: {
      if (id_of(a, &id, &mode, nullptr) < 0) return {};
      uint32_t want = u32(args[row.val_arg]) & 07777;
      // The type is the recorded one: a device node stays a device (its rdev
      // stays in the record), though on disk it is a plain file.
      const OwnerRecord* r = db_.find(id);
      uint32_t type = (r && r->has_mode ? r->mode : mode) & S_IFMT;
      db_.set_mode(id, a.path, type | want);
      Action act;
      act.arg = row.val_arg;
      act.value = disk_bits(want, S_ISDIR(mode));
      return act;
    }
    case Fake::Mknod: {
      uint32_t want = u32(args[row.val_arg]);
      uint32_t type = want & S_IFMT;
      if (type != S_IFCHR && type != S_IFBLK) return create(row, tid, args, a, type ? type : S_IFREG, p);
      p->kind = Pending::Kind::Mknod;
      p->path = a.path;
      p->at = a.stat_path;
      p->mode = type | (want & 07777 & ~umask_of(tid));
      p->rdev = args[row.val_arg + 1];
      Action act;
      act.arg = row.val_arg;
      act.value = S_IFREG | 0600;
      act.arg2 = row.val_arg + 1;
      act.value2 = 0;
      act.exit_stop = true;
      return act;
    }
    case Fake::Create: {
      if (row.a.access != Access::Open) return create(row, tid, args, a, S_IFDIR, p);
      int flags = row.flags_arg >= 0 ? static_cast<int>(args[row.flags_arg]) : O_CREAT | O_WRONLY | O_TRUNC;
      if (flags & kOpenTmpfile) return create(row, tid, args, a, S_IFREG, p);
      // O_CREAT of an existing file: its mode is not changed.
      if (!(flags & O_CREAT) || id_of(a, &id, nullptr, nullptr) == 0) return {};
      return create(row, tid, args, a, S_IFREG, p);
    }
    case Fake::SetXattr:
    case Fake::RemoveXattr:
    case Fake::GetXattr:
    case Fake::ListXattr: return xattr(row, tid, args, a);
    case Fake::Unlink:
    case Fake::Rename: {
      const Target& gone = row.fake == Fake::Unlink ? a : b;
      constexpr uint64_t kRenameExchange = 2;
      if (row.fake == Fake::Rename && row.flags_arg >= 0 && (args[row.flags_arg] & kRenameExchange)) return {};
      if (id_of(gone, &id, &mode, &nlink) < 0) return {};
      if (!S_ISDIR(mode) && nlink > 1) return {};  // another name keeps the inode and its record
      if (!db_.find(id)) return {};
      p->kind = Pending::Kind::Drop;
      p->id = id;
      p->path = gone.path;
      Action act;
      act.exit_stop = true;
      return act;
    }
  }
  return {};
}

Action FakeRoot::create(const SyscallDef& row, pid_t tid, const uint64_t* args, const Target& a, uint32_t type,
                        Pending* p) {
  uint32_t asked = u32(args[row.val_arg]);
  uint32_t want = asked & 07777;
  uint32_t disk = disk_bits(want, type == S_IFDIR);
  // Made on disk as asked: nothing to change, nothing to record.
  if (disk == want) return {};
  Action act;
  act.arg = row.val_arg;
  act.value = (asked & S_IFMT) | disk;
  bool open = row.a.access == Access::Open;
  if (!open && (a.stat_path.empty() || a.follow)) return act;  // nowhere to look at it afterwards
  p->kind = Pending::Kind::Create;
  p->path = a.path;
  p->at = a.stat_path;
  p->by_fd = open;
  // mkdir keeps the sticky bit, but a set-id bit only as the parent's set-group-ID.
  uint32_t kept = type == S_IFDIR ? (0777 | S_ISVTX) : 07777;
  p->mode = type | (want & kept & ~umask_of(tid));
  act.exit_stop = true;
  return act;
}

namespace {

// The xattrs only a privileged process may set: recorded in fake root, as
// fakeroot does (file capabilities, trusted.*); the others are the build's own.
bool faked_xattr(const std::string& name) {
  return name.compare(0, 9, "security.") == 0 || name.compare(0, 8, "trusted.") == 0;
}

constexpr size_t kXattrMax = 65536;  // XATTR_SIZE_MAX

// The answer of a call that fills a buffer of `size` bytes (0: only asks how many).
Action fill(pid_t tid, uint64_t buf, uint64_t size, const std::string& data) {
  if (size == 0) return skip(static_cast<int64_t>(data.size()));
  if (size < data.size()) return skip(-ERANGE);
  if (!data.empty() && write_memory(tid, buf, data.data(), data.size()) < 0) return skip(-EFAULT);
  return skip(static_cast<int64_t>(data.size()));
}

}  // namespace

Action FakeRoot::acl_mode(const SyscallDef& row, pid_t tid, const uint64_t* args, const Target& a) {
  // The ACL of a mode alone: version 2, then USER_OBJ, GROUP_OBJ and OTHER
  // entries (tag, perm: 16 bits each; id: 32 bits). Anything more is the kernel's.
  uint64_t size = args[row.val_arg + 2];
  if (size != 4 + 3 * 8) return {};
  unsigned char v[28];
  if (read_memory(tid, args[row.val_arg + 1], v, sizeof v) < 0) return {};
  auto u16 = [&](int at) { return static_cast<uint32_t>(v[at] | (v[at + 1] << 8)); };
  if (u16(0) != 2 || u16(2) != 0) return {};
  const uint32_t tags[3] = {0x01, 0x04, 0x20};  // ACL_USER_OBJ, ACL_GROUP_OBJ, ACL_OTHER
  uint32_t perms = 0;
  for (int i = 0; i < 3; i++) {
    if (u16(4 + 8 * i) != tags[i]) return {};
    perms = (perms << 3) | (u16(6 + 8 * i) & 7);
  }
  FileId id;
  uint32_t mode = 0;
  if (id_of(a, &id, &mode, nullptr) < 0 || S_ISLNK(mode)) return {};
  // As chmod: the mode recorded (set-id bits kept, as the kernel keeps them),
  // and on disk the harmless one, set here through a descriptor of the object.
  const OwnerRecord* r = db_.find(id);
  uint32_t was = r && r->has_mode ? r->mode : mode;
  int fd = open(a.stat_path.c_str(), O_PATH | O_CLOEXEC | (a.follow ? 0 : O_NOFOLLOW));
  if (fd < 0) return {};
  FileId now;
  std::string via = "/proc/self/fd/" + std::to_string(fd);
  if (file_id_at(via, true, &now, nullptr, nullptr) < 0 || now.ino != id.ino || now.dev != id.dev) {
    close(fd);
    return {};  // it changed under us: the kernel's call, as asked
  }
  int rc = chmod(via.c_str(), disk_bits(perms, S_ISDIR(mode)));
  int err = errno;
  close(fd);
  if (rc < 0) return skip(-err);
  db_.set_mode(id, a.path, (was & ~0777u) | perms);
  return skip(0);
}

Target FakeRoot::object(const SyscallDef& row, pid_t tid, const uint64_t* args, const Target& a) const {
  // The guest view resolves a path itself (a, valid or not); the fd forms are the same in both.
  if (a.valid || !a.stat_path.empty()) return a;
  Target t;
  if (row.fd_arg >= 0) {
    t.valid = true;
    t.stat_path = "/proc/" + std::to_string(tid) + "/fd/" + std::to_string(static_cast<int>(args[row.fd_arg]));
    t.follow = true;
    return t;
  }
  std::string given;
  if (row.a.path < 0 || read_string(tid, args[row.a.path], &given, 4096) < 0 || given.empty()) return t;
  Resolved r = resolve_path(Tracee{tid, 0}, AT_FDCWD, given, row.a.follow == Follow::Yes);
  if (r.error || r.anon || !r.exists) return t;
  t.valid = true;
  t.stat_path = r.path;
  t.path = r.path;
  return t;
}

bool FakeRoot::records_xattr(const SyscallDef& row, pid_t tid, const uint64_t* args) {
  if (row.fake != Fake::SetXattr && row.fake != Fake::RemoveXattr) return false;
  std::string name;
  return read_string(tid, args[row.val_arg], &name, 255) >= 0 && faked_xattr(name);
}

Action FakeRoot::xattr(const SyscallDef& row, pid_t tid, const uint64_t* args, const Target& given) {
  // The name first: most calls (ls asks for ACLs and SELinux labels) are not ours.
  std::string name;
  if (row.fake != Fake::ListXattr) {
    int rc = read_string(tid, args[row.val_arg], &name, 255);  // XATTR_NAME_MAX
    if (rc < 0) return skip(rc == -ENAMETOOLONG ? -ERANGE : rc);
    if (row.fake == Fake::SetXattr && name == "system.posix_acl_access") return acl_mode(row, tid, args, given);
    if (!faked_xattr(name)) return {};
  }
  Target a = object(row, tid, args, given);
  FileId id;
  if (id_of(a, &id, nullptr, nullptr) < 0) return {};  // the kernel's own answer
  const OwnerRecord* r = db_.find(id);
  if (row.fake == Fake::ListXattr) {
    if (!r || r->xattrs.empty()) return {};
    // The real names, then the recorded ones the object does not have.
    std::string real(kXattrMax, '\0');
    const char* p = a.stat_path.c_str();
    ssize_t n = a.follow ? listxattr(p, &real[0], real.size()) : llistxattr(p, &real[0], real.size());
    real.resize(n > 0 ? static_cast<size_t>(n) : 0);
    std::string names = real;
    const std::string nul(1, '\0');
    for (const auto& [name, value] : r->xattrs) {
      if ((nul + real).find(nul + name + nul) == std::string::npos) names += name + nul;
    }
    return fill(tid, args[row.val_arg], args[row.val_arg + 1], names);
  }
  switch (row.fake) {
    case Fake::GetXattr: {
      if (!r || !r->xattrs.count(name)) return {};
      return fill(tid, args[row.val_arg + 1], args[row.val_arg + 2], r->xattrs.at(name));
    }
    case Fake::SetXattr: {
      uint64_t size = args[row.val_arg + 2];
      int flags = static_cast<int>(args[row.val_arg + 3]);
      if (size > kXattrMax) return skip(-E2BIG);
      if (flags & ~(XATTR_CREATE | XATTR_REPLACE)) return skip(-EINVAL);
      bool have = r && r->xattrs.count(name);
      if ((flags & XATTR_CREATE) && have) return skip(-EEXIST);
      if ((flags & XATTR_REPLACE) && !have) return skip(-ENODATA);
      // No more than the filesystem keeps for one inode: its block (ext4's
      // xattr block: a 32-byte header, then the entries), ENOSPC as the kernel answers.
      struct statfs fs;
      size_t room = statfs(a.stat_path.c_str(), &fs) == 0 && fs.f_bsize > 0 ? static_cast<size_t>(fs.f_bsize) : 4096;
      if (room > kXattrInodeMax) room = kXattrInodeMax;
      if (32 + (r ? xattr_bytes(*r, name) : 0) + xattr_cost(name, size) > room) return skip(-ENOSPC);
      std::string value(size, '\0');
      if (size && read_memory(tid, args[row.val_arg + 1], &value[0], size) < 0) return skip(-EFAULT);
      db_.set_xattr(id, a.path, name, value);
      return skip(0);
    }
    case Fake::RemoveXattr:
      if (!r || !r->xattrs.count(name)) {
        // One really there is the kernel's to remove (or refuse); else root's ENODATA.
        const char* p = a.stat_path.c_str();
        ssize_t n = a.follow ? getxattr(p, name.c_str(), nullptr, 0) : lgetxattr(p, name.c_str(), nullptr, 0);
        return n >= 0 ? Action{} : skip(-ENODATA);
      }
      db_.remove_xattr(id, a.path, name);
      return skip(0);
    default: return {};
  }
}

Action FakeRoot::stat_entry(const SyscallDef& row, const uint64_t* args, Pending* p) {
  p->kind = Pending::Kind::Stat;
  p->nr = row.nr;
  memcpy(p->args, args, sizeof p->args);
  Action act;
  act.exit_stop = true;
  return act;
}

void FakeRoot::exit(const Tracee& t, Pending& p, int64_t result) {
  Pending done = std::move(p);
  p = Pending{};
  if (done.kind == Pending::Kind::Create && done.by_fd && result >= 0) {
    done.at = "/proc/" + std::to_string(t.tid) + "/fd/" + std::to_string(result);
    result = 0;
  }
  if (result != 0) return;
  switch (done.kind) {
    case Pending::Kind::None: return;
    case Pending::Kind::Stat:
      if (done.nr == __NR_statx) {
        rewrite_statx(t, done);
      } else {
        rewrite_stat(t, done);
      }
      return;
    case Pending::Kind::Mknod: {
      FileId id;
      if (file_id_at(done.at, false, &id, nullptr, nullptr) == 0) db_.set_node(id, done.path, done.mode, done.rdev);
      return;
    }
    case Pending::Kind::Create: {
      FileId id;
      uint32_t disk = 0;
      if (file_id_at(done.at, done.by_fd, &id, &disk, nullptr) < 0) return;
      uint32_t want = done.mode;
      if (S_ISDIR(want)) want |= disk & S_ISGID;  // a set-group-ID parent's
      if ((disk & 07777) != (want & 07777)) db_.set_mode(id, done.path, (disk & S_IFMT) | (want & 07777));
      return;
    }
    case Pending::Kind::Drop: db_.drop(done.id, done.path); return;
  }
}

void FakeRoot::copied_up(const std::string& host, const std::string& upper, const std::string& guest,
                         uint32_t host_mode) {
  FileId copy, from;
  uint32_t disk = 0;
  if (file_id_at(upper, false, &copy, &disk, nullptr) < 0) return;
  const OwnerRecord* r = file_id_at(host, false, &from, nullptr, nullptr) == 0 ? db_.find(from) : nullptr;
  OwnerRecord was = r ? *r : OwnerRecord{};
  if (was.has_owner) db_.set_owner(copy, guest, disk, was.uid, was.gid);
  uint32_t mode = was.has_mode ? was.mode : host_mode;
  if (mode != disk) db_.set_mode(copy, guest, mode);
}

const OwnerRecord* FakeRoot::lookup(const Tracee& t, const Pending& p, uint64_t dev, uint64_t ino, int64_t btime) {
  FileId id{dev, ino, btime};
  const OwnerRecord* r = db_.find(id);
  if (!r || btime || !r->btime) return r;
  // A plain stat has no birth time: look at the object once more to be sure
  // the inode number was not reused since the record was made.
  Target again;
  again.valid = true;
  if (!p.object.empty()) {
    // The supervisor answered the call itself: the object it looked at.
    again.stat_path = p.object;
    again.follow = p.object_follow;
  } else if (p.nr == __NR_fstat) {
    again.stat_path = "/proc/" + std::to_string(t.tid) + "/fd/" + std::to_string(static_cast<int>(p.args[0]));
    again.follow = true;
  } else {
    // stat(path, buf), lstat(path, buf), newfstatat(dirfd, path, buf, flags),
    // statx(dirfd, path, flags, mask, buf).
    bool at = p.nr == __NR_newfstatat || p.nr == __NR_statx;
    int dirfd = at ? static_cast<int>(p.args[0]) : AT_FDCWD;
    uint64_t path = p.args[at ? 1 : 0];
    int flags = p.nr == __NR_newfstatat ? static_cast<int>(p.args[3])
                : p.nr == __NR_statx    ? static_cast<int>(p.args[2])
                                        : 0;
    std::string given;
    // A NULL path with AT_EMPTY_PATH names the dirfd (Linux 6.11 and later), as "" does.
    if (!(path == 0 && (flags & AT_EMPTY_PATH)) && read_string(t.tid, path, &given, 4096) < 0) return r;
    if (given.empty()) {
      if (!(flags & AT_EMPTY_PATH) && at) return r;
      again.stat_path =
          "/proc/" + std::to_string(t.tid) + (dirfd == AT_FDCWD ? "/cwd" : "/fd/" + std::to_string(dirfd));
      again.follow = true;
    } else {
      bool follow = p.nr == __NR_stat || (at && !(flags & AT_SYMLINK_NOFOLLOW));
      Resolved res = resolve_path(t, dirfd, given, follow);
      if (res.error || res.anon) return r;
      again.stat_path = res.path;
    }
  }
  FileId now;
  if (id_of(again, &now, nullptr, nullptr) < 0 || now.dev != dev || now.ino != ino) return r;
  return db_.find(now);
}

void FakeRoot::rewrite_stat(const Tracee& t, const Pending& p) {
  uint64_t buf = p.args[p.nr == __NR_newfstatat ? 2 : 1];
  struct stat st;
  if (read_memory(t.tid, buf, &st, sizeof st) < 0) return;
  uint64_t dev = (static_cast<uint64_t>(major(st.st_dev)) << 32) | minor(st.st_dev);
  const OwnerRecord* r = lookup(t, p, dev, st.st_ino, 0);
  st.st_uid = r && r->has_owner ? r->uid : uid_;
  st.st_gid = r && r->has_owner ? r->gid : gid_;
  if (r && r->has_mode) {
    st.st_mode = r->mode;
    if (S_ISCHR(r->mode) || S_ISBLK(r->mode)) {
      st.st_rdev = r->rdev;
      st.st_size = 0;
    }
  }
  write_memory(t.tid, buf, &st, sizeof st);
}

void FakeRoot::rewrite_statx(const Tracee& t, const Pending& p) {
  uint64_t buf = p.args[4];
  struct statx sx;
  if (read_memory(t.tid, buf, &sx, sizeof sx) < 0) return;
  uint64_t dev = (static_cast<uint64_t>(sx.stx_dev_major) << 32) | sx.stx_dev_minor;
  int64_t btime = (sx.stx_mask & STATX_BTIME) ? sx.stx_btime.tv_sec * 1000000000LL + sx.stx_btime.tv_nsec : 0;
  const OwnerRecord* r = (sx.stx_mask & STATX_INO) ? lookup(t, p, dev, sx.stx_ino, btime) : nullptr;
  if (sx.stx_mask & STATX_UID) sx.stx_uid = r && r->has_owner ? r->uid : uid_;
  if (sx.stx_mask & STATX_GID) sx.stx_gid = r && r->has_owner ? r->gid : gid_;
  if (r && r->has_mode && (sx.stx_mask & STATX_MODE)) {
    sx.stx_mode = static_cast<uint16_t>(r->mode);
    if (S_ISCHR(r->mode) || S_ISBLK(r->mode)) {
      sx.stx_rdev_major = major(r->rdev);
      sx.stx_rdev_minor = minor(r->rdev);
      sx.stx_size = 0;
    }
  }
  write_memory(t.tid, buf, &sx, sizeof sx);
}

}  // namespace catbox
