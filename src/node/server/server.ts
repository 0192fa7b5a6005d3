/**
 * WebSocketServer: a `ws`-compatible server (same options, events and
 * handleUpgrade flow, so apps and engine.io's `wsEngine` can switch by
 * changing an import) with what ws leaves to every app: an async `verify`
 * hook, an Origin allowlist, handshake limits and timeouts, heartbeats,
 * bounded backpressure, graceful shutdown, diagnostics and stats.
 *
 * This file is the server's lifecycle (modes, close, shutdown); the parts:
 *   net.ts                  our own net.Server (`{ port }`): request heads read by the core
 *   http.ts                 attaching to it or to an http(s).Server (`{ server }`)
 *   h2-attach.ts            attaching to an http2 server: extended CONNECT streams (RFC 8441)
 *   h2-upgrade.ts           the opening handshake over HTTP/2, check by check as upgrade.ts
 *   upgrade.ts              the opening handshake, check by check (verify.ts, origin-policy.ts)
 *   handshake-guard.ts      handshake limits and timeouts per pending socket
 *   handshake-reject.ts     HTTP error answers
 *   connection-registry.ts  open sockets, stats, broadcast
 *   shutdown.ts             graceful close
 *   options.ts              the options, their defaults and validation
 */
import { EventEmitter } from 'node:events';
import type http from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Server as NetServer, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { NodeWebSocket } from '../socket/websocket.js';
import type { SendData } from '../socket/send-data.js';
import { resolveServerOptions, type ResolvedServerOptions, type ServerOptions } from './options.js';
import { HandshakeGuard } from './handshake-guard.js';
import type { ServerStats } from '../stats.js';
import { gracefulShutdown, resolveShutdownOptions, type ResolvedShutdownOptions, type ShutdownOptions } from './shutdown.js';
import { ConnectionRegistry, type BroadcastOptions } from './connection-registry.js';
import { attachToHttpServer } from './http.js';
import { createOwnNetServer } from './net.js';
import { useLeanAccept } from './lean-accept.js';
import { handleUpgrade, type UpgradeCallback, type UpgradeServer } from './upgrade.js';
import { answerHeadError, answerPlainRequest, publishRejected } from './handshake-reject.js';
import { TopicFanout, type ServerPublishOptions, type TopicStats } from '../topics/fanout.js';
import type { TopicData } from '../topic-port.js';
import type { Position } from '../topics/backplane.js';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { attachToHttp2Server, isHttp2Server, type Http2Attachment } from './h2-attach.js';
import { cancelStream, handleExtendedConnect, isHttp2Stream } from './h2-upgrade.js';

export type { ServerOptions } from './options.js';
export type { ServerStats } from '../stats.js';
export type { ShutdownOptions } from './shutdown.js';
export type { VerifyHook, VerifyInfo, VerifyResult, VerifyClient } from './verify.js';
export type { BroadcastOptions } from './connection-registry.js';
export type { ServerTopicsOptions, ServerPublishOptions, TopicStats } from '../topics/fanout.js';
export type { Http2UpgradeRequest } from './h2-upgrade.js';

const RUNNING = 0;
const CLOSING = 1;
const CLOSED = 2;

export class WebSocketServer extends EventEmitter {
  /** Resolved options (ws exposes `options` too). */
  readonly options: ResolvedServerOptions;
  readonly #registry = new ConnectionRegistry();
  readonly #guard: HandshakeGuard;
  readonly #upgradeServer: UpgradeServer;
  /** Our own net.Server (`{ port }`) or the app's http(s).Server (`{ server }`). */
  #server: NetServer | undefined;
  readonly #isOwnServer: boolean;
  #removeListeners: (() => void) | undefined;
  /** Set when attached to a node:http2 server. */
  #http2: Http2Attachment | undefined;
  #state = RUNNING;
  #shutdown: Promise<void> | undefined;
  readonly #topics: TopicFanout;
  readonly #emitConnection: UpgradeCallback = (ws, request) => this.emit('connection', ws, request);

  constructor(options: ServerOptions, callback?: () => void) {
    super();
    const o = resolveServerOptions(options);
    this.options = o;
    this.#topics = new TopicFanout(options.topics, o.deflate, {
      onGap: (socket, gap) => {
        socket.emit('gap', gap);
        this.emit('gap', socket, gap);
      },
      onStateChange: (state, cause) => this.emit('backplane', state, cause),
    });
    this.#registry.topics = this.#topics;
    const guard = new HandshakeGuard(o.handshakeTimeoutMs, o.maxPendingHandshakes, (socket) => {
      publishRejected(undefined, socket, 0, 'handshake timeout');
      if (isHttp2Stream(socket)) cancelStream(socket);
      else socket.destroy();
    });
    this.#guard = guard;
    this.#upgradeServer = {
      options: o,
      guard,
      registry: this.#registry,
      emitter: this,
      isAccepting: () => this.#state === RUNNING,
      shouldHandle: (req) => this.shouldHandle(req),
    };
    // One callback per server, not a closure per handshake.
    const emitConnection = this.#emitConnection;
    this.#isOwnServer = o.port !== undefined;
    if (o.port !== undefined) {
      const server = createOwnNetServer(o, {
        onConnection: (socket) => guard.track(socket),
        onHeadError: (socket, status, reason) => answerHeadError(guard, socket, status, reason),
        onPlainRequest: (_req, socket) => answerPlainRequest(guard, socket),
        onUpgrade: (req, socket, head) => this.handleUpgrade(req, socket, head, emitConnection),
      });
      this.#server = server;
      this.#removeListeners = this.#listen(server);
      server.listen(o.port, o.host, o.backlog);
    } else if (o.server !== undefined) {
      this.#server = o.server as http.Server;
      this.#removeListeners = this.#listen(this.#server);
      if (isHttp2Server(o.server)) {
        const removeHttp1 = this.#removeListeners;
        const h2 = attachToHttp2Server(
          o.server,
          (stream, headers, rawHeaders) => {
            handleExtendedConnect(this.#upgradeServer, stream, headers, rawHeaders, (ws, request) => this.emit('connection', ws, request));
          },
          (path) => this.shouldHandle({ url: path } as IncomingMessage),
        );
        this.#http2 = h2;
        this.#removeListeners = () => {
          removeHttp1();
          h2.detach();
        };
      }
      if (o.leanAccept) {
        const removeListeners = this.#removeListeners;
        const restoreAccept = useLeanAccept(o.server);
        this.#removeListeners = () => {
          removeListeners();
          restoreAccept();
        };
      }
    }
    if (callback !== undefined) this.once('listening', callback);
  }

  #listen(server: NetServer): () => void {
    return attachToHttpServer(server, {
      onListening: () => this.emit('listening'),
      onError: (error) => this.emit('error', error),
      onUpgrade: (req, socket, head) => {
        this.handleUpgrade(req, socket, head, this.#emitConnection);
      },
    });
  }

  /** Open sockets (undefined with `clientTracking: false`, as in ws). */
  get clients(): Set<NodeWebSocket> {
    return (this.options.clientTracking ? this.#registry.sockets : undefined) as Set<NodeWebSocket>;
  }

  /** The bound address of the server we created (or of the attached one). */
  address(): ReturnType<NetServer['address']> {
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
    return this.#registry.stats(this.#guard.size);
  }

  /**
   * Sends one message to every open socket, encoding the frame once (never
   * compressed: one encoding must fit every peer). Backpressure policy
   * applies per socket. Returns how many sockets it was handed to.
   */
  broadcast(data: SendData, options: BroadcastOptions = {}): number {
    return this.#registry.broadcast(data, options);
  }

  /**
   * Publishes to every subscriber of `topic` on every server sharing the
   * backplane (this process only by default). Text for a string, binary for
   * bytes. Resolves with the message's `{ offset, epoch }` once stored;
   * rejects with SW_BACKPLANE_QUEUE_FULL rather than drop it while Redis is
   * away. Throws at once for a bad topic or data.
   */
  publish(topic: string, data: TopicData, options?: ServerPublishOptions): Promise<Position> {
    return this.#topics.publishFromServer(topic, data, options);
  }

  /** Sockets of this server subscribed to `topic` (other processes not counted). */
  subscriberCount(topic: string): number {
    return this.#topics.hub.subscriberCount(topic);
  }

  /** Fan-out counters: messages, frames encoded, compressions, deliveries, topics. */
  topicStats(): TopicStats {
    return this.#topics.stats();
  }

  /**
   * ws-compatible upgrade: answers the handshake on `socket` and calls `cb`
   * with the open socket, or writes the HTTP rejection and closes `socket`.
   */
  handleUpgrade(req: IncomingMessage, duplex: Duplex, head: Buffer, cb: UpgradeCallback): void {
    handleUpgrade(this.#upgradeServer, req, duplex as Socket, head, cb);
  }

  /**
   * The handshake of RFC 8441 on one stream of a node:http2 server, for
   * `noServer` mode (with `{ server }` it is called for you): pass a
   * 'stream' event's stream, headers and raw headers. Answers 200 and calls
   * `cb` with the open socket, or answers an error status and ends the
   * stream. The request `cb` gets is an Http2UpgradeRequest. The server must
   * have advertised `settings: { enableConnectProtocol: true }`.
   */
  handleHttp2Stream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, cb: UpgradeCallback, rawHeaders?: string[]): void {
    handleExtendedConnect(this.#upgradeServer, stream, headers, rawHeaders, cb);
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
        // ws emits 'close' again for every later close(), and apps wait for it.
        process.nextTick(() => {
          cb?.(new Error('the server is not running'));
          this.emit('close');
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
        if (this.#isOwnServer || this.#registry.size === 0) this.#finishClose();
        else this.#registry.whenEmpty(() => this.#finishClose());
      });
    });
  }

  async #gracefulClose(options: ResolvedShutdownOptions): Promise<void> {
    const wasClosed = this.#state === CLOSED;
    this.#state = CLOSING;
    const serverClosed = new Promise<void>((resolve) => this.#stopAccepting(resolve));
    this.#guard.destroyAll();
    await gracefulShutdown(this.#registry.sockets, options);
    // HTTP/2: GOAWAY only after the close frames, so the closing handshakes
    // run on streams the peer still reads.
    this.#http2?.closeSessions();
    await serverClosed;
    if (wasClosed) this.#state = CLOSED;
    else this.#finishClose();
  }

  #stopAccepting(done: () => void): void {
    this.#removeListeners?.();
    this.#removeListeners = undefined;
    const server = this.#server;
    if (this.#isOwnServer && server !== undefined && server.listening) {
      // Our server keeps no idle HTTP connections: a plain request is answered and closed.
      server.close(() => done());
    } else {
      process.nextTick(done);
    }
  }

  #finishClose(): void {
    if (this.#state === CLOSED) return;
    this.#state = CLOSED;
    // The backplane goes with the server; a failure to close it is the app's to see, not a reason to hang.
    this.#topics.close().catch((error: unknown) => {
      if (this.listenerCount('error') > 0) this.emit('error', error);
    });
    this.emit('close');
  }
}
