/*
 * Handshake-cycle load generator in C, for the handshake-close-c workload.
 *
 * Why C: the Node load generator spends ~200 µs of its own CPU per cycle, so
 * against fast servers (uWebSockets.js, the hand-written one) it is the
 * bottleneck and their rates are understated. This one costs a few µs.
 *
 * Each of CONCURRENCY connections loops: connect (from one of 1,000 source
 * addresses in 127/8, so the TIME_WAIT entries the server leaves behind do not
 * exhaust one address's ports), send the upgrade request, check the 101 and
 * Sec-WebSocket-Accept, send a masked close frame 1000, check the server's
 * close frame (code 1000), then wait for the server to close TCP first
 * (RFC 6455 §7.1.1) and close our end.
 *
 * Usage: handshake-cycle PORT CONCURRENCY COUNT_FILE KEY ACCEPT [KEY ACCEPT ...]
 * The running total of cycles is kept in COUNT_FILE (8 bytes, mapped shared),
 * so the Node side reads it at any moment with a plain read. Any protocol
 * error prints a reason on stderr and exits 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "generator-common.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum phase { CONNECTING, AWAIT_101, AWAIT_CLOSE, AWAIT_FIN };

struct conn {
  int fd;
  enum phase phase;
  int key;
  size_t len;
  char buf[2048];
};

static int port, key_count;
static char **keys, **accepts;
static char requests[64][256];
static size_t request_len[64];
static volatile uint64_t *total;
static unsigned next_source;
static int epfd;

static void fail(const char *what) {
  fprintf(stderr, "handshake-cycle: %s\n", what);
  exit(1);
}

static void start(struct conn *c) {
  struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
  unsigned i = next_source++ % 1000;
  src.sin_addr.s_addr = htonl((127u << 24) | ((1 + i / 250) << 8) | (1 + i % 250));
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  dst.sin_port = htons(port);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket() failed");
  int one = 1;
  setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) fail("bind() failed");
  if (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS) fail("connect() failed");
  c->fd = fd;
  c->phase = CONNECTING;
  c->key = (int)(next_source % (unsigned)key_count);
  c->len = 0;
  struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) fail("epoll_ctl(ADD) failed");
}

/* A masked close frame with code 1000 (mask 0x01020304). */
static const unsigned char close_frame[8] = {0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2};

static void on_event(struct conn *c, uint32_t events) {
  if (c->phase == CONNECTING) {
    if (events & (EPOLLERR | EPOLLHUP)) fail("connect failed (is the server up?)");
    if (write(c->fd, requests[c->key], request_len[c->key]) != (ssize_t)request_len[c->key]) fail("short write of the request");
    c->phase = AWAIT_101;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) fail("epoll_ctl(MOD) failed");
    return;
  }
  ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
  if (n < 0) {
    if (errno == EAGAIN) return;
    if (c->phase == AWAIT_FIN && errno == ECONNRESET) n = 0; /* a reset after the close frames is an end too */
    else fail("read error before the closing handshake finished");
  }
  if (n == 0) {
    if (c->phase != AWAIT_FIN) fail(c->phase == AWAIT_101 ? "server closed before 101" : "server closed before its close frame");
    close(c->fd); /* closing the fd also removes it from the epoll set */
    __atomic_add_fetch(total, 1, __ATOMIC_RELAXED);
    start(c);
    return;
  }
  c->len += (size_t)n;
  c->buf[c->len] = 0;
  if (c->phase == AWAIT_101) {
    char *end = strstr(c->buf, "\r\n\r\n");
    if (!end) {
      if (c->len >= sizeof c->buf - 1) fail("response head too long");
      return;
    }
    if (strncmp(c->buf, "HTTP/1.1 101", 12) != 0) fail("expected 101");
    end[2] = 0;
    if (!accept_matches(c->buf, accepts[c->key])) fail("bad Sec-WebSocket-Accept");
    size_t head = (size_t)(end + 4 - c->buf);
    memmove(c->buf, c->buf + head, c->len - head);
    c->len -= head;
    if (write(c->fd, close_frame, sizeof close_frame) != sizeof close_frame) fail("short write of the close frame");
    c->phase = AWAIT_CLOSE;
  }
  if (c->phase == AWAIT_CLOSE) {
    if (c->len < 2) return;
    unsigned char *b = (unsigned char *)c->buf;
    if (b[0] != 0x88 || (b[1] & 0x80)) fail("expected an unmasked close frame");
    size_t len = b[1] & 0x7f;
    if (len > 125) fail("close frame too long");
    if (c->len < 2 + len) return;
    if (len >= 2 && ((b[2] << 8) | b[3]) != 1000) fail("close code is not 1000");
    c->len = 0;
    c->phase = AWAIT_FIN;
  } else if (c->phase == AWAIT_FIN) {
    fail("data after the server's close frame");
  }
}

int main(int argc, char **argv) {
  if (argc < 6 || (argc - 4) % 2 != 0) fail("usage: handshake-cycle PORT CONCURRENCY COUNT_FILE KEY ACCEPT [KEY ACCEPT ...]");
  port = atoi(argv[1]);
  int concurrency = atoi(argv[2]);
  key_count = (argc - 4) / 2;
  if (key_count > 64) key_count = 64;
  keys = calloc((size_t)key_count, sizeof *keys);
  accepts = calloc((size_t)key_count, sizeof *accepts);
  for (int i = 0; i < key_count; i++) {
    keys[i] = argv[4 + 2 * i];
    accepts[i] = argv[5 + 2 * i];
    int len = snprintf(requests[i], sizeof requests[i],
                       "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                       port, keys[i]);
    request_len[i] = (size_t)len;
  }
  total = map_count_file(argv[3]);
  if (!total) fail("cannot create or map the count file");

  epfd = epoll_create1(EPOLL_CLOEXEC);
  struct conn *conns = calloc((size_t)concurrency, sizeof *conns);
  for (int i = 0; i < concurrency; i++) start(&conns[i]);
  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(epfd, events, 256, -1);
    if (n < 0 && errno != EINTR) fail("epoll_wait failed");
    for (int i = 0; i < n; i++) on_event(events[i].data.ptr, events[i].events);
  }
}
