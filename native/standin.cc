#include "standin.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace catbox {
namespace {

bool below_tmp(const std::string& p, const std::string& tmp) {
  if (tmp.empty() || p.size() <= tmp.size() + 1 || p.compare(0, tmp.size(), tmp) != 0 || p[tmp.size()] != '/')
    return false;
  std::string first = p.substr(tmp.size() + 1, p.find('/', tmp.size() + 1) - (tmp.size() + 1));
  return first.rfind("catbox-exec-", 0) == 0 || first.rfind("catbox-sock-", 0) == 0;
}

// /tmp as the resolver spells it (canonical), looked up once.
const std::string& real_tmp() {
  static const std::string tmp = [] {
    char buf[PATH_MAX];
    return realpath("/tmp", buf) ? std::string(buf) : std::string("/tmp");
  }();
  return tmp;
}

bool same_object(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

// sub of dirfd as a directory fd, never through a symlink; -1 if it is not one.
int open_sub(int dirfd, const std::string& sub) {
  return openat(dirfd, sub.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

}  // namespace

bool is_stand_in_path(const std::string& p) { return below_tmp(p, "/tmp") || below_tmp(p, real_tmp()); }

StandInDir::~StandInDir() {
  if (fd_ >= 0) close(fd_);
}

bool StandInDir::make(const char* templ, unsigned mode) {
  if (fd_ >= 0) return true;
  std::vector<char> dir(templ, templ + strlen(templ) + 1);
  if (!mkdtemp(dir.data())) return false;
  int fd = open(dir.data(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  // Between mkdtemp and open another process of this user could have put
  // something else there: take only a directory of our own, still empty.
  if (fd < 0 || fstat(fd, &st) < 0 || st.st_uid != geteuid() || st.st_nlink != 2) {
    if (fd >= 0) close(fd);
    return false;
  }
  if (mode != (st.st_mode & 07777) && fchmod(fd, mode) < 0) {
    close(fd);
    return false;
  }
  fd_ = fd;
  path_ = dir.data();
  return true;
}

bool StandInDir::intact() const {
  struct stat mine, there;
  return fd_ >= 0 && fstat(fd_, &mine) == 0 && lstat(path_.c_str(), &there) == 0 && same_object(mine, there);
}

bool StandInDir::add_link(const std::string& sub, const std::string& name, const std::string& target) {
  if (fd_ < 0 || mkdirat(fd_, sub.c_str(), 0755) < 0) return false;
  int d = open_sub(fd_, sub);
  bool ok = d >= 0 && symlinkat(target.c_str(), d, name.c_str()) == 0;
  if (d >= 0) close(d);
  if (!ok) unlinkat(fd_, sub.c_str(), AT_REMOVEDIR);
  return ok;
}

bool StandInDir::link_intact(const std::string& sub, const std::string& name, const std::string& target) const {
  if (!intact()) return false;
  int d = open_sub(fd_, sub);
  if (d < 0) return false;
  struct stat st;
  bool ok = fstatat(d, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) && st.st_uid == geteuid();
  if (ok) {
    std::vector<char> buf(target.size() + 2);
    ssize_t n = readlinkat(d, name.c_str(), buf.data(), buf.size());
    ok = n >= 0 && static_cast<size_t>(n) == target.size() && target.compare(0, target.size(), buf.data(), n) == 0;
  }
  // The sub-folder itself must still be where the path leads.
  struct stat via_fd, via_path;
  std::string p = path_ + "/" + sub;
  ok = ok && fstat(d, &via_fd) == 0 && lstat(p.c_str(), &via_path) == 0 && same_object(via_fd, via_path);
  close(d);
  return ok;
}

void StandInDir::remove_link(const std::string& sub, const std::string& name) {
  if (fd_ < 0) return;
  int d = open_sub(fd_, sub);
  if (d >= 0) {
    unlinkat(d, name.c_str(), 0);
    close(d);
  }
  unlinkat(fd_, sub.c_str(), AT_REMOVEDIR);
}

bool StandInDir::add_symlink(const std::string& name, const std::string& target) {
  return fd_ >= 0 && symlinkat(target.c_str(), fd_, name.c_str()) == 0;
}

int StandInDir::move_out(const std::string& name, const std::string& to) {
  if (fd_ < 0) return EBADF;
  size_t slash = to.rfind('/');
  if (slash == std::string::npos || slash + 1 == to.size()) return EINVAL;
  // `to` is canonical (the environment's root and the maps' host paths are
  // resolved when the run starts), so its parent is reached without a
  // symlink: one there now was put there since the bind was checked, and the
  // socket is not moved through it. Nor does it replace what is there: the
  // kernel's own bind never does.
  open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  std::string parent = slash == 0 ? "/" : to.substr(0, slash);
  int dfd = static_cast<int>(syscall(SYS_openat2, AT_FDCWD, parent.c_str(), &how, sizeof how));
  if (dfd < 0) return errno;
  int rc = renameat2(fd_, name.c_str(), dfd, to.c_str() + slash + 1, RENAME_NOREPLACE);
  int err = rc < 0 ? errno : 0;
  close(dfd);
  return err;
}

void StandInDir::remove(const std::string& name) {
  if (fd_ >= 0) unlinkat(fd_, name.c_str(), 0);
}

void StandInDir::finish() {
  if (fd_ < 0) return;
  if (intact()) rmdir(path_.c_str());
  close(fd_);
  fd_ = -1;
}

}  // namespace catbox
