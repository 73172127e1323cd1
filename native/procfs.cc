#include "procfs.h"

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace catbox {

std::string read_small_file(const std::string& path, size_t max) {
  std::string out;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[8192];
  ssize_t n;
  while (out.size() < max && (n = read(fd, buf, sizeof buf)) > 0) out.append(buf, n);
  close(fd);
  if (out.size() > max) out.resize(max);
  return out;
}

long field_in(const std::string& text, const char* key, int base, long fallback) {
  size_t at = text.find(key);
  // Keys start a line: "Tgid:" must not match inside another key.
  while (at != std::string::npos && at != 0 && text[at - 1] != '\n') at = text.find(key, at + 1);
  if (at == std::string::npos) return fallback;
  return strtol(text.c_str() + at + strlen(key), nullptr, base);
}

long proc_field(const std::string& path, const char* key, int base, long fallback) {
  return field_in(read_small_file(path), key, base, fallback);
}

ProcIds proc_ids(pid_t tid) {
  std::string status = read_small_file("/proc/" + std::to_string(tid) + "/status");
  return ProcIds{static_cast<pid_t>(field_in(status, "Tgid:", 10, 0)),
                 static_cast<pid_t>(field_in(status, "PPid:", 10, 0))};
}

int read_link(const std::string& path, std::string* out) {
  char buf[PATH_MAX];
  ssize_t n = readlink(path.c_str(), buf, sizeof buf);
  if (n < 0) return -errno;
  if (n == static_cast<ssize_t>(sizeof buf)) return -ENAMETOOLONG;
  out->assign(buf, n);
  return 0;
}

bool other_mount_namespace(const std::string& pid) {
  static const std::string mine = [] {
    std::string ns;
    return read_link("/proc/self/ns/mnt", &ns) == 0 ? ns : std::string("?");
  }();
  std::string theirs;
  return read_link("/proc/" + pid + "/ns/mnt", &theirs) < 0 || theirs != mine;
}

bool is_number(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

bool ends_with(const std::string& s, const char* suffix) {
  size_t n = strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

}  // namespace catbox
