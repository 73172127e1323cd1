// The guest view: a root overlay and path maps. The build sees guest paths;
// the kernel is handed host paths. Guest `/` is the environment's root
// directory (upper) laid over the host (lower), and each map shows a host
// directory at a guest prefix. This unit answers, for a guest path, where the
// object lives on the host, prepares writes (parents, copy-up, whiteouts),
// builds merged directory listings, and translates host paths back.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <sys/stat.h>
#include <sys/types.h>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "resolver.h"

namespace catbox {

struct PathMap {
  std::string guest;  // canonical guest prefix, "/" never
  std::string host;   // canonical host path
  bool rw = false;
};

struct OverlayConfig {
  bool upper = false;      // the root overlay is on (else the lower layer is written in place)
  std::string upper_dir;   // canonical host path of the environment's root/
  std::string whiteouts;   // append-only file of hidden guest paths, each ending in NUL
  std::string merged_dir;  // where merged directory listings are made (emptied at start)
  std::vector<PathMap> maps;
};

enum class Layer : uint8_t {
  None,     // nothing at this guest path (host: where it would be created)
  Upper,    // in the environment's root
  Lower,    // the host's own file at the same path
  Map,      // inside a map
  Virtual,  // a directory that only exists because a map lies below it
};

// One guest path, resolved.
struct GuestObject {
  std::string guest;  // canonical guest path (or the anonymous object's name)
  std::string host;   // the host path the kernel should be given
  Layer layer = Layer::None;
  const PathMap* map = nullptr;
  bool exists = false;
  bool is_dir = false;
  mode_t mode = 0;            // file type and mode when it exists
  bool lower = false;         // a visible host (lower) entry exists at this guest path
  bool lower_dir = false;     // ...and it is a directory whose entries may show
  bool upper = false;         // an upper entry exists at this guest path
  int error = 0;              // -errno when the kernel would fail the lookup itself
  bool anon = false;          // pipe, socket, memfd...: host is the magic link to hand over
  bool foreign = false;       // /proc/PID/... of a process outside the build (or in another mount namespace)
  bool foreign_link = false;  // ...reached through its magic link (fd/N, cwd, root, exe): not to be opened
  int reopened_fd_flags = -1;
  std::string fd_link;    // with reopened_fd_flags: the magic link that reopens that fd in place
  std::string fd_target;  // resolve_fd: the host path the fd really names ("" when anonymous)
  bool magic = false;     // the object is a /proc magic link itself (readlink shows a host path)
  bool slash = false;     // a missing name given with a trailing "/" (only a directory may be made)
};

// A directory entry of a merged listing.
struct MergedEntry {
  std::string name;
  std::string host;  // where the real entry is
  mode_t type = 0;   // S_IFDIR, S_IFLNK, S_IFREG...
};

class Overlay {
 public:
  // Loads the whiteouts and empties the merged cache; false with *err when
  // the environment cannot be used.
  bool open(const OverlayConfig& config, std::string* err);
  const OverlayConfig& config() const { return cfg_; }

  // Resolves path as the tracee sees it (dirfd may be AT_FDCWD).
  GuestObject resolve(const Tracee& t, int dirfd, const std::string& path, bool follow_last);
  // The object fd names (AT_FDCWD: the cwd), in the guest view.
  GuestObject resolve_fd(const Tracee& t, int fd);
  // A canonical guest path without symlinks to follow.
  GuestObject locate(const std::string& guest);

  // Host path -> guest path (getcwd, readlink of /proc magic links, dirfds).
  std::string to_guest(const std::string& host) const;
  // Guest path -> host path for a caller outside the build (the first cwd, the program).
  std::string to_host(const std::string& guest);

  // The guest name each process entered its working directory by: one host
  // directory may have several guest names (two maps of it; a map of it and
  // its own path), and the kernel answers getcwd with the name it was
  // entered by. Kept per process (tgid) as the guest and host paths of the
  // last chdir (or the start cwd), and trusted while the cwd is still that
  // host directory and the name still leads to it in the guest view.
  void set_cwd_name(pid_t tgid, const std::string& guest, const std::string& host);
  void inherit_cwd_name(pid_t parent, pid_t child);
  void forget_cwd_name(pid_t tgid) { cwd_names_.erase(tgid); }
  // The guest path of host directory `host`, the cwd of process tgid.
  std::string cwd_to_guest(pid_t tgid, const std::string& host);

  // Makes the parent directories of guest path g in upper (modes and times
  // copied from the host); 0 or -errno.
  int make_parents(const std::string& g);
  // Copies o (a lower file, directory or symlink) into upper: content, mode, times; 0 or -errno.
  int copy_up(const GuestObject& o);
  // Called after a copy-up made upper path `upper` (guest g) from host path
  // `host` whose mode was `host_mode` (the copy may lack its set-id bits).
  // Set only by fake root, whose journal keeps that mode: a file is then
  // copied with no set-id bit.
  using CopiedUp =
      std::function<void(const std::string& host, const std::string& upper, const std::string& g, mode_t host_mode)>;
  void on_copy_up(CopiedUp f) { copied_up_ = std::move(f); }
  // Hides the lower entry at g and below; persisted before it returns.
  int add_whiteout(const std::string& g);
  // What the kernel would check before removing host entry o from its guest
  // directory (write and search on it, the sticky bit); 0 or -errno.
  int may_remove(const GuestObject& o);
  bool whiteout(const std::string& g) const { return whiteouts_.count(g) > 0; }

  // The union listing of directory o (upper, lower minus whiteouts, map points).
  std::vector<MergedEntry> list(const GuestObject& o);
  // Whether o's listing needs merging (both layers, or map points below it).
  bool needs_merge(const GuestObject& o) const;
  // A host directory that lists o merged; "" and *err on failure.
  std::string merged_view(const GuestObject& o, int* err);
  // When host (what an fd names) is a merged view: the host path of the
  // directory it stands for, whose identity (st_dev, st_ino, times) the
  // guest must see; "" otherwise.
  std::string view_source(const std::string& host);

  // Forgets the cached directory lookups: a directory may have gone or moved.
  void forget() { dirs_.clear(); }

  uint64_t merged_views() const { return merged_made_; }
  uint64_t copy_ups() const { return copy_ups_; }
  uint64_t whiteouts_added() const { return whiteouts_added_; }
  // Whether a host object is the host's own (lower) file, which no write may
  // reach in overlay mode (devices included: their metadata), or inside a
  // read-only map.
  bool protected_host(const std::string& host) const;
  // Whether a host path lies in the environment's root (upper).
  bool in_upper(const std::string& host) const;

 private:
  const PathMap* map_for(const std::string& g) const;
  GuestObject root() const;
  // Walks canonical guest path g below stack->back(), pushing each object
  // found; false with *missing set at the first name that does not exist
  // (its error 0 when it is the last name).
  bool walk(const std::string& g, std::vector<GuestObject>* stack, GuestObject* missing);
  bool has_map_below(const std::string& g) const;
  // Looks up child `name` of the already resolved directory parent.
  GuestObject child(const GuestObject& parent, const std::string& name);
  int copy_file(const std::string& from, const std::string& g, const struct stat& st);
  // The upper directory of guest directory g, opened (O_PATH) without
  // following any symlink below upper; -errno.
  int upper_dir_fd(const std::string& g) const;
  // Makes upper directory g (its parent exists in upper) with exactly mode.
  int make_dir(const std::string& g, mode_t mode);
  // The mode a copy of host object st is made with in upper.
  mode_t copy_mode(const struct stat& st) const;
  void set_times(const std::string& g, const struct stat& st) const;
  static std::string base_name(const std::string& g);

  OverlayConfig cfg_;
  std::unordered_set<std::string> whiteouts_;
  std::unordered_set<std::string> hiding_dirs_;  // guest directories with a hidden entry
  int whiteout_fd_ = -1;
  int upper_fd_ = -1;        // the upper directory, for *at calls beneath it
  uint64_t generation_ = 0;  // bumped by every whiteout and copy-up
  struct View {
    std::string host;
    int64_t upper_mtime = 0, lower_mtime = 0;
    uint64_t generation = 0;
    bool settled = false;  // made a clock tick after its directories last changed
  };
  std::unordered_map<std::string, View> views_;  // guest dir -> its merged view
  // Directories looked up since the last change that could alter them: most
  // lookups walk the same few directories (a compiler's include path).
  std::unordered_map<std::string, GuestObject> dirs_;
  std::unordered_map<std::string, std::string> view_guest_;                   // merged view host dir -> guest dir
  std::unordered_map<pid_t, std::pair<std::string, std::string>> cwd_names_;  // tgid -> cwd's guest, host path
  uint64_t merged_made_ = 0;
  uint64_t copy_ups_ = 0;
  uint64_t whiteouts_added_ = 0;
  CopiedUp copied_up_;
};

// The process whose cwd link guest path g is (/proc/PID/cwd,
// /proc/PID/task/TID/cwd), or 0.
pid_t cwd_link_pid(const std::string& g);

}  // namespace catbox
