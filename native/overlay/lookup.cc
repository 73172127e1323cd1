// The guest view, looked up: a guest path resolved over upper, the maps and
// the host as the kernel would walk it; host paths back to guest paths; the
// guest name of each process's cwd. Also opening the environment.
#include "overlay.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <deque>
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cstdlib>

#include "overlay/internal.h"
#include "procfs.h"

namespace catbox {
namespace {

constexpr int kMaxSymlinks = 40;
constexpr const char kDeleted[] = " (deleted)";

void push_front_parts(const std::string& path, std::deque<std::string>* todo) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) todo->push_front(*it);
}

// Takes the immutable and append-only flags off path (not following a
// link), so that it, and what is in it, may be removed.
void clear_locks(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return;
  long flags = 0;
  if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & (FS_IMMUTABLE_FL | FS_APPEND_FL))) {
    flags &= ~static_cast<long>(FS_IMMUTABLE_FL | FS_APPEND_FL);
    ioctl(fd, FS_IOC_SETFLAGS, &flags);
  }
  close(fd);
}

int remove_tree(const std::string& path) {
  // An earlier catbox let a build chmod or chattr a merged view through an
  // fd: make it listable and removable again first.
  struct stat self;
  if (lstat(path.c_str(), &self) == 0 && S_ISDIR(self.st_mode)) {
    clear_locks(path);
    if ((self.st_mode & 0700) != 0700) chmod(path.c_str(), self.st_mode | 0700);
  }
  DIR* d = opendir(path.c_str());
  if (!d) {
    if (unlink(path.c_str()) == 0 || errno == ENOENT) return 0;
    clear_locks(path);
    return unlink(path.c_str()) == 0 || errno == ENOENT ? 0 : -errno;
  }
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    std::string p = path + "/" + n;
    struct stat st;
    if (lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      remove_tree(p);
    } else if (unlink(p.c_str()) < 0 && errno == EPERM) {
      clear_locks(p);
      unlink(p.c_str());
    }
  }
  closedir(d);
  return rmdir(path.c_str()) == 0 ? 0 : -errno;
}

}  // namespace

bool Overlay::open(const OverlayConfig& config, std::string* err) {
  cfg_ = config;
  // Longest guest prefix first: the first match is the one that wins.
  std::stable_sort(cfg_.maps.begin(), cfg_.maps.end(),
                   [](const PathMap& a, const PathMap& b) { return a.guest.size() > b.guest.size(); });
  if (cfg_.upper) {
    struct stat st;
    if (stat(cfg_.upper_dir.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) {
      *err = "the environment's root directory " + cfg_.upper_dir + " is missing";
      return false;
    }
    std::string data = read_small_file(cfg_.whiteouts, 64 << 20);
    size_t i = 0;
    while (i < data.size()) {
      size_t j = data.find('\0', i);
      if (j == std::string::npos) break;  // a torn last record
      if (j > i && data[i] == '/') {
        std::string g = data.substr(i, j - i);
        hiding_dirs_.insert(parent_of(g));
        whiteouts_.insert(std::move(g));
      }
      i = j + 1;
    }
    upper_fd_ = ::open(cfg_.upper_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (upper_fd_ < 0) {
      *err = "cannot open " + cfg_.upper_dir + ": " + strerror(errno);
      return false;
    }
    whiteout_fd_ = ::open(cfg_.whiteouts.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (whiteout_fd_ < 0) {
      *err = "cannot open " + cfg_.whiteouts + ": " + strerror(errno);
      return false;
    }
  }
  // A map's guest path that runs through a symlink of the guest (/var/run ->
  // /run) lands where the link leads, as PRoot's bindings do: otherwise
  // every lookup would follow the link and never reach the map.
  std::vector<PathMap> maps = std::move(cfg_.maps);
  cfg_.maps.clear();
  for (auto& m : maps) {
    GuestObject o = resolve(Tracee{getpid(), getpid()}, AT_FDCWD, m.guest, true);
    if (o.error == 0 && !o.anon && !o.foreign && o.guest.size() > 1 && o.guest[0] == '/') m.guest = o.guest;
  }
  forget();
  cfg_.maps = std::move(maps);
  std::stable_sort(cfg_.maps.begin(), cfg_.maps.end(),
                   [](const PathMap& a, const PathMap& b) { return a.guest.size() > b.guest.size(); });
  if (!cfg_.merged_dir.empty()) {
    // Views of an earlier run are stale, and no other run holds the environment.
    remove_tree(cfg_.merged_dir);
    if (mkdir(cfg_.merged_dir.c_str(), 0755) < 0 && errno != EEXIST) {
      *err = "cannot make " + cfg_.merged_dir + ": " + strerror(errno);
      return false;
    }
  }
  return true;
}

const PathMap* Overlay::map_for(const std::string& g) const {
  for (const auto& m : cfg_.maps)
    if (under(g, m.guest)) return &m;
  return nullptr;
}

bool Overlay::has_map_below(const std::string& g) const {
  for (const auto& m : cfg_.maps)
    if (m.guest != g && under(m.guest, g)) return true;
  return false;
}

GuestObject Overlay::child(const GuestObject& parent, const std::string& name) {
  GuestObject o;
  o.guest = child_path(parent.guest, name);
  struct stat st;
  if (!parent.exists || !parent.is_dir) {
    // Nothing is below a file or a symlink: looking on the host would follow
    // the symlink there, out of the guest's view.
    o.error = -ENOTDIR;
    o.host = o.guest;
    return o;
  }
  auto cached = dirs_.find(o.guest);
  if (cached != dirs_.end()) return cached->second;
  // Inside a map: its host directory, whether the map starts here or above.
  const PathMap* m = map_for(o.guest);
  if (m || parent.layer == Layer::Map) {
    o.layer = Layer::Map;
    o.map = m ? m : parent.map;
    o.host = m ? rebase(o.guest, m->guest, m->host) : child_path(parent.host, name);
    if (lstat(o.host.c_str(), &st) == 0) {
      o.exists = true;
      o.mode = st.st_mode;
    } else {
      o.error = -errno;
    }
    o.is_dir = S_ISDIR(o.mode);
    if (o.exists && o.is_dir && dirs_.size() < 65536) dirs_[o.guest] = o;
    return o;
  }
  std::string upper_host = cfg_.upper_dir + o.guest;
  if (cfg_.upper && parent.upper) {
    if (lstat(upper_host.c_str(), &st) == 0) {
      o.upper = true;
      o.exists = true;
      o.mode = st.st_mode;
      o.layer = Layer::Upper;
      o.host = upper_host;
    } else if (errno == EACCES) {
      // The guest took search permission from the directory (chmod in
      // upper): its host entries are out of reach too, as in the kernel.
      o.error = -EACCES;
      o.host = upper_host;
      return o;
    }
  }
  int lower_err = ENOENT;
  if (parent.lower_dir && !whiteouts_.count(o.guest)) {
    if (lstat(o.guest.c_str(), &st) == 0) {
      o.lower = true;
      o.lower_dir = S_ISDIR(st.st_mode);
      if (!o.upper) {
        o.exists = true;
        o.mode = st.st_mode;
        o.layer = Layer::Lower;
        o.host = o.guest;
      }
    } else {
      lower_err = errno;
    }
  }
  if (!o.exists) {
    if (has_map_below(o.guest)) {
      o.layer = Layer::Virtual;
      o.exists = true;
      o.mode = S_IFDIR | 0755;
    } else {
      o.host = cfg_.upper ? upper_host : o.guest;
      o.error = -(lower_err == ENOTDIR && !parent.upper ? ENOTDIR : ENOENT);
    }
  }
  o.is_dir = S_ISDIR(o.mode);
  // Below an upper entry that is not a directory nothing of the host shows.
  if (o.upper && !o.is_dir) o.lower_dir = false;
  if (o.exists && o.is_dir && dirs_.size() < 65536) dirs_[o.guest] = o;
  return o;
}

GuestObject Overlay::root() const {
  GuestObject r;
  r.guest = "/";
  r.exists = r.is_dir = true;
  r.mode = S_IFDIR | 0755;
  r.lower = r.lower_dir = true;
  r.upper = cfg_.upper;
  r.layer = cfg_.upper ? Layer::Upper : Layer::Lower;
  r.host = cfg_.upper ? cfg_.upper_dir : "/";
  return r;
}

bool Overlay::walk(const std::string& g, std::vector<GuestObject>* stack, GuestObject* missing) {
  size_t i = 1;
  while (i < g.size()) {
    size_t j = g.find('/', i);
    if (j == std::string::npos) j = g.size();
    std::string name = g.substr(i, j - i);
    i = j + 1;
    if (name.empty()) continue;
    GuestObject next = child(stack->back(), name);
    if (!next.exists) {
      if (i >= g.size() && next.error == -ENOENT) next.error = 0;  // only the last name is missing
      *missing = std::move(next);
      return false;
    }
    stack->push_back(std::move(next));
  }
  return true;
}

GuestObject Overlay::locate(const std::string& guest) {
  std::vector<GuestObject> stack{root()};
  GuestObject missing;
  if (!walk(guest, &stack, &missing)) return missing;
  return std::move(stack.back());
}

GuestObject Overlay::resolve(const Tracee& t, int dirfd, const std::string& path, bool follow_last) {
  GuestObject r;
  if (path.empty()) {
    r.error = -ENOENT;
    return r;
  }
  if (path.size() >= PATH_MAX) {
    r.error = -ENAMETOOLONG;
    return r;
  }
  std::vector<GuestObject> stack{root()};
  size_t gone = 0;  // removed directories below stack.back() that the walk starts in
  if (path[0] != '/') {
    GuestObject base = resolve_fd(t, dirfd);
    if (base.error) {
      r.error = base.error;
      return r;
    }
    if (base.anon || !base.is_dir) {
      r.error = -ENOTDIR;
      return r;
    }
    // The walk back up ("..") needs every ancestor.
    GuestObject missing;
    if (!walk(base.guest, &stack, &missing)) {
      // The directory is gone from the guest view (the host may keep it). As
      // in a removed directory, nothing is found in it or in its removed
      // parents, but ".." still climbs to the first one that is there.
      for (size_t i = 1; i < base.guest.size(); i = base.guest.find('/', i) + 1) {
        size_t j = base.guest.find('/', i);
        if (j > i) gone++;
        if (j == std::string::npos) break;
      }
      gone -= stack.size() - 1;
    }
  }
  std::deque<std::string> todo;
  push_front_parts(path, &todo);
  int links = 0;
  int reopened = -1;  // reached through the tracee's own /proc/self/fd/N
  std::string reopened_link;
  while (!todo.empty()) {
    std::string c = std::move(todo.front());
    todo.pop_front();
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (gone > 0) {
        gone--;
      } else if (stack.size() > 1) {
        stack.pop_back();  // never above the guest root
      }
      continue;
    }
    if (gone > 0) {
      r.error = -ENOENT;  // a name in a removed directory
      return r;
    }
    bool last = true;
    for (const auto& rest : todo)
      if (!rest.empty() && rest != ".") last = false;
    // "name/" or "name/.": the kernel follows name and wants a directory.
    bool trailing = last && !todo.empty();
    bool follow = !last || follow_last || trailing;
    const GuestObject& dir = stack.back();
    // /proc/self means the tracee (whatever upper holds at /proc); readlink
    // of /proc/self itself is the kernel's, in the tracee's context.
    if (dir.guest == "/proc" && (c == "self" || c == "thread-self") && follow) {
      stack.push_back(child(dir, std::to_string(t.tgid())));
      if (c == "thread-self") {
        stack.push_back(child(stack.back(), "task"));
        stack.push_back(child(stack.back(), std::to_string(t.tid)));
      }
      continue;
    }
    GuestObject o = child(dir, c);
    if (!o.exists) {
      // A new name in an existing directory ("new/." needs new itself).
      if (o.error == -ENOENT && last && std::find(todo.begin(), todo.end(), ".") == todo.end()) {
        o.error = 0;
        o.slash = trailing;
      }
      o.reopened_fd_flags = reopened;
      o.fd_link = reopened_link;
      return o;
    }
    bool under_proc = o.layer == Layer::Lower && o.guest.compare(0, 6, "/proc/") == 0;
    if (S_ISLNK(o.mode) && follow) {
      if (++links > kMaxSymlinks) {
        o.error = -ELOOP;
        return o;
      }
      std::string target;
      int rc = read_link(o.host, &target);
      if (rc < 0) {
        o.error = rc;
        return o;
      }
      // /proc/PID/{cwd,exe,root,fd/N}: the kernel's answer is a host path.
      size_t slash = o.guest.find('/', 6);
      std::string pid = under_proc ? o.guest.substr(6, slash == std::string::npos ? std::string::npos : slash - 6) : "";
      bool magic = under_proc && is_number(pid) && slash != std::string::npos;
      if (magic) {
        bool anon = target.empty() || target[0] != '/';
        if (!anon && ends_with(target, kDeleted)) {
          struct stat st;
          anon = stat(o.host.c_str(), &st) == 0 && st.st_nlink == 0;
        }
        // Another process's fds, cwd or root (a pipe of catbox itself): not the build's.
        if (other_process_under_proc(o.guest, t) || (pid != std::to_string(t.tgid()) && other_mount_namespace(pid))) {
          o.foreign = true;
          o.foreign_link = true;
          return o;
        }
        if (anon) {
          o.anon = true;
          o.guest = target;
          if (!last || trailing) o.error = -ENOTDIR;
          return o;  // host: the magic link, which the tracee may open as it is
        }
        std::string own_fd = "/proc/" + std::to_string(t.tgid()) + "/fd/";
        if (last && o.guest.compare(0, own_fd.size(), own_fd) == 0 && is_number(o.guest.substr(own_fd.size()))) {
          reopened = static_cast<int>(proc_field(
              "/proc/" + std::to_string(t.tid) + "/fdinfo/" + o.guest.substr(own_fd.size()), "flags:", 8, -1));
          reopened_link = o.host;
        }
        pid_t cwd_of = cwd_link_pid(o.guest);
        target = cwd_of ? cwd_to_guest(cwd_of, target) : to_guest(target);
        if (!target.empty() && target[0] == '/') stack.resize(1);
        push_front_parts(target, &todo);
        continue;
      }
      if (!target.empty() && target[0] == '/') stack.resize(1);
      push_front_parts(target, &todo);
      continue;
    }
    if ((!last || trailing) && !o.is_dir) {
      o.error = -ENOTDIR;
      return o;
    }
    if (S_ISLNK(o.mode) && under_proc) o.magic = true;
    stack.push_back(std::move(o));
  }
  if (gone > 0) {
    r.error = -ENOENT;  // the removed directory itself
    return r;
  }
  GuestObject end = std::move(stack.back());
  end.reopened_fd_flags = reopened;
  end.fd_link = reopened_link;
  // /proc/PID/mem and the like of a process outside the build.
  if (other_process_under_proc(end.guest, t)) end.foreign = true;
  return end;
}

GuestObject Overlay::resolve_fd(const Tracee& t, int fd) {
  GuestObject r;
  std::string link = "/proc/" + std::to_string(t.tid) + (fd == AT_FDCWD ? "/cwd" : "/fd/" + std::to_string(fd));
  std::string target;
  int rc = read_link(link, &target);
  if (rc < 0) {
    r.error = fd == AT_FDCWD ? -ENOENT : (rc == -ENOENT ? -EBADF : -EACCES);
    return r;
  }
  bool anon = target.empty() || target[0] != '/';
  if (!anon && ends_with(target, kDeleted)) {
    struct stat st;
    anon = stat(link.c_str(), &st) == 0 && st.st_nlink == 0;
    if (anon && fd == AT_FDCWD) {
      r.error = -ENOENT;
      return r;
    }
  }
  if (anon) {
    r.anon = r.exists = true;
    r.guest = target;
    r.host = link;
    return r;
  }
  GuestObject o;
  auto named = fd == AT_FDCWD ? cwd_names_.find(t.tgid()) : cwd_names_.end();
  if (named != cwd_names_.end() && named->second.second == target) {
    // The cwd by the name it was entered by, while that still leads to it.
    o = locate(named->second.first);
    if (!(o.exists && o.is_dir && o.host == target)) o = locate(to_guest(target));
  } else {
    o = locate(to_guest(target));
  }
  o.fd_target = target;
  if (!o.exists) {
    // The fd still names an object whose guest name is gone or hidden.
    o.exists = true;
    o.error = 0;
    o.host = target;
    struct stat st;
    if (stat(link.c_str(), &st) == 0) o.mode = st.st_mode;
    o.is_dir = S_ISDIR(o.mode);
  }
  return o;
}

std::string Overlay::to_guest(const std::string& host) const {
  if (host.empty() || host[0] != '/') return host;
  const std::string& md = cfg_.merged_dir;
  if (!md.empty() && under(host, md) && host.size() > md.size()) {
    size_t start = md.size() + 1;
    size_t end = host.find('/', start);
    std::string view = host.substr(0, end);
    auto it = view_guest_.find(view);
    if (it != view_guest_.end()) return rebase(host, view, it->second);
  }
  size_t best = 0;
  std::string out = host;
  for (const auto& m : cfg_.maps) {
    if (under(host, m.host) && m.host.size() + 1 > best) {
      best = m.host.size() + 1;
      out = rebase(host, m.host, m.guest);
    }
  }
  if (cfg_.upper && under(host, cfg_.upper_dir) && cfg_.upper_dir.size() + 1 > best)
    out = rebase(host, cfg_.upper_dir, "/");
  return out;
}

void Overlay::set_cwd_name(pid_t tgid, const std::string& guest, const std::string& host) {
  if (guest.empty() || host.empty() || (cwd_names_.size() >= 65536 && !cwd_names_.count(tgid))) return;
  cwd_names_[tgid] = {guest, host};
}

void Overlay::inherit_cwd_name(pid_t parent, pid_t child) {
  auto it = cwd_names_.find(parent);
  if (it == cwd_names_.end()) {
    cwd_names_.erase(child);
  } else if (parent != child) {
    auto name = it->second;
    set_cwd_name(child, name.first, name.second);
  }
}

std::string Overlay::cwd_to_guest(pid_t tgid, const std::string& host) {
  auto it = cwd_names_.find(tgid);
  if (it != cwd_names_.end() && it->second.second == host) {
    GuestObject o = locate(it->second.first);
    if (o.exists && o.is_dir && o.host == host) return it->second.first;
  }
  return to_guest(host);
}

pid_t cwd_link_pid(const std::string& g) {
  if (g.compare(0, 6, "/proc/") != 0 || !ends_with(g, "/cwd")) return 0;
  std::string mid = g.substr(6, g.size() - 6 - 4);  // PID or PID/task/TID
  size_t slash = mid.find('/');
  std::string pid = mid.substr(0, slash);
  if (pid.empty() || pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos) return 0;
  if (slash != std::string::npos) {
    std::string rest = mid.substr(slash);
    if (rest.compare(0, 6, "/task/") != 0 || rest.size() == 6 ||
        rest.find_first_not_of("0123456789", 6) != std::string::npos)
      return 0;
  }
  return static_cast<pid_t>(atol(pid.c_str()));
}

std::string Overlay::to_host(const std::string& guest) {
  GuestObject o = resolve(Tracee{getpid(), getpid()}, AT_FDCWD, guest, true);
  if (o.layer == Layer::Virtual) {
    int err = 0;
    return merged_view(o, &err);
  }
  return o.host;
}

}  // namespace catbox
