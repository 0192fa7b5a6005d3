/**
 * Refusing an opening handshake: the HTTP answer on the wire (400, 403, 426,
 * 431, 503 ...) and the `handshakeRejected` diagnostics event.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { buildRejectResponse } from '../../core/handshake/rules.js';
import { NODE_DEFAULTS } from '../options.js';
import { channels } from '../diagnostics.js';
import type { HandshakeGuard } from './handshake-guard.js';

export function publishRejected(req: IncomingMessage | undefined, socket: Socket, status: number, reason: string): void {
  if (channels.handshakeRejected.hasSubscribers) {
    channels.handshakeRejected.publish({ request: req, socket, status, reason });
  }
}

/** The header a 503 carries: when the client may try again. */
export function retryAfter(): Record<string, string> {
  return { 'Retry-After': String(NODE_DEFAULTS.retryAfterSeconds) };
}

/** Answers with an HTTP error and closes the socket once the answer is written. */
export function rejectHandshake(
  guard: HandshakeGuard,
  req: IncomingMessage,
  socket: Socket,
  status: number,
  reason: string,
  headers?: Record<string, string>,
  body?: string,
): void {
  publishRejected(req, socket, status, reason);
  guard.untrack(socket);
  if (!canAnswer(socket)) return;
  let response: string;
  try {
    response = buildRejectResponse(status, { headers, body });
  } catch {
    // A verify hook returned an invalid status or header: plain 500.
    response = buildRejectResponse(500);
  }
  answerAndClose(socket, response);
}

/** False (and the socket destroyed) when nothing can be written to it any more. */
function canAnswer(socket: Socket): boolean {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return false;
  }
  return true;
}

/** Writes the HTTP answer and closes the connection once it is out. */
function answerAndClose(socket: Socket, response: string): void {
  socket.end(response);
  // Discard what the client pipelined after its request (early frames):
  // closing with unread input would send an RST that can destroy our
  // answer before the client reads it.
  socket.resume();
  // destroySoon() is net.Socket's; any other Duplex (handleUpgrade takes
  // one) closes once end() has flushed.
  if (typeof socket.destroySoon === 'function') socket.destroySoon();
  else socket.once('finish', () => socket.destroy());
}

/**
 * The request head was refused before it could be examined (400 malformed,
 * 431 over a limit): answer, or just drop a connection that is gone.
 */
export function answerHeadError(guard: HandshakeGuard, socket: Socket, status: number, reason: string): void {
  publishRejected(undefined, socket, status, reason);
  guard.untrack(socket);
  if (reason === 'ECONNRESET') socket.destroy();
  else if (canAnswer(socket)) answerAndClose(socket, buildRejectResponse(status));
}

/**
 * RFC 7231 §6.5.15: a request that asks for no upgrade gets 426 with the
 * protocol to upgrade to; the connection closes after the answer.
 */
export function answerPlainRequest(guard: HandshakeGuard, socket: Socket): void {
  guard.untrack(socket);
  if (canAnswer(socket)) answerAndClose(socket, buildRejectResponse(426, { headers: { Upgrade: 'websocket' } }));
}
