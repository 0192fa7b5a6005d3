/**
 * Listen and attach: the http.Server a `WebSocketServer({ port })` creates
 * (with our handshake limits and timeouts applied to Node's parser), and the
 * listeners that connect any http(s).Server's 'upgrade' to the WebSocket
 * server (`{ port }` and `{ server }` modes).
 */
import http, { type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { buildRejectResponse } from '../core/handshake.js';
import type { ResolvedServerOptions } from './server-options.js';

export interface HttpServerHooks {
  /** A new TCP connection (before its request head arrived). */
  onConnection(socket: Socket): void;
  /** Node's parser refused the head; the status is already chosen. */
  onParserError(socket: Socket, status: number, code: string): void;
}

/** An http.Server that answers plain HTTP requests with 426 and applies our head limits. */
export function createOwnHttpServer(o: ResolvedServerOptions, hooks: HttpServerHooks): http.Server {
  const server = http.createServer(
    {
      maxHeaderSize: o.maxHeaderBytes === Infinity ? undefined : o.maxHeaderBytes,
      // Node checks headersTimeout/requestTimeout on this interval; keep it
      // in proportion to our timeout (Node's default is 30 s).
      connectionsCheckingInterval:
        o.handshakeTimeoutMs === Infinity ? undefined : Math.max(100, Math.min(30_000, Math.floor(o.handshakeTimeoutMs / 4))),
    },
    (req, res) => {
      const body = http.STATUS_CODES[426] as string;
      res.writeHead(426, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
      res.end(body);
    },
  );
  if (o.handshakeTimeoutMs !== Infinity) {
    server.headersTimeout = o.handshakeTimeoutMs;
    server.requestTimeout = o.handshakeTimeoutMs;
  }
  // One over the limit so the excess is visible (Node truncates silently).
  server.maxHeadersCount = o.maxHeaderCount === Infinity ? 0 : o.maxHeaderCount + 1;
  server.on('connection', (socket: Socket) => hooks.onConnection(socket));
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    hooks.onParserError(socket, parserErrorStatus(error), error.code ?? 'malformed request');
  });
  return server;
}

/** Answer like Node would: 431 for an oversized head, 408 for a timeout, 400 otherwise. */
function parserErrorStatus(error: NodeJS.ErrnoException): number {
  return error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
}

/** Writes the answer to a refused request head, or drops a connection that is gone. */
export function answerParserError(socket: Socket, status: number, code: string): void {
  if (socket.writable && !socket.destroyed && code !== 'ECONNRESET') {
    socket.end(buildRejectResponse(status));
    socket.destroySoon();
  } else {
    socket.destroy();
  }
}

export interface AttachedServerEvents {
  onListening(): void;
  onError(error: Error): void;
  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/** Subscribes to `server`; returns the function that unsubscribes again. */
export function attachToHttpServer(server: http.Server, events: AttachedServerEvents): () => void {
  const onListening = (): void => events.onListening();
  const onError = (error: Error): void => events.onError(error);
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => events.onUpgrade(req, socket, head);
  server.on('listening', onListening);
  server.on('error', onError);
  server.on('upgrade', onUpgrade);
  return () => {
    server.removeListener('listening', onListening);
    server.removeListener('error', onError);
    server.removeListener('upgrade', onUpgrade);
  };
}
