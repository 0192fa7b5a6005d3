/**
 * The client over HTTP/2 (RFC 8441): one session per origin (and TLS
 * settings) carries every WebSocket to it as an extended CONNECT stream.
 *
 * A wss: connect first asks the pool. A new origin gets one TLS connection
 * offering ALPN `h2, http/1.1`:
 *   - the server picks http/1.1 (or nothing): that same TLS socket is handed
 *     to the HTTP/1.1 handshake (no second connection), and the origin is
 *     remembered as HTTP/1.1-only;
 *   - the server picks h2: we wait for its SETTINGS; with
 *     SETTINGS_ENABLE_CONNECT_PROTOCOL the session joins the pool, without it
 *     the session is closed, the origin remembered, and HTTP/1.1 used on a
 *     new connection (RFC 8441 §3: no extended CONNECT without the setting).
 * `http2: 'require'` fails instead of falling back; `'never'` skips all this.
 * A session is closed when its last WebSocket stream closes, so an idle pool
 * holds no connection and keeps no process alive.
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { createHash } from 'node:crypto';
import { buildClientOffer } from '../../core/deflate/index.js';
import { HandshakeError, TimeoutError } from '../../core/errors.js';
import { buildExtendedConnectRequest, validateExtendedConnectResponse } from '../../core/handshake/extended-connect.js';
import { requestTarget } from '../../core/url.js';
import type { Http2Mode, ResolvedClientOptions } from './options.js';
import { decodeUserinfo, stripBrackets } from './proxy.js';
import { openClientTransport, type EstablishedTransport, type HandshakeAttempt, type UnexpectedResponseHook } from './transport.js';
import { proxyFromEnvironment } from './proxy-env.js';
import { explainNetworkError } from './errors.js';

/** What the pool decided for one connect. */
export type H2Outcome =
  | { kind: 'stream'; established: EstablishedTransport }
  /** Use HTTP/1.1; `socket` is a TLS connection already open (ALPN chose http/1.1) or undefined for a new one. */
  | { kind: 'http1'; socket: tls.TLSSocket | undefined };

interface Waiter {
  (error: Error | null, session?: ClientHttp2Session, http1Socket?: tls.TLSSocket): void;
}

interface PoolEntry {
  session: ClientHttp2Session | undefined;
  /** Connects waiting for the session's SETTINGS. */
  waiters: Waiter[] | undefined;
  /** Open WebSocket streams on the session. */
  streams: number;
}

/** Origins (with their TLS settings) where WebSockets over HTTP/2 are not available; bounded. */
const http1Only = new Map<string, true>();
const HTTP1_ONLY_MAX_ENTRIES = 256;
const pool = new Map<string, PoolEntry>();

function rememberHttp1(key: string): void {
  if (http1Only.size >= HTTP1_ONLY_MAX_ENTRIES) http1Only.delete(http1Only.keys().next().value as string);
  http1Only.set(key, true);
}

/** Sessions are shared only between connects with the same TLS settings (a CA or a relaxed check must not leak). */
function poolKey(host: string, port: number, options: ResolvedClientOptions): string {
  const tlsIdentity = JSON.stringify(options.tls, (_name, value: unknown) => {
    if (value instanceof Uint8Array) return createHash('sha256').update(value).digest('hex');
    if (typeof value === 'function') return `fn:${value.toString().length}`;
    return value;
  });
  return `${host}:${port}|${tlsIdentity}`;
}

/** The pool's state for tests and stats: sessions and streams per origin key. */
export function http2PoolSnapshot(): { sessions: number; streams: number } {
  let streams = 0;
  for (const entry of pool.values()) streams += entry.streams;
  return { sessions: pool.size, streams };
}

/** Forgets which origins lack HTTP/2 WebSockets (tests). */
export function clearHttp2Memory(): void {
  http1Only.clear();
}

/**
 * Opens a WebSocket stream to `url` (wss:) over a pooled session, or
 * decides for HTTP/1.1. Calls `done` exactly once, asynchronously.
 */
export function openHttp2Transport(
  url: URL,
  options: ResolvedClientOptions,
  mode: Exclude<Http2Mode, 'never'>,
  done: (error: Error | null, outcome?: H2Outcome) => void,
): HandshakeAttempt {
  const host = stripBrackets(url.hostname);
  const port = Number(url.port || 443);
  const key = poolKey(host, port, options);
  const headers = { ...options.headers };
  if ((url.username || url.password) && !Object.keys(headers).some((name) => name.toLowerCase() === 'authorization')) {
    headers.Authorization = `Basic ${Buffer.from(`${decodeUserinfo(url.username)}:${decodeUserinfo(url.password)}`).toString('base64')}`;
  }
  // Built before any I/O so a bad header or path throws from connect() itself.
  const request = buildExtendedConnectRequest({
    authority: url.host,
    path: requestTarget(url),
    protocols: options.protocols,
    extensions: options.perMessageDeflate === false ? undefined : buildClientOffer(options.perMessageDeflate),
    origin: options.origin,
    headers,
  });
  let isDone = false;
  let stream: ClientHttp2Stream | undefined;
  const finish = (error: Error | null, outcome?: H2Outcome): void => {
    if (isDone) {
      if (outcome?.kind === 'http1') outcome.socket?.destroy();
      return;
    }
    isDone = true;
    clearTimeout(timer);
    if (error !== null && stream !== undefined) {
      // A paused stream with unread data never emits 'close': drain it, then reset.
      stream.resume();
      stream.close(http2.constants.NGHTTP2_CANCEL);
    }
    process.nextTick(done, error, outcome);
  };
  const timer = setTimeout(() => finish(new TimeoutError('handshake', options.handshakeTimeoutMs)), options.handshakeTimeoutMs);

  const fallBack = (socket: tls.TLSSocket | undefined): void => {
    if (mode === 'require') {
      socket?.destroy();
      finish(new HandshakeError('the server does not offer WebSockets over HTTP/2 (http2: "require")', 0));
    } else finish(null, { kind: 'http1', socket });
  };

  const openStream = (session: ClientHttp2Session): void => {
    if (isDone) return;
    const entry = pool.get(key);
    let s: ClientHttp2Stream;
    try {
      s = session.request(request, { endStream: false });
    } catch (error) {
      finish(error as Error);
      return;
    }
    stream = s;
    if (entry !== undefined) {
      entry.streams++;
      s.once('close', () => releaseStream(key, entry));
    }
    const onError = (error: Error): void => finish(error);
    const onClose = (): void => finish(new HandshakeError('the stream closed before the handshake response', 0));
    s.on('error', onError);
    s.on('close', onClose);
    s.once('response', (response: IncomingHttpHeaders) => {
      s.removeListener('error', onError);
      s.removeListener('close', onClose);
      if (isDone) return;
      let accepted;
      try {
        const deflate = options.perMessageDeflate === false ? false : options.perMessageDeflate;
        accepted = validateExtendedConnectResponse(response, { protocols: options.protocols, deflate });
      } catch (error) {
        s.on('error', ignore);
        finish(error as Error);
        return;
      }
      s.pause();
      const list: Array<[string, string]> = [];
      for (const [name, value] of Object.entries(response)) {
        if (name.startsWith(':') || value === undefined) continue;
        for (const v of Array.isArray(value) ? value : [String(value)]) list.push([name, v]);
      }
      finish(null, {
        kind: 'stream',
        established: {
          socket: s as unknown as net.Socket,
          head: Buffer.alloc(0),
          protocol: accepted.protocol,
          extensions: accepted.extensions,
          deflate: accepted.deflate,
          response: { status: Number(response[':status']), statusText: '', headers: list, httpVersion: '2.0' },
        },
      });
    });
  };

  const whenSession: Waiter = (error, session, http1Socket) => {
    if (error !== null) return finish(error);
    if (session !== undefined) return openStream(session);
    fallBack(http1Socket);
  };

  if (http1Only.has(key)) {
    // Known: no second ALPN probe per connect.
    if (mode === 'require') fallBack(undefined);
    else finish(null, { kind: 'http1', socket: undefined });
  } else {
    const entry = pool.get(key);
    if (entry?.session !== undefined) openStream(entry.session);
    else if (entry !== undefined) entry.waiters?.push(whenSession);
    else {
      const created: PoolEntry = { session: undefined, waiters: [], streams: 0 };
      pool.set(key, created);
      try {
        startSession(url, host, port, options, key, created, whenSession);
      } catch (error) {
        pool.delete(key);
        isDone = true;
        clearTimeout(timer);
        throw error;
      }
    }
  }
  return {
    abort(error: Error): void {
      finish(error);
    },
  };
}

function ignore(): void {
  // A stream or session that fails after we gave up on it.
}

function releaseStream(key: string, entry: PoolEntry): void {
  entry.streams--;
  if (entry.streams > 0 || entry.waiters !== undefined) return;
  if (pool.get(key) === entry) pool.delete(key);
  // The last WebSocket on this session is gone: GOAWAY and close, no idle connection left behind.
  if (entry.session !== undefined && !entry.session.closed) entry.session.close();
}

/** TLS with ALPN h2 + http/1.1, then (for h2) the session and its SETTINGS. The first connect's waiter may take an http/1.1 socket. */
function startSession(
  url: URL,
  host: string,
  port: number,
  options: ResolvedClientOptions,
  key: string,
  entry: PoolEntry,
  first: Waiter,
): void {
  entry.waiters = [first];
  const settle = (error: Error | null, session?: ClientHttp2Session, http1Socket?: tls.TLSSocket): void => {
    const waiters = entry.waiters ?? [];
    entry.waiters = undefined;
    if (session === undefined && pool.get(key) === entry) pool.delete(key);
    waiters.forEach((waiter, i) => {
      // Only one connect can use an http/1.1 TLS socket; the others open their own.
      waiter(error, session, i === 0 ? http1Socket : undefined);
    });
    if (session === undefined && waiters.length === 0) http1Socket?.destroy();
    if (session !== undefined && entry.streams === 0) {
      // Every waiter gave up meanwhile.
      pool.delete(key);
      session.close();
    }
  };
  const tlsOptions: tls.ConnectionOptions = { ...options.tls, host, port, ALPNProtocols: ['h2', 'http/1.1'] };
  if (tlsOptions.servername === undefined && net.isIP(host) === 0) tlsOptions.servername = host;
  const socket = tls.connect(tlsOptions);
  // Explained as the HTTP/1.1 path explains them (SW_DNS, SW_CONNECT, SW_TLS with a hint).
  let isTcpConnected = false;
  socket.once('connect', () => (isTcpConnected = true));
  const onEarlyError = (error: Error): void => settle(explainNetworkError(error, { host, port }, true, isTcpConnected));
  socket.on('error', onEarlyError);
  socket.once('secureConnect', () => {
    socket.removeListener('error', onEarlyError);
    if (socket.alpnProtocol !== 'h2') {
      rememberHttp1(key);
      socket.pause();
      settle(null, undefined, socket);
      return;
    }
    const session = http2.connect(`https://${url.host}`, { createConnection: () => socket });
    session.on('error', ignore);
    const onGone = (): void => {
      if (pool.get(key) === entry) pool.delete(key);
      if (entry.waiters !== undefined) settle(new HandshakeError('the HTTP/2 session closed before its SETTINGS', 0));
    };
    session.once('close', onGone);
    // A GOAWAY: no new streams here; the next connect opens a new session.
    session.once('goaway', () => {
      if (pool.get(key) === entry) pool.delete(key);
    });
    session.once('remoteSettings', (settings) => {
      if (settings.enableConnectProtocol === true) {
        entry.session = session;
        settle(null, session);
        return;
      }
      // RFC 8441 §3: without the setting, no extended CONNECT on this connection.
      rememberHttp1(key);
      session.close();
      settle(null);
    });
  });
}

/**
 * The client's transport for `url`: a pooled HTTP/2 stream when the
 * `http2` option and the server allow it, HTTP/1.1 (client/transport.ts)
 * otherwise. Calls `done` exactly once, asynchronously.
 */
export function openTransport(
  url: URL,
  options: ResolvedClientOptions,
  done: (error: Error | null, result?: EstablishedTransport) => void,
  onUnexpectedResponse?: UnexpectedResponseHook,
): HandshakeAttempt {
  // Through a proxy (the option or the environment) the tunnel carries
  // HTTP/1.1; the variables are read only for URLs that could use h2.
  if (
    url.protocol !== 'wss:' ||
    options.http2 === 'never' ||
    (options.proxy === undefined ? proxyFromEnvironment(url) : options.proxy)
  ) {
    return openClientTransport(url, options, done, onUnexpectedResponse);
  }
  let current: HandshakeAttempt | undefined;
  let abortedWith: Error | undefined;
  current = openHttp2Transport(url, options, options.http2, (error, outcome) => {
    if (error !== null || outcome === undefined) return done(error ?? new Error('handshake failed'));
    if (outcome.kind === 'stream') return done(null, outcome.established);
    if (abortedWith !== undefined) {
      outcome.socket?.destroy();
      return done(abortedWith);
    }
    try {
      current = openClientTransport(url, options, done, onUnexpectedResponse, outcome.socket);
    } catch (fallbackError) {
      outcome.socket?.destroy();
      done(fallbackError as Error);
    }
  });
  return {
    abort(error: Error): void {
      abortedWith = error;
      current?.abort(error);
    },
  };
}
