// The policy: one decision function without side effects. Handlers describe
// the request; decide() says allow or fail with which errno, and whether the
// request is a violation to record.
#pragma once
#include <string>
#include <sys/types.h>
#include <vector>

#include "resolver.h"
#include "rules.h"
#include "syscalls.h"

namespace catbox {

enum class Network { Full, Loopback, None };

// Device numbers that may be opened for writing: char or block, majors
// major_lo..major_hi, one minor or any (-1).
struct DeviceRange {
  bool block = false;
  unsigned major_lo = 0, major_hi = 0;
  long minor = -1;
};

struct Policy {
  RuleSet writable;
  RuleSet devices;  // content may be written (open), metadata may not
  // A device node is the device wherever it lives: opening one for writing
  // is judged by its numbers, never by its path. These are the implicit
  // devices' numbers and those of nodes the write rules name exactly.
  std::vector<DeviceRange> open_devices;
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
  std::string text;       // "1.2.3.4:80", "[::1]:8080", "/path", "@abstract"
  bool loopback = false;  // 127/8, ::1, ::ffff:127/104
  bool ip = false;        // AF_INET or AF_INET6
};

// connect/sendto/sendmsg/bind to an IP address (unix paths are filesystem operands).
Decision decide_net(const Policy& policy, const NetAddress& addr);

// A signal to a process that is not part of the build.
Decision decide_signal(const Policy& policy);

// Adds the device a node at path names (stat at the start of the run) to
// open_devices; a devpts directory (/dev/pts) adds every pseudo-terminal.
// Anything else adds nothing.
void allow_device_node(Policy* policy, const std::string& path);

// Whether mknod(mode, dev) makes a device node (a whiteout, char 0:0, names
// no device and is not one).
bool makes_device(unsigned mode, unsigned long dev);

// mknod of a device node by a process that may (CAP_MKNOD), where the rules
// would allow the name: the node would be a way to write the device.
Decision decide_device_node(const Policy& policy);

// A socket option or control message that routes (a source route).
Decision decide_route(const Policy& policy);

}  // namespace catbox
