/*
 * Network: connect, sendto, sendmsg and bind on IPv4/IPv6 (an ADDR with ':'
 * is IPv6), and AF_UNIX socketpair and connect.
 * Source routes (every address in them is a loopback one):
 *   route KIND          setsockopt of KIND on a UDP socket: lsrr, ssrr, rr
 *                       (IP_OPTIONS), rthdr (IPV6_RTHDR, a segment routing
 *                       header), rthdr2292 (IPV6_2292RTHDR), pktoptions
 *                       (IPV6_2292PKTOPTIONS holding a routing header), clear
 *                       (IPV6_RTHDR without a value)
 *   raw KIND            a raw IP socket: proto, proto6 (IPPROTO_RAW: its own
 *                       header), hdrincl, hdrincl6 (a UDP raw socket, then
 *                       IP_HDRINCL / IPV6_HDRINCL on), icmp (as ping opens)
 *   route_msg ADDR PORT KIND
 *                       sendmsg to ADDR:PORT with a control message of KIND:
 *                       lsrr (IP_RETOPTS) or rthdr (IPV6_RTHDR)
 */
#include "drv.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip6.h>
#include <sys/socket.h>
#include <sys/un.h>

struct addr {
  struct sockaddr_storage ss;
  socklen_t len;
  int family;
};

static struct addr ip_addr(const char *host, const char *port) {
  struct addr a;
  memset(&a, 0, sizeof a);
  long p = drv_num(port);
  if (strchr(host, ':')) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a.ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((unsigned short)p);
    if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1) drv_setup_fail("bad-address", host);
    a.len = sizeof *s6;
    a.family = AF_INET6;
  } else {
    struct sockaddr_in *s4 = (struct sockaddr_in *)&a.ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((unsigned short)p);
    if (inet_pton(AF_INET, host, &s4->sin_addr) != 1) drv_setup_fail("bad-address", host);
    a.len = sizeof *s4;
    a.family = AF_INET;
  }
  return a;
}

static int sock_type(char **a, int n, int i) {
  if (n <= i || strcmp(a[i], "tcp") == 0) return SOCK_STREAM;
  if (strcmp(a[i], "udp") == 0) return SOCK_DGRAM;
  errno = EINVAL;
  drv_setup_fail("bad-type", a[i]);
  return 0;
}

static long new_socket(int family, int type) {
  long fd = syscall(SYS_socket, family, type, 0);
  if (fd < 0) drv_setup_fail("socket", NULL);
  return fd;
}

static int op_connect(char **a, int n) {
  struct addr ad = ip_addr(a[0], a[1]);
  long fd = new_socket(ad.family, sock_type(a, n, 2));
  return drv_report(syscall(SYS_connect, fd, &ad.ss, ad.len));
}

static int op_sendto(char **a, int n) {
  (void)n;
  struct addr ad = ip_addr(a[0], a[1]);
  long fd = new_socket(ad.family, SOCK_DGRAM);
  return drv_report(syscall(SYS_sendto, fd, "catbox", 6, 0, &ad.ss, ad.len));
}

/* One datagram "catbox" to ad by raw sendmsg, with the control data given (or none). */
static long send_one(long fd, struct addr *ad, void *control, size_t control_len) {
  struct iovec iov = {"catbox", 6};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_name = &ad->ss;
  msg.msg_namelen = ad->len;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = control_len;
  return syscall(SYS_sendmsg, fd, &msg, 0);
}

static int op_sendmsg(char **a, int n) {
  (void)n;
  struct addr ad = ip_addr(a[0], a[1]);
  long fd = new_socket(ad.family, SOCK_DGRAM);
  return drv_report(send_one(fd, &ad, NULL, 0));
}

static int op_bind(char **a, int n) {
  struct addr ad = ip_addr(a[0], a[1]);
  long fd = new_socket(ad.family, sock_type(a, n, 2));
  return drv_report(syscall(SYS_bind, fd, &ad.ss, ad.len));
}

/* A socketpair that carries one message both ways. */
static int op_socketpair(char **a, int n) {
  (void)a;
  (void)n;
  int sv[2];
  char buf[8];
  if (syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv) < 0) return drv_report(-1);
  if (syscall(SYS_write, sv[0], "ping", 4) != 4) return drv_report(-1);
  if (syscall(SYS_read, sv[1], buf, sizeof buf) != 4) return drv_report(-1);
  return drv_report(memcmp(buf, "ping", 4) == 0 ? 0 : (errno = EIO, -1));
}

static int op_unix_connect(char **a, int n) {
  (void)n;
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  snprintf(sun.sun_path, sizeof sun.sun_path, "%s", drv_path(a[0]));
  long fd = new_socket(AF_UNIX, SOCK_STREAM);
  return drv_report(syscall(SYS_connect, fd, &sun, sizeof sun));
}

/* IPv4 options: a NOP, then a loose (0x83) or strict (0x89) source route via
 * 127.0.0.2, or record route (0x07) with room for one address. */
static size_t v4_options(const char *kind, unsigned char *o) {
  unsigned char type = strcmp(kind, "lsrr") == 0 ? 0x83 : strcmp(kind, "ssrr") == 0 ? 0x89 : 0x07;
  unsigned char opts[8] = {1, type, 7, 4, 127, 0, 0, 2};
  if (type == 0x07) memset(opts + 4, 0, 4);
  memcpy(o, opts, sizeof opts);
  return sizeof opts;
}

/* A routing header of type 2 (Mobile IPv6) holding ::1. */
static size_t rthdr_type2(unsigned char *h) {
  memset(h, 0, 24);
  h[1] = 2; /* length in 8-byte units, after the first 8 */
  h[2] = 2; /* type */
  h[3] = 1; /* segments left */
  inet_pton(AF_INET6, "::1", h + 8);
  return 24;
}

/* A segment routing header (type 4) with two segments, both ::1. */
static size_t rthdr_type4(unsigned char *h) {
  memset(h, 0, 40);
  h[1] = 4;
  h[2] = 4;
  h[3] = 1; /* segments left */
  h[4] = 1; /* last entry */
  inet_pton(AF_INET6, "::1", h + 8);
  inet_pton(AF_INET6, "::1", h + 24);
  return 40;
}

static int op_route(char **a, int n) {
  (void)n;
  const char *kind = a[0];
  unsigned char buf[256];
  if (strcmp(kind, "lsrr") == 0 || strcmp(kind, "ssrr") == 0 || strcmp(kind, "rr") == 0) {
    long fd = new_socket(AF_INET, SOCK_DGRAM);
    size_t len = v4_options(kind, buf);
    return drv_report(syscall(SYS_setsockopt, fd, IPPROTO_IP, IP_OPTIONS, buf, len));
  }
  long fd = new_socket(AF_INET6, SOCK_DGRAM);
  if (strcmp(kind, "rthdr") == 0) return drv_report(syscall(SYS_setsockopt, fd, IPPROTO_IPV6, IPV6_RTHDR, buf, rthdr_type4(buf)));
  if (strcmp(kind, "rthdr2292") == 0) return drv_report(syscall(SYS_setsockopt, fd, IPPROTO_IPV6, IPV6_2292RTHDR, buf, rthdr_type2(buf)));
  if (strcmp(kind, "clear") == 0) return drv_report(syscall(SYS_setsockopt, fd, IPPROTO_IPV6, IPV6_RTHDR, NULL, 0));
  if (strcmp(kind, "pktoptions") == 0) {
    struct cmsghdr *c = (struct cmsghdr *)buf;
    memset(buf, 0, sizeof buf);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_RTHDR;
    c->cmsg_len = CMSG_LEN(rthdr_type2(CMSG_DATA(c)));
    return drv_report(syscall(SYS_setsockopt, fd, IPPROTO_IPV6, IPV6_2292PKTOPTIONS, buf, CMSG_SPACE(24)));
  }
  errno = EINVAL;
  drv_setup_fail("bad-kind", kind);
  return 0;
}

static int op_raw(char **a, int n) {
  (void)n;
  const char *kind = a[0];
  int on = 1;
  if (strcmp(kind, "proto") == 0) return drv_report(syscall(SYS_socket, AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW));
  if (strcmp(kind, "proto6") == 0) return drv_report(syscall(SYS_socket, AF_INET6, SOCK_RAW, IPPROTO_RAW));
  if (strcmp(kind, "icmp") == 0) return drv_report(syscall(SYS_socket, AF_INET, SOCK_RAW, IPPROTO_ICMP));
  if (strcmp(kind, "packet") == 0) return drv_report(syscall(SYS_socket, AF_PACKET, SOCK_RAW, htons(0x0003 /* ETH_P_ALL */)));
  int v6 = strcmp(kind, "hdrincl6") == 0;
  if (!v6 && strcmp(kind, "hdrincl") != 0) {
    errno = EINVAL;
    drv_setup_fail("bad-kind", kind);
  }
  long fd = syscall(SYS_socket, v6 ? AF_INET6 : AF_INET, SOCK_RAW, IPPROTO_UDP);
  if (fd < 0) drv_setup_fail("socket", NULL);
  return drv_report(syscall(SYS_setsockopt, fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? 36 /* IPV6_HDRINCL */ : IP_HDRINCL, &on, sizeof on));
}

static int op_route_msg(char **a, int n) {
  (void)n;
  struct addr ad = ip_addr(a[0], a[1]);
  long fd = new_socket(ad.family, SOCK_DGRAM);
  union {
    struct cmsghdr align;
    unsigned char bytes[CMSG_SPACE(64)];
  } control;
  memset(&control, 0, sizeof control);
  struct cmsghdr *c = &control.align;
  size_t len;
  if (strcmp(a[2], "lsrr") == 0) {
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_RETOPTS;
    len = v4_options("lsrr", CMSG_DATA(c));
  } else if (strcmp(a[2], "rthdr") == 0) {
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_RTHDR;
    len = rthdr_type2(CMSG_DATA(c));
  } else {
    errno = EINVAL;
    drv_setup_fail("bad-kind", a[2]);
    return 0;
  }
  c->cmsg_len = CMSG_LEN(len);
  return drv_report(send_one(fd, &ad, &control, CMSG_SPACE(len)));
}

static const struct drv_op ops[] = {
    {"connect", 2, "ADDR PORT [tcp|udp]", op_connect},
    {"sendto", 2, "ADDR PORT", op_sendto},
    {"sendmsg", 2, "ADDR PORT", op_sendmsg},
    {"bind", 2, "ADDR PORT [tcp|udp]", op_bind},
    {"socketpair", 0, "", op_socketpair},
    {"unix_connect", 1, "PATH", op_unix_connect},
    {"route", 1, "lsrr|ssrr|rr|rthdr|rthdr2292|pktoptions|clear", op_route},
    {"route_msg", 3, "ADDR PORT lsrr|rthdr", op_route_msg},
    {"raw", 1, "proto|proto6|hdrincl|hdrincl6|icmp|packet", op_raw},
    {0, 0, 0, 0},
};

int main(int argc, char **argv) { return drv_main(ops, argc, argv); }
