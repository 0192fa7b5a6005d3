/**
 * The per-socket state behind a Node `WebSocket`, shared by the files that
 * make up the socket (send path, write batching, close, core events,
 * transport). It is also the core's sink (write/event/receiveResumed), so a
 * socket costs one state object, not a state object plus a sink.
 */
import type { Socket as NetSocket } from 'node:net';
import type { Connection } from '../core/connection.js';
import { ReadyState, type CoreEvent } from '../core/events.js';
import { DEFAULTS } from '../core/options.js';
import type { TimerEntry } from './timer-wheel.js';
import type { Liveness } from './heartbeat.js';
import type { TrafficCounters } from './stats.js';
import type { BackpressurePolicy } from './backpressure.js';
import type { WebSocket } from './socket.js';
import { collectWrite } from './socket-write-batch.js';
import { onCoreEvent, onInflateDone } from './socket-core-events.js';

export type BinaryType = 'nodebuffer' | 'arraybuffer' | 'fragments';
export type SendCallback = (error?: Error | null) => void;

export interface ConnectingHooks {
  url?: string;
  /** close()/terminate() while CONNECTING: abort the handshake; the client then calls failConnecting. */
  abort(error: Error): void;
}

export const kSocket = Symbol('sockwave.socket');
/** A net/tls socket carrying a WebSocket: its listeners find the state through kSocket. */
export type Transport = NetSocket & { [kSocket]?: SocketState };

export class SocketState {
  readonly ws: WebSocket;
  conn: Connection | undefined = undefined;
  transport: Transport | undefined = undefined;
  protocol = '';
  extensions = '';
  url = '';
  binaryType: BinaryType = 'nodebuffer';
  isTerminated = false;
  isClosedEmitted = false;
  wasClean = false;
  isUserPaused = false;
  isCorePaused = false;
  /** True while output is collected into `batch` instead of written. */
  isCorked = false;
  batch: Buffer[] | undefined = undefined;
  batchBytes = 0;
  batchCallbacks: SendCallback[] | undefined = undefined;
  isReceiving = false;
  corkBaseline = 0;
  needDrain = false;
  isDrainListening = false;
  isFragmenting = false;
  highWaterMarkBytes = Infinity;
  policy: BackpressurePolicy = 'queue';
  closeTimeoutMs: number = DEFAULTS.closeTimeoutMs;
  closeEntry: (TimerEntry & { lastBuffered: number }) | undefined = undefined;
  liveness: Liveness | undefined = undefined;
  counters: TrafficCounters | undefined = undefined;
  onClose: ((socket: WebSocket, code: number, reason: string) => void) | undefined = undefined;
  connecting: ConnectingHooks | undefined = undefined;
  drainCheck: SendCallback | undefined = undefined;

  constructor(ws: WebSocket) {
    this.ws = ws;
  }

  // --- the core's ConnectionSink ---------------------------------------------

  write(data: Buffer, cb?: SendCallback): void {
    collectWrite(this, data, cb);
  }

  event(event: CoreEvent): void {
    onCoreEvent(this, event);
  }

  /** The core finished an async inflate and parsed what waited: read again. */
  receiveResumed(): void {
    onInflateDone(this);
  }
}

export function readyStateOf(s: SocketState): ReadyState {
  const conn = s.conn;
  if (conn === undefined) return s.isClosedEmitted ? ReadyState.CLOSED : ReadyState.CONNECTING;
  if (s.isClosedEmitted) return ReadyState.CLOSED;
  const state = conn.readyState;
  // terminate() is immediate for the app even though 'close' follows later.
  if (s.isTerminated && state === ReadyState.OPEN) return ReadyState.CLOSING;
  return state;
}

/** Bytes accepted by send/ping/pong/close and not yet handed to the kernel. */
export function bufferedAmountOf(s: SocketState): number {
  const transport = s.transport;
  if (transport === undefined || s.conn === undefined) return 0;
  return transport.writableLength + s.batchBytes + s.conn.pendingBytes;
}
