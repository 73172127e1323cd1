// Writes in the guest view, prepared: parents made in upper, host objects
// copied up, host entries hidden by whiteouts, and which host objects no
// write may reach. Nothing below upper is followed.
#include "overlay.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlay/internal.h"
#include "procfs.h"

namespace catbox {

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

}  // namespace catbox
