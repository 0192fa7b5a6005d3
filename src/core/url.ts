/**
 * WebSocket URL rules shared by the web class and the Node client: "Get a URL
 * record" from the WHATWG WebSockets standard
 * (https://websockets.spec.whatwg.org/#get-a-url-record) and the request
 * target sent in the opening handshake (RFC 6455 §3). Pure functions.
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
    throw new DOMException(`URL scheme must be ws:, wss:, http: or https:, got ${record.protocol}`, 'SyntaxError');
  }
  // Step 6: a fragment is an error even when empty ("ws://h/#"); the URL API
  // reports an empty fragment as hash === '', hence the href check.
  if (record.hash !== '' || record.href.endsWith('#')) {
    throw new DOMException('URL must not contain a fragment', 'SyntaxError');
  }
  return record;
}

/**
 * The runtime's page location (`globalThis.location`, defined by browsers,
 * Deno and test environments that emulate a page), or null in plain Node.
 */
export function currentLocation(): { href: string; origin: string; protocol: string } | null {
  const location = (globalThis as { location?: unknown }).location;
  if (typeof location !== 'object' || location === null) return null;
  const { href, origin, protocol } = location as Record<string, unknown>;
  if (typeof href !== 'string' || typeof origin !== 'string' || typeof protocol !== 'string') return null;
  return { href, origin, protocol };
}

/**
 * The Origin a page's WebSocket sends (the request's origin in "establish a
 * WebSocket connection"): the page's origin when the page was served over
 * http: or https:, else undefined (plain Node, file: pages), and then no
 * Origin header is sent unless the caller sets one.
 */
export function pageOrigin(location = currentLocation()): string | undefined {
  return location !== null && /^https?:$/.test(location.protocol) ? location.origin : undefined;
}

/**
 * The request target of the opening handshake (RFC 6455 §3 "resource name"):
 * the path ("/" when empty), then "?" and the query when a query component is
 * present, even an empty one ("ws://h/?" asks for "/?").
 */
export function requestTarget(record: URL): string {
  const hasEmptyQuery = record.search === '' && record.href.endsWith('?');
  return (record.pathname || '/') + (hasEmptyQuery ? '?' : record.search);
}
