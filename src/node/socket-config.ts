/**
 * What a socket is given when it attaches and never changes after (a shared
 * leaf of node/, below socket/): the server makes one for all its sockets
 * (server/open-socket.ts), the client one per socket
 * (socket/client-handshake.ts), and socket/state.ts holds a reference to it.
 * Kept out of state.ts because it is data the roles above hand down, not
 * the socket's own state, and state.ts may import no file of socket/.
 */
import type { EventEmitter } from 'node:events';
import { DEFAULTS } from '../core/options.js';
import type { HeartbeatOptions } from './heartbeat.js';
import type { TrafficCounters } from './stats.js';
import type { BackpressurePolicy } from './backpressure.js';
import type { TopicPort } from './topic-port.js';

/**
 * One object shared by a server's sockets: an idle server socket carries one
 * reference instead of these fields (and instead of the separate heap number
 * V8 boxes a double field such as an Infinity in).
 */
export interface SocketConfig {
  /** See DEFAULTS.closeTimeoutMs (Infinity: no close timer). */
  readonly closeTimeoutMs: number;
  /** Per-socket queue bound in bytes (Infinity for clients; servers default to 16 MiB). */
  readonly highWaterMarkBytes: number;
  /** What send() does above highWaterMarkBytes (backpressure.ts). */
  readonly policy: BackpressurePolicy;
  /** Ping when the peer is silent (server heartbeat, client keepalive). */
  readonly heartbeat: HeartbeatOptions | false;
  /** Close with 1001 after this long without data messages (Infinity: off). */
  readonly idleTimeoutMs: number;
  /** Traffic counters: the server's, shared by its sockets; a client's own. */
  readonly counters: TrafficCounters | undefined;
  /** Called once, just before 'close' is emitted (the server's bookkeeping); `socket` is the public socket. */
  readonly onClose: ((socket: EventEmitter, code: number, reason: string) => void) | undefined;
  /** The server's topics; undefined for clients. */
  readonly topicPort: TopicPort | undefined;
  /** Read large payloads straight into message buffers (socket/receive.ts); see the server option. */
  readonly ownReadBuffers: boolean;
}

/** A SocketConfig with the defaults for what `options` leaves out (a client's, before and after it attaches). */
export function socketConfig(options: Partial<SocketConfig>): SocketConfig {
  return {
    closeTimeoutMs: options.closeTimeoutMs ?? DEFAULTS.closeTimeoutMs,
    highWaterMarkBytes: options.highWaterMarkBytes ?? Infinity,
    policy: options.policy ?? 'queue',
    heartbeat: options.heartbeat ?? false,
    idleTimeoutMs: options.idleTimeoutMs ?? Infinity,
    counters: options.counters,
    onClose: options.onClose,
    topicPort: options.topicPort,
    ownReadBuffers: options.ownReadBuffers ?? false,
  };
}
