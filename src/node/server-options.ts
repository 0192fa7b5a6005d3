/**
 * WebSocketServer options: the ws-compatible ones plus sockwave's limits,
 * hooks and operations settings. Validated once, at construction.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { resolveSharedLimits, validateLimit } from '../core/options.js';
import { resolveDeflateOptions, type PerMessageDeflateOptions, type ResolvedDeflateOptions } from '../core/deflate/index.js';
import type { BackpressurePolicy } from './socket.js';
import type { HeartbeatOptions } from './heartbeat.js';
import { createOriginPolicy, type OriginPolicy, type OriginRule } from './origin-policy.js';
import type { VerifyClient, VerifyHook } from './verify.js';

const MiB = 1024 * 1024;

/** Server defaults that are not shared with the client (see also DEFAULTS in core/options.ts). */
export const SERVER_DEFAULTS = {
  /** Handshakes in flight (TCP accepted, 101 not yet written) before new ones get 503. */
  maxPendingHandshakes: 1024,
  /** Open WebSocket connections before new handshakes get 503. */
  maxConnections: Infinity,
  /** Ping a silent peer after 30 s; terminate it when nothing arrives within 10 s more. */
  heartbeat: { intervalMs: 30_000, timeoutMs: 10_000 },
  /** Per-socket send queue bound, in bytes (see backpressurePolicy). */
  highWaterMarkBytes: 16 * MiB,
  backpressurePolicy: 'queue' as BackpressurePolicy,
  /** No idle timeout by default: many apps hold quiet connections on purpose. */
  idleTimeoutMs: Infinity,
  /** Seconds in the Retry-After header of a 503 (capacity) rejection. */
  retryAfterSeconds: 5,
} as const;

export interface ServerOptions {
  // --- ws-compatible --------------------------------------------------------
  /** Create an HTTP server listening on this port (0 = any free port). */
  port?: number;
  /** Host to listen on with `port`. Default: all interfaces (Node's default). */
  host?: string;
  /** listen() backlog with `port`. */
  backlog?: number;
  /** Attach to an existing http/https server (its 'upgrade' event). */
  server?: HttpServer | HttpsServer;
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
  // --- sockwave hooks --------------------------------------------------------
  /** Async accept/reject hook; accepted user data lands in `socket.data`. */
  verify?: VerifyHook;
  /** Allowed Origin values: exact strings (case-insensitive) and RegExps. Mismatch: 403. Default: no check. */
  allowedOrigins?: OriginRule[];
  /** With allowedOrigins: accept requests without an Origin header (non-browser clients). Default true. */
  allowMissingOrigin?: boolean;
  // --- limits ----------------------------------------------------------------
  /** Largest message in bytes. Default 16 MiB (DEFAULTS.maxMessageBytes). Over it: close 1009. */
  maxMessageBytes?: number;
  /** Fragments per message. Default DEFAULTS.maxFragments. */
  maxFragments?: number;
  /** Time for the closing handshake before the TCP connection is destroyed, ms. Default 10 s. */
  closeTimeoutMs?: number;
  /** Time from TCP accept (own server) or handleUpgrade() to the 101, ms. Default 10 s. Slow clients are dropped. */
  handshakeTimeoutMs?: number;
  /** Close with 1001 after this long without data messages, ms. Default Infinity (off). */
  idleTimeoutMs?: number;
  /** Largest request head in bytes. Default 16 KiB. Over it: 431. */
  maxHeaderBytes?: number;
  /** Most header lines in the request. Default 100. Over it: 431. */
  maxHeaderCount?: number;
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
}

export interface ResolvedServerOptions {
  port: number | undefined;
  host: string | undefined;
  backlog: number | undefined;
  server: HttpServer | HttpsServer | undefined;
  noServer: boolean;
  path: string | undefined;
  clientTracking: boolean;
  handleProtocols: ServerOptions['handleProtocols'];
  verifyClient: VerifyClient | undefined;
  verify: VerifyHook | undefined;
  deflate: ResolvedDeflateOptions | undefined;
  origins: OriginPolicy | undefined;
  maxMessageBytes: number;
  maxFragments: number;
  closeTimeoutMs: number;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
  maxHeaderBytes: number;
  maxHeaderCount: number;
  maxPendingHandshakes: number;
  maxConnections: number;
  heartbeat: HeartbeatOptions | false;
  highWaterMarkBytes: number;
  backpressurePolicy: BackpressurePolicy;
}

function optionalFunction<T>(name: string, value: unknown): T | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'function') throw new TypeError(`option ${name} must be a function`);
  return value as T;
}

export function resolveServerOptions(o: ServerOptions): ResolvedServerOptions {
  if (typeof o !== 'object' || o === null) throw new TypeError('WebSocketServer options must be an object');
  const modes = (o.port !== undefined && o.port !== null ? 1 : 0) + (o.server ? 1 : 0) + (o.noServer ? 1 : 0);
  if (modes !== 1) {
    throw new TypeError('exactly one of the "port", "server" or "noServer" options must be given');
  }
  if (o.port !== undefined && o.port !== null) {
    if (typeof o.port !== 'number' || !Number.isInteger(o.port) || o.port < 0 || o.port > 65535) {
      throw new RangeError(`option port must be an integer in 0..65535, got ${String(o.port)}`);
    }
  }
  if (o.path !== undefined && typeof o.path !== 'string') throw new TypeError('option path must be a string');
  if (o.maxPayload !== undefined && o.maxMessageBytes !== undefined && o.maxPayload !== o.maxMessageBytes) {
    throw new RangeError('options maxPayload and maxMessageBytes disagree (maxPayload is the ws name of maxMessageBytes)');
  }
  let heartbeat: HeartbeatOptions | false = SERVER_DEFAULTS.heartbeat;
  if (o.heartbeat === false) heartbeat = false;
  else if (o.heartbeat !== undefined) {
    if (typeof o.heartbeat !== 'object' || o.heartbeat === null) throw new TypeError('option heartbeat must be an object or false');
    heartbeat = {
      intervalMs: validateLimit('heartbeat.intervalMs', o.heartbeat.intervalMs ?? SERVER_DEFAULTS.heartbeat.intervalMs),
      timeoutMs: validateLimit('heartbeat.timeoutMs', o.heartbeat.timeoutMs ?? SERVER_DEFAULTS.heartbeat.timeoutMs),
    };
    if (heartbeat.intervalMs === Infinity) heartbeat = false;
  }
  const policy = o.backpressurePolicy ?? SERVER_DEFAULTS.backpressurePolicy;
  if (policy !== 'queue' && policy !== 'drop' && policy !== 'close') {
    throw new RangeError(`option backpressurePolicy must be 'queue', 'drop' or 'close', got ${String(policy)}`);
  }
  const deflate = o.perMessageDeflate ? resolveDeflateOptions(o.perMessageDeflate) : undefined;
  return {
    port: o.port ?? undefined,
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
    // ws's maxPayload is the fallback name for maxMessageBytes.
    ...resolveSharedLimits({ ...o, maxMessageBytes: o.maxMessageBytes ?? o.maxPayload }),
    idleTimeoutMs: validateLimit('idleTimeoutMs', o.idleTimeoutMs ?? SERVER_DEFAULTS.idleTimeoutMs),
    maxPendingHandshakes: validateLimit('maxPendingHandshakes', o.maxPendingHandshakes ?? SERVER_DEFAULTS.maxPendingHandshakes),
    maxConnections: validateLimit('maxConnections', o.maxConnections ?? SERVER_DEFAULTS.maxConnections),
    heartbeat,
    highWaterMarkBytes: validateLimit('highWaterMarkBytes', o.highWaterMarkBytes ?? SERVER_DEFAULTS.highWaterMarkBytes),
    backpressurePolicy: policy,
  };
}
