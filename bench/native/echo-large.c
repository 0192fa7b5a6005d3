/*
 * Large-message echo load generator in C, for the echo-1m-c and echo-64k-c
 * workloads (issue 16 target 4 measured as the issue did: an outside
 * generator, N connections echoing binary messages, MB/s).
 *
 * Why C: the Node generator (loadgen.mjs) checks every echoed byte in
 * JavaScript and shares the core with the server; at 1 MiB it spends a large
 * part of its own core doing so. This one compares with memcmp and costs
 * little, so the server is the bottleneck.
 *
 * Each of CONNS connections does the opening handshake (101 and
 * Sec-WebSocket-Accept checked), then keeps INFLIGHT messages of SIZE bytes
 * outstanding: it writes one masked binary frame (FIN, opcode 2; the payload
 * is fixed pseudo-random bytes under a fixed key) and expects the same
 * payload back as one unmasked binary frame, compared byte for byte as it
 * streams in. Any protocol error or mismatch prints a reason on stderr and
 * exits 1.
 *
 * With RAW (the raw-net bench server, which echoes bytes untouched) the
 * frame itself is expected back, byte for byte.
 *
 * Usage: echo-large PORT CONNS INFLIGHT SIZE COUNT_FILE KEY ACCEPT [RAW]
 * The running total of echoed messages is kept in COUNT_FILE (8 bytes, mapped
 * shared), so the Node side reads it at any moment with a plain read.
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

struct conn {
  int fd;
  int inflight;       /* messages written (or being written) whose echo is not complete */
  size_t send_pos;    /* bytes of the current frame written; frame_len when none is being written */
  int wants_out;      /* EPOLLOUT registered */
  unsigned char head[10];
  size_t head_len;    /* header bytes of the incoming frame collected */
  size_t payload_pos; /* payload bytes of the incoming frame compared; SIZE when between frames */
};

static size_t size, frame_len;
static unsigned char *plain, *frame;
static int max_inflight, epfd, is_raw;
static volatile uint64_t *total;
static unsigned char readbuf[256 * 1024];

static void fail(const char *what) {
  fprintf(stderr, "echo-large: %s\n", what);
  exit(1);
}

/* Blocking connect and handshake; the socket is non-blocking afterwards. */
static void open_conn(struct conn *c, int port, const char *key, const char *accept_value) {
  struct sockaddr_in dst = {.sin_family = AF_INET};
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  dst.sin_port = htons(port);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket() failed");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0) fail("connect() failed (is the server up?)");
  char request[512];
  int len = snprintf(request, sizeof request,
                     "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     port, key);
  if (write(fd, request, (size_t)len) != len) fail("short write of the request");
  char head[4096];
  size_t got = 0;
  char *end = NULL;
  /* Read byte by byte so nothing after the head is consumed here (the server sends nothing before our first frame anyway). */
  while (!end) {
    if (got >= sizeof head - 1) fail("response head too long");
    ssize_t n = read(fd, head + got, 1);
    if (n <= 0) fail("server closed before 101");
    got += (size_t)n;
    head[got] = 0;
    end = strstr(head, "\r\n\r\n");
  }
  if (strncmp(head, "HTTP/1.1 101", 12) != 0) fail("expected 101");
  end[2] = 0;
  if (!accept_matches(head, accept_value)) fail("bad Sec-WebSocket-Accept");
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  c->fd = fd;
  c->inflight = 0;
  c->send_pos = frame_len;
  c->wants_out = 0;
  c->head_len = 0;
  c->payload_pos = is_raw ? 0 : size;
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) fail("epoll_ctl(ADD) failed");
}

static void want_out(struct conn *c, int on) {
  if (c->wants_out == on) return;
  c->wants_out = on;
  struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) fail("epoll_ctl(MOD) failed");
}

/* Writes frames until INFLIGHT are out or the socket is full. */
static void pump_out(struct conn *c) {
  for (;;) {
    if (c->send_pos == frame_len) {
      if (c->inflight >= max_inflight) break;
      c->inflight++;
      c->send_pos = 0;
    }
    ssize_t n = write(c->fd, frame + c->send_pos, frame_len - c->send_pos);
    if (n < 0) {
      if (errno == EAGAIN) {
        want_out(c, 1);
        return;
      }
      fail("write error");
    }
    c->send_pos += (size_t)n;
  }
  want_out(c, 0);
}

/*
 * Compares the next arriving bytes with expected[payload_pos, end) and moves
 * past them; when payload_pos reaches end, one echo is complete and counted.
 * Returns true then.
 */
static int take_expected(struct conn *c, const unsigned char *expected, size_t end, const unsigned char **p, size_t *n, const char *mismatch) {
  size_t take = end - c->payload_pos;
  if (take > *n) take = *n;
  if (memcmp(*p, expected + c->payload_pos, take) != 0) fail(mismatch);
  c->payload_pos += take;
  *p += take;
  *n -= take;
  if (c->payload_pos != end) return 0;
  if (c->inflight <= 0) fail("an echo nobody asked for");
  c->inflight--;
  __atomic_add_fetch(total, 1, __ATOMIC_RELAXED);
  return 1;
}

/* A raw echo: the frame's own bytes come back (payload_pos runs over the whole frame, from 0). */
static void take_in_raw(struct conn *c, const unsigned char *p, size_t n) {
  while (n > 0) {
    if (take_expected(c, frame, frame_len, &p, &n, "raw echo differs from what was sent")) c->payload_pos = 0;
  }
}

/* Checks echoed bytes as they arrive. */
static void take_in(struct conn *c, const unsigned char *p, size_t n) {
  if (is_raw) {
    take_in_raw(c, p, n);
    return;
  }
  while (n > 0) {
    if (c->payload_pos == size) {
      /* Between frames: collect the header (2 + 8 bytes for 64 KiB and up, 2 + 2 below). */
      c->head[c->head_len++] = *p++;
      n--;
      if (c->head_len < 2) continue;
      if (c->head[0] != 0x82) fail("expected a final binary frame (0x82)");
      if (c->head[1] & 0x80) fail("server frame is masked");
      unsigned len7 = c->head[1] & 0x7f;
      size_t need = len7 == 127 ? 10 : len7 == 126 ? 4 : 2;
      if (c->head_len < need) continue;
      uint64_t len = len7;
      if (len7 == 126) len = ((uint64_t)c->head[2] << 8) | c->head[3];
      if (len7 == 127) {
        len = 0;
        for (int i = 2; i < 10; i++) len = (len << 8) | c->head[i];
      }
      if (len != size) fail("echoed frame has the wrong length");
      c->head_len = 0;
      c->payload_pos = 0;
      continue;
    }
    /* Complete: payload_pos stays at size, which marks "between frames" above. */
    take_expected(c, plain, size, &p, &n, "echoed payload differs from what was sent");
  }
}

static void on_event(struct conn *c, uint32_t events) {
  if (events & EPOLLIN) {
    for (;;) {
      ssize_t n = read(c->fd, readbuf, sizeof readbuf);
      if (n < 0) {
        if (errno == EAGAIN) break;
        fail("read error");
      }
      if (n == 0) fail("server closed the connection");
      take_in(c, readbuf, (size_t)n);
      if ((size_t)n < sizeof readbuf) break;
    }
  } else if (events & (EPOLLERR | EPOLLHUP)) {
    fail("connection error");
  }
  pump_out(c);
}

int main(int argc, char **argv) {
  if (argc != 8 && argc != 9) fail("usage: echo-large PORT CONNS INFLIGHT SIZE COUNT_FILE KEY ACCEPT [RAW]");
  is_raw = argc == 9 && strcmp(argv[8], "RAW") == 0;
  int port = atoi(argv[1]);
  int conns = atoi(argv[2]);
  max_inflight = atoi(argv[3]);
  size = (size_t)strtoull(argv[4], NULL, 10);
  if (conns < 1 || max_inflight < 1 || size < 126) fail("CONNS and INFLIGHT must be at least 1, SIZE at least 126");

  /* The payload: xorshift bytes; the frame: header, key, payload masked with the key. */
  size_t header = size < 65536 ? 4 : 10;
  frame_len = header + 4 + size;
  plain = malloc(size);
  frame = malloc(frame_len);
  if (!plain || !frame) fail("out of memory");
  uint32_t x = 2463534242u;
  for (size_t i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    plain[i] = (unsigned char)x;
  }
  frame[0] = 0x82;
  if (header == 4) {
    frame[1] = 0x80 | 126;
    frame[2] = (unsigned char)(size >> 8);
    frame[3] = (unsigned char)size;
  } else {
    frame[1] = 0x80 | 127;
    for (int i = 0; i < 8; i++) frame[2 + i] = (unsigned char)((uint64_t)size >> (56 - 8 * i));
  }
  static const unsigned char mask[4] = {0x5a, 0xc3, 0x17, 0xe8};
  memcpy(frame + header, mask, 4);
  for (size_t i = 0; i < size; i++) frame[header + 4 + i] = plain[i] ^ mask[i & 3];

  total = map_count_file(argv[5]);
  if (!total) fail("cannot create or map the count file");

  epfd = epoll_create1(EPOLL_CLOEXEC);
  struct conn *all = calloc((size_t)conns, sizeof *all);
  for (int i = 0; i < conns; i++) open_conn(&all[i], port, argv[6], argv[7]);
  for (int i = 0; i < conns; i++) pump_out(&all[i]);
  struct epoll_event events[64];
  for (;;) {
    int n = epoll_wait(epfd, events, 64, -1);
    if (n < 0 && errno != EINTR) fail("epoll_wait failed");
    for (int i = 0; i < n; i++) on_event(events[i].data.ptr, events[i].events);
  }
}
