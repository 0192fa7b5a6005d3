/**
 * The ws-compatible Node socket: a core `Connection` over a net/tls socket.
 * Used by BOTH the server (server.ts) and the Node client (client.ts).
 *
 * ## Internal API for transports (not exported from the package root)
 *
 *   const ws = new WebSocket(null);          // CONNECTING, no transport yet
 *   setConnecting(ws, { url, abort })        // client: close()/terminate() while CONNECTING call abort(error)
 *   attachSocket(ws, transport, head, {      // after a valid 101: state OPEN, then emits 'open'
 *     role, protocol, extensions, compressor, compressThresholdBytes,
 *     maxMessageBytes, maxFragments, closeTimeoutMs, highWaterMarkBytes,
 *     backpressurePolicy, heartbeat, idleTimeoutMs, maskSource, url,
 *     counters, onClose })
 *       `head` = bytes read after the 101 head (the first frames); they are
 *       replayed through the transport so they are parsed only after the
 *       caller attached its listeners.
 *   failConnecting(ws, error)                // handshake failed: 'error' (when listened) then 'close' 1006
 *   registerClientStarter(fn)                // client.ts: makes `new WebSocket(url, protocols, options)` connect
 *   sendPreparedFrame(ws, frame, payload, isBinary)  // broadcast: write an already encoded frame
 *
 * ## Data path (why it looks the way it does)
 * - Transport listeners are shared functions (`this` = transport, socket found
 *   through a symbol) and the core sink is one small object per socket: no
 *   closure per message, few per socket.
 * - Output is collected per socket and written once: during a receive()
 *   batch (replies sent from 'message' handlers leave in one write) and,
 *   outside one, until a microtask shared by all sockets, so a loop of N
 *   sends (or a broadcast) is one syscall per socket. Small frames are
 *   concatenated, large ones go as one writev without copying; a batch past
 *   64 KiB is written at once so send() reports real backpressure.
 * - Timers (close timeout, heartbeat, idle) live on the shared TimerWheel.
 *
 * ## Backpressure
 * `send()` returns true when the data goes to the kernel in this tick and
 * false when it waits behind bytes already queued (then 'drain' follows once
 * everything queued was written). `bufferedAmount` = bytes in the transport's
 * write buffer + the batch not yet written (accepted, not yet handed to the
 * kernel) + the core's `pendingBytes` (e.g. waiting for compression).
 * Above `highWaterMarkBytes` the `backpressurePolicy` applies: 'queue' keeps
 * queuing (the app watches the return value), 'drop' refuses the message and
 * emits 'dropped' (data, isBinary), 'close' starts the closing handshake with
 * 1008 (policy violation: the peer does not read).
 */
import { EventEmitter } from 'node:events';
import type { Socket as NetSocket } from 'node:net';
import { Connection } from '../core/connection.js';
import { ReadyState, type CoreEvent, type MaskSource, type MessageCompressor } from '../core/events.js';
import { ConnectionClosedError, ErrorCode, SockwaveError, TimeoutError } from '../core/errors.js';
import { DEFAULTS } from '../core/options.js';
import { sharedWheel, type TimerEntry } from './timer-wheel.js';
import { Liveness, type HeartbeatOptions, type LivenessTarget } from './heartbeat.js';
import { TrafficCounters } from './stats.js';
import { channels } from './diagnostics.js';
import { isOverHighWaterMark, publishBackpressure, type BackpressurePolicy } from './backpressure.js';
import { isBinaryMessage, payloadLength, toPayload, type SendData } from './send-data.js';
import { addDomListener, defineEventAttributes, removeDomListener, type DomListener } from './event-target-shim.js';

export type BinaryType = 'nodebuffer' | 'arraybuffer' | 'fragments';
export type { BackpressurePolicy } from './backpressure.js';
export type { SendData } from './send-data.js';
export { toPayload } from './send-data.js';

export interface SocketSendOptions {
  /** Binary frame (default: false for strings, true for everything else). */
  binary?: boolean;
  /** Compress when permessage-deflate was negotiated (default true, subject to the threshold). */
  compress?: boolean;
  /** False sends a fragment; the message continues with the next send (default true). */
  fin?: boolean;
  /** Accepted for ws compatibility; the role decides masking (clients always mask). */
  mask?: boolean;
}

export type SendCallback = (error?: Error | null) => void;

export interface AttachOptions {
  role: 'client' | 'server';
  protocol?: string;
  extensions?: string;
  compressor?: MessageCompressor;
  compressThresholdBytes?: number;
  maxMessageBytes?: number;
  maxFragments?: number;
  /** See DEFAULTS.closeTimeoutMs. */
  closeTimeoutMs?: number;
  /** Per-socket queue bound in bytes (default Infinity for clients; servers pass 16 MiB). */
  highWaterMarkBytes?: number;
  backpressurePolicy?: BackpressurePolicy;
  /** Ping when the peer is silent (server heartbeat, client keepalive). */
  heartbeat?: HeartbeatOptions | false;
  /** Close with 1001 after this long without data messages (default Infinity). */
  idleTimeoutMs?: number;
  maskSource?: MaskSource;
  url?: string;
  /** Shared counters (a server's); a private set otherwise. */
  counters?: TrafficCounters;
  /** Called once, just before 'close' is emitted (server bookkeeping). */
  onClose?: (socket: WebSocket, code: number, reason: string) => void;
}

export interface ConnectingHooks {
  url?: string;
  /** close()/terminate() while CONNECTING: abort the handshake; the client then calls failConnecting. */
  abort(error: Error): void;
}

export type ClientStarter = (
  socket: WebSocket,
  address: string | URL,
  protocols: string | string[] | undefined,
  options: object | undefined,
) => void;

const kSocket = Symbol('sockwave.socket');
type Transport = NetSocket & { [kSocket]?: WebSocket };

const EMPTY = Buffer.alloc(0);
/** A batch this large is flushed at once (see #settleBatch). */
const FLUSH_BYTES = 64 * 1024;
/** Batches up to this size are concatenated into one write. */
const CONCAT_MAX_BYTES = 64 * 1024;
const TEXT = { isBinary: false } as const;
const BINARY = { isBinary: true } as const;

let clientStarter: ClientStarter | undefined;

/** Internal: client.ts registers how `new WebSocket(url)` starts a handshake. */
export function registerClientStarter(starter: ClientStarter): void {
  clientStarter = starter;
}

// Assigned in the class's static block (they need its private fields).
export let attachSocket: (ws: WebSocket, transport: NetSocket, head: Buffer, options: AttachOptions) => void;
export let setConnecting: (ws: WebSocket, hooks: ConnectingHooks) => void;
export let failConnecting: (ws: WebSocket, error: Error) => void;
/** True when `transport` already carries a WebSocket (handleUpgrade called twice for one socket). */
export function isAttached(transport: object): boolean {
  return (transport as Transport)[kSocket] !== undefined;
}
/** Writes an encoded frame (server role, unmasked) as if send(payload) was called. Returns send()'s value. */
export let sendPreparedFrame: (ws: WebSocket, frame: readonly Buffer[], payload: Buffer | string, isBinary: boolean) => boolean;

/** Sockets corked outside a receive batch, uncorked together in one microtask. */
let flushQueue: WebSocket[] = [];
let isFlushScheduled = false;

export class WebSocket extends EventEmitter implements LivenessTarget {
  static readonly CONNECTING = ReadyState.CONNECTING;
  static readonly OPEN = ReadyState.OPEN;
  static readonly CLOSING = ReadyState.CLOSING;
  static readonly CLOSED = ReadyState.CLOSED;
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;

  /** User data attached by the server's `verify` hook (or by the app). */
  data: unknown = undefined;

  #conn: Connection | undefined;
  #transport: Transport | undefined;
  #protocol = '';
  #extensions = '';
  #url = '';
  #binaryType: BinaryType = 'nodebuffer';
  #isTerminated = false;
  #isClosedEmitted = false;
  #wasClean = false;
  #isUserPaused = false;
  #isCorePaused = false;
  /** True while output is collected into #batch instead of written. */
  #isCorked = false;
  #batch: Buffer[] | undefined;
  #batchBytes = 0;
  #batchCallbacks: SendCallback[] | undefined;
  #isReceiving = false;
  #corkBaseline = 0;
  #needDrain = false;
  #isDrainListening = false;
  #isFragmenting = false;
  #highWaterMarkBytes = Infinity;
  #policy: BackpressurePolicy = 'queue';
  #closeTimeoutMs: number = DEFAULTS.closeTimeoutMs;
  #closeEntry: (TimerEntry & { lastBuffered: number }) | undefined;
  #liveness: Liveness | undefined;
  #counters: TrafficCounters | undefined;
  #onClose: AttachOptions['onClose'];
  #connecting: ConnectingHooks | undefined;
  #drainCheck: SendCallback | undefined;

  constructor(address: string | URL | null = null, protocols?: string | string[], options?: object) {
    super();
    if (address !== null && address !== undefined) {
      if (clientStarter === undefined) {
        throw new Error('the sockwave client is not loaded: import { connect } from "sockwave"');
      }
      clientStarter(this, address, protocols, options);
    }
  }

  // --- ws-compatible properties -------------------------------------------

  get readyState(): ReadyState {
    const conn = this.#conn;
    if (conn === undefined) return this.#isClosedEmitted ? ReadyState.CLOSED : ReadyState.CONNECTING;
    if (this.#isClosedEmitted) return ReadyState.CLOSED;
    const state = conn.readyState;
    // terminate() is immediate for the app even though 'close' follows later.
    if (this.#isTerminated && state === ReadyState.OPEN) return ReadyState.CLOSING;
    return state;
  }

  get protocol(): string {
    return this.#protocol;
  }

  get extensions(): string {
    return this.#extensions;
  }

  get url(): string {
    return this.#url;
  }

  get binaryType(): BinaryType {
    return this.#binaryType;
  }

  set binaryType(value: BinaryType) {
    if (value !== 'nodebuffer' && value !== 'arraybuffer' && value !== 'fragments') return;
    this.#binaryType = value;
  }

  /** Bytes accepted by send/ping/pong/close and not yet handed to the kernel. */
  get bufferedAmount(): number {
    const transport = this.#transport;
    if (transport === undefined || this.#conn === undefined) return 0;
    return transport.writableLength + this.#batchBytes + this.#conn.pendingBytes;
  }

  /** Round-trip time of the last answered heartbeat ping, in ms. */
  get latencyMs(): number | undefined {
    return this.#liveness?.latencyMs;
  }

  /** ws compatibility: the underlying net/tls socket (engine.io and some apps read it). */
  get _socket(): NetSocket | undefined {
    return this.#transport;
  }

  get isPaused(): boolean {
    return this.#isUserPaused;
  }

  /** True once the closing handshake completed both ways (for DOM 'close' events). */
  get wasClean(): boolean {
    return this.#wasClean;
  }

  // --- DOM-style listeners (ws compatibility) ------------------------------

  addEventListener(type: string, listener: DomListener, options?: { once?: boolean } | boolean): void {
    addDomListener(this, type, listener, options);
  }

  removeEventListener(type: string, listener: DomListener): void {
    removeDomListener(this, type, listener);
  }

  declare onopen: DomListener | null;
  declare onmessage: DomListener | null;
  declare onclose: DomListener | null;
  declare onerror: DomListener | null;

  // --- sending -------------------------------------------------------------

  /**
   * Sends a message. Strings are text, everything else binary unless
   * `options.binary` says otherwise. Returns true when the bytes go to the
   * kernel in this tick, false when they are queued (wait for 'drain') or
   * were refused (closed socket: `cb` gets the error; 'drop' policy: the
   * 'dropped' event fires). Throws only while CONNECTING (as ws does).
   */
  send(data: SendData, options?: SocketSendOptions | SendCallback, cb?: SendCallback): boolean {
    if (typeof options === 'function') {
      cb = options;
      options = undefined;
    }
    const conn = this.#conn;
    if (conn === undefined) {
      if (this.#isClosedEmitted) return this.#refuse(cb);
      throw new SockwaveError(ErrorCode.CONNECTION_CLOSED, 'WebSocket is not open: readyState 0 (CONNECTING)');
    }
    const payload = toPayload(data);
    const isBinary = isBinaryMessage(data, options?.binary);
    if (conn.readyState !== ReadyState.OPEN || this.#isTerminated) return this.#refuse(cb);
    if (this.#highWaterMarkBytes !== Infinity && this.#policy !== 'queue') {
      if (isOverHighWaterMark(this.bufferedAmount, payloadLength(payload), this.#highWaterMarkBytes)) {
        return this.#overflow(payload, isBinary, cb);
      }
    }
    this.#cork();
    const wasQueued = this.#corkBaseline > 0 || conn.pendingBytes > 0;
    if (wasQueued) this.#armDrain();
    const sendOptions =
      options === undefined || (options.compress === undefined && options.fin === undefined)
        ? isBinary
          ? BINARY
          : TEXT
        : { isBinary, compress: options.compress, fin: options.fin };
    conn.send(payload, sendOptions, cb);
    this.#isFragmenting = options?.fin === false;
    if (this.#counters !== undefined) this.#counters.messagesOut++;
    if (this.#liveness !== undefined) this.#liveness.sawMessage = true;
    return this.#settleBatch(!wasQueued);
  }

  /**
   * After a write into the corked batch: a batch past FLUSH_BYTES goes to
   * the kernel now, so a synchronous send loop sees real backpressure
   * (false) instead of growing one unbounded batch. Returns send()'s value.
   */
  #settleBatch(isWritten: boolean): boolean {
    const transport = this.#transport as Transport;
    if (this.#isCorked && this.#batchBytes >= FLUSH_BYTES) {
      this.#flush();
      isWritten = transport.writableLength === 0;
      if (this.#isReceiving) this.#cork();
    }
    if ((this.#conn as Connection).pendingBytes > 0) isWritten = false;
    if (!isWritten) this.#armDrain();
    return isWritten;
  }

  ping(data?: SendData | SendCallback, mask?: boolean | SendCallback, cb?: SendCallback): void {
    if (typeof mask === 'function') {
      cb = mask;
      mask = undefined;
    }
    if (typeof data === 'function') {
      cb = data;
      data = undefined;
    }
    const conn = this.#conn;
    if (conn === undefined) throw new SockwaveError(ErrorCode.CONNECTION_CLOSED, 'WebSocket is not open: readyState 0 (CONNECTING)');
    if (conn.readyState !== ReadyState.OPEN || this.#isTerminated) {
      this.#refuse(cb);
      return;
    }
    this.#cork();
    conn.ping(data === undefined ? EMPTY : toPayload(data), cb);
  }

  pong(data?: SendData | SendCallback, mask?: boolean | SendCallback, cb?: SendCallback): void {
    if (typeof mask === 'function') {
      cb = mask;
      mask = undefined;
    }
    if (typeof data === 'function') {
      cb = data;
      data = undefined;
    }
    const conn = this.#conn;
    if (conn === undefined) throw new SockwaveError(ErrorCode.CONNECTION_CLOSED, 'WebSocket is not open: readyState 0 (CONNECTING)');
    if (conn.readyState !== ReadyState.OPEN || this.#isTerminated) {
      this.#refuse(cb);
      return;
    }
    this.#cork();
    conn.pong(data === undefined ? EMPTY : toPayload(data), cb);
  }

  /**
   * Starts the closing handshake (RFC 6455 §7.1.2). Data queued before the
   * call is written first. Throws RangeError/TypeError for a code that may
   * not be sent or a reason over 123 bytes. No-op once closing.
   */
  close(code?: number, reason?: string | Buffer): void {
    const text = reason === undefined ? undefined : Buffer.isBuffer(reason) ? reason.toString() : reason;
    const conn = this.#conn;
    if (conn === undefined) {
      if (this.#connecting !== undefined) {
        this.#connecting.abort(new SockwaveError(ErrorCode.CONNECTION_CLOSED, 'WebSocket was closed before the connection was established'));
      }
      return;
    }
    if (conn.readyState !== ReadyState.OPEN || this.#isTerminated) return;
    this.#cork();
    conn.close(code, text);
    this.#armCloseTimer();
  }

  /** Destroys the transport now; 'close' follows with 1006. */
  terminate(): void {
    const transport = this.#transport;
    if (transport === undefined) {
      if (this.#connecting !== undefined) {
        this.#connecting.abort(new SockwaveError(ErrorCode.CONNECTION_CLOSED, 'WebSocket was closed before the connection was established'));
      }
      return;
    }
    if (this.#isClosedEmitted) return;
    this.#isTerminated = true;
    transport.destroy();
  }

  /** Stops reading from the transport (TCP flow control pushes back on the peer). */
  pause(): void {
    if (this.#isUserPaused) return;
    this.#isUserPaused = true;
    this.#transport?.pause();
  }

  resume(): void {
    if (!this.#isUserPaused) return;
    this.#isUserPaused = false;
    if (!this.#isCorePaused) this.#transport?.resume();
  }

  // --- LivenessTarget (heartbeat.ts); not part of the documented API -------

  /** @internal */
  sendHeartbeatPing(): void {
    if (this.readyState === ReadyState.OPEN) this.ping();
  }

  /** @internal */
  onHeartbeatTimeout(timeoutMs: number): void {
    this.#emitError(new TimeoutError('heartbeat', timeoutMs));
    this.terminate();
  }

  /** @internal */
  onIdleTimeout(): void {
    if (this.readyState === ReadyState.OPEN) this.close(1001, 'idle timeout');
  }

  // --- internals -------------------------------------------------------------

  #refuse(cb: SendCallback | undefined): false {
    if (cb !== undefined) {
      const error = new ConnectionClosedError(`WebSocket is not open: readyState ${this.readyState}`);
      process.nextTick(cb, error);
    }
    return false;
  }

  #overflow(payload: Buffer | string, isBinary: boolean, cb: SendCallback | undefined): false {
    const buffered = this.bufferedAmount;
    const policy = this.#policy;
    publishBackpressure(this, buffered, this.#highWaterMarkBytes, policy, policy === 'drop' ? 'dropped' : 'closed');
    if (policy === 'drop') {
      this.emit('dropped', typeof payload === 'string' ? Buffer.from(payload) : payload, isBinary);
      if (cb !== undefined) {
        process.nextTick(cb, new SockwaveError(ErrorCode.POLICY, `message dropped: ${buffered} bytes already queued`));
      }
      return false;
    }
    // 'close': RFC 6455 §7.4.1 1008, the peer violates our policy by not reading.
    this.close(1008, 'peer is not reading');
    return this.#refuse(cb);
  }

  #armDrain(): void {
    if (this.#needDrain) return;
    this.#needDrain = true;
    this.#drainCheck ??= () => this.#checkDrain();
    // Writes issued before the queue built up carry no drain check; the
    // transport's own 'drain' covers them (it fires once its buffer, which
    // passed its high-water mark, is empty).
    if (!this.#isDrainListening) {
      this.#isDrainListening = true;
      (this.#transport as Transport).once('drain', WebSocket.#onTransportDrain);
    }
    publishBackpressure(this, this.bufferedAmount, this.#highWaterMarkBytes, this.#policy, 'queued');
  }

  #checkDrain(): void {
    if (!this.#needDrain || this.#isCorked) return;
    const transport = this.#transport as Transport;
    if (transport.writableLength !== 0 || this.#batchBytes !== 0 || (this.#conn as Connection).pendingBytes !== 0) return;
    this.#needDrain = false;
    publishBackpressure(this, 0, this.#highWaterMarkBytes, this.#policy, 'drained');
    this.emit('drain');
  }

  /**
   * Starts collecting output into one batch. Outside a receive batch the
   * flush happens in a microtask shared by all sockets.
   */
  #cork(): void {
    if (this.#isCorked) return;
    const transport = this.#transport as Transport;
    if (transport.destroyed) return;
    this.#corkBaseline = transport.writableLength + (this.#conn as Connection).pendingBytes;
    this.#isCorked = true;
    if (!this.#isReceiving) {
      flushQueue.push(this);
      if (!isFlushScheduled) {
        isFlushScheduled = true;
        queueMicrotask(WebSocket.#flushAll);
      }
    }
  }

  /**
   * Writes the batch: one buffer as is, small frames concatenated into one
   * write (cheaper than the stream's per-chunk bookkeeping), large ones as
   * one writev without copying.
   */
  #flush(): void {
    if (!this.#isCorked) return;
    this.#isCorked = false;
    const batch = this.#batch;
    const count = batch === undefined ? 0 : batch.length;
    if (count === 0) {
      if (this.#needDrain) this.#checkDrain();
      return;
    }
    const list = batch as Buffer[];
    const transport = this.#transport as Transport;
    const bytes = this.#batchBytes;
    const callbacks = this.#batchCallbacks;
    this.#batchBytes = 0;
    this.#batchCallbacks = undefined;
    const check = this.#needDrain ? this.#drainCheck : undefined;
    let cb: SendCallback | undefined = check;
    if (callbacks !== undefined) {
      cb =
        callbacks.length === 1 && check === undefined
          ? callbacks[0]
          : (error) => {
              for (let i = 0; i < callbacks.length; i++) callbacks[i](error);
              check?.(error);
            };
    }
    if (count === 1) transport.write(list[0], cb);
    else if (bytes <= CONCAT_MAX_BYTES) transport.write(Buffer.concat(list, bytes), cb);
    else {
      transport.cork();
      for (let i = 0; i < count - 1; i++) transport.write(list[i]);
      transport.write(list[count - 1], cb);
      transport.uncork();
    }
    list.length = 0;
    if (this.#needDrain) this.#checkDrain();
  }

  /** The transport is gone: unwritten output is lost, its callbacks learn why. */
  #discardBatch(): void {
    this.#isCorked = false;
    const callbacks = this.#batchCallbacks;
    if (this.#batch !== undefined) this.#batch.length = 0;
    this.#batchBytes = 0;
    this.#batchCallbacks = undefined;
    if (callbacks !== undefined) {
      const error = new ConnectionClosedError('the transport closed before the data was written');
      for (const cb of callbacks) process.nextTick(cb, error);
    }
  }

  static #flushAll(): void {
    const queue = flushQueue;
    flushQueue = [];
    isFlushScheduled = false;
    for (let i = 0; i < queue.length; i++) queue[i].#flush();
  }

  #armCloseTimer(): void {
    if (this.#closeTimeoutMs === Infinity || this.#isClosedEmitted) return;
    if (this.#closeEntry === undefined) {
      this.#closeEntry = { bucket: -1, lastBuffered: -1, onTimer: () => this.#onCloseTimer() };
    } else if (this.#closeEntry.bucket !== -1) {
      return;
    }
    this.#closeEntry.lastBuffered = this.bufferedAmount;
    sharedWheel.schedule(this.#closeEntry, this.#closeTimeoutMs);
  }

  #onCloseTimer(): void {
    const entry = this.#closeEntry as TimerEntry & { lastBuffered: number };
    const buffered = this.bufferedAmount;
    // The timeout measures silence, not transfer time: while data queued
    // before close() still drains to a reading peer, wait on; once our queue
    // emptied (the close frame is in the kernel), the peer gets one more full
    // period to read what the kernel holds and answer.
    if (entry.lastBuffered > 0 && buffered < entry.lastBuffered) {
      entry.lastBuffered = buffered;
      sharedWheel.schedule(entry, this.#closeTimeoutMs);
      return;
    }
    this.#emitError(new TimeoutError('close', this.#closeTimeoutMs));
    this.#transport?.destroy();
  }

  #emitError(error: Error): void {
    // ws emits 'error' unconditionally, which crashes apps without a
    // listener; a peer's misbehaviour must never do that here.
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  #emitClose(code: number, reason: string): void {
    if (this.#isClosedEmitted) return;
    this.#isClosedEmitted = true;
    this.#liveness?.stop();
    if (this.#closeEntry !== undefined) sharedWheel.cancel(this.#closeEntry);
    const transport = this.#transport;
    // Only reached from the transport's 'close' (via the core): no more
    // transport events can come, so unlinking is enough.
    if (transport !== undefined) transport[kSocket] = undefined;
    this.#onClose?.(this, code, reason);
    if (channels.connectionClose.hasSubscribers) {
      channels.connectionClose.publish({ socket: this, code, reason, wasClean: this.#wasClean });
    }
    this.emit('close', code, reason === '' ? EMPTY : Buffer.from(reason));
  }

  // Core sink: `this` is the sink object { ws }.
  static #sinkWrite(this: { ws: WebSocket }, data: Buffer, cb?: SendCallback): void {
    this.ws.#write(data, cb);
  }

  #write(data: Buffer, cb: SendCallback | undefined): void {
    const transport = this.#transport as Transport;
    if (this.#counters !== undefined) this.#counters.bytesOut += data.length;
    if (transport.destroyed) {
      if (cb !== undefined) process.nextTick(cb, new ConnectionClosedError('the transport is closed'));
      return;
    }
    // Writes from asynchronous compression arrive outside any batch.
    if (!this.#isCorked) this.#cork();
    (this.#batch ??= []).push(data);
    this.#batchBytes += data.length;
    if (cb !== undefined) (this.#batchCallbacks ??= []).push(cb);
  }

  /** The core finished an async inflate and parsed what waited: read again. */
  static #sinkResumed(this: { ws: WebSocket }): void {
    const ws = this.ws;
    if (!ws.#isCorePaused) return;
    ws.#isCorePaused = false;
    if (!ws.#isUserPaused) ws.#transport?.resume();
  }

  static #sinkEvent(this: { ws: WebSocket }, event: CoreEvent): void {
    const ws = this.ws;
    switch (event.type) {
      case 'message': {
        if (ws.#counters !== undefined) ws.#counters.messagesIn++;
        if (ws.#liveness !== undefined) ws.#liveness.sawMessage = true;
        const data = event.data;
        const binaryType = ws.#binaryType;
        if (binaryType === 'nodebuffer') ws.emit('message', data, event.isBinary);
        else if (binaryType === 'arraybuffer') {
          ws.emit('message', data.buffer.slice(data.byteOffset, data.byteOffset + data.length), event.isBinary);
        } else ws.emit('message', [data], event.isBinary);
        return;
      }
      case 'ping':
        ws.emit('ping', event.data);
        return;
      case 'pong':
        ws.#liveness?.onPong();
        ws.emit('pong', event.data);
        return;
      case 'close-frame':
        return;
      case 'error': {
        const error = event.error;
        if (channels.protocolError.hasSubscribers) {
          channels.protocolError.publish({ socket: ws, error, closeCode: (error as { closeCode?: number }).closeCode });
        }
        ws.#armCloseTimer();
        ws.#emitError(error);
        return;
      }
      case 'shutdown':
        // Whatever paused reading (inflation, the app) no longer matters: the
        // core ignores further data, and only reading shows us the peer's
        // FIN or RST, which ends the connection without the close timer.
        ws.#isCorePaused = false;
        (ws.#transport as Transport).resume();
        if (event.mode === 'end') {
          // Everything queued (the close frame last) goes before our FIN.
          const wasCorked = ws.#isCorked;
          ws.#flush();
          (ws.#transport as Transport).end();
          if (wasCorked && ws.#isReceiving) ws.#cork();
        }
        ws.#armCloseTimer();
        return;
      case 'closed':
        ws.#wasClean = event.wasClean;
        ws.#emitClose(event.code, event.reason);
        return;
    }
  }

  // Transport listeners: `this` is the transport.
  static #onTransportData(this: Transport, chunk: Buffer): void {
    const ws = this[kSocket];
    if (ws === undefined) return;
    const conn = ws.#conn as Connection;
    if (ws.#counters !== undefined) ws.#counters.bytesIn += chunk.length;
    if (ws.#liveness !== undefined) ws.#liveness.sawTraffic = true;
    const wasCorked = ws.#isCorked;
    ws.#isReceiving = true;
    ws.#cork();
    try {
      conn.receive(chunk);
    } finally {
      ws.#isReceiving = false;
      if (!wasCorked) ws.#flush();
    }
    // Decompression runs asynchronously; stop reading meanwhile so a peer
    // cannot pile bytes up in the core (TCP pushes back instead).
    if (conn.isReceivePaused && !ws.#isCorePaused) {
      ws.#isCorePaused = true;
      this.pause();
    }
  }

  static #onTransportDrain(this: Transport): void {
    const ws = this[kSocket];
    if (ws === undefined) return;
    ws.#isDrainListening = false;
    ws.#checkDrain();
  }

  static #onTransportEnd(this: Transport): void {
    const ws = this[kSocket];
    if (ws !== undefined) (ws.#conn as Connection).receiveEof();
  }

  static #onTransportClose(this: Transport): void {
    const ws = this[kSocket];
    if (ws === undefined) return;
    ws.#discardBatch();
    const conn = ws.#conn as Connection;
    try {
      conn.transportClosed();
    } finally {
      // The core reports 'closed' from transportClosed(); make sure the app
      // hears 'close' even if it did not (e.g. a core bug), with 1006.
      if (!ws.#isClosedEmitted) ws.#emitClose(1006, '');
    }
  }

  static #onTransportError(this: Transport): void {
    // ECONNRESET and friends: 'close' follows and reports 1006. A transport
    // error is not the app's fault and must not crash it.
  }

  static {
    attachSocket = (ws, transport, head, options) => {
      if (ws.#conn !== undefined) throw new Error('socket already attached');
      const t = transport as Transport;
      ws.#connecting = undefined;
      ws.#transport = t;
      ws.#protocol = options.protocol ?? '';
      ws.#extensions = options.extensions ?? '';
      if (options.url !== undefined) ws.#url = options.url;
      ws.#closeTimeoutMs = options.closeTimeoutMs ?? DEFAULTS.closeTimeoutMs;
      ws.#highWaterMarkBytes = options.highWaterMarkBytes ?? Infinity;
      ws.#policy = options.backpressurePolicy ?? 'queue';
      ws.#counters = options.counters ?? new TrafficCounters();
      ws.#onClose = options.onClose;
      const sink = { ws, write: WebSocket.#sinkWrite, event: WebSocket.#sinkEvent, receiveResumed: WebSocket.#sinkResumed };
      ws.#conn = new Connection(
        {
          role: options.role,
          maxMessageBytes: options.maxMessageBytes,
          maxFragments: options.maxFragments,
          compressor: options.compressor,
          compressThresholdBytes: options.compressThresholdBytes,
          maskSource: options.maskSource,
          isOpen: true,
        },
        sink,
      );
      const heartbeat = options.heartbeat ?? false;
      const idleTimeoutMs = options.idleTimeoutMs ?? Infinity;
      if (heartbeat !== false || idleTimeoutMs !== Infinity) ws.#liveness = new Liveness(ws, heartbeat, idleTimeoutMs);
      t[kSocket] = ws;
      t.setNoDelay(true);
      t.setTimeout(0);
      t.on('error', WebSocket.#onTransportError);
      t.on('end', WebSocket.#onTransportEnd);
      t.on('close', WebSocket.#onTransportClose);
      // Replay the first frames through the stream: they are parsed on a
      // later tick, after the caller attached its 'message' listeners.
      if (head.length > 0) t.unshift(head);
      t.on('data', WebSocket.#onTransportData);
      if (ws.#isUserPaused) t.pause();
      if (t.destroyed) process.nextTick(WebSocket.#onTransportClose.bind(t));
      ws.emit('open');
    };

    setConnecting = (ws, hooks) => {
      ws.#connecting = hooks;
      if (hooks.url !== undefined) ws.#url = hooks.url;
    };

    failConnecting = (ws, error) => {
      if (ws.#isClosedEmitted || ws.#conn !== undefined) return;
      ws.#connecting = undefined;
      ws.#emitError(error);
      ws.#emitClose(1006, '');
    };

    sendPreparedFrame = (ws, frame, payload, isBinary) => {
      const conn = ws.#conn;
      if (conn === undefined || conn.readyState !== ReadyState.OPEN || ws.#isTerminated) return false;
      // The core cannot interleave a whole frame into a fragmented message.
      if (ws.#isFragmenting) return ws.send(payload, { binary: isBinary });
      if (ws.#highWaterMarkBytes !== Infinity && ws.#policy !== 'queue') {
        if (isOverHighWaterMark(ws.bufferedAmount, payloadLength(payload), ws.#highWaterMarkBytes)) {
          return ws.#overflow(payload, isBinary, undefined);
        }
      }
      ws.#cork();
      const wasQueued = ws.#corkBaseline > 0 || conn.pendingBytes > 0;
      if (wasQueued) ws.#armDrain();
      // Ordered behind messages still waiting for compression, like send().
      conn.sendEncoded(frame as Buffer[]);
      if (ws.#counters !== undefined) ws.#counters.messagesOut++;
      if (ws.#liveness !== undefined) ws.#liveness.sawMessage = true;
      return ws.#settleBatch(!wasQueued);
    };
  }
}

defineEventAttributes(WebSocket.prototype);
for (const [name, value] of Object.entries(ReadyState)) {
  Object.defineProperty(WebSocket.prototype, name, { value, enumerable: true });
}
