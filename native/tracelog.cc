#include "tracelog.h"

#include <cerrno>
#include <ctime>
#include <fcntl.h>
#include <unistd.h>

namespace catbox {
namespace {

constexpr size_t kFlushAt = 64 * 1024;
// Bound on remembered (kind, path) pairs per process: past it the set starts
// over, so a process opening a million distinct files costs a few duplicate
// lines, not memory.
constexpr size_t kSeenPerProcess = 4096;

int64_t monotonic_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

}  // namespace

TraceLog::~TraceLog() {
  flush();
  if (fd_ >= 0) close(fd_);
}

int TraceLog::open(const std::string& path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) return -errno;
  t0_ = monotonic_us();
  return 0;
}

int64_t TraceLog::now_us() const { return monotonic_us() - t0_; }

void TraceLog::begin(const char* type) {
  buf_ += "{\"t\":\"";
  buf_ += type;
  buf_ += "\",\"ts\":";
  buf_ += std::to_string(now_us());
}

void TraceLog::end() {
  buf_ += "}\n";
  lines_++;
  if (buf_.size() >= kFlushAt) flush();
}

void TraceLog::key(const char* k) {
  buf_ += ",\"";
  buf_ += k;
  buf_ += "\":";
}

void TraceLog::num(int64_t n) { buf_ += std::to_string(n); }

void TraceLog::str(const std::string& s) {
  static const char hex[] = "0123456789abcdef";
  buf_ += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': buf_ += "\\\""; break;
      case '\\': buf_ += "\\\\"; break;
      case '\n': buf_ += "\\n"; break;
      case '\t': buf_ += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          buf_ += "\\u00";
          buf_ += hex[c >> 4];
          buf_ += hex[c & 15];
        } else {
          // Paths are bytes; invalid UTF-8 is left to the reader, which
          // replaces it (JSON.parse keeps the rest of the line).
          buf_ += static_cast<char>(c);
        }
    }
  }
  buf_ += '"';
}

void TraceLog::start(pid_t pid) {
  if (fd_ < 0) return;
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  begin("start");
  key("time");
  num(static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000);
  key("pid");
  num(pid);
  end();
}

void TraceLog::proc(pid_t pid, pid_t ppid) {
  if (fd_ < 0) return;
  begin("proc");
  key("pid");
  num(pid);
  key("ppid");
  num(ppid);
  end();
}

void TraceLog::exec(pid_t pid, const std::string& path, const std::vector<std::string>& argv, const std::string& cwd) {
  if (fd_ < 0) return;
  seen_.erase(pid);  // a new program: its reads are its own
  begin("exec");
  key("pid");
  num(pid);
  key("path");
  str(path);
  key("argv");
  buf_ += '[';
  for (size_t i = 0; i < argv.size(); i++) {
    if (i) buf_ += ',';
    str(argv[i]);
  }
  buf_ += ']';
  key("cwd");
  str(cwd);
  end();
}

void TraceLog::exit(pid_t pid, int code, int signal) {
  if (fd_ < 0) return;
  seen_.erase(pid);
  begin("exit");
  key("pid");
  num(pid);
  key(signal ? "signal" : "code");
  num(signal ? signal : code);
  end();
}

void TraceLog::access(pid_t pid, bool write, const char* op, const std::string& path, bool ok) {
  if (fd_ < 0) return;
  auto& seen = seen_[pid];
  std::string k = (write ? "w" : "r") + std::string(ok ? "+" : "-") + path;
  if (!seen.insert(k).second) return;
  if (seen.size() > kSeenPerProcess) {
    seen.clear();
    seen.insert(k);
  }
  begin(write ? "write" : "read");
  key("pid");
  num(pid);
  key("op");
  buf_ += '"';
  buf_ += op;
  buf_ += '"';
  key("path");
  str(path);
  key("ok");
  buf_ += ok ? "true" : "false";
  end();
}

void TraceLog::flush() {
  if (fd_ < 0 || buf_.empty()) return;
  const char* p = buf_.data();
  size_t n = buf_.size();
  while (n > 0) {
    ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      break;  // a full disk loses log lines, never the build
    }
    p += w;
    n -= w;
  }
  buf_.clear();
}

}  // namespace catbox
