#include "resolver.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <string>
#include <sys/stat.h>
#include <unordered_map>
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

// The tracee's cwd or the directory an fd names, held and named: the start
// of a relative walk. 0, or the errno the kernel would give: no such cwd or
// fd; a deleted directory or an anonymous object is no place to resolve
// from (fail closed, the kernel would refuse to create anything there too).
int base_of(const Tracee& t, int dirfd, Fd* base, std::string* name) {
  *base = hold_base(t, dirfd);
  if (!base->ok()) return dirfd == AT_FDCWD ? -ENOENT : -EBADF;
  *name = fd_path(base->get());
  if (name->empty() || (*name)[0] != '/') return -ENOTDIR;
  if (ends_with(*name, kDeleted)) return -ENOENT;
  return 0;
}

// The components of an absolute path, without empty ones.
std::vector<std::string> components(const std::string& path) {
  std::deque<std::string> all;
  split_into(path, &all, false);
  std::vector<std::string> out;
  for (auto& c : all)
    if (!c.empty()) out.push_back(std::move(c));
  return out;
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

// A copy of the tracee's fd `fd` and the flags it is open with; -1 with
// errno (ENOENT: no such fd, so the name does not exist).
int own_fd_copy(pid_t tgid, const std::string& fd, int* flags) {
  int copy = copy_fd(tgid, std::atoi(fd.c_str()));
  if (copy < 0) {
    errno = copy == -EBADF ? ENOENT : -copy;
    return -1;
  }
  *flags = fcntl(copy, F_GETFL);
  return copy;
}

// The pidfds of the build's processes, opened once per process by each
// thread that copies fds (the notifier, the tracer). A number reused by a later process is noticed: the pidfd of the
// earlier one answers ESRCH, and the number is opened again.
struct Pidfds {
  std::unordered_map<pid_t, int> fds;
  ~Pidfds() {
    for (const auto& [pid, fd] : fds) close(fd);
  }
};
thread_local Pidfds pidfds;

thread_local MemberCheck member_check = nullptr;
thread_local const void* member_ctx = nullptr;

int root_fd() {
  static const int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  return fd;
}

Fd dup_of(int fd) { return Fd(fcntl(fd, F_DUPFD_CLOEXEC, 0)); }

// One component of the walk still to look up; `leaf`: the path's own last
// component (not one from a symlink's target).
struct Step {
  std::string name;
  bool leaf = false;
};

void push_parts(const std::string& path, std::deque<Step>* out, bool front, bool mark_leaf) {
  std::deque<std::string> names;
  split_into(path, &names, false);
  std::vector<Step> steps;
  for (auto& n : names) steps.push_back(Step{std::move(n), false});
  if (mark_leaf) {
    for (auto it = steps.rbegin(); it != steps.rend(); ++it)
      if (!it->name.empty()) {
        it->leaf = true;
        break;
      }
  }
  if (front) {
    for (auto it = steps.rbegin(); it != steps.rend(); ++it) out->push_front(std::move(*it));
  } else {
    for (auto& st : steps) out->push_back(std::move(st));
  }
}

// The common case in one step: a path with no symlink before its last
// name. openat2(RESOLVE_NO_SYMLINKS) reaches the last name's directory, which
// is then named lexically (without symlinks, ".." is the parent it names).
// false: anything else (a symlink on the way, an error to report exactly,
// "." or ".." last, /proc/self): the walk one component at a time decides.
bool walk_fast(const Tracee& t, int dirfd, const std::string& path, bool follow_last, bool keep, Walked* w) {
  size_t end = path.find_last_not_of('/');
  if (end == std::string::npos) return false;  // "/", "//"
  size_t start = path.rfind('/', end);
  start = start == std::string::npos ? 0 : start + 1;
  std::string leaf = path.substr(start, end + 1 - start);
  if (leaf == "." || leaf == "..") return false;
  const bool slash_end = end + 1 < path.size();
  std::string prefix = path.substr(0, start);
  std::vector<std::string> parts;
  Fd base;
  if (path[0] != '/') {
    std::string name;
    if (base_of(t, dirfd, &base, &name) < 0) return false;
    parts = components(name);
  }
  std::deque<std::string> given;
  split_into(prefix, &given, false);
  for (auto& c : given) {
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    // /proc/self is a symlink that means the tracee: the slow walk knows.
    parts.push_back(std::move(c));
  }
  Fd dir;
  if (prefix.empty()) {
    dir = base.ok() ? std::move(base) : dup_of(root_fd());
  } else {
    open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS;
    int from = path[0] == '/' ? root_fd() : base.get();
    dir = Fd(static_cast<int>(syscall(SYS_openat2, from, prefix.c_str(), &how, sizeof how)));
    if (!dir.ok()) return false;
  }
  if (parts.size() == 1 && parts[0] == "proc" && (leaf == "self" || leaf == "thread-self")) return false;
  Resolved& r = w->r;
  std::string dir_path = join(parts);
  parts.push_back(leaf);
  std::string cur = join(parts);
  Fd obj(openat(dir.get(), leaf.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  struct stat st;
  if (!obj.ok()) {
    if (errno != ENOENT) return false;
    r.path = cur;  // a new name in an existing directory
  } else {
    if (fstat(obj.get(), &st) < 0) return false;
    if (S_ISLNK(st.st_mode) && (follow_last || slash_end)) return false;
    r.path = cur;
    r.exists = true;
    r.is_dir = S_ISDIR(st.st_mode);
    r.mode = st.st_mode;
    r.rdev = st.st_rdev;
  }
  if (other_process_under_proc(r.path, t)) r.foreign = true;
  if (keep) {
    w->dir_path = dir_path;
    w->leaf = leaf + (slash_end ? "/" : "");
    w->final_name = leaf;
    w->final_tail = slash_end ? 1 : 0;
    w->final_dir = dup_of(dir.get());
    w->dir = std::move(dir);
    w->object = std::move(obj);
  }
  return true;
}

// The walk itself. Each component is opened O_PATH|O_NOFOLLOW in the
// directory held before it, so what is checked is what was walked through.
// keep: hand the descriptors a call needs to the caller.
Walked walk(const Tracee& t, int dirfd, const std::string& path, bool follow_last, bool keep) {
  Walked w;
  Resolved& r = w.r;
  if (!path.empty() && path.size() < PATH_MAX && walk_fast(t, dirfd, path, follow_last, keep, &w)) return w;
  w = Walked{};
  if (path.empty()) {
    r.error = -ENOENT;
    return w;
  }
  if (path.size() >= PATH_MAX) {
    r.error = -ENAMETOOLONG;
    return w;
  }
  std::vector<std::string> parts;
  std::vector<Fd> fds;  // fds[i] holds join(parts[0..i]); only the last is sure to be open
  auto top = [&]() { return fds.empty() ? root_fd() : fds.back().get(); };
  std::deque<Step> todo;
  if (path[0] != '/') {
    // The tracee's cwd, or the directory its fd names, held first and then
    // named: the name is the one of what is held.
    Fd base;
    std::string name;
    if (int err = base_of(t, dirfd, &base, &name)) {
      r.error = err;
      return w;
    }
    parts = components(name);
    fds.resize(parts.size());
    if (!fds.empty()) fds.back() = std::move(base);  // else the base is "/"
  }
  push_parts(path, &todo, false, true);
  const bool slash_end = path.back() == '/';

  int links = 0;
  while (!todo.empty()) {
    Step step = std::move(todo.front());
    todo.pop_front();
    std::string& c = step.name;
    if (step.leaf && keep) {
      w.dir = dup_of(top());
      w.dir_path = join(parts);
      w.leaf = c + (slash_end && c != "." && c != ".." ? "/" : "");
    }
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!parts.empty()) {
        size_t n = parts.size();
        if (n >= 2 && !fds[n - 2].ok()) {
          fds[n - 2] = Fd(openat(fds[n - 1].get(), "..", O_PATH | O_CLOEXEC));
          if (!fds[n - 2].ok()) {
            r.error = -errno;
            r.path = join(parts);
            return w;
          }
        }
        parts.pop_back();
        fds.pop_back();
      }
      continue;
    }
    // "name/" and "name/." still name `name`, but make the kernel follow it.
    bool last = true;
    for (const auto& rest : todo)
      if (!rest.name.empty() && rest.name != ".") last = false;
    bool follow = !last || follow_last || !todo.empty();
    // /proc/self and /proc/thread-self mean the tracee, not the tracer.
    if (parts.size() == 1 && parts[0] == "proc" && (c == "self" || c == "thread-self")) {
      std::vector<std::string> names{std::to_string(t.tgid())};
      if (c == "thread-self") {
        names.push_back("task");
        names.push_back(std::to_string(t.tid));
      }
      for (auto& n : names) {
        Fd next(openat(top(), n.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        parts.push_back(std::move(n));
        if (!next.ok()) {
          r.error = -errno;
          r.path = join(parts);
          return w;
        }
        fds.push_back(std::move(next));
      }
      continue;
    }
    int dir = top();
    Fd fd(openat(dir, c.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    int open_err = errno;
    parts.push_back(c);
    std::string cur = join(parts);
    struct stat st;
    if (!fd.ok() || fstat(fd.get(), &st) < 0) {
      int err = fd.ok() ? errno : open_err;
      if (err == ENOENT && last) {
        r.path = cur;
        if (keep) {
          w.final_dir = dup_of(dir);
          w.final_name = c;
          // "new/" (from the path or a symlink's target): not a file to make.
          for (const auto& rest : todo) w.final_tail = rest.name == "." ? 2 : std::max(w.final_tail, 1);
        }
        return w;  // a new name in an existing directory
      }
      r.error = -err;
      for (auto& rest : todo)
        if (!rest.name.empty()) cur += "/" + rest.name;
      r.path = cur;
      return w;
    }
    if (S_ISLNK(st.st_mode) && follow) {
      if (++links > kMaxSymlinks) {
        r.error = -ELOOP;
        r.path = cur;
        return w;
      }
      char buf[PATH_MAX];
      ssize_t n = readlinkat(fd.get(), "", buf, sizeof buf);
      if (n < 0 || n == static_cast<ssize_t>(sizeof buf)) {
        r.error = n < 0 ? -errno : -ENAMETOOLONG;
        r.path = cur;
        return w;
      }
      std::string target(buf, static_cast<size_t>(n));
      bool magic = parts.size() >= 3 && parts[0] == "proc" && is_number(parts[1]);
      // Another process's fds, cwd or root: a pipe of catbox itself, a file
      // of the user's editor. Not the build's to write to.
      if (magic && other_process_under_proc("/proc/" + parts[1], t)) {
        r.foreign = true;
        r.exists = true;
        r.path = cur;
        return w;
      }
      if (magic) {
        // A magic link leads to the object itself, not to a name: hold the
        // object (whatever the fd names by now) and go on from its name.
        // The tracee's own fd N: a copy of it (pidfd_getfd), so that the
        // object and the flags it is open with are read in one step; a
        // thread that dup2()s over N in between changes neither.
        const bool own = is_own_fd_link(parts, t);
        int held_flags = -1;
        Fd obj(own ? own_fd_copy(t.tgid(), parts[3], &held_flags) : openat(dir, c.c_str(), O_PATH | O_CLOEXEC));
        if (!obj.ok()) {
          r.error = -errno;
          r.path = cur;
          return w;
        }
        // What the held object is, from the held object only: its name, and
        // whether it has none left (a name may end in " (deleted)" too).
        std::string name = fd_path(obj.get());
        if (name.empty()) {
          r.error = -ENAMETOOLONG;
          r.path = cur;
          return w;
        }
        target = name;
        struct stat held;
        bool unlinked = fstat(obj.get(), &held) == 0 && held.st_nlink == 0;
        bool anon = target[0] != '/' || (ends_with(target, kDeleted) && unlinked);
        if (anon) {
          // pipe:[123], socket:[..], anon_inode:[..], a memfd or unlinked file:
          // an object without a name in the filesystem.
          r.anon = true;
          r.exists = true;
          r.path = target;
          r.link = cur;
          if (!last) r.error = -ENOTDIR;
          if (keep) w.object = std::move(obj);
          return w;
        }
        if (parts[1] != std::to_string(t.tgid()) && other_mount_namespace(parts[1])) {
          r.foreign = true;
          r.exists = true;
          r.path = cur;
          return w;
        }
        if (last && own) r.reopened_fd_flags = held_flags;
        parts = components(target);
        fds.clear();
        fds.resize(parts.size());
        if (!fds.empty()) {
          fds.back() = std::move(obj);
        }
        continue;
      }
      parts.pop_back();
      if (target[0] == '/') {
        parts.clear();
        fds.clear();
      }
      push_parts(target, &todo, true, false);
      continue;
    }
    if (!last && !S_ISDIR(st.st_mode)) {
      r.error = -ENOTDIR;
      r.path = cur;
      return w;
    }
    if (last) {
      r.exists = true;
      r.is_dir = S_ISDIR(st.st_mode);
      r.mode = st.st_mode;
      r.rdev = st.st_rdev;
    }
    fds.push_back(std::move(fd));
  }
  r.path = join(parts);
  // /proc/PID/mem and the like of a process outside the build.
  if (other_process_under_proc(r.path, t)) r.foreign = true;
  if (!r.exists && r.error == 0) {
    // Resolution ended on "..", "." or "/": the object is a directory that exists.
    struct stat st;
    if (fstat(top(), &st) == 0) {
      r.exists = true;
      r.is_dir = S_ISDIR(st.st_mode);
      r.mode = st.st_mode;
      r.rdev = st.st_rdev;
    }
  }
  if (keep && r.error == 0) {
    w.object = dup_of(top());
    if (!parts.empty()) {
      w.final_name = parts.back();
      size_t n = parts.size();
      if (n >= 2 && fds[n - 2].ok()) w.final_dir = dup_of(fds[n - 2].get());
      if (n == 1) w.final_dir = dup_of(root_fd());
    }
  }
  return w;
}

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

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) close(fd_);
}

std::string own_link(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

Fd hold_base(const Tracee& t, int dirfd) {
  std::string link = "/proc/" + std::to_string(t.tid) + (dirfd == AT_FDCWD ? "/cwd" : "/fd/" + std::to_string(dirfd));
  return Fd(open(link.c_str(), O_PATH | O_CLOEXEC));
}

std::string fd_path(int fd) {
  std::string out;
  if (read_link(own_link(fd), &out) < 0) out.clear();
  return out;
}

int copy_fd(pid_t tgid, int fd) {
  for (int round = 0; round < 2; round++) {
    auto it = pidfds.fds.find(tgid);
    bool cached = it != pidfds.fds.end();
    int pidfd;
    if (cached) {
      pidfd = it->second;
    } else {
      pidfd = static_cast<int>(syscall(__NR_pidfd_open, tgid, 0));
      if (pidfd < 0) return -ESRCH;
      if (pidfds.fds.size() >= 4096) {
        for (const auto& [pid, old] : pidfds.fds) close(old);
        pidfds.fds.clear();
      }
      pidfds.fds[tgid] = pidfd;
    }
    int copy = static_cast<int>(syscall(__NR_pidfd_getfd, pidfd, fd, 0));
    if (copy >= 0) return copy;
    int err = errno;
    if (err != ESRCH || !cached) return -err;
    close(pidfd);
    pidfds.fds.erase(tgid);
  }
  return -ESRCH;
}

Resolved resolve_path(const Tracee& t, int dirfd, const std::string& path, bool follow_last) {
  return walk(t, dirfd, path, follow_last, false).r;
}

Walked walk_path(const Tracee& t, int dirfd, const std::string& path, bool follow_last) {
  return walk(t, dirfd, path, follow_last, true);
}

Resolved resolve_held(int fd) {
  Resolved r;
  std::string link = own_link(fd);
  std::string target;
  if (read_link(link, &target) < 0) {
    r.error = -EACCES;
    return r;
  }
  r.exists = true;
  struct stat st;
  bool known = fstat(fd, &st) == 0;
  if (target.empty() || target[0] != '/' || (ends_with(target, kDeleted) && known && st.st_nlink == 0)) {
    r.anon = true;
    r.path = target;
    r.link = link;
    return r;
  }
  r.path = target;
  if (known) {
    r.is_dir = S_ISDIR(st.st_mode);
    r.mode = st.st_mode;
    r.rdev = st.st_rdev;
  }
  return r;
}

Resolved resolve_fd(const Tracee& t, int fd) {
  Resolved r;
  std::string target;
  if (fd == AT_FDCWD) {
    Fd base;
    if (base_of(t, AT_FDCWD, &base, &target) < 0) {
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
