/**
 * The per-socket state behind a Node `WebSocket`: plain data, the bottom of
 * socket/. It imports no other file of this folder; the behaviour files
 * above it (write-batch, drain, close, send, sink, transport, websocket)
 * are free functions over it. sink.ts extends it into the core's sink, so a
 * socket still costs one state object, not a state object plus a sink.
 */
import type { EventEmitter } from 'node:events';
import type { Socket as NetSocket } from 'node:net';
import type { Connection } from '../../core/connection.js';
import { ReadyState } from '../../core/events.js';
import type { TimerEntry, TimerLink } from '../timer-wheel.js';
import { socketConfig, type SocketConfig } from '../socket-config.js';

export type BinaryType = 'nodebuffer' | 'arraybuffer' | 'fragments' | 'blob';
export type SendCallback = (error?: Error | null) => void;

export interface ConnectingHooks {
  url?: string;
  /** close()/terminate() while CONNECTING: abort the handshake; the client then calls failConnecting. */
  abort(error: Error): void;
}

export const kSocket = Symbol('sockwave.socket');
/**
 * A net/tls socket carrying a WebSocket: its listeners are shared functions
 * (no closure per socket) that find the state through kSocket.
 */
export type Transport = NetSocket & { [kSocket]?: SocketState };

/**
 * The public socket's key to its state (websocket.ts), for the server and
 * the client inside this package: a symbol that is not exported from the
 * package, as ws keys its internals.
 */
export const kState = Symbol('sockwave.state');

/**
 * A static marker on sockwave/ws's WebSocket class (src/ws.ts), inherited by
 * its subclasses: a server whose sockets are of such a class answers with
 * ws's texts.
 */
export const kWsFlavour = Symbol('sockwave.wsFlavour');

/**
 * The socket as the state sees it: the emitter the app listens on. Typed as
 * the interface so this file needs nothing from websocket.ts above it.
 */
export type SocketEmitter = EventEmitter;

/** The config of a socket that has not attached yet. */
const UNATTACHED: SocketConfig = Object.freeze(socketConfig({}));

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
const IS_UNREF = 1024;
const IS_WS_FLAVOUR = 2048;
const IS_AUTO_PONG_OFF = 4096;
const SAW_TRAFFIC = 8192;
const SAW_MESSAGE = 16384;
/** binaryType, as its index in BINARY_TYPES (two bits): no string field on every socket. */
const BINARY_TYPE_SHIFT = 15;
const BINARY_TYPE_MASK = 3 << BINARY_TYPE_SHIFT;
const BINARY_TYPES: readonly BinaryType[] = ['nodebuffer', 'arraybuffer', 'fragments', 'blob'];
const IS_NO_DELAY_PENDING = 1 << 17;

/** `flags` with `bit` set or cleared. */
function withFlag(flags: number, bit: number, value: boolean): number {
  return value ? flags | bit : flags & ~bit;
}

/** The close timeout's wheel entry (close.ts), made when closing starts. */
export type CloseEntry = TimerEntry & { lastBuffered: number; lastInLibuv: number };

/**
 * The socket state's fields that an idle server socket never sets: the
 * client's URL and handshake, the drain check, the Blob queue, write
 * callbacks, the idle and close timeouts. One object made on the first
 * non-default value (SocketState's accessors), so an idle socket carries one
 * empty field instead of seven (issue 16: idle memory). It stays once made.
 */
class RareState {
  url = '';
  connecting: ConnectingHooks | undefined = undefined;
  drainCheck: SendCallback | undefined = undefined;
  blobQueue: unknown[] | undefined = undefined;
  batchCallbacks: SendCallback[] | undefined = undefined;
  idleEntry: TimerEntry | undefined = undefined;
  closeEntry: CloseEntry | undefined = undefined;
}

export class SocketState {
  /** The public socket (websocket.ts): events go to the app through it. */
  readonly ws: SocketEmitter;
  conn: Connection | undefined = undefined;
  transport: Transport | undefined = undefined;
  protocol = '';
  extensions = '';
  /** The boolean state below, one bit each (one field instead of ten: idle sockets stay small). */
  flags = 0;
  /** Output collected while corked (write-batch.ts): one buffer, or an array once there are two. */
  batch: Buffer | Buffer[] | undefined = undefined;
  batchBytes = 0;
  corkBaseline = 0;
  /** Fixed at attach (transport.ts); shared by a server's sockets. */
  config: SocketConfig = UNATTACHED;
  /** What few sockets use (RareState), made on first use. */
  rare: RareState | undefined = undefined;
  // The heartbeat (heartbeat.ts: LivenessState). The state is the heartbeat's
  // own timer-wheel entry, so an idle socket needs no tracker object.
  /** The heartbeat's links in the timer wheel's bucket list (TimerEntry; undefined when not scheduled). */
  wheelPrev: TimerLink | undefined = undefined;
  wheelNext: TimerLink | undefined = undefined;
  pingSentAt: number | undefined = undefined;
  /** Whole microseconds (a small integer: no boxed double per socket); websocket.ts gives ms. */
  latencyMicros: number | undefined = undefined;
  /** A server's socket: its neighbours in the server's list of open sockets (server/connection-registry.ts). */
  registryPrev: SocketState | undefined = undefined;
  registryNext: SocketState | undefined = undefined;

  constructor(ws: SocketEmitter) {
    this.ws = ws;
  }

  /** The client's URL ('' for a server's socket). */
  get url(): string {
    return this.rare === undefined ? '' : this.rare.url;
  }

  set url(value: string) {
    if (value !== '' || this.rare !== undefined) (this.rare ??= new RareState()).url = value;
  }

  /** The client's handshake while CONNECTING. */
  get connecting(): ConnectingHooks | undefined {
    return this.rare?.connecting;
  }

  set connecting(value: ConnectingHooks | undefined) {
    if (value !== undefined || this.rare !== undefined) (this.rare ??= new RareState()).connecting = value;
  }

  /** drain.ts's check, made the first time send() returned false. */
  get drainCheck(): SendCallback | undefined {
    return this.rare?.drainCheck;
  }

  set drainCheck(value: SendCallback | undefined) {
    if (value !== undefined || this.rare !== undefined) (this.rare ??= new RareState()).drainCheck = value;
  }

  /** Calls waiting for a Blob to be read (send-blob.ts: QueuedCall[]); undefined when none. */
  get blobQueue(): unknown[] | undefined {
    return this.rare?.blobQueue;
  }

  set blobQueue(value: unknown[] | undefined) {
    if (value !== undefined || this.rare !== undefined) (this.rare ??= new RareState()).blobQueue = value;
  }

  /** Callbacks of the writes in the current batch (write-batch.ts); undefined when none. */
  get batchCallbacks(): SendCallback[] | undefined {
    return this.rare?.batchCallbacks;
  }

  set batchCallbacks(value: SendCallback[] | undefined) {
    if (value !== undefined || this.rare !== undefined) (this.rare ??= new RareState()).batchCallbacks = value;
  }

  /** The close timeout's wheel entry (close.ts); made when closing starts. */
  get closeEntry(): CloseEntry | undefined {
    return this.rare?.closeEntry;
  }

  set closeEntry(value: CloseEntry | undefined) {
    if (value !== undefined || this.rare !== undefined) (this.rare ??= new RareState()).closeEntry = value;
  }

  /** The idle timeout's wheel entry (heartbeat.ts); only made when an idle timeout is set. */
  get idleEntry(): TimerEntry | undefined {
    return this.rare?.idleEntry;
  }

  set idleEntry(value: TimerEntry | undefined) {
    if (value !== undefined || this.rare !== undefined) (this.rare ??= new RareState()).idleEntry = value;
  }

  /** How binary messages reach the app (websocket.ts validates the value). */
  get binaryType(): BinaryType {
    return BINARY_TYPES[(this.flags & BINARY_TYPE_MASK) >> BINARY_TYPE_SHIFT];
  }

  set binaryType(value: BinaryType) {
    this.flags = (this.flags & ~BINARY_TYPE_MASK) | (BINARY_TYPES.indexOf(value) << BINARY_TYPE_SHIFT);
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

  /** True when the app called unref(): the transport must not keep the process alive. */
  get isUnref(): boolean {
    return (this.flags & IS_UNREF) !== 0;
  }

  set isUnref(value: boolean) {
    this.flags = withFlag(this.flags, IS_UNREF, value);
  }

  /**
   * True for sockets of 'sockwave/ws' (src/ws.ts): ws's behaviour where the
   * two differ (messages after close() delivered, ws's error codes and texts).
   */
  get isWsFlavour(): boolean {
    return (this.flags & IS_WS_FLAVOUR) !== 0;
  }

  set isWsFlavour(value: boolean) {
    this.flags = withFlag(this.flags, IS_WS_FLAVOUR, value);
  }

  /** True when the app answers pings itself (ws's `autoPong: false`). */
  get isAutoPongOff(): boolean {
    return (this.flags & IS_AUTO_PONG_OFF) !== 0;
  }

  set isAutoPongOff(value: boolean) {
    this.flags = withFlag(this.flags, IS_AUTO_PONG_OFF, value);
  }

  /** True when a chunk arrived since the heartbeat last looked. */
  get sawTraffic(): boolean {
    return (this.flags & SAW_TRAFFIC) !== 0;
  }

  set sawTraffic(value: boolean) {
    this.flags = withFlag(this.flags, SAW_TRAFFIC, value);
  }

  /** True when a data message went either way since the idle timeout last looked. */
  get sawMessage(): boolean {
    return (this.flags & SAW_MESSAGE) !== 0;
  }

  set sawMessage(value: boolean) {
    this.flags = withFlag(this.flags, SAW_MESSAGE, value);
  }

  /** True while TCP_NODELAY is promised but not yet set on the handle (no-delay.ts). */
  get isNoDelayPending(): boolean {
    return (this.flags & IS_NO_DELAY_PENDING) !== 0;
  }

  set isNoDelayPending(value: boolean) {
    this.flags = withFlag(this.flags, IS_NO_DELAY_PENDING, value);
  }
}

export function readyStateOf(s: SocketState): ReadyState {
  const conn = s.conn;
  if (conn === undefined) return s.isClosedEmitted ? ReadyState.CLOSED : s.isTerminated ? ReadyState.CLOSING : ReadyState.CONNECTING;
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
