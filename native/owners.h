// The ownership database of fake-root mode: owners, modes and device numbers
// the build asked for but did not get on disk, keyed by inode identity
// (dev, ino, birth time) so a rename or a second hard link keeps the record
// and a reused inode number never inherits one. It is an append-only journal
// of JSON lines, written as each change happens: a supervisor killed with
// kill -9 leaves every completed change on disk. Loaded mostly superseded
// (the same xattr set over and over), it is written anew with what holds.
//   {"op":"own","dev":D,"ino":I,"btime":B,"path":"..","uid":U,"gid":G}
//   {"op":"mode","dev":D,"ino":I,"btime":B,"path":"..","mode":M}     (M with type bits)
//   {"op":"node","dev":D,"ino":I,"btime":B,"path":"..","mode":M,"rdev":R}
//   {"op":"xattr","dev":D,"ino":I,"btime":B,"path":"..","name":"security.capability","value":"HEX"}
//   {"op":"xattr","dev":D,"ino":I,"btime":B,"path":"..","name":"..","remove":1}
//   {"op":"drop","dev":D,"ino":I,"btime":B,"path":".."}
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

namespace catbox {

struct FileId {
  uint64_t dev = 0;
  uint64_t ino = 0;
  int64_t btime = 0;  // birth time in ns; 0 when the filesystem (or a plain stat) has none
};

struct InodeKey {
  uint64_t dev;
  uint64_t ino;
  bool operator==(const InodeKey& o) const { return dev == o.dev && ino == o.ino; }
};

struct InodeKeyHash {
  size_t operator()(const InodeKey& k) const { return std::hash<uint64_t>()(k.ino * 1000003 ^ k.dev); }
};

struct OwnerRecord {
  int64_t btime = 0;
  bool has_owner = false;
  uint32_t uid = 0;
  uint32_t gid = 0;
  bool has_mode = false;
  uint32_t mode = 0;  // full st_mode, type bits included
  uint64_t rdev = 0;
  std::map<std::string, std::string> xattrs;  // privileged xattrs set, by name: their values
  std::string path;                           // the last name it was changed under (for reports)
};

// What recorded xattr `name` with a value of value_size bytes takes of an
// inode's space, counted as ext4 counts an entry of its xattr block (a
// 16-byte header, name and value padded to 4 bytes); and what the record's
// xattrs other than `except` take.
size_t xattr_cost(const std::string& name, size_t value_size);
size_t xattr_bytes(const OwnerRecord& r, const std::string& except);
// The most a record keeps, whatever the filesystem: 64 KiB, the largest block.
constexpr size_t kXattrInodeMax = 65536;

// The identity of the object at an absolute path (its last symlink followed
// only when `follow`); -errno when it cannot be looked at.
int file_id_at(const std::string& path, bool follow, FileId* id, uint32_t* mode, uint64_t* nlink);

class OwnerDb {
 public:
  ~OwnerDb();
  // Loads the journal at path (if any) and opens it for appending.
  int open(const std::string& path);
  bool is_open() const { return fd_ >= 0; }
  // The record of id; none when its birth time shows the inode number was
  // reused by a newer file (a btime of 0 on either side cannot tell).
  const OwnerRecord* find(const FileId& id) const;
  // uid/gid of -1 leave that one unchanged, as chown(2).
  void set_owner(const FileId& id, const std::string& path, uint32_t current_mode, int64_t uid, int64_t gid);
  void set_mode(const FileId& id, const std::string& path, uint32_t mode);
  void set_node(const FileId& id, const std::string& path, uint32_t mode, uint64_t rdev);
  void set_xattr(const FileId& id, const std::string& path, const std::string& name, const std::string& value);
  void remove_xattr(const FileId& id, const std::string& path, const std::string& name);
  void drop(const FileId& id, const std::string& path);
  size_t size() const { return records_.size(); }

 private:
  void apply_line(const std::string& line);
  OwnerRecord& slot(const FileId& id);
  void append(const char* op, const FileId& id, const std::string& path, const std::string& fields);
  // Writes the journal at path anew from the records, and puts it in place.
  void compact(const std::string& path);

  int fd_ = -1;
  bool failed_ = false;  // an append was short (compact() does not replace the journal then)
  std::unordered_map<InodeKey, OwnerRecord, InodeKeyHash> records_;
};

}  // namespace catbox
