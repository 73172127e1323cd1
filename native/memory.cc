#include "memory.h"

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <sys/ptrace.h>
#include <sys/uio.h>

namespace catbox {
namespace {

int peek_memory(pid_t pid, uint64_t addr, void* out, size_t len) {
  auto* dst = static_cast<unsigned char*>(out);
  size_t done = 0;
  while (done < len) {
    uint64_t word_addr = (addr + done) & ~uint64_t{7};
    size_t skip = (addr + done) - word_addr;
    errno = 0;
    long word = ptrace(PTRACE_PEEKDATA, pid, word_addr, nullptr);
    if (errno != 0) return -EFAULT;
    size_t n = std::min(sizeof word - skip, len - done);
    memcpy(dst + done, reinterpret_cast<unsigned char*>(&word) + skip, n);
    done += n;
  }
  return 0;
}

}  // namespace

int read_memory(pid_t pid, uint64_t addr, void* out, size_t len) {
  if (len == 0) return 0;
  iovec local{out, len};
  iovec remote{reinterpret_cast<void*>(addr), len};
  ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
  if (n == static_cast<ssize_t>(len)) return 0;
  bool refused = n < 0 && errno == EPERM;
  int rc = peek_memory(pid, addr, out, len);
  // Not a bad address: the process may not be read (it is not dumpable).
  return rc < 0 && refused ? -EPERM : rc;
}

int read_string(pid_t pid, uint64_t addr, std::string* out, size_t max) {
  out->clear();
  if (addr == 0) return -EFAULT;
  // Read page by page: a string may end right before an unmapped page.
  // Most paths are short: the first read takes at most kFirst bytes.
  constexpr size_t kPage = 4096;
  constexpr size_t kFirst = 256;
  char buf[kPage];
  uint64_t cur = addr;
  while (out->size() <= max) {
    size_t chunk = kPage - (cur % kPage);
    if (cur == addr && chunk > kFirst) chunk = kFirst;
    int rc = read_memory(pid, cur, buf, chunk);
    if (rc < 0) return rc;
    const void* nul = memchr(buf, '\0', chunk);
    if (nul) {
      out->append(buf, static_cast<const char*>(nul) - buf);
      return out->size() > max ? -ENAMETOOLONG : 0;
    }
    out->append(buf, chunk);
    cur += chunk;
  }
  return -ENAMETOOLONG;
}

int write_memory(pid_t pid, uint64_t addr, const void* data, size_t len) {
  if (len == 0) return 0;
  iovec local{const_cast<void*>(data), len};
  iovec remote{reinterpret_cast<void*>(addr), len};
  if (process_vm_writev(pid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(len)) return 0;
  // Read-modify-write whole words: the first and last may be partly outside.
  const auto* src = static_cast<const unsigned char*>(data);
  size_t done = 0;
  while (done < len) {
    uint64_t word_addr = (addr + done) & ~uint64_t{7};
    size_t skip = (addr + done) - word_addr;
    size_t n = std::min(sizeof(long) - skip, len - done);
    long word = 0;
    if (skip != 0 || n != sizeof(long)) {
      errno = 0;
      word = ptrace(PTRACE_PEEKDATA, pid, word_addr, nullptr);
      if (errno != 0) return -EFAULT;
    }
    memcpy(reinterpret_cast<unsigned char*>(&word) + skip, src + done, n);
    if (ptrace(PTRACE_POKEDATA, pid, word_addr, reinterpret_cast<void*>(word)) < 0) return -EFAULT;
    done += n;
  }
  return 0;
}

}  // namespace catbox
