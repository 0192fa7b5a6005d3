/**
 * Options of the Node client (`connect(url, options)`) and of the WHATWG
 * `WebSocket` constructor's third argument. Validated once, in
 * `resolveClientOptions`, with a RangeError/TypeError naming the option.
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { resolveSharedLimits, validateLimit } from '../core/options.js';
import type { MaskSource } from '../core/events.js';
import { resolveDeflateOptions, type PerMessageDeflateOptions, type ResolvedDeflateOptions } from '../core/deflate/index.js';

export interface ClientKeepaliveOptions {
  /**
   * Milliseconds without any byte from the server before we ping. Default
   * 30,000: below the idle timeouts of common NATs and load balancers (60 s
   * and up), so the mapping stays alive. A connection receiving traffic is
   * never pinged.
   */
  intervalMs?: number;
  /**
   * Milliseconds to wait for the pong (or any other byte) before failing the
   * connection: 'error' (TimeoutError, phase 'heartbeat') then 'close' 1006.
   * Detects a dead peer or path (half-open TCP, a dropped NAT mapping) that
   * TCP itself would only notice after many minutes. Default 10,000.
   */
  timeoutMs?: number;
}

export interface ClientOptions {
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
   * Milliseconds for the whole opening handshake: proxy tunnel, TCP/TLS
   * connect, and the 101 response. Default DEFAULTS.handshakeTimeoutMs (10 s),
   * long enough for slow links and short enough that a silent server cannot
   * hold a client forever. On expiry: `error` (TimeoutError) then close 1006.
   */
  handshakeTimeoutMs?: number;
  /**
   * Largest incoming message in bytes, after decompression, enforced while the
   * message arrives (and while inflating). Default 16 MiB, so a hostile server
   * cannot make the client buffer gigabytes. Over it: 'error' then close 1009.
   */
  maxMessageBytes?: number;
  /** Fragments allowed in one incoming message. Default DEFAULTS.maxFragments. */
  maxFragments?: number;
  /** Largest HTTP response head in bytes. Default 16 KiB; bigger responses fail the handshake. */
  maxHeaderBytes?: number;
  /** Most header lines in the HTTP response. Default 100. */
  maxHeaderCount?: number;
  /** Milliseconds to wait for the server's close/TCP end after our close frame. Default 10 s. */
  closeTimeoutMs?: number;
  /**
   * permessage-deflate (RFC 7692). Offered by default, as browsers do, with
   * client_max_window_bits so the server may shrink our window. `false`
   * disables it; an object tunes the offer and the compressor.
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /**
   * HTTP proxy URL (`http://host:port` or `https://host:port`, optional
   * `user:pass@`) reached with CONNECT; the WebSocket (and TLS for wss:) runs
   * inside the tunnel. An https: proxy's certificate is verified with the
   * same `tls` options. Default none.
   */
  proxy?: string | URL;
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
}

export interface ResolvedClientOptions {
  protocols: string[];
  headers: Record<string, string>;
  origin: string | undefined;
  tls: TlsConnectionOptions;
  handshakeTimeoutMs: number;
  maxMessageBytes: number;
  maxFragments: number;
  maxHeaderBytes: number;
  maxHeaderCount: number;
  closeTimeoutMs: number;
  perMessageDeflate: ResolvedDeflateOptions | false;
  proxy: URL | undefined;
  keepalive: { intervalMs: number; timeoutMs: number } | false;
  maskSource: MaskSource | undefined;
  signal: AbortSignal | undefined;
}

export const KEEPALIVE_DEFAULTS = { intervalMs: 30_000, timeoutMs: 10_000 } as const;

// RFC 7230 §3.2.6 token, the syntax of a subprotocol (RFC 6455 §4.1 item 10).
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function resolveClientOptions(options: ClientOptions = {}): ResolvedClientOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
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
  let proxy: URL | undefined;
  if (options.proxy !== undefined) {
    try {
      proxy = new URL(String(options.proxy));
    } catch {
      throw new TypeError(`option proxy: invalid URL ${String(options.proxy)}`);
    }
    if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:') {
      throw new TypeError(`option proxy: only http: and https: proxies are supported, got ${proxy.protocol}`);
    }
  }
  let keepalive: ResolvedClientOptions['keepalive'] = false;
  if (options.keepalive) {
    const k = options.keepalive === true ? {} : options.keepalive;
    keepalive = {
      intervalMs: validateLimit('keepalive.intervalMs', k.intervalMs ?? KEEPALIVE_DEFAULTS.intervalMs),
      timeoutMs: validateLimit('keepalive.timeoutMs', k.timeoutMs ?? KEEPALIVE_DEFAULTS.timeoutMs),
    };
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
    ...resolveSharedLimits(options),
    perMessageDeflate,
    proxy,
    keepalive,
    maskSource: options.maskSource,
    signal: options.signal,
  };
}
