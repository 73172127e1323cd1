// Directory listings of the guest view: the union of upper, the host minus
// its whiteouts, and the map points below; the merged views that show them
// to the kernel, kept up to date in place.
#include "overlay.h"

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "overlay/internal.h"
#include "procfs.h"

namespace catbox {
namespace {

// Directory times come from a coarse clock: a view made within this many
// nanoseconds of its directory's last change may miss a change in the same tick.
constexpr int64_t kTickSafety = 50 * 1000 * 1000;

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
    case S_IFIFO: return t;
    case S_IFSOCK: return p.size() < sizeof(sockaddr_un::sun_path) ? t : S_IFREG;
    default: return S_IFREG;
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

}  // namespace

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

}  // namespace catbox
