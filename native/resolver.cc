#include "resolver.h"

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "procfs.h"

namespace catbox {
namespace {

constexpr int kMaxSymlinks = 40;  // the kernel's MAXSYMLINKS
constexpr const char kDeleted[] = " (deleted)";

void split_into(const std::string& path, std::deque<std::string>* out, bool front) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  if (front) {
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) out->push_front(*it);
  } else {
    for (auto& p : parts) out->push_back(p);
  }
}

std::string join(const std::vector<std::string>& parts) {
  if (parts.empty()) return "/";
  std::string s;
  for (const auto& p : parts) {
    s += '/';
    s += p;
  }
  return s;
}

// The tracee's cwd or the directory an fd names, as the start of a relative walk.
int base_of(const Tracee& t, int dirfd, std::string* out) {
  std::string link = "/proc/" + std::to_string(t.tid) + (dirfd == AT_FDCWD ? "/cwd" : "/fd/" + std::to_string(dirfd));
  int rc = read_link(link, out);
  if (rc < 0) return dirfd == AT_FDCWD ? -ENOENT : -EBADF;
  // A deleted directory or an anonymous object is no place to resolve from:
  // fail closed, the kernel would refuse to create anything there too.
  if (out->empty() || (*out)[0] != '/') return -ENOTDIR;
  if (ends_with(*out, kDeleted)) return -ENOENT;
  return 0;
}

// The flags fd is open with in the tracee (/proc/TID/fdinfo/FD "flags:"), or -1.
int fd_flags(pid_t tid, const std::string& fd) {
  return static_cast<int>(proc_field("/proc/" + std::to_string(tid) + "/fdinfo/" + fd, "flags:", 8, -1));
}

// A magic link's target "NAME (deleted)": an unlinked object (no name left,
// nothing outside to protect: memfd, O_TMPFILE, a removed file) or a real
// name that ends that way. Only the link count tells.
bool names_unlinked_object(const std::string& link) {
  struct stat st;
  return stat(link.c_str(), &st) == 0 && st.st_nlink == 0;
}

// parts = proc/<tgid>/fd/<n>: the tracee's own fd n.
bool is_own_fd_link(const std::vector<std::string>& parts, const Tracee& t) {
  return parts.size() == 4 && parts[0] == "proc" && parts[1] == std::to_string(t.tgid()) && parts[2] == "fd" &&
         is_number(parts[3]);
}

thread_local MemberCheck member_check = nullptr;
thread_local const void* member_ctx = nullptr;

}  // namespace

pid_t Tracee::tgid() const {
  if (known_tgid == 0) {
    pid_t tgid = proc_ids(tid).tgid;
    known_tgid = tgid > 0 ? tgid : tid;
  }
  return known_tgid;
}

void set_member_check(MemberCheck check, const void* ctx) {
  member_check = check;
  member_ctx = ctx;
}

bool is_build_process(pid_t pid) { return !member_check || member_check(member_ctx, pid); }

pid_t other_process_under_proc(const std::string& path, const Tracee& self) {
  if (path.compare(0, 6, "/proc/") != 0) return 0;
  size_t end = path.find('/', 6);
  std::string pid = path.substr(6, end == std::string::npos ? std::string::npos : end - 6);
  if (!is_number(pid) || pid.size() > 9) return 0;
  pid_t p = static_cast<pid_t>(std::stol(pid));
  return p == self.tgid() || is_build_process(p) ? 0 : p;
}

Resolved resolve_path(const Tracee& t, int dirfd, const std::string& path, bool follow_last) {
  Resolved r;
  if (path.empty()) {
    r.error = -ENOENT;
    return r;
  }
  if (path.size() >= PATH_MAX) {
    r.error = -ENAMETOOLONG;
    return r;
  }
  std::vector<std::string> parts;
  std::deque<std::string> todo;
  if (path[0] != '/') {
    std::string base;
    int rc = base_of(t, dirfd, &base);
    if (rc < 0) {
      r.error = rc;
      return r;
    }
    std::deque<std::string> b;
    split_into(base, &b, false);
    for (auto& c : b)
      if (!c.empty()) parts.push_back(c);
  }
  split_into(path, &todo, false);

  int links = 0;
  while (!todo.empty()) {
    std::string c = std::move(todo.front());
    todo.pop_front();
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    // "name/" and "name/." still name `name`, but make the kernel follow it.
    bool last = true;
    for (const auto& rest : todo)
      if (!rest.empty() && rest != ".") last = false;
    bool follow = !last || follow_last || !todo.empty();
    // /proc/self and /proc/thread-self mean the tracee, not the tracer.
    if (parts.size() == 1 && parts[0] == "proc" && (c == "self" || c == "thread-self")) {
      parts.push_back(std::to_string(t.tgid()));
      if (c == "thread-self") {
        parts.push_back("task");
        parts.push_back(std::to_string(t.tid));
      }
      continue;
    }
    parts.push_back(std::move(c));
    std::string cur = join(parts);
    struct stat st;
    if (lstat(cur.c_str(), &st) < 0) {
      int err = errno;
      if (err == ENOENT && last) {
        r.path = cur;
        return r;  // a new name in an existing directory
      }
      r.error = -err;
      for (auto& rest : todo)
        if (!rest.empty()) cur += "/" + rest;
      r.path = cur;
      return r;
    }
    if (S_ISLNK(st.st_mode) && follow) {
      if (++links > kMaxSymlinks) {
        r.error = -ELOOP;
        r.path = cur;
        return r;
      }
      std::string target;
      int rc = read_link(cur, &target);
      if (rc < 0) {
        r.error = rc;
        r.path = cur;
        return r;
      }
      bool magic = parts.size() >= 3 && parts[0] == "proc" && is_number(parts[1]);
      // Another process's fds, cwd or root: a pipe of catbox itself, a file
      // of the user's editor. Not the build's to write to.
      if (magic && other_process_under_proc("/proc/" + parts[1], t)) {
        r.foreign = true;
        r.exists = true;
        r.path = cur;
        return r;
      }
      bool anon =
          magic && (target.empty() || target[0] != '/' || (ends_with(target, kDeleted) && names_unlinked_object(cur)));
      if (anon) {
        // pipe:[123], socket:[..], anon_inode:[..], a memfd or unlinked file:
        // an object without a name in the filesystem.
        r.anon = true;
        r.exists = true;
        r.path = target;
        r.link = cur;
        if (!last) r.error = -ENOTDIR;
        return r;
      }
      if (magic && parts[1] != std::to_string(t.tgid()) && other_mount_namespace(parts[1])) {
        r.foreign = true;
        r.exists = true;
        r.path = cur;
        return r;
      }
      if (last && is_own_fd_link(parts, t)) r.reopened_fd_flags = fd_flags(t.tid, parts[3]);
      parts.pop_back();
      if (!target.empty() && target[0] == '/') parts.clear();
      split_into(target, &todo, true);
      continue;
    }
    if (!last && !S_ISDIR(st.st_mode)) {
      r.error = -ENOTDIR;
      r.path = cur;
      return r;
    }
    if (last) {
      r.exists = true;
      r.is_dir = S_ISDIR(st.st_mode);
      r.mode = st.st_mode;
      r.rdev = st.st_rdev;
    }
  }
  r.path = join(parts);
  // /proc/PID/mem and the like of a process outside the build.
  if (other_process_under_proc(r.path, t)) r.foreign = true;
  if (!r.exists && r.error == 0) {
    // Resolution ended on "..", "." or "/": the object is a directory that exists.
    struct stat st;
    if (lstat(r.path.c_str(), &st) == 0) {
      r.exists = true;
      r.is_dir = S_ISDIR(st.st_mode);
      r.mode = st.st_mode;
      r.rdev = st.st_rdev;
    }
  }
  return r;
}

Resolved resolve_fd(const Tracee& t, int fd) {
  Resolved r;
  std::string target;
  if (fd == AT_FDCWD) {
    if (base_of(t, AT_FDCWD, &target) < 0) {
      r.error = -ENOENT;
      return r;
    }
  } else {
    std::string link = "/proc/" + std::to_string(t.tid) + "/fd/" + std::to_string(fd);
    int rc = read_link(link, &target);
    if (rc < 0) {
      // No such fd: the kernel answers EBADF itself. Any other failure (a
      // path too long to read back) must not let the call through unjudged.
      r.error = rc == -ENOENT ? -EBADF : -EACCES;
      return r;
    }
    if (target.empty() || target[0] != '/' || (ends_with(target, kDeleted) && names_unlinked_object(link))) {
      r.exists = true;
      r.anon = true;
      r.path = target;
      r.link = link;
      return r;
    }
  }
  r.exists = true;
  r.path = target;
  struct stat st;
  if (lstat(target.c_str(), &st) == 0) {
    r.is_dir = S_ISDIR(st.st_mode);
    r.mode = st.st_mode;
    r.rdev = st.st_rdev;
  }
  return r;
}

}  // namespace catbox
