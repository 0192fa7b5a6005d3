/**
 * The server side of the opening handshake (RFC 6455 §4.2) for one
 * WebSocketServer: limits, validation, Origin, hooks, subprotocol and
 * permessage-deflate, then the 101 and a socket attached to the transport.
 *
 * Order (first failing check answers):
 *   server closing / over maxPendingHandshakes -> 503 + Retry-After
 *   head over maxHeaderBytes / maxHeaderCount  -> 431
 *   path (shouldHandle)                        -> 400
 *   RFC 6455 §4.2.1 validation                 -> 400 / 405 + Allow / 426 + Sec-WebSocket-Version
 *   over maxConnections                        -> 503 + Retry-After
 *   Origin not allowed                         -> 403
 *   verifyClient, then verify                  -> their status (default 401)
 * then subprotocol (handleProtocols / verify), permessage-deflate, 101.
 */
import type { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { HandshakeError } from '../../core/errors.js';
import { buildAcceptResponse, validateUpgradeRequest, type ValidatedUpgrade } from '../../core/handshake/rules.js';
import { negotiateServer, type DeflateParams } from '../../core/deflate/index.js';
import type { NodeWebSocket } from '../socket/websocket.js';
import { ignoreTransportError, isAttached } from '../socket/transport.js';
import { hasListener } from '../socket/node-internals.js';
import { openServerSocket } from './open-socket.js';
import type { ResolvedServerOptions } from './options.js';
import { isOriginAllowed } from './origin-policy.js';
import { runVerify, runVerifyClient, type Decision } from './verify.js';
import type { HandshakeGuard } from './handshake-guard.js';
import type { ConnectionRegistry } from './connection-registry.js';
import { publishRejected, rejectHandshake, retryAfter } from './handshake-reject.js';
import { toWsRequestError } from '../socket/ws-errors.js';

export type UpgradeCallback = (socket: NodeWebSocket, request: IncomingMessage) => void;

/** What the handshake needs from its server. */
export interface UpgradeServer {
  readonly options: ResolvedServerOptions;
  readonly guard: HandshakeGuard;
  readonly registry: ConnectionRegistry;
  /** The WebSocketServer: 'wsClientError', 'headers' and 'error' go to its listeners. */
  readonly emitter: EventEmitter;
  /** False once close() began: new handshakes get 503. */
  isAccepting(): boolean;
  shouldHandle(req: IncomingMessage): boolean;
}

type Deflate = { params: DeflateParams; responseHeader: string } | null;


/** RFC 7230 §3.2: bytes of the head as received (name: value CRLF per line). */
function headBytes(req: IncomingMessage): number {
  let total = (req.method?.length ?? 0) + (req.url?.length ?? 0) + 14;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i++) total += raw[i].length + 2;
  return total;
}

/**
 * ws-compatible upgrade: answers the handshake on `socket` and calls `cb`
 * with the open socket, or writes the HTTP rejection and closes `socket`.
 */
export function handleUpgrade(server: UpgradeServer, req: IncomingMessage, duplex: Duplex, head: Buffer, cb: UpgradeCallback): void {
  const socket = duplex as Socket;
  if (isAttached(socket)) throw new Error('handleUpgrade() was called more than once with the same socket');
  // During the handshake a reset socket simply goes away ('close' cleans up);
  // the same no-op stays as the open socket's (transport.ts).
  if (!hasListener(socket, 'error', ignoreTransportError)) socket.on('error', ignoreTransportError);
  const o = server.options;
  const guard = server.guard;
  const pending = guard.track(socket);
  if (!server.isAccepting()) return rejectHandshake(guard, req, socket, 503, 'server is closing', retryAfter());
  if (pending.isOverCapacity) return rejectHandshake(guard, req, socket, 503, 'too many pending handshakes', retryAfter());
  if (req.rawHeaders.length / 2 > o.maxHeaderCount) return rejectHandshake(guard, req, socket, 431, 'too many header lines');
  if (o.maxHeaderBytes !== Infinity && headBytes(req) > o.maxHeaderBytes) {
    return rejectHandshake(guard, req, socket, 431, 'request head too large');
  }
  if (!server.shouldHandle(req)) return rejectHandshake(guard, req, socket, 400, 'unexpected path');
  let validated: ValidatedUpgrade;
  try {
    validated = validateUpgradeRequest(req);
  } catch (thrown) {
    if (!(thrown instanceof HandshakeError)) throw thrown;
    // A 'sockwave/ws' server answers with ws's texts, in the body too.
    const error = o.isWsFlavour ? toWsRequestError(thrown, req.headers['sec-websocket-key']) : thrown;
    if (server.emitter.listenerCount('wsClientError') > 0) {
      // ws semantics: a listener takes over answering (and closing) the socket.
      publishRejected(req, socket, error.status, error.message);
      server.emitter.emit('wsClientError', error, socket, req);
      return;
    }
    return rejectHandshake(guard, req, socket, error.status, error.message, { ...error.headers }, o.isWsFlavour ? error.message : undefined);
  }
  if (server.registry.size >= o.maxConnections) return rejectHandshake(guard, req, socket, 503, 'too many connections', retryAfter());
  if (o.origins !== undefined && !isOriginAllowed(o.origins, validated.origin)) {
    return rejectHandshake(guard, req, socket, 403, 'origin not allowed');
  }
  let protocol: string | undefined;
  if (o.handleProtocols !== undefined && validated.protocols.length > 0) {
    const chosen = o.handleProtocols(new Set(validated.protocols), req);
    if (typeof chosen === 'string' && chosen !== '') {
      if (!validated.protocols.includes(chosen)) {
        return rejectHandshake(guard, req, socket, 500, 'handleProtocols chose a subprotocol the client did not offer');
      }
      protocol = chosen;
    }
  }
  const deflate = o.deflate !== undefined ? negotiateServer(validated.extensions, o.deflate) : null;
  if (o.verifyClient === undefined && o.verify === undefined) {
    accept(server, req, socket, head, validated, protocol, deflate, undefined, cb);
    return;
  }
  runHooks(o, req, socket, validated).then(
    (decision) => {
      if (!decision.accept) {
        return rejectHandshake(guard, req, socket, decision.status, 'rejected by verify', decision.headers, decision.body);
      }
      if (decision.protocol !== undefined) {
        if (!validated.protocols.includes(decision.protocol)) {
          return rejectHandshake(guard, req, socket, 500, 'verify chose a subprotocol the client did not offer');
        }
        protocol = decision.protocol;
      }
      accept(server, req, socket, head, validated, protocol, deflate, decision, cb);
    },
    (error: unknown) => {
      // A throwing hook is the app's bug: the client sees a bare 500, the
      // app sees the error on the server (when it listens).
      rejectHandshake(guard, req, socket, 500, 'verify hook failed');
      if (server.emitter.listenerCount('error') > 0) server.emitter.emit('error', error);
    },
  );
}

async function runHooks(o: ResolvedServerOptions, req: IncomingMessage, socket: Socket, validated: ValidatedUpgrade): Promise<Decision> {
  const isSecure = (socket as Socket & { encrypted?: boolean }).encrypted === true;
  if (o.verifyClient !== undefined) {
    const decision = await runVerifyClient(o.verifyClient, { origin: validated.origin, secure: isSecure, req });
    if (!decision.accept || o.verify === undefined) return decision;
  }
  return runVerify(o.verify as NonNullable<typeof o.verify>, {
    request: req,
    origin: validated.origin,
    protocols: validated.protocols,
    isSecure,
  });
}

function accept(
  server: UpgradeServer,
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
  validated: ValidatedUpgrade,
  protocol: string | undefined,
  deflate: Deflate,
  decision: Decision | undefined,
  cb: UpgradeCallback,
): void {
  const o = server.options;
  const guard = server.guard;
  // The client may have given up while an async hook ran: gone, or
  // half-closed (its FIN arrived: it will never read our frames' answers).
  if (socket.destroyed || !socket.writable || !socket.readable) {
    guard.untrack(socket);
    socket.destroy();
    return;
  }
  if (!server.isAccepting()) return rejectHandshake(guard, req, socket, 503, 'server is closing', retryAfter());
  if (server.registry.size >= o.maxConnections) return rejectHandshake(guard, req, socket, 503, 'too many connections', retryAfter());
  const headers = decision?.accept === true ? decision.headers : undefined;
  let response: string;
  try {
    response = buildAcceptResponse({ key: validated.key, protocol, extensions: deflate?.responseHeader, headers });
  } catch (error) {
    rejectHandshake(guard, req, socket, 500, 'invalid response header');
    if (server.emitter.listenerCount('error') > 0) server.emitter.emit('error', error);
    return;
  }
  if (server.emitter.listenerCount('headers') > 0) {
    // ws lets listeners edit the header lines of the 101 in place.
    const lines = response.slice(0, -4).split('\r\n');
    server.emitter.emit('headers', lines, req);
    response = `${lines.join('\r\n')}\r\n\r\n`;
  }
  guard.untrack(socket);
  socket.write(response);
  const ws = openServerSocket(server, socket, head, { protocol, deflate, decision, request: req });
  cb(ws, req);
}
