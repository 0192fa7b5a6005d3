/*
 * Shared by the native load generators: does a 101 response head carry the
 * Sec-WebSocket-Accept value we expect? (Header names are case-insensitive;
 * the value may be followed by OWS or the line's CRLF.)
 */
#ifndef SOCKWAVE_ACCEPT_CHECK_H
#define SOCKWAVE_ACCEPT_CHECK_H
#include <string.h>
#include <strings.h>

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

#endif
