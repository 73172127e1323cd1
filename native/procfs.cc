#include "procfs.h"

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

}  // namespace catbox
