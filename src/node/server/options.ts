/**
 * WebSocketServer options: the ws-compatible ones plus sockwave's limits,
 * hooks and operations settings. Validated once, at construction.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Http2SecureServer, Http2Server } from 'node:http2';
import { rejectUnknownOptions, validateLimit } from '../../core/options.js';
import { resolveDeflateOptions, type PerMessageDeflateOptions, type ResolvedDeflateOptions } from '../../core/deflate/index.js';
import type { BackpressurePolicy } from '../backpressure.js';
import type { HeartbeatOptions } from '../heartbeat.js';
import { NODE_DEFAULTS, resolveConnectionLimits, resolveLiveness, type ConnectionLimitOptions, type ResolvedConnectionLimits } from '../options.js';
import { createOriginPolicy, type OriginPolicy, type OriginRule } from './origin-policy.js';
import type { VerifyClient, VerifyHook } from './verify.js';
import type { ServerTopicsOptions } from '../topics/fanout.js';
import { NodeWebSocket } from '../socket/websocket.js';
import { kWsFlavour } from '../socket/state.js';

/** The server's options; the limits it shares with the client (and their defaults) are ConnectionLimitOptions in node/options.ts. */
export interface ServerOptions extends ConnectionLimitOptions {
  // --- ws-compatible --------------------------------------------------------
  /** Create an HTTP server listening on this port (0 = any free port). A decimal string (`process.env.PORT`) is accepted, as ws does. */
  port?: number | string;
  /** Host to listen on with `port`. Default: all interfaces (Node's default). */
  host?: string;
  /** listen() backlog with `port`. */
  backlog?: number;
  /**
   * Attach to an existing http/https server (its 'upgrade' event), or to a
   * node:http2 server: then WebSockets also run over HTTP/2 (RFC 8441,
   * extended CONNECT on 'stream', advertised on sessions that start after
   * attaching), and over HTTP/1.1 too with `allowHTTP1`.
   */
  server?: HttpServer | HttpsServer | Http2SecureServer | Http2Server;
  /** Create no server: call `handleUpgrade()` yourself. */
  noServer?: boolean;
  /** Accept only this request path (query string ignored); others get 400. */
  path?: string;
  /** Keep open sockets in `clients` (default true). */
  clientTracking?: boolean;
  /**
   * Picks the subprotocol from the client's offer. Returns the chosen value
   * or false for none. Default: NO subprotocol is selected (ws selects the
   * first offered one; silently agreeing to a protocol the app does not
   * speak is a bug source, so sockwave requires an explicit choice).
   */
  handleProtocols?: (protocols: Set<string>, request: IncomingMessage) => string | false | undefined;
  /** ws-style hook, sync `(info) => boolean` or async `(info, cb) => void`. */
  verifyClient?: VerifyClient;
  /** Enable permessage-deflate (RFC 7692). Default false (compression costs CPU and memory per socket). */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** ws name for maxMessageBytes. */
  maxPayload?: number;
  /** False: pings are not answered automatically; the app calls `pong()` in its 'ping' listener. Default true. */
  autoPong?: boolean;
  /**
   * The class of the sockets handed to 'connection': a subclass of this
   * package's WebSocket (ws's option of the same name). It is constructed
   * with `null` as its only argument.
   */
  WebSocket?: new (address: null) => NodeWebSocket;
  // --- sockwave hooks --------------------------------------------------------
  /** Async accept/reject hook; accepted user data lands in `socket.data`. */
  verify?: VerifyHook;
  /** Allowed Origin values: exact strings (case-insensitive) and RegExps. Mismatch: 403. Default: no check. */
  allowedOrigins?: OriginRule[];
  /** With allowedOrigins: accept requests without an Origin header (non-browser clients). Default true. */
  allowMissingOrigin?: boolean;
  // --- limits ----------------------------------------------------------------
  // maxMessageBytes, maxFragments, closeTimeoutMs, handshakeTimeoutMs,
  // maxHeaderBytes, maxHeaderCount: ConnectionLimitOptions. The defaults of
  // the ones below, and why they are safe: NODE_DEFAULTS (node/options.ts).
  /** Close with 1001 after this long without data messages, ms. Default Infinity (off). */
  idleTimeoutMs?: number;
  /** Concurrent handshakes. Default 1024. Over it: 503 with Retry-After. */
  maxPendingHandshakes?: number;
  /** Open connections. Default Infinity. Over it: 503 with Retry-After. */
  maxConnections?: number;
  /** Server heartbeat (ping silent peers, terminate dead ones). Default { intervalMs: 30000, timeoutMs: 10000 }; false disables. */
  heartbeat?: Partial<HeartbeatOptions> | false;
  /** Per-socket send queue bound in bytes. Default 16 MiB. */
  highWaterMarkBytes?: number;
  /** What send() does above highWaterMarkBytes: 'queue' (default), 'drop' (emits 'dropped'), 'close' (1008). */
  backpressurePolicy?: BackpressurePolicy;
  /** Topics (socket.subscribe, server.publish): the backplane and fan-out options. Default: one process, no Redis. */
  topics?: ServerTopicsOptions;
  // --- memory ----------------------------------------------------------------
  /**
   * Large messages cost no copy and no fresh memory from the kernel: from its
   * first large payload (16 KiB+ still to come), a plain TCP socket reads
   * payloads straight into the buffers the application gets, and everything
   * else into one reused 64 KiB buffer (per process); the first such socket in
   * the process also raises glibc's mmap threshold so freed message buffers
   * are reused (process-wide, one-way). Uses Node internals and falls back to
   * Node's normal reads when they are missing; never applies to TLS.
   * Default false: see docs/api.md "Large messages and memory" for the
   * measurements, the memory trade-off and when to turn it on.
   */
  ownReadBuffers?: boolean;
  /**
   * Accept connections with a copy of Node's `onconnection` that spares
   * V8 three new hidden classes per connection (node/server/lean-accept.ts),
   * on the standalone server and on the server given as `server` (all its
   * connections, plain HTTP too, until the last WebSocketServer on it
   * closes). Only on a Node whose own `onconnection` it was checked
   * against; false keeps Node's. Default true.
   */
  leanAccept?: boolean;
}

export interface ResolvedServerOptions extends ResolvedConnectionLimits {
  port: number | undefined;
  host: string | undefined;
  backlog: number | undefined;
  server: HttpServer | HttpsServer | Http2SecureServer | Http2Server | undefined;
  noServer: boolean;
  path: string | undefined;
  clientTracking: boolean;
  handleProtocols: ServerOptions['handleProtocols'];
  verifyClient: VerifyClient | undefined;
  verify: VerifyHook | undefined;
  deflate: ResolvedDeflateOptions | undefined;
  origins: OriginPolicy | undefined;
  idleTimeoutMs: number;
  maxPendingHandshakes: number;
  maxConnections: number;
  heartbeat: HeartbeatOptions | false;
  highWaterMarkBytes: number;
  backpressurePolicy: BackpressurePolicy;
  ownReadBuffers: boolean;
  leanAccept: boolean;
  autoPong: boolean;
  socketClass: new (address: null) => NodeWebSocket;
  /** The socket class is sockwave/ws's (or a subclass): refusals use ws's texts. */
  isWsFlavour: boolean;
}

/**
 * ws server options that sockwave accepts without acting on them (the
 * server is the same class on 'sockwave' and 'sockwave/ws'), each a
 * deliberate difference listed in docs/migrating-from-ws.md. `closeTimeout`
 * is ws's name for closeTimeoutMs and is honoured (so are `autoPong` and
 * `WebSocket`, declared in ServerOptions).
 */
const WS_SERVER_NAMES = ['allowSynchronousEvents', 'skipUTF8Validation', 'maxBufferedChunks', 'closeTimeout', 'autoPong', 'WebSocket'];

/** Every ServerOptions name; anything else is a mistake (issue #12) and throws, naming the closest one. */
const SERVER_OPTION_NAMES = [
  'port', 'host', 'backlog', 'server', 'noServer', 'path', 'clientTracking', 'handleProtocols', 'verifyClient',
  'perMessageDeflate', 'maxPayload', 'verify', 'allowedOrigins', 'allowMissingOrigin', 'idleTimeoutMs',
  'maxPendingHandshakes', 'maxConnections', 'heartbeat', 'topics', 'highWaterMarkBytes', 'backpressurePolicy',
  'maxMessageBytes', 'maxFragments', 'closeTimeoutMs', 'handshakeTimeoutMs', 'maxHeaderBytes', 'maxHeaderCount',
  'ownReadBuffers', 'leanAccept', ...WS_SERVER_NAMES,
];

const SERVER_HINTS: Record<string, string> = {
  maxPayloadBytes: 'maxMessageBytes',
  allowedOrigin: 'allowedOrigins',
  origins: 'allowedOrigins',
  keepalive: 'heartbeat (the server\'s keepalive)',
};

function optionalFunction<T>(name: string, value: unknown): T | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'function') throw new TypeError(`option ${name} must be a function`);
  return value as T;
}

export function resolveServerOptions(o: ServerOptions): ResolvedServerOptions {
  if (typeof o !== 'object' || o === null) throw new TypeError('WebSocketServer options must be an object');
  rejectUnknownOptions(o, SERVER_OPTION_NAMES, '', SERVER_HINTS);
  // ws hands `port` to server.listen(), which takes a decimal string too (process.env.PORT).
  const port = typeof o.port === 'string' && /^\d{1,5}$/.test(o.port) ? Number(o.port) : o.port;
  const modes = (port !== undefined && port !== null ? 1 : 0) + (o.server ? 1 : 0) + (o.noServer ? 1 : 0);
  if (modes !== 1) {
    throw new TypeError('exactly one of the "port", "server" or "noServer" options must be given');
  }
  if (port !== undefined && port !== null) {
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`option port must be an integer in 0..65535, got ${String(port)}`);
    }
  }
  if (o.path !== undefined && typeof o.path !== 'string') throw new TypeError('option path must be a string');
  if (o.maxPayload !== undefined && o.maxMessageBytes !== undefined && o.maxPayload !== o.maxMessageBytes) {
    throw new RangeError('options maxPayload and maxMessageBytes disagree (maxPayload is the ws name of maxMessageBytes)');
  }
  let heartbeat: HeartbeatOptions | false = NODE_DEFAULTS.heartbeat;
  if (o.heartbeat === false) heartbeat = false;
  else if (o.heartbeat !== undefined) {
    if (typeof o.heartbeat !== 'object' || o.heartbeat === null) throw new TypeError('option heartbeat must be an object or false');
    heartbeat = resolveLiveness('heartbeat', o.heartbeat, NODE_DEFAULTS.heartbeat);
    if (heartbeat.intervalMs === Infinity) heartbeat = false;
  }
  const policy = o.backpressurePolicy ?? NODE_DEFAULTS.backpressurePolicy;
  if (policy !== 'queue' && policy !== 'drop' && policy !== 'close') {
    throw new RangeError(`option backpressurePolicy must be 'queue', 'drop' or 'close', got ${String(policy)}`);
  }
  for (const name of ['ownReadBuffers', 'leanAccept'] as const) {
    if (o[name] !== undefined && typeof o[name] !== 'boolean') throw new TypeError(`option ${name} must be a boolean`);
  }
  const deflate = o.perMessageDeflate ? resolveDeflateOptions(o.perMessageDeflate) : undefined;
  const socketClass = o.WebSocket ?? NodeWebSocket;
  if (typeof socketClass !== 'function' || !(socketClass === NodeWebSocket || socketClass.prototype instanceof NodeWebSocket)) {
    throw new TypeError('option WebSocket must be a subclass of WebSocket');
  }
  return {
    autoPong: o.autoPong !== false,
    socketClass,
    isWsFlavour: (socketClass as unknown as Record<symbol, unknown>)[kWsFlavour] === true,
    port: (port as number | undefined) ?? undefined,
    host: o.host,
    backlog: o.backlog,
    server: o.server,
    noServer: o.noServer === true,
    path: o.path,
    clientTracking: o.clientTracking !== false,
    handleProtocols: optionalFunction('handleProtocols', o.handleProtocols),
    verifyClient: optionalFunction('verifyClient', o.verifyClient),
    verify: optionalFunction('verify', o.verify),
    deflate,
    origins: createOriginPolicy(o.allowedOrigins, o.allowMissingOrigin),
    ...resolveConnectionLimits({
      ...o,
      maxMessageBytes: o.maxMessageBytes ?? o.maxPayload,
      closeTimeoutMs: o.closeTimeoutMs ?? (o as { closeTimeout?: number }).closeTimeout,
    }),
    idleTimeoutMs: validateLimit('idleTimeoutMs', o.idleTimeoutMs ?? NODE_DEFAULTS.idleTimeoutMs),
    maxPendingHandshakes: validateLimit('maxPendingHandshakes', o.maxPendingHandshakes ?? NODE_DEFAULTS.maxPendingHandshakes),
    maxConnections: validateLimit('maxConnections', o.maxConnections ?? NODE_DEFAULTS.maxConnections),
    heartbeat,
    highWaterMarkBytes: validateLimit('highWaterMarkBytes', o.highWaterMarkBytes ?? NODE_DEFAULTS.highWaterMarkBytes),
    backpressurePolicy: policy,
    ownReadBuffers: o.ownReadBuffers ?? NODE_DEFAULTS.ownReadBuffers,
    leanAccept: o.leanAccept !== false,
  };
}
