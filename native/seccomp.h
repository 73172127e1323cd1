// The seccomp-BPF filter, generated from the syscall table. The kernel decides
// here, without a stop, everything that does not need the tracer.
#pragma once
#include <linux/filter.h>
#include <vector>

namespace catbox {

struct FilterOptions {
  bool restrict_network = false;  // network mode loopback or none
  bool trace_reads = false;       // stop at read-only opens too (the read log)
  bool fake_root = false;         // stop at identity and stat calls
  bool overlay = false;           // stop at every call that names a path (to translate it)
  // Ask the supervisor by seccomp user notification instead of a ptrace
  // stop where it can answer: every question when each is a pure allow/deny
  // (no fake root, no overlay, since a notification cannot change
  // arguments), else the reads of the overlay and fake root's identity and
  // stat calls, which the supervisor answers itself.
  bool notify = false;
};

// Builds the program; the vector must outlive the prctl() that installs it.
std::vector<sock_filter> build_filter(const FilterOptions& options);

}  // namespace catbox
