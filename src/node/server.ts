/**
 * WebSocketServer: a `ws`-compatible server (same options, events and
 * handleUpgrade flow, so apps and engine.io's `wsEngine` can switch by
 * changing an import) with what ws leaves to every app: an async `verify`
 * hook, an Origin allowlist, handshake limits and timeouts, heartbeats,
 * bounded backpressure, graceful shutdown, diagnostics and stats.
 *
 * Handshake order (first failing check answers):
 *   server closing / over maxPendingHandshakes -> 503 + Retry-After
 *   head over maxHeaderBytes / maxHeaderCount  -> 431
 *   path (shouldHandle)                        -> 400
 *   RFC 6455 §4.2.1 validation                 -> 400 / 426 + Sec-WebSocket-Version
 *   over maxConnections                        -> 503 + Retry-After
 *   Origin not allowed                         -> 403
 *   verifyClient, then verify                  -> their status (default 401)
 * then subprotocol (handleProtocols / verify), permessage-deflate, 101.
 */
import { EventEmitter } from 'node:events';
import http, { type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { HandshakeError } from '../core/errors.js';
import { buildAcceptResponse, buildRejectResponse, validateUpgradeRequest, type ValidatedUpgrade } from '../core/handshake.js';
import { negotiateServer, type DeflateParams } from '../core/deflate-params.js';
import { encodeFrame, Opcode } from '../core/frame.js';
import { ReadyState } from '../core/events.js';
import { createDeflateCompressor } from './deflate.js';
import { attachSocket, isAttached, sendPreparedFrame, WebSocket } from './socket.js';
import { isBinaryMessage, toPayload, type SendData } from './send-data.js';
import { resolveServerOptions, SERVER_DEFAULTS, type ResolvedServerOptions, type ServerOptions } from './server-options.js';
import { isOriginAllowed } from './origin-policy.js';
import { runVerify, runVerifyClient, type Decision } from './verify.js';
import { HandshakeGuard } from './handshake-guard.js';
import { TrafficCounters, type ServerStats } from './stats.js';
import { channels } from './diagnostics.js';
import { gracefulShutdown, resolveShutdownOptions, type ResolvedShutdownOptions, type ShutdownOptions } from './shutdown.js';

export type { ServerOptions } from './server-options.js';
export type { ServerStats } from './stats.js';
export type { ShutdownOptions } from './shutdown.js';
export type { VerifyHook, VerifyInfo, VerifyResult, VerifyClient } from './verify.js';

const RUNNING = 0;
const CLOSING = 1;
const CLOSED = 2;

export interface BroadcastOptions {
  /** Binary frame (default: false for strings, true otherwise). */
  binary?: boolean;
  /** Skip this socket (typically the sender). */
  except?: WebSocket;
  /** Send only to sockets for which this returns true. */
  filter?: (socket: WebSocket) => boolean;
}

type UpgradeCallback = (socket: WebSocket, request: IncomingMessage) => void;

function ignoreError(): void {
  // During the handshake a reset socket simply goes away ('close' cleans up).
}

/** RFC 7230 §3.2: bytes of the head as received (name: value CRLF per line). */
function headBytes(req: IncomingMessage): number {
  let total = (req.method?.length ?? 0) + (req.url?.length ?? 0) + 14;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i++) total += raw[i].length + 2;
  return total;
}

export class WebSocketServer extends EventEmitter {
  /** Resolved options (ws exposes `options` too). */
  readonly options: ResolvedServerOptions;
  readonly #sockets = new Set<WebSocket>();
  readonly #counters = new TrafficCounters();
  readonly #guard: HandshakeGuard;
  #server: http.Server | undefined;
  readonly #isOwnServer: boolean;
  #removeListeners: (() => void) | undefined;
  #state = RUNNING;
  #shutdown: Promise<void> | undefined;
  #emitCloseWhenEmpty = false;

  constructor(options: ServerOptions, callback?: () => void) {
    super();
    const o = resolveServerOptions(options);
    this.options = o;
    this.#guard = new HandshakeGuard(o.handshakeTimeoutMs, o.maxPendingHandshakes, (socket) => {
      this.#publishRejected(undefined, socket, 0, 'handshake timeout');
      socket.destroy();
    });
    this.#isOwnServer = o.port !== undefined;
    if (o.port !== undefined) {
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
      server.on('connection', (socket: Socket) => this.#guard.track(socket));
      server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => this.#onClientError(error, socket));
      this.#server = server;
      this.#removeListeners = this.#listen(server);
      server.listen(o.port, o.host, o.backlog);
    } else if (o.server !== undefined) {
      this.#server = o.server as http.Server;
      this.#removeListeners = this.#listen(this.#server);
    }
    if (callback !== undefined) this.once('listening', callback);
  }

  #listen(server: http.Server): () => void {
    const onListening = (): void => {
      this.emit('listening');
    };
    const onError = (error: Error): void => {
      this.emit('error', error);
    };
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      this.handleUpgrade(req, socket, head, (ws, request) => this.emit('connection', ws, request));
    };
    server.on('listening', onListening);
    server.on('error', onError);
    server.on('upgrade', onUpgrade);
    return () => {
      server.removeListener('listening', onListening);
      server.removeListener('error', onError);
      server.removeListener('upgrade', onUpgrade);
    };
  }

  /**
   * Node's HTTP parser refused the request head (our server only): answer
   * like Node would (431 for an oversized head, 408 for a timeout, 400
   * otherwise) and report it on the diagnostics channel.
   */
  #onClientError(error: NodeJS.ErrnoException, socket: Socket): void {
    const status =
      error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    this.#publishRejected(undefined, socket, status, error.code ?? 'malformed request');
    this.#guard.untrack(socket);
    if (socket.writable && !socket.destroyed && error.code !== 'ECONNRESET') {
      socket.end(buildRejectResponse(status));
      socket.destroySoon();
    } else {
      socket.destroy();
    }
  }

  /** Open sockets (undefined with `clientTracking: false`, as in ws). */
  get clients(): Set<WebSocket> {
    return (this.options.clientTracking ? this.#sockets : undefined) as Set<WebSocket>;
  }

  /** The bound address of the server we created (or of the attached one). */
  address(): ReturnType<http.Server['address']> {
    if (this.options.noServer) throw new Error('the server is operating in "noServer" mode');
    return this.#server?.address() ?? null;
  }

  /** ws-compatible: true when `req` is for this server (path match). */
  shouldHandle(req: IncomingMessage): boolean {
    const path = this.options.path;
    if (path === undefined) return true;
    const url = req.url ?? '';
    const index = url.indexOf('?');
    return (index === -1 ? url : url.slice(0, index)) === path;
  }

  /** Snapshot of connections, traffic and queues. */
  stats(): ServerStats {
    let queuedBytes = 0;
    for (const ws of this.#sockets) queuedBytes += ws.bufferedAmount;
    const c = this.#counters;
    return {
      connections: this.#sockets.size,
      pendingHandshakes: this.#guard.size,
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      messagesIn: c.messagesIn,
      messagesOut: c.messagesOut,
      queuedBytes,
    };
  }

  /**
   * Sends one message to every open socket, encoding the frame once (never
   * compressed: one encoding must fit every peer). Backpressure policy
   * applies per socket. Returns how many sockets it was handed to.
   */
  broadcast(data: SendData, options: BroadcastOptions = {}): number {
    const payload = toPayload(data);
    const isBinary = isBinaryMessage(data, options.binary);
    const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const frame = encodeFrame(isBinary ? Opcode.BINARY : Opcode.TEXT, body);
    const { except, filter } = options;
    let count = 0;
    for (const ws of this.#sockets) {
      if (ws === except || ws.readyState !== ReadyState.OPEN) continue;
      if (filter !== undefined && !filter(ws)) continue;
      sendPreparedFrame(ws, frame, body, isBinary);
      count++;
    }
    return count;
  }

  /**
   * ws-compatible upgrade: answers the handshake on `socket` and calls `cb`
   * with the open socket, or writes the HTTP rejection and closes `socket`.
   */
  handleUpgrade(req: IncomingMessage, duplex: Duplex, head: Buffer, cb: UpgradeCallback): void {
    const socket = duplex as Socket;
    if (isAttached(socket)) throw new Error('handleUpgrade() was called more than once with the same socket');
    socket.on('error', ignoreError);
    const o = this.options;
    const pending = this.#guard.track(socket);
    if (this.#state !== RUNNING) return this.#reject(req, socket, 503, 'server is closing', this.#retryAfter());
    if (pending.isOverCapacity) return this.#reject(req, socket, 503, 'too many pending handshakes', this.#retryAfter());
    if (req.rawHeaders.length / 2 > o.maxHeaderCount) return this.#reject(req, socket, 431, 'too many header lines');
    if (o.maxHeaderBytes !== Infinity && headBytes(req) > o.maxHeaderBytes) return this.#reject(req, socket, 431, 'request head too large');
    if (!this.shouldHandle(req)) return this.#reject(req, socket, 400, 'unexpected path');
    let validated: ValidatedUpgrade;
    try {
      validated = validateUpgradeRequest(req);
    } catch (error) {
      if (!(error instanceof HandshakeError)) throw error;
      if (this.listenerCount('wsClientError') > 0) {
        // ws semantics: a listener takes over answering (and closing) the socket.
        this.#publishRejected(req, socket, error.status, error.message);
        this.emit('wsClientError', error, socket, req);
        return;
      }
      return this.#reject(req, socket, error.status, error.message, { ...error.headers });
    }
    if (this.#sockets.size >= o.maxConnections) return this.#reject(req, socket, 503, 'too many connections', this.#retryAfter());
    if (o.origins !== undefined && !isOriginAllowed(o.origins, validated.origin)) {
      return this.#reject(req, socket, 403, 'origin not allowed');
    }
    let protocol: string | undefined;
    if (o.handleProtocols !== undefined && validated.protocols.length > 0) {
      const chosen = o.handleProtocols(new Set(validated.protocols), req);
      if (typeof chosen === 'string' && chosen !== '') {
        if (!validated.protocols.includes(chosen)) {
          return this.#reject(req, socket, 500, 'handleProtocols chose a subprotocol the client did not offer');
        }
        protocol = chosen;
      }
    }
    const deflate = o.deflate !== undefined ? negotiateServer(validated.extensions, o.deflate) : null;
    if (o.verifyClient === undefined && o.verify === undefined) {
      this.#accept(req, socket, head, validated, protocol, deflate, undefined, cb);
      return;
    }
    this.#runHooks(req, socket, validated).then(
      (decision) => {
        if (!decision.accept) {
          return this.#reject(req, socket, decision.status, 'rejected by verify', decision.headers, decision.body);
        }
        if (decision.protocol !== undefined) {
          if (!validated.protocols.includes(decision.protocol)) {
            return this.#reject(req, socket, 500, 'verify chose a subprotocol the client did not offer');
          }
          protocol = decision.protocol;
        }
        this.#accept(req, socket, head, validated, protocol, deflate, decision, cb);
      },
      (error: unknown) => {
        // A throwing hook is the app's bug: the client sees a bare 500, the
        // app sees the error on the server (when it listens).
        this.#reject(req, socket, 500, 'verify hook failed');
        if (this.listenerCount('error') > 0) this.emit('error', error);
      },
    );
  }

  async #runHooks(req: IncomingMessage, socket: Socket, validated: ValidatedUpgrade): Promise<Decision> {
    const isSecure = (socket as Socket & { encrypted?: boolean }).encrypted === true;
    const o = this.options;
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

  #accept(
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
    validated: ValidatedUpgrade,
    protocol: string | undefined,
    deflate: { params: DeflateParams; responseHeader: string } | null,
    decision: Decision | undefined,
    cb: UpgradeCallback,
  ): void {
    const o = this.options;
    // The client may have given up while an async hook ran.
    if (socket.destroyed || !socket.writable) {
      this.#guard.untrack(socket);
      socket.destroy();
      return;
    }
    if (this.#state !== RUNNING) return this.#reject(req, socket, 503, 'server is closing', this.#retryAfter());
    if (this.#sockets.size >= o.maxConnections) return this.#reject(req, socket, 503, 'too many connections', this.#retryAfter());
    const headers = decision?.accept === true ? decision.headers : undefined;
    let response: string;
    try {
      response = buildAcceptResponse({ key: validated.key, protocol, extensions: deflate?.responseHeader, headers });
    } catch (error) {
      this.#reject(req, socket, 500, 'invalid response header');
      if (this.listenerCount('error') > 0) this.emit('error', error);
      return;
    }
    if (this.listenerCount('headers') > 0) {
      // ws lets listeners edit the header lines of the 101 in place.
      const lines = response.slice(0, -4).split('\r\n');
      this.emit('headers', lines, req);
      response = `${lines.join('\r\n')}\r\n\r\n`;
    }
    const compressor = deflate !== null ? createDeflateCompressor(deflate.params, 'server', o.deflate ?? {}) : undefined;
    this.#guard.untrack(socket);
    socket.removeListener('error', ignoreError);
    socket.write(response);
    const ws = new WebSocket(null);
    if (decision?.accept === true && decision.data !== undefined) ws.data = decision.data;
    attachSocket(ws, socket, head, {
      role: 'server',
      protocol,
      extensions: deflate?.responseHeader,
      compressor,
      compressThresholdBytes: o.deflate?.threshold,
      maxMessageBytes: o.maxMessageBytes,
      maxFragments: o.maxFragments,
      closeTimeoutMs: o.closeTimeoutMs,
      highWaterMarkBytes: o.highWaterMarkBytes,
      backpressurePolicy: o.backpressurePolicy,
      heartbeat: o.heartbeat,
      idleTimeoutMs: o.idleTimeoutMs,
      counters: this.#counters,
      onClose: this.#onSocketClose,
    });
    this.#sockets.add(ws);
    if (channels.connectionOpen.hasSubscribers) {
      channels.connectionOpen.publish({ socket: ws, request: req, protocol: ws.protocol, extensions: ws.extensions });
    }
    cb(ws, req);
  }

  readonly #onSocketClose = (ws: WebSocket): void => {
    this.#sockets.delete(ws);
    if (this.#emitCloseWhenEmpty && this.#sockets.size === 0) {
      this.#emitCloseWhenEmpty = false;
      this.#finishClose();
    }
  };

  #retryAfter(): Record<string, string> {
    return { 'Retry-After': String(SERVER_DEFAULTS.retryAfterSeconds) };
  }

  #publishRejected(req: IncomingMessage | undefined, socket: Socket, status: number, reason: string): void {
    if (channels.handshakeRejected.hasSubscribers) {
      channels.handshakeRejected.publish({ request: req, socket, status, reason });
    }
  }

  /** Answers with an HTTP error and closes the socket once the answer is written. */
  #reject(
    req: IncomingMessage,
    socket: Socket,
    status: number,
    reason: string,
    headers?: Record<string, string>,
    body?: string,
  ): void {
    this.#publishRejected(req, socket, status, reason);
    this.#guard.untrack(socket);
    if (socket.destroyed || !socket.writable) {
      socket.destroy();
      return;
    }
    let response: string;
    try {
      response = buildRejectResponse(status, { headers, body });
    } catch {
      // A verify hook returned an invalid status or header: plain 500.
      response = buildRejectResponse(500);
    }
    socket.end(response);
    // Discard what the client pipelined after its request (early frames):
    // closing with unread input would send an RST that can destroy our
    // answer before the client reads it.
    socket.resume();
    socket.destroySoon();
  }

  /**
   * `close(cb?)` (ws semantics): stop accepting; 'close' (and `cb`) once the
   * server we created has closed, which happens after every connection
   * ended; open WebSockets are left alone.
   * `close({ code, reason, timeoutMs })`: graceful shutdown, see shutdown.ts.
   * Both return a Promise that resolves when the server emitted 'close'.
   */
  close(arg?: ((error?: Error) => void) | ShutdownOptions): Promise<void> {
    if (typeof arg === 'object' && arg !== null) {
      if (this.#shutdown === undefined) {
        let resolved: ResolvedShutdownOptions;
        try {
          resolved = resolveShutdownOptions(arg);
        } catch (error) {
          return Promise.reject(error);
        }
        this.#shutdown = this.#gracefulClose(resolved);
      }
      return this.#shutdown;
    }
    const cb = typeof arg === 'function' ? arg : undefined;
    return new Promise<void>((resolve) => {
      if (this.#state === CLOSED) {
        process.nextTick(() => {
          cb?.(new Error('the server is not running'));
          resolve();
        });
        return;
      }
      this.once('close', () => {
        cb?.();
        resolve();
      });
      if (this.#state === CLOSING) return;
      this.#state = CLOSING;
      this.#stopAccepting(() => {
        if (this.#isOwnServer || this.#sockets.size === 0) this.#finishClose();
        else this.#emitCloseWhenEmpty = true;
      });
    });
  }

  async #gracefulClose(options: ResolvedShutdownOptions): Promise<void> {
    const wasClosed = this.#state === CLOSED;
    this.#state = CLOSING;
    const serverClosed = new Promise<void>((resolve) => this.#stopAccepting(resolve));
    this.#guard.destroyAll();
    await gracefulShutdown(this.#sockets, options);
    // Upgraded sockets are gone; idle keep-alive HTTP connections would still
    // hold the server open.
    if (this.#isOwnServer) (this.#server as http.Server).closeAllConnections();
    await serverClosed;
    if (wasClosed) this.#state = CLOSED;
    else this.#finishClose();
  }

  #stopAccepting(done: () => void): void {
    this.#removeListeners?.();
    this.#removeListeners = undefined;
    const server = this.#server;
    if (this.#isOwnServer && server !== undefined && server.listening) {
      server.close(() => done());
      server.closeIdleConnections();
    } else {
      process.nextTick(done);
    }
  }

  #finishClose(): void {
    if (this.#state === CLOSED) return;
    this.#state = CLOSED;
    this.emit('close');
  }
}
