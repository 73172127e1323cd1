// Reading and writing tracee memory: one process_vm_readv where it can,
// PTRACE_PEEKDATA where it cannot. Errors come back as -errno, never a crash.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <sys/types.h>

namespace catbox {

// Reads exactly len bytes at addr; 0 or -EFAULT.
int read_memory(pid_t pid, uint64_t addr, void* out, size_t len);

// Reads a NUL-terminated string of at most max bytes (PATH_MAX for paths);
// 0, -EFAULT, or -ENAMETOOLONG.
int read_string(pid_t pid, uint64_t addr, std::string* out, size_t max);

// Writes len bytes at addr; 0 or -EFAULT.
int write_memory(pid_t pid, uint64_t addr, const void* data, size_t len);

}  // namespace catbox
