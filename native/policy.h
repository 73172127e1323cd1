// The policy: one decision function without side effects. Handlers describe
// the request; decide() says allow or fail with which errno, and whether the
// request is a violation to record.
#pragma once
#include <string>

#include "resolver.h"
#include "rules.h"
#include "syscalls.h"

namespace catbox {

enum class Network { Full, Loopback, None };

struct Policy {
  RuleSet writable;
  RuleSet devices;  // content may be written (open), metadata may not
  bool collect_only = false;
  Network network = Network::Full;
};

struct Decision {
  bool allow = true;
  int err = 0;             // errno the call fails with when !allow
  bool violation = false;  // record it (also when allowed in collect-only mode)
};

// A write whose path could not be read from the process's memory (the
// process is not dumpable): refused (collect-only: allowed) and recorded.
Decision decide_unreadable(const Policy& policy);

// /dev/stdout and friends: reopening an fd the tracee holds open for writing
// (flags held), without truncating it or dropping its O_APPEND.
bool reopens_for_writing(int held_flags, int open_flags);

// A filesystem operand: what the call does (access, open flags) to what (resolved).
Decision decide_path(const Policy& policy, Access access, int open_flags, const Resolved& r);

// A socket address as the call gave it.
struct NetAddress {
  int family = 0;
  std::string text;        // "1.2.3.4:80", "[::1]:8080", "/path", "@abstract"
  bool loopback = false;   // 127/8, ::1, ::ffff:127/104
  bool ip = false;         // AF_INET or AF_INET6
};

// connect/sendto/sendmsg/bind to an IP address (unix paths are filesystem operands).
Decision decide_net(const Policy& policy, const NetAddress& addr);

// A signal to a process that is not part of the build.
Decision decide_signal(const Policy& policy);

}  // namespace catbox
