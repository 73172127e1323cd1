// The build operation log: one JSON object a line, appended to a file as the
// build runs, so memory stays flat however many files a build opens.
//   {"t":"start","time":<unix ms>,"pid":P}
//   {"t":"proc","ts":<µs>,"pid":P,"ppid":Q}
//   {"t":"exec","ts":..,"pid":P,"path":"/usr/bin/cc","argv":[..],"cwd":".."}
//   {"t":"exit","ts":..,"pid":P,"code":0} or "signal":9
//   {"t":"read"|"write","ts":..,"pid":P,"op":"openat","path":"..","ok":true}
// ts counts microseconds from the start of the run.
#pragma once
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace catbox {

struct TraceOptions {
  bool exec = false;   // process tree and execs
  bool read = false;   // files opened for reading, and failed lookups
  bool write = false;  // files written, created, removed
  bool any() const { return exec || read || write; }
};

class TraceLog {
 public:
  TraceLog() = default;
  ~TraceLog();
  TraceLog(const TraceLog&) = delete;
  TraceLog& operator=(const TraceLog&) = delete;

  // Opens (appends to) path; -errno on failure.
  int open(const std::string& path);
  bool is_open() const { return fd_ >= 0; }

  void start(pid_t pid);
  void proc(pid_t pid, pid_t ppid);
  void exec(pid_t pid, const std::string& path, const std::vector<std::string>& argv, const std::string& cwd);
  void exit(pid_t pid, int code, int signal);
  // One line per (process, kind, path): repeats are dropped.
  void access(pid_t pid, bool write, const char* op, const std::string& path, bool ok);
  void flush();
  uint64_t lines() const { return lines_; }

 private:
  void begin(const char* type);
  void end();
  void key(const char* k);
  void str(const std::string& s);
  void num(int64_t n);
  int64_t now_us() const;

  int fd_ = -1;
  int64_t t0_ = 0;
  std::string buf_;
  uint64_t lines_ = 0;
  std::unordered_map<pid_t, std::unordered_set<std::string>> seen_;
};

}  // namespace catbox
