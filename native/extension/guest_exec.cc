// exec in the guest view: "#!" scripts run as the kernel would run them, in
// guest paths, with the kernel's permission checks; stand-in names.
#include "supervisor/supervisor.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include "procfs.h"

namespace catbox {

// The interpreter line of a "#!" script: false when the file is none.
bool Supervisor::read_shebang(const std::string& host, std::string* interp, std::string* optarg) {
  char head[256];
  // Never block on a fifo the build made executable, never follow a link.
  int fd = ::open(host.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
  if (fd < 0) return false;
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return false;
  }
  ssize_t n = read(fd, head, sizeof head - 1);
  close(fd);
  if (n < 3 || head[0] != '#' || head[1] != '!') return false;
  head[n] = '\0';
  std::string line(head + 2, strcspn(head + 2, "\n"));
  size_t b = line.find_first_not_of(" \t");
  if (b == std::string::npos) return false;
  size_t e = line.find_first_of(" \t", b);
  *interp = line.substr(b, e == std::string::npos ? std::string::npos : e - b);
  optarg->clear();
  if (e != std::string::npos) {
    size_t ob = line.find_first_not_of(" \t", e);
    if (ob != std::string::npos) *optarg = line.substr(ob, line.find_last_not_of(" \t") - ob + 1);
  }
  return true;
}

// The kernel's exec permission check of the file at host for thread tid:
// a regular file, not on a noexec mount, with execute permission for the
// thread's fs ids, or any x bit with CAP_DAC_OVERRIDE in its effective set;
// 0 or the errno. When the thread's ids and that capability are the
// supervisor's own, the kernel itself answers (faccessat), ACLs included;
// otherwise the mode bits decide.
int Supervisor::exec_permission(pid_t tid, const std::string& host) {
  struct stat st;
  if (stat(host.c_str(), &st) < 0) return errno;
  if (!S_ISREG(st.st_mode)) return EACCES;
  struct Creds {
    std::vector<unsigned long> uid, gid, groups;
    bool override = false;
  };
  auto creds_of = [](const std::string& status) {
    auto ids = [&](const char* key) {
      std::vector<unsigned long> out;
      size_t at = status.find(key);
      if (at == std::string::npos) return out;
      const char* p = status.c_str() + at + strlen(key);
      for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        char* end = nullptr;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p) break;
        out.push_back(v);
        p = end;
      }
      return out;
    };
    Creds c{ids("\nUid:"), ids("\nGid:"), ids("\nGroups:")};
    std::sort(c.groups.begin(), c.groups.end());
    c.override = field_in(status, "CapEff:", 16, 0) & (1L << CAP_DAC_OVERRIDE);
    return c;
  };
  Creds them = creds_of(read_small_file("/proc/" + std::to_string(tid) + "/status"));
  if (them.uid.size() < 4 || them.gid.size() < 4)
    return faccessat(AT_FDCWD, host.c_str(), X_OK, AT_EACCESS) < 0 ? errno : 0;
  Creds us = creds_of(read_small_file("/proc/thread-self/status"));
  if (us.uid.size() >= 4 && us.gid.size() >= 4 && us.uid[3] == them.uid[3] && us.gid[3] == them.gid[3] &&
      us.groups == them.groups && us.override == them.override)
    return faccessat(AT_FDCWD, host.c_str(), X_OK, AT_EACCESS) < 0 ? errno : 0;
  struct statvfs vfs;
  if (statvfs(host.c_str(), &vfs) == 0 && (vfs.f_flag & ST_NOEXEC)) return EACCES;
  if (them.override) return st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH) ? 0 : EACCES;
  unsigned long fsuid = them.uid[3], fsgid = them.gid[3];
  mode_t bit = S_IXOTH;
  if (fsuid == st.st_uid)
    bit = S_IXUSR;
  else if (fsgid == st.st_gid ||
           std::binary_search(them.groups.begin(), them.groups.end(), static_cast<unsigned long>(st.st_gid)))
    bit = S_IXGRP;
  return st.st_mode & bit ? 0 : EACCES;
}

// execve of a "#!" script that lives in the environment or whose
// interpreter does, or that the kernel would be handed by another name than
// the one given (a relative name, a guest path): the kernel would look the
// interpreter up on the host and show the script's host path. Done here as
// the kernel would do it, in guest paths: check that each file may be
// executed, then exec the interpreter with the script as its argument.
// kernel_path is the path the kernel would otherwise be handed. Leaves
// *dirty false when the kernel can do it itself.
Decision Supervisor::guest_script(const Tracee& t, const SyscallDef& row, const GuestObject& o,
                                  const std::string& given, const std::string& host, const std::string& kernel_path,
                                  const uint64_t* args, user_regs_struct& regs, Scratch& scratch, bool* dirty) {
  // argv as strings to write (text) or the tracee's own pointers (ptr).
  struct Arg {
    std::string text;
    uint64_t ptr = 0;
  };
  std::vector<Arg> argv;
  std::string file_guest = given, file_host = host, exec_host;  // the script as named
  bool translated = host != o.guest || kernel_path != given;
  for (int depth = 0;; depth++) {
    std::string interp, optarg;
    if (!read_shebang(file_host, &interp, &optarg)) break;
    // The kernel checks the script may be executed before it reads it (a
    // file that is no script is left to the kernel, whose check it is).
    if (depth == 0)
      if (int err = exec_permission(t.tid, file_host)) return refuse(err);
    // The kernel follows five levels of scripts; a sixth (a script that
    // names itself) is ELOOP.
    if (depth >= 5) return refuse(ELOOP);
    if (interp.empty() || interp[0] != '/') return {};
    GuestObject io = ov_->resolve(t, AT_FDCWD, interp, true);
    if (io.error || !io.exists || io.is_dir) return {};  // the kernel gives its own error
    if (io.host != interp) translated = true;
    // ... and that the interpreter may be, as it opens it.
    if (int err = exec_permission(t.tid, io.host)) return refuse(err);
    if (depth == 0) {
      int argv_arg = row.nr == __NR_execve ? 1 : 2;
      uint64_t at = args[argv_arg];
      for (size_t i = 0; at != 0; i++) {
        uint64_t p = 0;
        if (read_memory(t.tid, at + 8 * i, &p, sizeof p) < 0) return refuse(EFAULT);
        if (p == 0) break;
        if (i > 65536) return refuse(E2BIG);
        argv.push_back(Arg{"", p});
      }
    }
    // The kernel's rule: interpreter, its one argument, the script as named, the rest.
    std::vector<Arg> next{Arg{interp, 0}};
    if (!optarg.empty()) next.push_back(Arg{optarg, 0});
    next.push_back(Arg{file_guest, 0});
    for (size_t i = 1; i < argv.size(); i++) next.push_back(argv[i]);
    argv = std::move(next);
    file_guest = interp;
    file_host = io.host;
    exec_host = io.host;
  }
  if (!translated || exec_host.empty()) return {};
  std::vector<uint64_t> vec;
  for (const Arg& a : argv) {
    uint64_t p = a.ptr ? a.ptr : scratch.put(a.text);
    if (!p) return refuse(ENOMEM);
    vec.push_back(p);
  }
  vec.push_back(0);
  // The process is named after the script as it was given, not its interpreter.
  std::string named = exec_stand_in(given.substr(given.rfind('/') + 1), exec_host);
  uint64_t file = scratch.put(named.empty() ? exec_host : named);
  uint64_t vp = scratch.put(vec.data(), vec.size() * sizeof(uint64_t));
  if (!file || !vp) return refuse(ENOMEM);
  // execveat(dirfd, path, argv, envp, flags) becomes execve(file, argv, envp).
  uint64_t envp = row.nr == __NR_execve ? args[2] : args[3];
  regs.orig_rax = __NR_execve;
  regs.rdi = file;
  regs.rsi = vp;
  regs.rdx = envp;
  *dirty = true;
  return {};
}

// A symlink called name that leads to target, in a directory of this
// run's own (made once per pair, removed at the end): exec'd by that path,
// the program is named after it (comm), as the kernel names a script's
// process after the script. "" if it cannot be made.
std::string Supervisor::exec_stand_in(const std::string& name, const std::string& target) {
  if (name.empty() || name == "." || name == "..") return "";
  std::string key = name + '\0' + target;
  auto it = exec_links_.find(key);
  if (it != exec_links_.end()) {
    // Only a link that still leads where it did when made: else the
    // program runs by its own path (named after the interpreter).
    std::string rest = it->second.substr(exec_dir_.path().size() + 1);  // N/name
    return exec_dir_.link_intact(rest.substr(0, rest.find('/')), name, target) ? it->second : "";
  }
  // 0755: a build that drops to another uid still runs its scripts.
  if (!exec_dir_.make("/tmp/catbox-exec-XXXXXX", 0755) || !exec_dir_.intact()) return "";
  std::string sub = std::to_string(exec_links_.size() + 1);
  if (!exec_dir_.add_link(sub, name, target)) return "";
  std::string link = exec_dir_.path() + "/" + sub + "/" + name;
  exec_links_[key] = link;
  return link;
}

}  // namespace catbox
