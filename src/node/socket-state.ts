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
import { collectWrite, reserveWrite, reservedOffset } from './socket-write-batch.js';
import { onCoreEvent, onInflateDone, onMessage } from './socket-core-events.js';

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

const IS_TERMINATED = 1;
const IS_CLOSED_EMITTED = 2;
const WAS_CLEAN = 4;
const IS_USER_PAUSED = 8;
const IS_CORE_PAUSED = 16;
const IS_CORKED = 32;
const IS_RECEIVING = 64;
const NEED_DRAIN = 128;
const IS_DRAIN_LISTENING = 256;
const IS_FRAGMENTING = 512;

/** `flags` with `bit` set or cleared. */
function withFlag(flags: number, bit: number, value: boolean): number {
  return value ? flags | bit : flags & ~bit;
}

export class SocketState {
  readonly ws: WebSocket;
  conn: Connection | undefined = undefined;
  transport: Transport | undefined = undefined;
  protocol = '';
  extensions = '';
  url = '';
  binaryType: BinaryType = 'nodebuffer';
  /** The boolean state below, one bit each (one field instead of ten: idle sockets stay small). */
  flags = 0;
  batch: Buffer[] | undefined = undefined;
  batchBytes = 0;
  batchCallbacks: SendCallback[] | undefined = undefined;
  corkBaseline = 0;
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

  /** True when terminate() was called. */
  get isTerminated(): boolean {
    return (this.flags & IS_TERMINATED) !== 0;
  }

  set isTerminated(value: boolean) {
    this.flags = withFlag(this.flags, IS_TERMINATED, value);
  }

  /** True when 'close' was emitted. */
  get isClosedEmitted(): boolean {
    return (this.flags & IS_CLOSED_EMITTED) !== 0;
  }

  set isClosedEmitted(value: boolean) {
    this.flags = withFlag(this.flags, IS_CLOSED_EMITTED, value);
  }

  /** True when the closing handshake completed both ways. */
  get wasClean(): boolean {
    return (this.flags & WAS_CLEAN) !== 0;
  }

  set wasClean(value: boolean) {
    this.flags = withFlag(this.flags, WAS_CLEAN, value);
  }

  /** True when the app paused reading. */
  get isUserPaused(): boolean {
    return (this.flags & IS_USER_PAUSED) !== 0;
  }

  set isUserPaused(value: boolean) {
    this.flags = withFlag(this.flags, IS_USER_PAUSED, value);
  }

  /** True when reading waits for an async inflate. */
  get isCorePaused(): boolean {
    return (this.flags & IS_CORE_PAUSED) !== 0;
  }

  set isCorePaused(value: boolean) {
    this.flags = withFlag(this.flags, IS_CORE_PAUSED, value);
  }

  /** True when output is collected into `batch` instead of written. */
  get isCorked(): boolean {
    return (this.flags & IS_CORKED) !== 0;
  }

  set isCorked(value: boolean) {
    this.flags = withFlag(this.flags, IS_CORKED, value);
  }

  /** True when inside a receive() batch. */
  get isReceiving(): boolean {
    return (this.flags & IS_RECEIVING) !== 0;
  }

  set isReceiving(value: boolean) {
    this.flags = withFlag(this.flags, IS_RECEIVING, value);
  }

  /** True when 'drain' is owed to the app. */
  get needDrain(): boolean {
    return (this.flags & NEED_DRAIN) !== 0;
  }

  set needDrain(value: boolean) {
    this.flags = withFlag(this.flags, NEED_DRAIN, value);
  }

  /** True when a 'drain' listener is on the transport. */
  get isDrainListening(): boolean {
    return (this.flags & IS_DRAIN_LISTENING) !== 0;
  }

  set isDrainListening(value: boolean) {
    this.flags = withFlag(this.flags, IS_DRAIN_LISTENING, value);
  }

  /** True when a fragmented message is being sent. */
  get isFragmenting(): boolean {
    return (this.flags & IS_FRAGMENTING) !== 0;
  }

  set isFragmenting(value: boolean) {
    this.flags = withFlag(this.flags, IS_FRAGMENTING, value);
  }

  // --- the core's ConnectionSink ---------------------------------------------

  write(data: Buffer, cb?: SendCallback): void {
    collectWrite(this, data, cb);
  }

  reserve(bytes: number, cb?: SendCallback): Buffer {
    return reserveWrite(this, bytes, cb);
  }

  get reservedOffset(): number {
    return reservedOffset;
  }

  /**
   * The write batch calls every callback (once written, or with an error when
   * the transport closes), so the core may keep one automatic pong in flight
   * and bound a ping flood from a peer that does not read (RFC 6455 §5.5.3).
   */
  get callsWriteCallbacks(): boolean {
    return true;
  }

  event(event: CoreEvent): void {
    onCoreEvent(this, event);
  }

  message(data: Buffer, isBinary: boolean): void {
    onMessage(this, data, isBinary);
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
