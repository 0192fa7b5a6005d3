/**
 * The opening handshake over HTTP/2 (RFC 8441): an extended CONNECT request
 * (`:method CONNECT`, `:protocol websocket`) on a stream of a connection
 * whose peer advertised SETTINGS_ENABLE_CONNECT_PROTOCOL, answered with a
 * 2xx. Sans-I/O like rules.ts: header lists in, values or HandshakeErrors
 * out.
 *
 * What differs from HTTP/1.1 (RFC 8441 §5): no Upgrade or Connection field
 * (connection-specific fields are forbidden in HTTP/2), no
 * Sec-WebSocket-Key / Sec-WebSocket-Accept (the stream already proves the
 * server speaks the protocol), the host is `:authority`, and success is 200
 * instead of 101. Version, Origin, subprotocols and extensions are checked
 * exactly as over HTTP/1.1 (validateOfferFields).
 */
import { HandshakeError } from '../errors.js';
import { groupHeaders } from './header-groups.js';
import { isToken } from './header-tokens.js';
import { computeAcceptKey, isValidKey } from './accept-key.js';
import type { PerMessageDeflateOptions } from '../deflate/index.js';
import {
  acceptNegotiation,
  assertHeaderField,
  validateOfferFields,
  WEBSOCKET_VERSION,
  type ValidatedServerResponse,
  type ValidatedUpgrade,
} from './rules.js';

/** RFC 8441 §3: the SETTINGS parameter a server sends to allow extended CONNECT. */
export const SETTINGS_ENABLE_CONNECT_PROTOCOL = 0x8;

/** What validateExtendedConnect reads: a request's header list, pseudo-headers included. */
export interface ExtendedConnectInfo {
  /** Alternating names and values as received (HTTP/2 names are lower case). */
  rawHeaders: readonly string[];
}

/** A validated RFC 8441 request: the HTTP/1.1 fields minus the key, plus the path and scheme. */
export interface ValidatedExtendedConnect extends Omit<ValidatedUpgrade, 'key'> {
  /** `:path`, the request-target. */
  path: string;
  /** `:scheme` (https in practice: browsers only use it for wss:). */
  scheme: string;
  /**
   * A valid Sec-WebSocket-Key the client sent anyway (RFC 8441 §5 does not
   * use it); undefined otherwise. See buildExtendedConnectResponse.
   */
  key: string | undefined;
}

function badRequest(message: string, headers?: Record<string, string>): HandshakeError {
  return new HandshakeError(message, 400, headers);
}

function single(headers: Map<string, string[]>, name: string): string | undefined {
  const values = headers.get(name);
  if (values === undefined) return undefined;
  if (values.length > 1) throw badRequest(`duplicate ${name}`);
  return values[0];
}

/**
 * RFC 8441 §4-5 and RFC 6455 §4.2.1: checks an extended CONNECT request.
 * Throws a HandshakeError whose status and headers are the answer:
 * - 400 for a request that is not CONNECT with `:protocol websocket`, lacks
 *   `:authority`, `:path` or `:scheme`, or carries a malformed Origin,
 *   Sec-WebSocket-Protocol (as over HTTP/1.1);
 * - 400 with `Sec-WebSocket-Version: 13` for a missing, repeated or other
 *   version. Over HTTP/1.1 another version gets 426, but a 426 must name the
 *   protocol in an Upgrade field (RFC 9110 §15.5.22), which HTTP/2 forbids
 *   (RFC 9113 §8.2.2), so RFC 6455 §4.2.2's "appropriate HTTP error code"
 *   is 400 here.
 */
export function validateExtendedConnect(req: ExtendedConnectInfo): ValidatedExtendedConnect {
  const headers = groupHeaders(req.rawHeaders);
  const method = single(headers, ':method');
  if (method !== 'CONNECT') throw badRequest(`method must be CONNECT, got ${method ?? 'none'}`);
  const protocol = single(headers, ':protocol');
  if (protocol === undefined) throw badRequest('missing :protocol (a plain CONNECT is not a WebSocket)');
  if (protocol.toLowerCase() !== 'websocket') throw badRequest(`unsupported :protocol ${JSON.stringify(protocol)}`);
  // RFC 8441 §4: ":scheme and :path pseudo-header fields MUST be included".
  const path = single(headers, ':path');
  if (path === undefined || path.length === 0) throw badRequest('missing :path');
  const scheme = single(headers, ':scheme');
  if (scheme === undefined || scheme.length === 0) throw badRequest('missing :scheme');
  const authority = single(headers, ':authority') ?? single(headers, 'host');
  if (authority === undefined || authority.length === 0) throw badRequest('missing :authority');

  const versions = headers.get('sec-websocket-version');
  const versionHeaders = { 'sec-websocket-version': WEBSOCKET_VERSION };
  if (!versions) throw badRequest('missing Sec-WebSocket-Version header', versionHeaders);
  if (versions.length > 1) throw badRequest('duplicate Sec-WebSocket-Version header', versionHeaders);
  if (versions[0] !== WEBSOCKET_VERSION) {
    throw badRequest(`unsupported WebSocket version ${JSON.stringify(versions[0])}`, versionHeaders);
  }
  const keys = headers.get('sec-websocket-key');
  const key = keys !== undefined && keys.length === 1 && isValidKey(keys[0]) ? keys[0] : undefined;
  return { host: authority, path, scheme, key, ...validateOfferFields(headers) };
}

/** Header names the 200 sets itself, and the connection-specific ones HTTP/2 forbids (RFC 9113 §8.2.2). */
const OWNED = new Set([
  'sec-websocket-protocol',
  'sec-websocket-extensions',
  'sec-websocket-accept',
  'connection',
  'upgrade',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'content-length',
]);

/**
 * RFC 8441 §5: the success answer as an HTTP/2 header object (status 200,
 * the chosen subprotocol and extensions, the caller's extra fields with
 * lower-cased names; fields the handshake owns or HTTP/2 forbids are
 * dropped). Throws TypeError for an invalid name, value or subprotocol.
 */
export function buildExtendedConnectResponse(o: {
  /** The client's Sec-WebSocket-Key, when it sent a valid one. */
  key?: string;
  protocol?: string;
  extensions?: string;
  headers?: Record<string, string | readonly string[]>;
}): Record<string, string | number | string[]> {
  const out: Record<string, string | number | string[]> = { ':status': 200 };
  for (const [name, raw] of Object.entries(o.headers ?? {})) {
    const values = typeof raw === 'string' ? [raw] : [...raw];
    for (const value of values) assertHeaderField(name, String(value));
    const lower = name.toLowerCase();
    if (OWNED.has(lower) || lower.startsWith(':')) continue;
    out[lower] = values.length === 1 ? values[0] : values;
  }
  if (o.protocol !== undefined && o.protocol !== '') {
    if (!isToken(o.protocol)) throw new TypeError(`invalid subprotocol ${JSON.stringify(o.protocol)}`);
    out['sec-websocket-protocol'] = o.protocol;
  }
  if (o.extensions !== undefined && o.extensions !== '') {
    assertHeaderField('Sec-WebSocket-Extensions', o.extensions);
    out['sec-websocket-extensions'] = o.extensions;
  }
  // RFC 8441 §5 drops the key/accept exchange, but undici's experimental
  // h2 client sends a key and fails without the accept
  // (nodejs/undici#5681): answering a key costs one hash and harms no one.
  if (o.key !== undefined) out['sec-websocket-accept'] = computeAcceptKey(o.key);
  return out;
}

/**
 * RFC 8441 §5: an error answer as an HTTP/2 header object: the status, a
 * plain-text content type, the caller's fields minus the connection-specific
 * ones. RangeError for a status outside 400..599.
 */
export function buildExtendedConnectRefusal(status: number, headers: Record<string, string> = {}): Record<string, string | number> {
  if (!Number.isInteger(status) || status < 400 || status > 599) {
    throw new RangeError(`reject status must be an integer in 400..599, got ${String(status)}`);
  }
  const out: Record<string, string | number> = { ':status': status, 'content-type': 'text/plain; charset=utf-8' };
  for (const [name, value] of Object.entries(headers)) {
    assertHeaderField(name, String(value));
    const lower = name.toLowerCase();
    if (OWNED.has(lower) || lower.startsWith(':')) continue;
    out[lower] = String(value);
  }
  return out;
}

// --- client side ------------------------------------------------------------

/** Fields the extended CONNECT request sets itself; passing them in `headers` is a TypeError. */
const REQUEST_OWNED = new Set([
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
  'host',
]);

/**
 * RFC 8441 §5: the client's extended CONNECT as an HTTP/2 header object.
 * `headers` may add fields (Authorization, Cookie) but not the ones the
 * handshake owns (TypeError) or connection-specific ones (dropped).
 */
export function buildExtendedConnectRequest(o: {
  authority: string;
  path: string;
  protocols?: readonly string[];
  extensions?: string;
  origin?: string;
  headers?: Record<string, string>;
}): Record<string, string> {
  for (let i = 0; i < o.path.length; i++) {
    const c = o.path.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) throw new TypeError('request path contains whitespace or a control character');
  }
  const out: Record<string, string> = {
    ':method': 'CONNECT',
    ':protocol': 'websocket',
    ':scheme': 'https',
    ':path': o.path,
    ':authority': o.authority,
    'sec-websocket-version': WEBSOCKET_VERSION,
  };
  for (const [name, value] of Object.entries(o.headers ?? {})) {
    assertHeaderField(name, value);
    const lower = name.toLowerCase();
    if (REQUEST_OWNED.has(lower)) throw new TypeError(`header ${lower} is set by the handshake; use the dedicated option`);
    if (OWNED.has(lower)) continue;
    out[lower] = value;
  }
  if (o.protocols !== undefined && o.protocols.length > 0) {
    for (const protocol of o.protocols) if (!isToken(protocol)) throw new TypeError(`invalid subprotocol ${JSON.stringify(protocol)}`);
    out['sec-websocket-protocol'] = o.protocols.join(', ');
  }
  if (o.extensions !== undefined && o.extensions !== '') {
    assertHeaderField('Sec-WebSocket-Extensions', o.extensions);
    out['sec-websocket-extensions'] = o.extensions;
  }
  if (o.origin !== undefined && out.origin === undefined) {
    assertHeaderField('Origin', o.origin);
    out.origin = o.origin;
  }
  return out;
}

/**
 * RFC 8441 §5 and RFC 6455 §4.1 items 5-6: the client's checks of the
 * answer: a 2xx, a subprotocol we offered (none if we offered none),
 * extensions we offered. Throws a HandshakeError whose status is the
 * answer's.
 */
export function validateExtendedConnectResponse(
  headers: Record<string, string | string[] | number | undefined>,
  o: { protocols: readonly string[]; deflate?: PerMessageDeflateOptions | false },
): ValidatedServerResponse {
  const status = Number(headers[':status']);
  const fail = (message: string): never => {
    throw new HandshakeError(message, status);
  };
  if (!(status >= 200 && status < 300)) fail(`server answered ${status}`);
  const protocolField = headers['sec-websocket-protocol'];
  const protocolLines = protocolField === undefined ? undefined : Array.isArray(protocolField) ? protocolField : [String(protocolField)];
  const extensionField = headers['sec-websocket-extensions'];
  const extensions = extensionField === undefined ? '' : Array.isArray(extensionField) ? extensionField.join(', ') : String(extensionField);
  return acceptNegotiation(protocolLines, extensions, o, fail);
}
