/**
 * Options of the Node client (`connect(url, options)`) and of the WHATWG
 * `WebSocket` constructor's third argument. Validated once, in
 * `resolveClientOptions`, with a RangeError/TypeError naming the option.
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { MaskSource } from '../../core/events.js';
import { resolveDeflateOptions, type PerMessageDeflateOptions, type ResolvedDeflateOptions } from '../../core/deflate/index.js';
import { rejectUnknownOptions } from '../../core/options.js';
import { parseProxyUrl } from './proxy-env.js';
import { NODE_DEFAULTS, resolveConnectionLimits, resolveLiveness, type ConnectionLimitOptions, type ResolvedConnectionLimits } from '../options.js';

/** Client keepalive timing; the defaults and their reasons are NODE_DEFAULTS.keepalive (node/options.ts). */
export interface ClientKeepaliveOptions {
  /** Milliseconds without any byte from the server before we ping. Default 30,000. A connection receiving traffic is never pinged. */
  intervalMs?: number;
  /**
   * Milliseconds to wait for the pong (or any other byte) before failing the
   * connection: 'error' (TimeoutError, phase 'heartbeat') then 'close' 1006.
   * Default 10,000.
   */
  timeoutMs?: number;
}

/** How a wss: client uses HTTP/2 (RFC 8441): when the server offers it (default), always, or never. */
export type Http2Mode = 'auto' | 'require' | 'never';

/** The client's options; the limits it shares with the server (and their defaults) are ConnectionLimitOptions in node/options.ts. */
export interface ClientOptions extends ConnectionLimitOptions {
  /** Subprotocols to offer in Sec-WebSocket-Protocol, most preferred first. Default none. */
  protocols?: string | readonly string[];
  /** Extra request headers (e.g. Authorization, Cookie). Handshake headers cannot be overridden. */
  headers?: Record<string, string>;
  /** Origin header value. Default none: non-browser clients have no origin (RFC 6455 §4.1 item 8). */
  origin?: string;
  /**
   * Passed to `tls.connect` for wss: URLs (ca, cert, key, rejectUnauthorized, ...).
   * `servername` defaults to the URL's host name when it is not an IP address (SNI).
   * Certificates are verified by default; `rejectUnauthorized: false` is for tests only.
   */
  tls?: TlsConnectionOptions;
  /**
   * permessage-deflate (RFC 7692). Offered by default, as browsers do, with
   * client_max_window_bits so the server may shrink our window. `false`
   * disables it; an object tunes the offer and the compressor.
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /**
   * The proxy to tunnel through. Default: the environment, read at each
   * connect (client/proxy-env.ts): `ws:` uses WS_PROXY then HTTP_PROXY,
   * `wss:` uses WSS_PROXY then HTTPS_PROXY, then ALL_PROXY (lower case first),
   * minus the hosts NO_PROXY lists. A URL sets the proxy explicitly and
   * ignores the environment; `false` connects directly.
   *
   * Kinds: `http://` and `https://` (CONNECT, RFC 9110 §9.3.6; an https:
   * proxy's certificate is verified with the same `tls` options),
   * `socks5://` (we resolve the host name), `socks5h://` (the proxy does),
   * `socks4://`, `socks4a://`. `user:pass@` in the URL is sent as Basic
   * Proxy-Authorization or SOCKS5 username/password (RFC 1929).
   */
  proxy?: string | URL | false;
  /**
   * Follow 301, 302, 303, 307 and 308 answers to the opening handshake
   * (ws's option of the same name). Authorization and Cookie headers, and
   * credentials from the URL, are dropped when the scheme, host or port
   * changes. Each redirect emits 'redirect' (url) on the Node socket. Default
   * false: a 3xx fails the connection like any non-101 answer.
   */
  followRedirects?: boolean;
  /**
   * Most redirects followed for one connection. Default 10 (as ws): enough
   * for real chains, and a loop fails fast. Past it the connection fails
   * with a HandshakeError. Only used with followRedirects.
   */
  maxRedirects?: number;
  /**
   * Client keepalive: ping after `intervalMs` of silence and fail the
   * connection if no pong arrives within `timeoutMs`; the measured round
   * trip is exposed as `socket.latencyMs`. `true` uses the defaults
   * (30 s / 10 s). Default false (off), because the server normally runs the
   * heartbeat.
   */
  keepalive?: ClientKeepaliveOptions | boolean;
  /** Masking key source (tests only: deterministic masks). Default crypto-random keys. */
  maskSource?: MaskSource;
  /**
   * Aborts the opening handshake: 'error' (the signal's reason) then 'close'
   * 1006. No effect once the connection is open (close() it instead), like
   * the handshake timeout it complements. Default none.
   */
  signal?: AbortSignal;
  /**
   * WebSockets over HTTP/2 (RFC 8441) for wss: URLs. 'auto' (default): offer
   * h2 in ALPN and use it when the server also advertises extended CONNECT,
   * sharing one session per origin among sockets; otherwise HTTP/1.1 on the
   * same TLS connection (or a new one when h2 was chosen without the
   * setting). 'require': fail instead of falling back. 'never': HTTP/1.1
   * only. Ignored for ws: URLs and through a proxy (HTTP/1.1).
   */
  http2?: Http2Mode;
}

export interface ResolvedClientOptions extends ResolvedConnectionLimits {
  protocols: string[];
  headers: Record<string, string>;
  origin: string | undefined;
  tls: TlsConnectionOptions;
  perMessageDeflate: ResolvedDeflateOptions | false;
  /** A URL, `false` (direct), or undefined: read the environment at connect time. */
  proxy: URL | false | undefined;
  keepalive: { intervalMs: number; timeoutMs: number } | false;
  followRedirects: boolean;
  maxRedirects: number;
  maskSource: MaskSource | undefined;
  signal: AbortSignal | undefined;
  http2: Http2Mode;
}

/** Every ClientOptions name: anything else is a mistake (issue #12) and throws, naming the closest one. */
export const CLIENT_OPTION_NAMES = [
  'protocols', 'headers', 'origin', 'tls', 'perMessageDeflate', 'proxy', 'followRedirects', 'maxRedirects', 'http2', 'keepalive', 'maskSource', 'signal',
  'maxMessageBytes', 'maxFragments', 'closeTimeoutMs', 'handshakeTimeoutMs', 'maxHeaderBytes', 'maxHeaderCount',
] as const;

/** Names from ws and from guesses that spelling distance alone would not lead to ours. */
const CLIENT_HINTS: Record<string, string> = {
  maxPayload: 'maxMessageBytes (maxPayload is ws\'s name; sockwave/ws accepts it)',
  maxPayloadBytes: 'maxMessageBytes',
  handshakeTimeout: 'handshakeTimeoutMs (handshakeTimeout is ws\'s name; sockwave/ws accepts it)',
  heartbeat: 'keepalive (the client\'s heartbeat)',
  rejectUnauthorized: 'tls: { rejectUnauthorized } (sockwave/ws accepts it at the top level)',
};

// RFC 7230 §3.2.6 token, the syntax of a subprotocol (RFC 6455 §4.1 item 10).
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function resolveClientOptions(options: ClientOptions = {}): ResolvedClientOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  rejectUnknownOptions(options, CLIENT_OPTION_NAMES, '', CLIENT_HINTS);
  const protocols =
    options.protocols === undefined ? [] : typeof options.protocols === 'string' ? [options.protocols] : [...options.protocols];
  const seen = new Set<string>();
  for (const protocol of protocols) {
    if (typeof protocol !== 'string' || !TOKEN.test(protocol)) {
      throw new TypeError(`option protocols: invalid subprotocol ${JSON.stringify(protocol)}`);
    }
    if (seen.has(protocol)) throw new TypeError(`option protocols: duplicate subprotocol ${JSON.stringify(protocol)}`);
    seen.add(protocol);
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (!TOKEN.test(name)) throw new TypeError(`option headers: invalid header name ${JSON.stringify(name)}`);
    const text = String(value);
    // A CR or LF would let a caller-provided value inject headers into the request.
    if (/[\r\n\0]/.test(text)) throw new TypeError(`option headers: invalid value for ${name}`);
    headers[name] = text;
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new TypeError('option signal must be an AbortSignal');
  }
  if (options.origin !== undefined && /[\r\n\0]/.test(String(options.origin))) {
    throw new TypeError('option origin: invalid value');
  }
  let proxy: URL | false | undefined;
  if (options.proxy === false) proxy = false;
  else if (options.proxy !== undefined) proxy = parseProxyUrl(options.proxy, 'option proxy');
  const maxRedirects = options.maxRedirects ?? 10;
  if (typeof maxRedirects !== 'number' || !(Number.isInteger(maxRedirects) || maxRedirects === Infinity) || maxRedirects < 0) {
    throw new RangeError(`option maxRedirects must be a non-negative integer or Infinity, got ${String(options.maxRedirects)}`);
  }
  let keepalive: ResolvedClientOptions['keepalive'] = false;
  if (options.keepalive) {
    keepalive = resolveLiveness('keepalive', options.keepalive === true ? {} : options.keepalive, NODE_DEFAULTS.keepalive);
  }
  // Validated here (RangeError naming perMessageDeflate.<field>) so a bad value throws from connect().
  const perMessageDeflate =
    options.perMessageDeflate === false
      ? false
      : resolveDeflateOptions(typeof options.perMessageDeflate === 'object' ? options.perMessageDeflate : {});
  return {
    protocols,
    headers,
    origin: options.origin === undefined ? undefined : String(options.origin),
    tls: { ...(options.tls ?? {}) },
    ...resolveConnectionLimits(options),
    perMessageDeflate,
    proxy,
    keepalive,
    followRedirects: options.followRedirects === true,
    maxRedirects,
    maskSource: options.maskSource,
    signal: options.signal,
    http2: resolveHttp2Mode(options.http2),
  };
}

function resolveHttp2Mode(value: unknown): Http2Mode {
  if (value === undefined) return 'auto';
  if (value === 'auto' || value === 'require' || value === 'never') return value;
  throw new TypeError(`option http2 must be 'auto', 'require' or 'never', got ${JSON.stringify(value)}`);
}
