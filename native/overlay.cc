#include "overlay.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <deque>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <linux/openat2.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "procfs.h"

namespace catbox {
namespace {

constexpr int kMaxSymlinks = 40;
constexpr const char kDeleted[] = " (deleted)";
constexpr const char kCopyTemp[] = ".catbox-copyup-";
// Directory times come from a coarse clock: a view made within this many
// nanoseconds of its directory's last change may miss a change in the same tick.
constexpr int64_t kTickSafety = 50 * 1000 * 1000;

// s is p or lies below it.
bool under(const std::string& s, const std::string& p) {
  if (p == "/") return !s.empty() && s[0] == '/';
  return s.size() >= p.size() && s.compare(0, p.size(), p) == 0 && (s.size() == p.size() || s[p.size()] == '/');
}

// base + the part of s below p (s under p).
std::string rebase(const std::string& s, const std::string& p, const std::string& base) {
  std::string rest = p == "/" ? s : s.substr(p.size());
  if (rest.empty() || rest == "/") return base;
  return base == "/" ? rest : base + rest;
}

std::string child_path(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

std::string parent_of(const std::string& g) {
  size_t i = g.rfind('/');
  return i == 0 || i == std::string::npos ? "/" : g.substr(0, i);
}


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



// A dirent's type as a mode's, 0 when the filesystem does not say.
mode_t type_of(unsigned char d_type) {
  switch (d_type) {
    case DT_DIR: return S_IFDIR;
    case DT_LNK: return S_IFLNK;
    case DT_FIFO: return S_IFIFO;
    case DT_SOCK: return S_IFSOCK;
    case DT_CHR: return S_IFCHR;
    case DT_BLK: return S_IFBLK;
    case DT_UNKNOWN: return 0;
    default: return S_IFREG;
  }
}

// The type of the stand-in for an entry of type t at path p: the same, so
// that a listing's d_type is right (find -type p reads it), except devices
// (never made: a device node under the environment would be one more way
// to a host device) and a socket whose path is too long to bind, which
// stand in as regular files.
mode_t stand_in_type(mode_t t, const std::string& p) {
  switch (t) {
    case S_IFDIR:
    case S_IFLNK:
    case S_IFIFO:
      return t;
    case S_IFSOCK:
      return p.size() < sizeof(sockaddr_un::sun_path) ? t : S_IFREG;
    default:
      return S_IFREG;
  }
}

// Makes an empty socket file at p: bound, then closed.
bool make_socket_file(const std::string& p) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un un;
  memset(&un, 0, sizeof un);
  un.sun_family = AF_UNIX;
  memcpy(un.sun_path, p.data(), p.size());
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&un), sizeof un) == 0;
  close(fd);
  return ok;
}

int64_t mtime_ns(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) < 0) return -1;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
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
          reopened = static_cast<int>(
              proc_field("/proc/" + std::to_string(t.tid) + "/fdinfo/" + o.guest.substr(own_fd.size()), "flags:", 8, -1));
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
  if (cfg_.upper && under(host, cfg_.upper_dir) && cfg_.upper_dir.size() + 1 > best) out = rebase(host, cfg_.upper_dir, "/");
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
    if (rest.compare(0, 6, "/task/") != 0 || rest.size() == 6 || rest.find_first_not_of("0123456789", 6) != std::string::npos)
      return 0;
  }
  return static_cast<pid_t>(atol(pid.c_str()));
}

std::string Overlay::view_source(const std::string& host) {
  const std::string& md = cfg_.merged_dir;
  if (md.empty() || !under(host, md)) return "";
  auto it = view_guest_.find(host);
  if (it == view_guest_.end()) return "";
  GuestObject o = locate(it->second);
  // A virtual directory has no host directory: the view is all there is.
  if (!o.exists || o.layer == Layer::Virtual || o.host.empty()) return "";
  return o.host;
}

std::string Overlay::to_host(const std::string& guest) {
  GuestObject o = resolve(Tracee{getpid(), getpid()}, AT_FDCWD, guest, true);
  if (o.layer == Layer::Virtual) {
    int err = 0;
    return merged_view(o, &err);
  }
  return o.host;
}

std::string Overlay::base_name(const std::string& g) { return g.substr(g.rfind('/') + 1); }

int Overlay::upper_dir_fd(const std::string& g) const {
  // Below upper, nothing is followed: the build may have planted symlinks
  // there, and the supervisor must not be led out by them.
  std::string rel = g == "/" ? "." : g.substr(1);
  open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  int fd = static_cast<int>(syscall(SYS_openat2, upper_fd_, rel.c_str(), &how, sizeof how));
  return fd < 0 ? -errno : fd;
}

void Overlay::set_times(const std::string& g, const struct stat& st) const {
  timespec t[2] = {st.st_atim, st.st_mtim};
  if (g == "/") {
    utimensat(upper_fd_, "", t, AT_EMPTY_PATH);
    return;
  }
  int dfd = upper_dir_fd(parent_of(g));
  if (dfd < 0) return;
  utimensat(dfd, base_name(g).c_str(), t, AT_SYMLINK_NOFOLLOW);
  close(dfd);
}

// The mode a copy of host object st is made with: a set-user-ID bit only when
// the copy has the same owner (the supervisor's uid), a set-group-ID bit only
// with the same group. A user's copy of a root-owned set-uid program would
// otherwise be a set-uid program of that user, anywhere in the environment.
// With fake root (a copy-up is reported, and its journal keeps the host's
// mode), a file is copied with no set-id bit at all, as fake root makes every
// file on disk: else a root catbox's copy of a set-uid root program would stay
// one while the build writes its own content into it (root keeps the bit on a
// write), a set-uid root program of the build's on disk.
mode_t Overlay::copy_mode(const struct stat& st) const {
  mode_t mode = st.st_mode & 07777;
  if (st.st_uid != geteuid()) mode &= ~S_ISUID;
  if (st.st_gid != getegid()) mode &= ~S_ISGID;
  if (copied_up_ && !S_ISDIR(st.st_mode)) mode &= ~(S_ISUID | S_ISGID);
  return mode;
}

int Overlay::make_dir(const std::string& g, mode_t mode) {
  int dfd = upper_dir_fd(parent_of(g));
  if (dfd < 0) return dfd;
  std::string name = base_name(g);
  int rc = 0;
  if (mkdirat(dfd, name.c_str(), 0700) < 0 && errno != EEXIST) rc = -errno;
  if (rc == 0) {
    int fd = openat(dfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      rc = -errno;
    } else {
      fchmod(fd, mode & 07777);  // exactly, whatever the umask
      close(fd);
    }
  }
  close(dfd);
  if (rc == 0) {
    generation_++;
    forget();
  }
  return rc;
}

int Overlay::make_parents(const std::string& g) {
  std::string parent = parent_of(g);
  if (!cfg_.upper || parent == "/") return 0;
  GuestObject cur = root();
  // Making a directory changes its parent's times: the host's are put back
  // once all are made, as overlayfs does for a copy-up.
  std::vector<std::pair<std::string, struct stat>> made;
  size_t i = 1;
  int rc = 0;
  while (i < parent.size() && rc == 0) {
    size_t j = parent.find('/', i);
    if (j == std::string::npos) j = parent.size();
    std::string name = parent.substr(i, j - i);
    i = j + 1;
    if (name.empty()) continue;
    GuestObject next = child(cur, name);
    if (next.layer == Layer::Map) return next.exists && next.is_dir ? 0 : (next.exists ? -ENOTDIR : -ENOENT);
    if (!next.exists) return -ENOENT;
    if (!next.is_dir) return -ENOTDIR;
    if (!next.upper) {
      struct stat st;
      bool have = next.layer == Layer::Lower && stat(next.host.c_str(), &st) == 0;
      rc = make_dir(next.guest, have ? copy_mode(st) : 0755);
      if (rc < 0) break;
      if (have) made.emplace_back(next.guest, st);
      if (have && copied_up_) copied_up_(next.host, cfg_.upper_dir + next.guest, next.guest, st.st_mode);
      next.upper = true;
      next.host = cfg_.upper_dir + next.guest;
      next.layer = Layer::Upper;
    }
    cur = std::move(next);
  }
  for (const auto& [dir, st] : made) set_times(dir, st);
  return rc;
}

int Overlay::copy_file(const std::string& from, const std::string& g, const struct stat& st) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (in < 0) return -errno;
  int dfd = upper_dir_fd(parent_of(g));
  if (dfd < 0) {
    close(in);
    return dfd;
  }
  // A fresh name of our own: O_EXCL never follows a symlink put in the way.
  std::string tmp;
  int out = -1;
  for (int attempt = 0; attempt < 16 && out < 0; attempt++) {
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != sizeof r) r = (static_cast<uint64_t>(getpid()) << 32) ^ (generation_ + attempt);
    tmp = std::string(kCopyTemp) + std::to_string(r);
    out = openat(dfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0 && errno != EEXIST) break;
  }
  if (out < 0) {
    int err = errno;
    close(in);
    close(dfd);
    return -err;
  }
  int rc = 0;
  for (;;) {
    ssize_t n = sendfile(out, in, nullptr, 1 << 20);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      rc = -errno;
      break;
    }
  }
  if (rc == 0 && fchmod(out, copy_mode(st)) < 0) rc = -errno;
  if (rc == 0) {
    timespec t[2] = {st.st_atim, st.st_mtim};
    futimens(out, t);
  }
  close(in);
  if (close(out) < 0 && rc == 0) rc = -errno;
  if (rc == 0 && renameat(dfd, tmp.c_str(), dfd, base_name(g).c_str()) < 0) rc = -errno;
  if (rc < 0) unlinkat(dfd, tmp.c_str(), 0);
  close(dfd);
  return rc;
}

int Overlay::copy_up(const GuestObject& o) {
  if (!cfg_.upper || o.layer == Layer::Upper || o.layer == Layer::Map) return 0;
  int rc = make_parents(o.guest);
  if (rc < 0) return rc;
  // A copy-up is no change the guest made: its directory keeps its times.
  std::string parent = parent_of(o.guest);
  struct stat parent_st;
  int pfd = upper_dir_fd(parent);
  bool restore = pfd >= 0 && fstat(pfd, &parent_st) == 0;
  if (pfd >= 0) close(pfd);
  if (o.layer == Layer::Virtual) {
    rc = make_dir(o.guest, 0755);
  } else {
    struct stat st;
    if (lstat(o.host.c_str(), &st) < 0) return -errno;
    if (S_ISREG(st.st_mode)) {
      rc = copy_file(o.host, o.guest, st);
    } else if (S_ISDIR(st.st_mode)) {
      rc = make_dir(o.guest, copy_mode(st));
      if (rc == 0) set_times(o.guest, st);
    } else if (S_ISLNK(st.st_mode)) {
      std::string target;
      rc = read_link(o.host, &target);
      int dfd = rc == 0 ? upper_dir_fd(parent) : -1;
      if (rc == 0 && dfd < 0) rc = dfd;
      if (rc == 0 && symlinkat(target.c_str(), dfd, base_name(o.guest).c_str()) < 0) rc = -errno;
      if (dfd >= 0) close(dfd);
      if (rc == 0) set_times(o.guest, st);
    } else {
      return -EROFS;  // a device, fifo or socket of the host is used in place
    }
  }
  if (restore) set_times(parent, parent_st);
  if (rc == 0) {
    generation_++;
    copy_ups_++;
    forget();
    struct stat st;
    if (copied_up_ && o.layer != Layer::Virtual && lstat(o.host.c_str(), &st) == 0)
      copied_up_(o.host, cfg_.upper_dir + o.guest, o.guest, st.st_mode);
  }
  return rc;
}

int Overlay::add_whiteout(const std::string& g) {
  if (whiteouts_.count(g)) return 0;
  std::string rec = g;
  rec.push_back('\0');
  if (write(whiteout_fd_, rec.data(), rec.size()) != static_cast<ssize_t>(rec.size())) return -EIO;
  whiteouts_.insert(g);
  hiding_dirs_.insert(parent_of(g));
  generation_++;
  whiteouts_added_++;
  forget();
  return 0;
}

int Overlay::may_remove(const GuestObject& o) {
  GuestObject parent = locate(parent_of(o.guest));
  if (parent.error) return parent.error;
  if (!parent.exists || parent.host.empty()) return -ENOENT;
  // A directory of upper is the kernel's to judge, with the build's own
  // credentials (the supervisor's). One only the host has stands for the
  // copy a write there would make in upper, which would be the build's: as
  // for a new file there, it is not refused.
  if (parent.upper && faccessat(AT_FDCWD, parent.host.c_str(), W_OK | X_OK, AT_EACCESS) < 0) return -errno;
  struct stat pst, ost;
  if (lstat(parent.host.c_str(), &pst) < 0 || lstat(o.host.c_str(), &ost) < 0) return 0;
  // Sticky (/tmp): only the entry's owner, the directory's, or root.
  uid_t me = geteuid();
  if ((pst.st_mode & S_ISVTX) && me != 0 && ost.st_uid != me && pst.st_uid != me) return -EPERM;
  return 0;
}

bool Overlay::in_upper(const std::string& host) const { return cfg_.upper && under(host, cfg_.upper_dir); }

bool Overlay::protected_host(const std::string& host) const {
  // A merged view is catbox's cache: a change made through an fd of it
  // (fchmod, fsetxattr, chattr...) would land there, not on the directory it shows.
  if (!cfg_.merged_dir.empty() && under(host, cfg_.merged_dir)) return true;
  // The longest host prefix decides: a read-only map inside a read-write one.
  size_t best = 0;
  bool prot = cfg_.upper;  // the host's own file, when there is an overlay
  if (cfg_.upper && under(host, cfg_.upper_dir)) {
    best = cfg_.upper_dir.size();
    prot = false;
  }
  for (const auto& m : cfg_.maps) {
    if (under(host, m.host) && m.host.size() >= best) {
      best = m.host.size();
      prot = !m.rw;
    }
  }
  return prot;
}

std::vector<MergedEntry> Overlay::list(const GuestObject& o) {
  std::map<std::string, MergedEntry> out;
  auto read_dir = [&](const std::string& host, bool lower) {
    DIR* d = opendir(host.c_str());
    if (!d) return;
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == ".." || out.count(n)) continue;
      if (!lower && n.compare(0, sizeof kCopyTemp - 1, kCopyTemp) == 0) continue;
      std::string g = child_path(o.guest, n);
      if (lower && whiteouts_.count(g)) continue;
      MergedEntry m;
      m.name = n;
      m.host = host == "/" ? "/" + n : host + "/" + n;
      m.type = type_of(e->d_type);
      struct stat st;
      if (!m.type) m.type = lstat(m.host.c_str(), &st) == 0 ? (st.st_mode & S_IFMT) : S_IFREG;
      out[n] = m;
    }
    closedir(d);
  };
  if (o.layer == Layer::Map || !cfg_.upper) {
    if (o.exists && o.layer != Layer::Virtual) read_dir(o.host, false);
  } else {
    if (o.upper) read_dir(cfg_.upper_dir + o.guest, false);
    if (o.lower && o.lower_dir) read_dir(o.guest, true);
  }
  for (const auto& m : cfg_.maps) {
    if (m.guest == o.guest || !under(m.guest, o.guest)) continue;
    size_t start = o.guest == "/" ? 1 : o.guest.size() + 1;
    size_t end = m.guest.find('/', start);
    std::string name = m.guest.substr(start, end == std::string::npos ? std::string::npos : end - start);
    MergedEntry e;
    e.name = name;
    e.type = S_IFDIR;
    if (end == std::string::npos) {
      e.host = m.host;
      struct stat st;
      if (stat(m.host.c_str(), &st) == 0) e.type = st.st_mode & S_IFMT;
    } else if (out.count(name)) {
      continue;  // an existing directory on the way to a map
    }
    out[name] = e;
  }
  std::vector<MergedEntry> v;
  v.reserve(out.size());
  for (auto& [n, e] : out) v.push_back(std::move(e));
  return v;
}

bool Overlay::needs_merge(const GuestObject& o) const {
  if (!o.exists || !o.is_dir) return false;
  if (o.layer == Layer::Virtual) return true;
  if (o.upper && o.lower && o.lower_dir) return true;
  if (o.lower && o.lower_dir && hiding_dirs_.count(o.guest)) return true;  // hidden entries must not show
  return has_map_below(o.guest);
}

std::string Overlay::merged_view(const GuestObject& o, int* err) {
  View& v = views_[o.guest];
  int64_t up = o.upper ? mtime_ns(cfg_.upper_dir + o.guest) : 0;
  int64_t low = o.lower && o.lower_dir ? mtime_ns(o.guest) : 0;
  if (o.layer == Layer::Map) low = mtime_ns(o.host);
  int64_t now = now_ns();
  // A view made in the same clock tick as its directory's last change could
  // miss a change later in that tick: it is brought up to date again.
  if (!v.host.empty() && v.settled && v.upper_mtime == up && v.lower_mtime == low && v.generation == generation_)
    return v.host;
  if (v.host.empty()) {
    // One view per directory, kept up to date in place: a listing that is
    // being read while the directory changes may or may not show the change,
    // as with any directory.
    std::string dir = cfg_.merged_dir + "/" + std::to_string(++merged_made_);
    if (mkdir(dir.c_str(), 0755) < 0) {
      *err = errno;
      return "";
    }
    v.host = dir;
    view_guest_[dir] = o.guest;
  }
  std::map<std::string, mode_t> shown;  // the stand-ins there now
  if (DIR* d = opendir(v.host.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") shown[n] = type_of(e->d_type);
    }
    closedir(d);
  }
  std::vector<MergedEntry> want = list(o);
  std::unordered_set<std::string> wanted;
  for (const auto& e : want) {
    wanted.insert(e.name);
    std::string p = v.host + "/" + e.name;
    auto have = shown.find(e.name);
    mode_t type = stand_in_type(e.type, p);
    if (have != shown.end()) {
      if (have->second == type) continue;
      if (have->second == S_IFDIR ? rmdir(p.c_str()) : unlink(p.c_str())) continue;
    }
    if (type == S_IFDIR) {
      mkdir(p.c_str(), 0755);
    } else if (type == S_IFLNK) {
      std::string target;
      if (read_link(e.host, &target) < 0) target = "?";
      symlink(target.c_str(), p.c_str());
    } else if (type == S_IFIFO && mkfifo(p.c_str(), 0644) == 0) {
    } else if (type == S_IFSOCK && make_socket_file(p)) {
    } else {
      int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd >= 0) close(fd);
    }
  }
  for (const auto& [name, type] : shown) {
    if (wanted.count(name)) continue;
    std::string p = v.host + "/" + name;
    if (type == S_IFDIR) {
      rmdir(p.c_str());
    } else {
      unlink(p.c_str());
    }
  }
  v.settled = (up == 0 || now - up > kTickSafety) && (low == 0 || now - low > kTickSafety);
  v.upper_mtime = up;
  v.lower_mtime = low;
  v.generation = generation_;
  return v.host;
}

}  // namespace catbox
