/**
 * The server side of the opening handshake over HTTP/2 (RFC 8441): an
 * extended CONNECT stream (`:protocol websocket`) is checked as upgrade.ts
 * checks an HTTP/1.1 upgrade, in the same order and with the same limits
 * and hooks, then answered 200 and the stream becomes the socket's
 * transport: the same core, the same `'connection'` event and socket API.
 *
 * Order (first failing check answers):
 *   server closing / over maxPendingHandshakes -> 503 + Retry-After
 *   header list over maxHeaderBytes / maxHeaderCount -> 431
 *   path (shouldHandle)                        -> 400
 *   RFC 8441 / RFC 6455 validation             -> 400 (+ Sec-WebSocket-Version)
 *   over maxConnections                        -> 503 + Retry-After
 *   Origin not allowed                         -> 403
 *   verifyClient, then verify                  -> their status (default 401)
 * then subprotocol, permessage-deflate, 200.
 *
 * Differences from HTTP/1.1, by necessity: a refusal ends only the stream
 * (the connection carries other requests); 'wsClientError' and 'headers'
 * are not emitted (their listeners write or edit HTTP/1.1 text).
 */
import type { IncomingMessage } from 'node:http';
import { constants, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { HandshakeError } from '../../core/errors.js';
import {
  buildExtendedConnectRefusal,
  buildExtendedConnectResponse,
  validateExtendedConnect,
  type ValidatedExtendedConnect,
} from '../../core/handshake/extended-connect.js';
import { negotiateServer, type DeflateParams } from '../../core/deflate/index.js';
import { isAttached } from '../socket/transport.js';
import { openServerSocket } from './open-socket.js';
import { isOriginAllowed } from './origin-policy.js';
import { runVerify, runVerifyClient, type Decision } from './verify.js';
import { publishRejected, retryAfter } from './handshake-reject.js';
import type { UpgradeCallback, UpgradeServer } from './upgrade.js';

/**
 * What the app receives as the request of an HTTP/2 WebSocket: the fields of
 * `http.IncomingMessage` that WebSocket apps read (method, url, headers,
 * rawHeaders, httpVersion, socket for the remote address), without the
 * stream-reading machinery of `http2.Http2ServerRequest`.
 */
export interface Http2UpgradeRequest {
  readonly method: 'CONNECT';
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly httpVersion: '2.0';
  readonly httpVersionMajor: 2;
  readonly httpVersionMinor: 0;
  /** The session's TLS socket (Node's proxy: addresses readable, I/O refused). */
  readonly socket: Socket;
  /** The HTTP/2 stream that carries the WebSocket. */
  readonly stream: ServerHttp2Stream;
}

const EMPTY = Buffer.alloc(0);
const { NGHTTP2_NO_ERROR, NGHTTP2_CANCEL } = constants;

function ignoreError(): void {
  // During the handshake a reset stream simply goes away ('close' cleans up).
}

/** Rebuilds the raw header list when the caller only has Node's header object. */
export function rawHeadersOf(headers: IncomingHttpHeaders): string[] {
  const raw: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) raw.push(name, v);
    else raw.push(name, String(value));
  }
  return raw;
}

function toRequest(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[]): Http2UpgradeRequest {
  return {
    method: 'CONNECT',
    url: String(headers[':path'] ?? ''),
    headers,
    rawHeaders,
    httpVersion: '2.0',
    httpVersionMajor: 2,
    httpVersionMinor: 0,
    socket: stream.session?.socket as Socket,
    stream,
  };
}

/** Bytes of the header list as HPACK counts them (RFC 7541 §4.1: name + value + 32 per field). */
function headerListBytes(rawHeaders: readonly string[]): number {
  let total = 0;
  for (let i = 0; i < rawHeaders.length; i++) total += rawHeaders[i].length;
  return total + 16 * rawHeaders.length;
}

/** Answers with an HTTP/2 error status and ends the stream (only the stream: the session carries other requests). */
export function refuseStream(
  server: UpgradeServer,
  req: Http2UpgradeRequest,
  status: number,
  reason: string,
  headers?: Record<string, string>,
  body?: string,
): void {
  const stream = req.stream;
  publishRejected(req as unknown as IncomingMessage, stream as unknown as Socket, status, reason);
  server.guard.untrack(stream as unknown as Socket);
  if (stream.destroyed || stream.headersSent || !stream.writable) {
    stream.destroy();
    return;
  }
  let fields: Record<string, string | number>;
  try {
    fields = buildExtendedConnectRefusal(status, headers);
  } catch {
    // A verify hook returned an invalid status or header: plain 500.
    status = 500;
    fields = buildExtendedConnectRefusal(500);
    body = undefined;
  }
  stream.respond(fields);
  // The client may have sent frames already: drop them, the stream is over.
  stream.resume();
  // RFC 9113 §8.1: after a complete response the server may reset with
  // NO_ERROR so a client that never ends its side does not keep the stream.
  stream.end(body ?? `${status} ${reason}`, () => stream.close(NGHTTP2_NO_ERROR));
}

/** True for an HTTP/2 stream tracked by the HandshakeGuard (it holds net.Sockets and these). */
export function isHttp2Stream(transport: object): transport is ServerHttp2Stream {
  return typeof (transport as { respond?: unknown }).respond === 'function';
}

/**
 * Handshake timeout on a stream (a verify hook that never settled): reset
 * it with CANCEL; the session and its other streams go on.
 */
export function cancelStream(stream: ServerHttp2Stream): void {
  if (!stream.destroyed) stream.close(NGHTTP2_CANCEL);
}

/**
 * Handles one extended CONNECT stream for `server`: answers 200 and calls
 * `cb` with the open socket, or answers an error status and ends the stream.
 * `rawHeaders` as Node's 'stream' event gives them (rebuilt when absent).
 */
export function handleExtendedConnect(
  server: UpgradeServer,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  rawHeaders: string[] | undefined,
  cb: UpgradeCallback,
): void {
  const transport = stream as unknown as Socket;
  if (isAttached(transport)) throw new Error('handleHttp2Stream() was called more than once with the same stream');
  stream.on('error', ignoreError);
  const req = toRequest(stream, headers, rawHeaders ?? rawHeadersOf(headers));
  const o = server.options;
  const pending = server.guard.track(transport);
  if (!server.isAccepting()) return refuseStream(server, req, 503, 'server is closing', retryAfter());
  if (pending.isOverCapacity) return refuseStream(server, req, 503, 'too many pending handshakes', retryAfter());
  if (req.rawHeaders.length / 2 > o.maxHeaderCount) return refuseStream(server, req, 431, 'too many header fields');
  if (o.maxHeaderBytes !== Infinity && headerListBytes(req.rawHeaders) > o.maxHeaderBytes) {
    return refuseStream(server, req, 431, 'header list too large');
  }
  const incoming = req as unknown as IncomingMessage;
  if (!server.shouldHandle(incoming)) return refuseStream(server, req, 400, 'unexpected path');
  let validated: ValidatedExtendedConnect;
  try {
    validated = validateExtendedConnect(req);
  } catch (error) {
    if (!(error instanceof HandshakeError)) throw error;
    return refuseStream(server, req, error.status, error.message, { ...error.headers });
  }
  if (server.registry.size >= o.maxConnections) return refuseStream(server, req, 503, 'too many connections', retryAfter());
  if (o.origins !== undefined && !isOriginAllowed(o.origins, validated.origin)) {
    return refuseStream(server, req, 403, 'origin not allowed');
  }
  let protocol: string | undefined;
  if (o.handleProtocols !== undefined && validated.protocols.length > 0) {
    const chosen = o.handleProtocols(new Set(validated.protocols), incoming);
    if (typeof chosen === 'string' && chosen !== '') {
      if (!validated.protocols.includes(chosen)) {
        return refuseStream(server, req, 500, 'handleProtocols chose a subprotocol the client did not offer');
      }
      protocol = chosen;
    }
  }
  const deflate = o.deflate !== undefined ? negotiateServer(validated.extensions, o.deflate) : null;
  if (o.verifyClient === undefined && o.verify === undefined) {
    accept(server, req, validated, protocol, deflate, undefined, cb);
    return;
  }
  runHooks(server, req, validated).then(
    (decision) => {
      if (!decision.accept) return refuseStream(server, req, decision.status, 'rejected by verify', decision.headers, decision.body);
      if (decision.protocol !== undefined) {
        if (!validated.protocols.includes(decision.protocol)) {
          return refuseStream(server, req, 500, 'verify chose a subprotocol the client did not offer');
        }
        protocol = decision.protocol;
      }
      accept(server, req, validated, protocol, deflate, decision, cb);
    },
    (error: unknown) => {
      refuseStream(server, req, 500, 'verify hook failed');
      if (server.emitter.listenerCount('error') > 0) server.emitter.emit('error', error);
    },
  );
}

/**
 * RFC 8441 §5: END_STREAM stands for TCP's FIN. Over HTTP/1.1 the server
 * closes the TCP connection first (RFC 6455 §7.1.1); here our END_STREAM
 * went out (the closing handshake is over) and a peer that never ends its
 * side (undici's experimental client) would hold the stream until the close
 * timer. After a grace for the peer's own END_STREAM, reset with NO_ERROR
 * (RFC 9113 §8.1) once nothing of ours is left to send.
 */
function onStreamFinished(this: ServerHttp2Stream): void {
  const stream = this;
  const check = (): void => {
    if (stream.closed || stream.destroyed) return;
    // bufferSize: bytes still queued for the peer (flow control may hold them).
    if (stream.bufferSize === 0) stream.close(NGHTTP2_NO_ERROR);
    else setTimeout(check, PEER_END_GRACE_MS).unref();
  };
  setTimeout(check, PEER_END_GRACE_MS).unref();
}

/** How long a peer gets to end its side after ours, ms (a round trip or two on any sane path). */
const PEER_END_GRACE_MS = 1000;

async function runHooks(server: UpgradeServer, req: Http2UpgradeRequest, validated: ValidatedExtendedConnect): Promise<Decision> {
  const o = server.options;
  const incoming = req as unknown as IncomingMessage;
  // RFC 8441 runs over any HTTP/2 connection; browsers only over TLS.
  const isSecure = (req.stream.session as { encrypted?: boolean } | undefined)?.encrypted === true;
  if (o.verifyClient !== undefined) {
    const decision = await runVerifyClient(o.verifyClient, { origin: validated.origin, secure: isSecure, req: incoming });
    if (!decision.accept || o.verify === undefined) return decision;
  }
  return runVerify(o.verify as NonNullable<typeof o.verify>, {
    request: incoming,
    origin: validated.origin,
    protocols: validated.protocols,
    isSecure,
  });
}

function accept(
  server: UpgradeServer,
  req: Http2UpgradeRequest,
  validated: ValidatedExtendedConnect,
  protocol: string | undefined,
  deflate: { params: DeflateParams; responseHeader: string } | null,
  decision: Decision | undefined,
  cb: UpgradeCallback,
): void {
  const o = server.options;
  const stream = req.stream;
  const transport = stream as unknown as Socket;
  // The client may have reset the stream while an async hook ran.
  if (stream.destroyed || !stream.writable) {
    server.guard.untrack(transport);
    stream.destroy();
    return;
  }
  if (!server.isAccepting()) return refuseStream(server, req, 503, 'server is closing', retryAfter());
  if (server.registry.size >= o.maxConnections) return refuseStream(server, req, 503, 'too many connections', retryAfter());
  let fields: Record<string, string | number | string[]>;
  try {
    fields = buildExtendedConnectResponse({
      key: validated.key,
      protocol,
      extensions: deflate?.responseHeader,
      headers: decision?.accept === true ? decision.headers : undefined,
    });
  } catch (error) {
    refuseStream(server, req, 500, 'invalid response header');
    if (server.emitter.listenerCount('error') > 0) server.emitter.emit('error', error);
    return;
  }
  server.guard.untrack(transport);
  stream.removeListener('error', ignoreError);
  stream.respond(fields);
  stream.once('finish', onStreamFinished);
  const ws = openServerSocket(server, transport, EMPTY, { protocol, deflate, decision, request: req });
  cb(ws, req as unknown as IncomingMessage);
}
