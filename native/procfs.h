// Small reads of /proc files about a tracee: whole small files, and one
// "Key:" field of status or fdinfo.
#pragma once
#include <cstddef>
#include <string>
#include <sys/types.h>

namespace catbox {

// The file's content, at most max bytes; "" when it cannot be read.
std::string read_small_file(const std::string& path, size_t max = 4096);

// The number after "key" (e.g. "Tgid:", "Umask:", "flags:") in a /proc file,
// read in `base`; fallback when the file or the key is missing.
long proc_field(const std::string& path, const char* key, int base, long fallback);
// The same, in text already read.
long field_in(const std::string& text, const char* key, int base, long fallback);

// From one read of /proc/TID/status: the process thread tid belongs to
// (Tgid) and that process's parent (PPid); 0 for what cannot be read.
struct ProcIds {
  pid_t tgid = 0;
  pid_t ppid = 0;
};
ProcIds proc_ids(pid_t tid);

// readlink(2) into a string: 0 or -errno (-ENAMETOOLONG when it does not fit PATH_MAX).
int read_link(const std::string& path, std::string* out);

// Whether /proc/PID/... belongs to a process in another mount namespace than
// catbox's (or one that cannot be told).
bool other_mount_namespace(const std::string& pid);

bool is_number(const std::string& s);
bool ends_with(const std::string& s, const char* suffix);

}  // namespace catbox
