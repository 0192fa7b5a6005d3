/**
 * The opening handshake (RFC 6455 §4): validating the client's upgrade
 * request, building the server's answer and building the client's request
 * (the client's checks of the answer are in response-rules.ts, re-exported
 * here). Sans-I/O: strings in, strings out.
 *
 * The heads built here are JS strings; header names and values are checked to
 * be free of CR, LF and NUL (header injection), and adapters write them as
 * UTF-8 (the reject body's Content-Length counts UTF-8 bytes).
 */
import { HandshakeError } from '../errors.js';
import { computeAcceptKey, isValidKey } from './accept-key.js';
import { equalsIgnoringCase, isToken, listHasToken, parseTokenList, trimOws } from './header-tokens.js';

export { WEBSOCKET_GUID, computeAcceptKey, generateKey, isValidKey } from './accept-key.js';
export { ResponseHeadParser, type ParsedResponseHead } from './response-head.js';
export { acceptNegotiation, validateServerResponse, type ValidatedServerResponse } from './response-rules.js';

/** What validateUpgradeRequest reads; node's http.IncomingMessage satisfies it. */
export interface UpgradeRequestInfo {
  method?: string;
  httpVersion: string;
  url?: string;
  /** Alternating names and values, duplicates kept (e.g. two Host lines). */
  rawHeaders: readonly string[];
}

export interface ValidatedUpgrade {
  /** Sec-WebSocket-Key as sent (trimmed). */
  key: string;
  host: string;
  origin: string | undefined;
  /** Offered subprotocols in the client's order (all Sec-WebSocket-Protocol lines). */
  protocols: string[];
  /** All Sec-WebSocket-Extensions lines joined with ", ", or undefined when absent. */
  extensions: string | undefined;
}

/** RFC 6455 §4.4: the only version this implementation speaks. */
export const WEBSOCKET_VERSION = '13';

const VERSION_HEADERS = { 'Sec-WebSocket-Version': WEBSOCKET_VERSION } as const;

function badRequest(message: string, headers?: Record<string, string>): HandshakeError {
  return new HandshakeError(message, 400, headers);
}

/**
 * RFC 6455 §4.2.1: checks the client's opening handshake. Throws a
 * HandshakeError whose `status` and `headers` are the HTTP answer to send:
 * - 405 with `Allow: GET` for another method;
 * - 400 for a malformed request (HTTP version, Host, Upgrade,
 *   Connection, Sec-WebSocket-Key, a duplicate Origin, an invalid or
 *   repeated subprotocol token);
 * - 400 with `Sec-WebSocket-Version: 13` when Sec-WebSocket-Version is
 *   missing or repeated: §4.2.1 item 6 makes it a required field, so its
 *   absence is a malformed request, not another protocol version; the
 *   header still tells the client what we speak;
 * - 426 Upgrade Required with `Sec-WebSocket-Version: 13` when the client
 *   asks for another version (§4.2.2 step 4, §4.4).
 */
export function validateUpgradeRequest(req: UpgradeRequestInfo): ValidatedUpgrade {
  // RFC 6455 §4.1: the handshake is a GET; RFC 9110 §15.5.6: another
  // method on this resource is 405 with the methods it allows.
  if (req.method !== undefined && req.method !== 'GET') {
    throw new HandshakeError(`method must be GET, got ${req.method}`, 405, { Allow: 'GET' });
  }
  // RFC 6455 §4.1: "HTTP/1.1 or higher"; in practice HTTP/1.x with x >= 1.
  if (req.httpVersion !== '1.1') {
    const version = /^1\.(\d+)$/.exec(req.httpVersion);
    if (!version || Number(version[1]) < 1) throw badRequest(`HTTP version must be 1.1, got ${req.httpVersion}`);
  }

  // One pass over the raw lines, keeping only the fields checked below: a
  // Map of arrays per request (groupHeaders) was the handshake's largest
  // allocation after the socket itself. Same checks, same order as before.
  const fields = new UpgradeFields();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) fields.add(raw[i], trimOws(raw[i + 1]));

  if (fields.hostCount === 0) throw badRequest('missing Host header');
  // RFC 7230 §5.4: more than one Host field is a 400.
  if (fields.hostCount > 1) throw badRequest('duplicate Host header');
  if (fields.host.length === 0) throw badRequest('empty Host header');

  if (!fields.hasUpgradeWebsocket) throw badRequest('Upgrade header must contain "websocket"');
  if (!fields.hasConnectionUpgrade) throw badRequest('Connection header must contain "upgrade"');

  if (fields.versionCount === 0) throw badRequest('missing Sec-WebSocket-Version header', { ...VERSION_HEADERS });
  if (fields.versionCount > 1) throw badRequest('duplicate Sec-WebSocket-Version header', { ...VERSION_HEADERS });
  if (fields.version !== WEBSOCKET_VERSION) {
    throw new HandshakeError(`unsupported WebSocket version ${JSON.stringify(fields.version)}`, 426, { ...VERSION_HEADERS });
  }

  if (fields.keyCount === 0) throw badRequest('missing Sec-WebSocket-Key header');
  if (fields.keyCount > 1) throw badRequest('duplicate Sec-WebSocket-Key header');
  const key = fields.key;
  if (!isValidKey(key)) throw badRequest('Sec-WebSocket-Key must be 16 bytes in base64');

  const offer = offerFields(fields.originCount, fields.origin, fields.protocolLines, fields.extensionLines);
  return { key, host: fields.host, origin: offer.origin, protocols: offer.protocols, extensions: offer.extensions };
}

/** The request fields validateUpgradeRequest reads, collected in one pass (names compared ignoring ASCII case). */
class UpgradeFields {
  hostCount = 0;
  host = '';
  hasUpgradeWebsocket = false;
  hasConnectionUpgrade = false;
  versionCount = 0;
  version = '';
  keyCount = 0;
  key = '';
  originCount = 0;
  origin: string | undefined = undefined;
  protocolLines: string[] | undefined = undefined;
  extensionLines: string[] | undefined = undefined;

  add(name: string, value: string): void {
    switch (name.length) {
      case 4:
        if (equalsIgnoringCase(name, 'host')) {
          if (this.hostCount++ === 0) this.host = value;
        }
        return;
      case 6:
        if (equalsIgnoringCase(name, 'origin')) {
          if (this.originCount++ === 0) this.origin = value;
        }
        return;
      case 7:
        if (!this.hasUpgradeWebsocket && equalsIgnoringCase(name, 'upgrade')) this.hasUpgradeWebsocket = listHasToken(value, 'websocket');
        return;
      case 10:
        if (!this.hasConnectionUpgrade && equalsIgnoringCase(name, 'connection')) this.hasConnectionUpgrade = listHasToken(value, 'upgrade');
        return;
      case 17:
        if (equalsIgnoringCase(name, 'sec-websocket-key')) {
          if (this.keyCount++ === 0) this.key = value;
        }
        return;
      case 21:
        if (equalsIgnoringCase(name, 'sec-websocket-version')) {
          if (this.versionCount++ === 0) this.version = value;
        }
        return;
      case 22:
        if (equalsIgnoringCase(name, 'sec-websocket-protocol')) (this.protocolLines ??= []).push(value);
        return;
      case 24:
        if (equalsIgnoringCase(name, 'sec-websocket-extensions')) (this.extensionLines ??= []).push(value);
        return;
    }
  }
}

/**
 * The fields both handshakes share (RFC 6455 §4.2.1 items 7-9, RFC 8441 §5):
 * one Origin at most, the offered subprotocols (unique tokens) and the
 * extension offers. Throws a 400 HandshakeError.
 */
export function validateOfferFields(headers: Map<string, string[]>): Pick<ValidatedUpgrade, 'origin' | 'protocols' | 'extensions'> {
  const origins = headers.get('origin');
  return offerFields(origins?.length ?? 0, origins?.[0], headers.get('sec-websocket-protocol'), headers.get('sec-websocket-extensions'));
}

function offerFields(
  originCount: number,
  origin: string | undefined,
  protocolLines: readonly string[] | undefined,
  extensionLines: readonly string[] | undefined,
): Pick<ValidatedUpgrade, 'origin' | 'protocols' | 'extensions'> {
  // Two Origin lines would let the app check one while another is meant: refuse.
  if (originCount > 1) throw badRequest('duplicate Origin header');

  const protocols: string[] = [];
  if (protocolLines) {
    const seen = new Set<string>();
    for (const line of protocolLines) {
      const tokens = parseTokenList(line);
      if (tokens === null) throw badRequest('invalid Sec-WebSocket-Protocol header');
      for (const token of tokens) {
        // RFC 6455 §4.1 item 10: the values "MUST all be unique strings".
        if (seen.has(token)) throw badRequest(`duplicate subprotocol ${JSON.stringify(token)}`);
        seen.add(token);
        protocols.push(token);
      }
    }
    // Sec-WebSocket-Protocol is 1#token: present but empty is malformed.
    if (protocols.length === 0) throw badRequest('empty Sec-WebSocket-Protocol header');
  }

  const extensions = extensionLines ? extensionLines.filter((v) => v.length > 0).join(', ') : undefined;

  return {
    origin: originCount > 0 ? origin : undefined,
    protocols,
    extensions: extensions === '' ? undefined : extensions,
  };
}

/**
 * Picks the subprotocol: the first one the client offered (client order)
 * that the server supports, or undefined.
 */
export function selectProtocol(offered: readonly string[], supported: Iterable<string>): string | undefined {
  const accepted = new Set(supported);
  return offered.find((protocol) => accepted.has(protocol));
}

// --- building heads -------------------------------------------------------

/** Throws a TypeError for a header name that is not a token or a value with CR, LF or NUL. */
export function assertHeaderField(name: string, value: string): void {
  if (!isToken(name)) throw new TypeError(`invalid header name ${JSON.stringify(name)}`);
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x0d || c === 0x0a || c === 0x00) {
      throw new TypeError(`header ${name} contains CR, LF or NUL`);
    }
  }
}

function headerLines(headers: Record<string, string | readonly string[]> | undefined, skip: ReadonlySet<string>): string {
  if (!headers) return '';
  let out = '';
  for (const [name, raw] of Object.entries(headers)) {
    const values = typeof raw === 'string' ? [raw] : raw;
    for (const value of values) {
      const text = String(value);
      assertHeaderField(name, text);
      if (skip.has(name.toLowerCase())) continue;
      out += `${name}: ${text}\r\n`;
    }
  }
  return out;
}

/** Header names the 101 response sets itself; callers' values for them are ignored. */
const ACCEPT_OWNED = new Set(['upgrade', 'connection', 'sec-websocket-accept', 'sec-websocket-protocol', 'sec-websocket-extensions']);

/** RFC 6455 §4.2.2 step 5: the 101 response, whole head including the final CRLFCRLF. */
export function buildAcceptResponse(o: {
  key: string;
  protocol?: string;
  extensions?: string;
  headers?: Record<string, string | string[]>;
}): string {
  let head = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAcceptKey(o.key)}\r\n`;
  if (o.protocol !== undefined && o.protocol !== '') {
    if (!isToken(o.protocol)) throw new TypeError(`invalid subprotocol ${JSON.stringify(o.protocol)}`);
    head += `Sec-WebSocket-Protocol: ${o.protocol}\r\n`;
  }
  if (o.extensions !== undefined && o.extensions !== '') {
    assertHeaderField('Sec-WebSocket-Extensions', o.extensions);
    head += `Sec-WebSocket-Extensions: ${o.extensions}\r\n`;
  }
  return `${head}${headerLines(o.headers, ACCEPT_OWNED)}\r\n`;
}

const REASON_PHRASES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  413: 'Content Too Large',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Header names a rejection sets itself; callers' values for them are ignored (framing must stay ours). */
const REJECT_OWNED = new Set(['connection', 'content-length', 'transfer-encoding']);

/**
 * A complete HTTP error response that ends the connection: status line,
 * `Connection: close`, `Content-Type: text/plain; charset=utf-8` (callers may
 * override the type), `Content-Length` in UTF-8 bytes, then the body (by
 * default the reason phrase). Throws RangeError for a status outside 400..599.
 */
export function buildRejectResponse(status: number, o: { headers?: Record<string, string>; body?: string } = {}): string {
  if (!Number.isInteger(status) || status < 400 || status > 599) {
    throw new RangeError(`reject status must be an integer in 400..599, got ${String(status)}`);
  }
  const phrase = REASON_PHRASES[status] ?? (status < 500 ? 'Client Error' : 'Server Error');
  const body = o.body ?? phrase;
  const userHeaders = o.headers ?? {};
  const hasContentType = Object.keys(userHeaders).some((name) => name.toLowerCase() === 'content-type');
  let head = `HTTP/1.1 ${status} ${phrase}\r\nConnection: close\r\n`;
  if (!hasContentType) head += 'Content-Type: text/plain; charset=utf-8\r\n';
  head += `Content-Length: ${Buffer.byteLength(body, 'utf8')}\r\n`;
  head += headerLines(userHeaders, REJECT_OWNED);
  return `${head}\r\n${body}`;
}

/** Header names the upgrade request sets itself; passing them in `headers` is a TypeError. */
const REQUEST_OWNED = new Set([
  'upgrade',
  'connection',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-accept',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
]);

/**
 * RFC 6455 §4.1: the client's opening handshake, whole head including the
 * final CRLFCRLF. `headers` may replace Host and Origin (e.g. behind a proxy)
 * but not the fields the handshake owns (TypeError: use `protocols` /
 * `extensions`). Subprotocols must be unique tokens (TypeError otherwise).
 */
export function buildClientRequest(o: {
  host: string;
  path: string;
  key: string;
  protocols?: string[];
  extensions?: string;
  origin?: string;
  headers?: Record<string, string>;
}): string {
  // The request-target may not contain whitespace or controls (request-line injection).
  for (let i = 0; i < o.path.length; i++) {
    const c = o.path.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) throw new TypeError('request path contains whitespace or a control character');
  }
  if (o.path.length === 0) throw new TypeError('request path is empty');
  const user = o.headers ?? {};
  const userNames = new Set(Object.keys(user).map((name) => name.toLowerCase()));
  for (const name of userNames) {
    if (REQUEST_OWNED.has(name)) throw new TypeError(`header ${name} is set by the handshake; use the dedicated option`);
  }
  assertHeaderField('Host', o.host);
  assertHeaderField('Sec-WebSocket-Key', o.key);
  let head = `GET ${o.path} HTTP/1.1\r\n`;
  if (!userNames.has('host')) head += `Host: ${o.host}\r\n`;
  head += `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${o.key}\r\nSec-WebSocket-Version: 13\r\n`;
  if (o.protocols && o.protocols.length > 0) {
    const seen = new Set<string>();
    for (const protocol of o.protocols) {
      if (!isToken(protocol)) throw new TypeError(`invalid subprotocol ${JSON.stringify(protocol)}`);
      if (seen.has(protocol)) throw new TypeError(`duplicate subprotocol ${JSON.stringify(protocol)}`);
      seen.add(protocol);
    }
    head += `Sec-WebSocket-Protocol: ${o.protocols.join(', ')}\r\n`;
  }
  if (o.extensions !== undefined && o.extensions !== '') {
    assertHeaderField('Sec-WebSocket-Extensions', o.extensions);
    head += `Sec-WebSocket-Extensions: ${o.extensions}\r\n`;
  }
  if (o.origin !== undefined && !userNames.has('origin')) {
    assertHeaderField('Origin', o.origin);
    head += `Origin: ${o.origin}\r\n`;
  }
  return `${head}${headerLines(user, new Set())}\r\n`;
}
