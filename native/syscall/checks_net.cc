// Checks of network calls: the addresses of connect, sendto, sendmsg and
// bind, source routes, raw sockets that write their own header.
#include "supervisor/supervisor.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

namespace catbox {
namespace {

constexpr unsigned kMaxMmsg = 1024;

NetAddress parse_sockaddr(const unsigned char* buf, size_t len) {
  NetAddress a;
  if (len < sizeof(sa_family_t)) return a;
  memcpy(&a.family, buf, sizeof(sa_family_t));
  a.family &= 0xffff;
  char text[INET6_ADDRSTRLEN + 16];
  switch (a.family) {
    case AF_INET: {
      a.ip = true;
      sockaddr_in in;
      memset(&in, 0, sizeof in);
      memcpy(&in, buf, std::min(len, sizeof in));
      inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
      a.text = std::string(text) + ":" + std::to_string(ntohs(in.sin_port));
      a.loopback = (ntohl(in.sin_addr.s_addr) >> 24) == 127;
      break;
    }
    case AF_INET6: {
      a.ip = true;
      sockaddr_in6 in6;
      memset(&in6, 0, sizeof in6);
      memcpy(&in6, buf, std::min(len, sizeof in6));
      inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
      a.text = "[" + std::string(text) + "]:" + std::to_string(ntohs(in6.sin6_port));
      const uint8_t* b = in6.sin6_addr.s6_addr;
      a.loopback = IN6_IS_ADDR_LOOPBACK(&in6.sin6_addr) || (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr) && b[12] == 127);
      break;
    }
    case AF_UNIX: {
      size_t off = offsetof(sockaddr_un, sun_path);
      if (len <= off) break;  // unnamed
      const char* p = reinterpret_cast<const char*>(buf + off);
      size_t n = len - off;
      if (p[0] == '\0') {
        a.text = "@" + std::string(p + 1, strnlen(p + 1, n - 1));
      } else {
        a.text = std::string(p, strnlen(p, n));
      }
      break;
    }
    case AF_UNSPEC:
    case AF_NETLINK: break;
    default:
      // Packet, bluetooth, vsock...: treated as network, refused unless full.
      a.ip = true;
      a.text = "family " + std::to_string(a.family);
  }
  return a;
}

}  // namespace

// Reads a sockaddr; false (with *err) when the memory cannot be read.
// raw: the bytes read, for a call carried out on this copy.
bool Supervisor::read_addr(pid_t tid, uint64_t ptr, uint64_t len, NetAddress* out, int* err, std::string* raw) {
  unsigned char buf[sizeof(sockaddr_storage)];
  size_t n = std::min<uint64_t>(len, sizeof buf);
  int rc = read_memory(tid, ptr, buf, n);
  if (rc < 0) {
    *err = -rc;
    return false;
  }
  *out = parse_sockaddr(buf, n);
  if (raw) raw->assign(reinterpret_cast<const char*>(buf), n);
  return true;
}

Decision Supervisor::net_decision(const Tracee& t, const SyscallDef& row, const NetAddress& a) {
  Decision d = decide_net(spec_.policy, a);
  if (d.violation) record(t.tid, row.name, a.text, "", d);
  return d;
}

Decision Supervisor::check_net(const Tracee& t, const SyscallDef& row, const uint64_t* args, user_regs_struct* regs,
                               bool* dirty) {
  int err = 0;
  NetAddress a;
  switch (row.nr) {
    case __NR_connect:
      if (!read_addr(t.tid, args[1], args[2], &a, &err)) return Decision{false, err, false};
      if (ov_ && a.family == AF_UNIX && !a.text.empty() && a.text[0] != '@')
        return guest_unix(t, row, a.text, false, regs, dirty);
      return net_decision(t, row, a);
    case __NR_sendto:
      if (args[4] == 0) return {};  // a connected socket: connect was checked
      if (!read_addr(t.tid, args[4], args[5], &a, &err)) return Decision{false, err, false};
      return net_decision(t, row, a);
    case __NR_setsockopt: return check_sockopt(t, row, args);
    case __NR_sendmsg: {
      msghdr m;
      if (read_memory(t.tid, args[1], &m, sizeof m) < 0) return Decision{false, EFAULT, false};
      if (Decision d = check_control(t, row, m); !d.allow) return d;
      if (!m.msg_name) return {};
      if (!read_addr(t.tid, reinterpret_cast<uint64_t>(m.msg_name), m.msg_namelen, &a, &err))
        return Decision{false, err, false};
      return net_decision(t, row, a);
    }
    case __NR_sendmmsg: {
      unsigned vlen = std::min<unsigned>(static_cast<unsigned>(args[2]), kMaxMmsg);
      for (unsigned i = 0; i < vlen; i++) {
        mmsghdr m;
        if (read_memory(t.tid, args[1] + i * sizeof(mmsghdr), &m, sizeof m) < 0) return Decision{false, EFAULT, false};
        if (Decision d = check_control(t, row, m.msg_hdr); !d.allow) return d;
        if (!m.msg_hdr.msg_name) continue;
        if (!read_addr(t.tid, reinterpret_cast<uint64_t>(m.msg_hdr.msg_name), m.msg_hdr.msg_namelen, &a, &err))
          return Decision{false, err, false};
        Decision d = net_decision(t, row, a);
        if (!d.allow) return d;
      }
      return {};
    }
  }
  return {};
}

// ---- source routes: a datagram's first hop is not its destination ----

// Whether IPv4 options (as IP_OPTIONS or an IP_RETOPTS message gives them)
// hold a loose or strict source route, walked as the kernel walks them
// (ip_options_compile); malformed options are the kernel's EINVAL.
bool Supervisor::routes_v4(const unsigned char* p, size_t len) {
  constexpr unsigned char kEnd = 0, kNoop = 1, kLsrr = 131, kSsrr = 137;
  size_t i = 0;
  while (i < len) {
    if (p[i] == kEnd) return false;
    if (p[i] == kNoop) {
      i++;
      continue;
    }
    if (len - i < 2 || p[i + 1] < 2 || p[i + 1] > len - i) return false;
    if (p[i] == kLsrr || p[i] == kSsrr) return true;
    i += p[i + 1];
  }
  return false;
}

// Whether a control message buffer (sendmsg, IPV6_2292PKTOPTIONS) holds
// a source route: IPv4 options with LSRR/SSRR, or an IPv6 routing header.
bool Supervisor::routes_in_control(const std::vector<unsigned char>& buf) {
  size_t off = 0;
  while (buf.size() - off >= sizeof(cmsghdr)) {
    cmsghdr h;
    memcpy(&h, buf.data() + off, sizeof h);
    if (h.cmsg_len < sizeof(cmsghdr) || h.cmsg_len > buf.size() - off) return false;  // the kernel's EINVAL
    const unsigned char* data = buf.data() + off + CMSG_LEN(0);
    size_t len = h.cmsg_len - CMSG_LEN(0);
    if (h.cmsg_level == SOL_IP && (h.cmsg_type == IP_RETOPTS || h.cmsg_type == IP_OPTIONS) &&
        routes_v4(data, std::min<size_t>(len, 40)))
      return true;
    if (h.cmsg_level == SOL_IPV6 && (h.cmsg_type == IPV6_RTHDR || h.cmsg_type == IPV6_2292RTHDR)) return true;
    off += CMSG_ALIGN(h.cmsg_len);
    if (off > buf.size()) break;
  }
  return false;
}

Decision Supervisor::route_decision(const Tracee& t, const SyscallDef& row, const char* what) {
  Decision d = decide_route(spec_.policy);
  if (d.violation) record(t.tid, row.name, what, "", d);
  return d;
}

// sendmsg's control messages, when the network is restricted.
Decision Supervisor::check_control(const Tracee& t, const SyscallDef& row, const msghdr& m) {
  if (spec_.policy.network == Network::Full || !m.msg_control || m.msg_controllen < sizeof(cmsghdr)) return {};
  constexpr size_t kMaxControl = 256 * 1024;  // above net.core.optmem_max: the kernel's ENOBUFS
  if (m.msg_controllen > kMaxControl) return Decision{false, ENOBUFS, false};
  std::vector<unsigned char> buf(m.msg_controllen);
  if (read_memory(t.tid, reinterpret_cast<uint64_t>(m.msg_control), buf.data(), buf.size()) < 0)
    return Decision{false, EFAULT, false};
  if (routes_in_control(buf)) return route_decision(t, row, "source route (control message)");
  return {};
}

// setsockopt(IP_OPTIONS) with a source route, or an IPv6 routing header
// (IPV6_RTHDR, IPV6_2292RTHDR, or one in IPV6_2292PKTOPTIONS), or a raw
// socket's own header (IP_HDRINCL, IPV6_HDRINCL). Clearing them is fine.
constexpr int kIpv6Hdrincl = 36;
Decision Supervisor::check_sockopt(const Tracee& t, const SyscallDef& row, const uint64_t* args) {
  if (spec_.policy.network == Network::Full) return {};
  int level = static_cast<int>(args[1]), name = static_cast<int>(args[2]);
  uint64_t val = args[3];
  size_t len = static_cast<uint32_t>(args[4]);
  if (!val || len == 0) return {};
  if ((level == IPPROTO_IP && name == IP_HDRINCL) || (level == IPPROTO_IPV6 && name == kIpv6Hdrincl)) {
    // A raw socket that writes its own IP header: its destination is the
    // header's. Turning it off is fine.
    int on = 0;
    if (read_memory(t.tid, val, &on, std::min<size_t>(len, sizeof on)) < 0) return Decision{false, EFAULT, false};
    if (on) return route_decision(t, row, level == IPPROTO_IP ? "IP_HDRINCL" : "IPV6_HDRINCL");
    return {};
  }
  if (level == IPPROTO_IP && name == IP_OPTIONS) {
    if (len > 40) return {};  // the kernel's EINVAL
    unsigned char opts[40];
    if (read_memory(t.tid, val, opts, len) < 0) return Decision{false, EFAULT, false};
    if (routes_v4(opts, len)) return route_decision(t, row, "IP_OPTIONS source route");
    return {};
  }
  if (level != IPPROTO_IPV6) return {};
  if (name == IPV6_RTHDR || name == IPV6_2292RTHDR)
    return route_decision(t, row, name == IPV6_RTHDR ? "IPV6_RTHDR" : "IPV6_2292RTHDR");
  if (name == IPV6_2292PKTOPTIONS) {
    if (len > 64 * 1024) return {};  // the kernel's EINVAL
    std::vector<unsigned char> buf(len);
    if (read_memory(t.tid, val, buf.data(), len) < 0) return Decision{false, EFAULT, false};
    if (routes_in_control(buf)) return route_decision(t, row, "IPV6_2292PKTOPTIONS routing header");
  }
  return {};
}

// out: when the supervisor carries the bind out, the address as read.
Decision Supervisor::check_bind(const Tracee& t, const SyscallDef& row, const uint64_t* args, user_regs_struct* regs,
                                bool* dirty, BindCopy* out) {
  int err = 0;
  NetAddress a;
  if (args[2] > sizeof(sockaddr_storage)) return Decision{false, EINVAL, false};  // the kernel's own
  if (!read_addr(t.tid, args[1], args[2], &a, &err, out ? &out->addr : nullptr)) return Decision{false, err, false};
  if (a.family == AF_UNIX) {
    if (a.text.empty() || a.text[0] == '@') return {};  // abstract or unnamed: no file
    if (ov_) return guest_unix(t, row, a.text, true, regs, dirty);
    // Binding a unix socket creates a file at its path.
    Resolved r = resolve_path(t, AT_FDCWD, a.text, false);
    if (out) out->unix_path = true;
    Decision d = decide_path(spec_.policy, Access::Create, 0, r);
    if (d.violation) record(t.tid, row.name, a.text, r.path, d);
    if (!d.allow && !d.violation && d.err == EEXIST) d.err = EADDRINUSE;
    return d;
  }
  return net_decision(t, row, a);
}

}  // namespace catbox
