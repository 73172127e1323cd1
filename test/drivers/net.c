/*
 * Network: connect, sendto, sendmsg and bind on IPv4/IPv6 (an ADDR with ':'
 * is IPv6), and AF_UNIX socketpair and connect.
 */
#include "drv.h"

#include <arpa/inet.h>
#include <netinet/in.h>
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

static int op_sendmsg(char **a, int n) {
  (void)n;
  struct addr ad = ip_addr(a[0], a[1]);
  long fd = new_socket(ad.family, SOCK_DGRAM);
  struct iovec iov = {"catbox", 6};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_name = &ad.ss;
  msg.msg_namelen = ad.len;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  return drv_report(syscall(SYS_sendmsg, fd, &msg, 0));
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

static const struct drv_op ops[] = {
    {"connect", 2, "ADDR PORT [tcp|udp]", op_connect},
    {"sendto", 2, "ADDR PORT", op_sendto},
    {"sendmsg", 2, "ADDR PORT", op_sendmsg},
    {"bind", 2, "ADDR PORT [tcp|udp]", op_bind},
    {"socketpair", 0, "", op_socketpair},
    {"unix_connect", 1, "PATH", op_unix_connect},
    {0, 0, 0, 0},
};

int main(int argc, char **argv) { return drv_main(ops, argc, argv); }
