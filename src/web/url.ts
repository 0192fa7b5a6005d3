/**
 * "Get a URL record" from the WHATWG WebSockets standard:
 * https://websockets.spec.whatwg.org/#get-a-url-record
 */

/**
 * Parses `url` against `base` and maps it to a ws:/wss: URL, or throws a
 * "SyntaxError" DOMException as the standard requires.
 */
export function getWebSocketUrlRecord(url: string | URL, base?: string | URL): URL {
  let record: URL;
  // Step 1-2: apply the URL parser; failure is a SyntaxError, not the TypeError `new URL` throws.
  try {
    record = base === undefined ? new URL(String(url)) : new URL(String(url), base);
  } catch {
    throw new DOMException(`Invalid URL: ${String(url)}`, 'SyntaxError');
  }
  // Steps 3-4: http: and https: are accepted and mapped, so pages can build the
  // URL from location.href. Changing between special schemes keeps host and path.
  if (record.protocol === 'http:') record.protocol = 'ws:';
  else if (record.protocol === 'https:') record.protocol = 'wss:';
  // Step 5.
  if (record.protocol !== 'ws:' && record.protocol !== 'wss:') {
    throw new DOMException(`URL scheme must be ws: or wss:, got ${record.protocol}`, 'SyntaxError');
  }
  // Step 6: a fragment is an error even when empty ("ws://h/#"); the URL API
  // reports an empty fragment as hash === '', hence the href check.
  if (record.hash !== '' || record.href.endsWith('#')) {
    throw new DOMException('URL must not contain a fragment', 'SyntaxError');
  }
  return record;
}

/** The request target of the opening handshake (RFC 6455 §3: path and query, "/" when empty). */
export function requestTarget(record: URL): string {
  return (record.pathname || '/') + record.search;
}

/** The Host header value: RFC 6455 §4.1 item 4, the port only when not the scheme's default. */
export function hostHeader(record: URL): string {
  // URL.host already omits the default port of ws: (80) and wss: (443) and brackets IPv6.
  return record.host;
}
