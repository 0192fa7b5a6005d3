/*
 * Shared by the native load generators (the .c files in bench/native).
 */
#ifndef SOCKWAVE_GENERATOR_COMMON_H
#define SOCKWAVE_GENERATOR_COMMON_H
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * Does a 101 response head carry the Sec-WebSocket-Accept value we expect?
 * (Header names are case-insensitive; the value may be followed by OWS or
 * the line's CRLF.)
 */
static int accept_matches(const char *head, const char *expected) {
  const char *name = "\r\nsec-websocket-accept:";
  size_t n = strlen(name);
  for (const char *p = head; *p; p++) {
    if (strncasecmp(p, name, n) != 0) continue;
    p += n;
    while (*p == ' ' || *p == '\t') p++;
    size_t e = strlen(expected);
    return strncmp(p, expected, e) == 0 && (p[e] == '\r' || p[e] == ' ' || p[e] == '\t');
  }
  return 0;
}

/*
 * The running count the Node side reads: 8 bytes at the start of `path`,
 * mapped shared. NULL when the file cannot be made or mapped.
 */
static volatile uint64_t *map_count_file(const char *path) {
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ftruncate(fd, 8) < 0) return NULL;
  void *word = mmap(NULL, 8, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  return word == MAP_FAILED ? NULL : (volatile uint64_t *)word;
}

#endif
