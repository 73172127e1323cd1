#include "owners.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace catbox {
namespace {

constexpr int64_t kUnchangedId = 0xffffffffLL;

// Our own journal format only: "key":number or "key":"string".
bool field_num(const std::string& line, const char* key, int64_t* out) {
  std::string k = std::string("\"") + key + "\":";
  size_t p = line.find(k);
  if (p == std::string::npos) return false;
  *out = strtoll(line.c_str() + p + k.size(), nullptr, 10);
  return true;
}

bool field_str(const std::string& line, const char* key, std::string* out) {
  std::string k = std::string("\"") + key + "\":\"";
  size_t p = line.find(k);
  if (p == std::string::npos) return false;
  out->clear();
  for (size_t i = p + k.size(); i < line.size(); i++) {
    char c = line[i];
    if (c == '"') return true;
    if (c == '\\' && i + 1 < line.size()) {
      char e = line[++i];
      if (e == 'n') {
        c = '\n';
      } else if (e == 't') {
        c = '\t';
      } else if (e == 'u' && i + 4 < line.size()) {
        c = static_cast<char>(strtol(line.substr(i + 1, 4).c_str(), nullptr, 16));
        i += 4;
      } else {
        c = e;
      }
    }
    *out += c;
  }
  return false;
}

std::string json_str(const std::string& s) {
  static const char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string to_hex(const std::string& v) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : v) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

std::string from_hex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out += static_cast<char>(strtol(h.substr(i, 2).c_str(), nullptr, 16));
  return out;
}

}  // namespace

size_t xattr_cost(const std::string& name, size_t value_size) {
  auto round4 = [](size_t n) { return (n + 3) & ~size_t{3}; };
  return 16 + round4(name.size()) + round4(value_size);
}

size_t xattr_bytes(const OwnerRecord& r, const std::string& except) {
  size_t total = 0;
  for (const auto& [name, value] : r.xattrs)
    if (name != except) total += xattr_cost(name, value.size());
  return total;
}

int file_id_at(const std::string& path, bool follow, FileId* id, uint32_t* mode, uint64_t* nlink) {
  struct statx sx;
  int flags = follow ? 0 : AT_SYMLINK_NOFOLLOW;
  if (statx(AT_FDCWD, path.c_str(), flags, STATX_BASIC_STATS | STATX_BTIME, &sx) < 0) return -errno;
  id->dev = (static_cast<uint64_t>(sx.stx_dev_major) << 32) | sx.stx_dev_minor;
  id->ino = sx.stx_ino;
  id->btime = (sx.stx_mask & STATX_BTIME) ? sx.stx_btime.tv_sec * 1000000000LL + sx.stx_btime.tv_nsec : 0;
  if (mode) *mode = sx.stx_mode;
  if (nlink) *nlink = sx.stx_nlink;
  return 0;
}

OwnerDb::~OwnerDb() {
  if (fd_ >= 0) close(fd_);
}

int OwnerDb::open(const std::string& path) {
  int rfd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (rfd >= 0) {
    // Line by line, a chunk at a time: a journal of many superseded records
    // costs its records in memory, not its size. A line longer than any we
    // write (a value is at most 64 KiB, hex-encoded) is skipped whole.
    constexpr size_t kLineMax = 1 << 20;
    std::string line;
    bool skipping = false;
    size_t lines = 0;
    char buf[65536];
    ssize_t n;
    while ((n = read(rfd, buf, sizeof buf)) > 0) {
      const char* p = buf;
      const char* end = buf + n;
      while (p < end) {
        const char* nl = static_cast<const char*>(memchr(p, '\n', end - p));
        const char* stop = nl ? nl : end;
        if (!skipping) line.append(p, stop - p);
        if (line.size() > kLineMax) {
          line.clear();
          skipping = true;
        }
        if (!nl) break;
        if (!skipping) {
          apply_line(line);
          lines++;
        }
        line.clear();
        skipping = false;
        p = nl + 1;
      }
    }
    // A torn last line (the supervisor killed mid-write) has no newline: skipped.
    close(rfd);
    // Mostly superseded records (the same xattr set again and again): the
    // journal is written anew with only what holds, then put in its place.
    size_t needed = 0;
    for (const auto& [key, r] : records_) needed += 2 + r.xattrs.size();
    if (lines > 2 * needed + 1024) compact(path);
  }
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  return fd_ < 0 ? -errno : 0;
}

void OwnerDb::compact(const std::string& path) {
  std::string tmp = path + ".compact";
  int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (out < 0) return;
  fd_ = out;  // append() writes there
  for (const auto& [key, r] : records_) {
    FileId id{key.dev, key.ino, r.btime};
    if (r.has_owner)
      append("own", id, r.path, ",\"uid\":" + std::to_string(r.uid) + ",\"gid\":" + std::to_string(r.gid));
    if (r.has_mode && (r.rdev || S_ISCHR(r.mode) || S_ISBLK(r.mode))) {
      append("node", id, r.path, ",\"mode\":" + std::to_string(r.mode) + ",\"rdev\":" + std::to_string(r.rdev));
    } else if (r.has_mode) {
      append("mode", id, r.path, ",\"mode\":" + std::to_string(r.mode));
    }
    for (const auto& [name, value] : r.xattrs)
      append("xattr", id, r.path, ",\"name\":" + json_str(name) + ",\"value\":\"" + to_hex(value) + "\"");
  }
  fd_ = -1;
  bool ok = !failed_ && fsync(out) == 0;
  failed_ = false;
  if (close(out) < 0) ok = false;
  if (!ok || rename(tmp.c_str(), path.c_str()) < 0) unlink(tmp.c_str());
}

void OwnerDb::apply_line(const std::string& line) {
  // A whole line of ours, and only one: a torn write followed by the next
  // append would otherwise lend the torn line's fields to the wrong record.
  static const std::string kStart = "{\"op\":\"";
  if (line.compare(0, kStart.size(), kStart) != 0 || line.back() != '}' || line.find(kStart, 1) != std::string::npos)
    return;
  std::string op, path;
  int64_t dev = 0, ino = 0, btime = 0, v = 0;
  if (!field_str(line, "op", &op) || !field_num(line, "dev", &dev) || !field_num(line, "ino", &ino)) return;
  field_num(line, "btime", &btime);
  field_str(line, "path", &path);
  FileId id{static_cast<uint64_t>(dev), static_cast<uint64_t>(ino), btime};
  if (op == "drop") {
    records_.erase(InodeKey{id.dev, id.ino});
    return;
  }
  OwnerRecord& r = slot(id);
  r.path = path;
  if (op == "own") {
    r.has_owner = true;
    // 4294967295 (-1, "unchanged") is no owner: older catbox wrote it for chown :GROUP.
    if (field_num(line, "uid", &v) && v != kUnchangedId) r.uid = static_cast<uint32_t>(v);
    if (field_num(line, "gid", &v) && v != kUnchangedId) r.gid = static_cast<uint32_t>(v);
  } else if (op == "xattr") {
    std::string name, value;
    if (!field_str(line, "name", &name)) return;
    if (field_num(line, "remove", &v) && v) {
      r.xattrs.erase(name);
    } else if (field_str(line, "value", &value)) {
      value = from_hex(value);
      // More than any filesystem keeps for one inode (an older catbox
      // recorded without a limit): not kept.
      if (xattr_bytes(r, name) + xattr_cost(name, value.size()) <= kXattrInodeMax) r.xattrs[name] = std::move(value);
    }
  } else if (op == "mode" || op == "node") {
    r.has_mode = true;
    if (field_num(line, "mode", &v)) r.mode = static_cast<uint32_t>(v);
    if (field_num(line, "rdev", &v)) r.rdev = static_cast<uint64_t>(v);
  }
}

const OwnerRecord* OwnerDb::find(const FileId& id) const {
  auto it = records_.find(InodeKey{id.dev, id.ino});
  if (it == records_.end()) return nullptr;
  if (id.btime && it->second.btime && id.btime != it->second.btime) return nullptr;
  return &it->second;
}

OwnerRecord& OwnerDb::slot(const FileId& id) {
  OwnerRecord& r = records_[InodeKey{id.dev, id.ino}];
  if (id.btime && r.btime && id.btime != r.btime) r = OwnerRecord{};  // a stale record of a reused inode
  if (id.btime) r.btime = id.btime;
  return r;
}

void OwnerDb::append(const char* op, const FileId& id, const std::string& path, const std::string& fields) {
  if (fd_ < 0) return;
  std::string line = std::string("{\"op\":\"") + op + "\",\"dev\":" + std::to_string(id.dev) +
                     ",\"ino\":" + std::to_string(id.ino) + ",\"btime\":" + std::to_string(id.btime) +
                     ",\"path\":" + json_str(path) + fields + "}\n";
  // One write with O_APPEND: the line lands whole or not at all.
  ssize_t w = write(fd_, line.data(), line.size());
  if (w != static_cast<ssize_t>(line.size())) failed_ = true;
}

void OwnerDb::set_owner(const FileId& id, const std::string& path, uint32_t current_mode, int64_t uid, int64_t gid) {
  OwnerRecord& r = slot(id);
  uint32_t old_uid = r.has_owner ? r.uid : 0, old_gid = r.has_owner ? r.gid : 0;
  r.has_owner = true;
  r.uid = uid < 0 ? old_uid : static_cast<uint32_t>(uid);
  r.gid = gid < 0 ? old_gid : static_cast<uint32_t>(gid);
  r.path = path;
  append("own", id, path, ",\"uid\":" + std::to_string(r.uid) + ",\"gid\":" + std::to_string(r.gid));
  // chown(2) clears set-user-ID and set-group-ID of a non-directory, even for root.
  uint32_t mode = r.has_mode ? r.mode : current_mode;
  if (!S_ISDIR(mode) && (mode & (S_ISUID | S_ISGID)) && r.has_mode) {
    uint32_t cleared = mode & ~S_ISUID;
    if (mode & S_IXGRP) cleared &= ~S_ISGID;  // setgid without group-exec means mandatory locking
    set_mode(id, path, cleared);
  }
}

void OwnerDb::set_mode(const FileId& id, const std::string& path, uint32_t mode) {
  OwnerRecord& r = slot(id);
  r.has_mode = true;
  r.mode = mode;
  r.path = path;
  append("mode", id, path, ",\"mode\":" + std::to_string(mode));
}

void OwnerDb::set_node(const FileId& id, const std::string& path, uint32_t mode, uint64_t rdev) {
  OwnerRecord& r = slot(id);
  r.has_mode = true;
  r.mode = mode;
  r.rdev = rdev;
  r.path = path;
  append("node", id, path, ",\"mode\":" + std::to_string(mode) + ",\"rdev\":" + std::to_string(rdev));
}

void OwnerDb::set_xattr(const FileId& id, const std::string& path, const std::string& name, const std::string& value) {
  OwnerRecord& r = slot(id);
  r.xattrs[name] = value;
  r.path = path;
  append("xattr", id, path, ",\"name\":" + json_str(name) + ",\"value\":\"" + to_hex(value) + "\"");
}

void OwnerDb::remove_xattr(const FileId& id, const std::string& path, const std::string& name) {
  OwnerRecord& r = slot(id);
  r.xattrs.erase(name);
  r.path = path;
  append("xattr", id, path, ",\"name\":" + json_str(name) + ",\"remove\":1");
}

void OwnerDb::drop(const FileId& id, const std::string& path) {
  if (!find(id) || records_.erase(InodeKey{id.dev, id.ino}) == 0) return;
  append("drop", id, path, "");
}

}  // namespace catbox
