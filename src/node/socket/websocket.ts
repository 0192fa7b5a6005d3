/**
 * The ws-compatible Node socket: a core `Connection` over a net/tls socket,
 * handed out by the server (server/upgrade.ts) and by the client
 * (connect.ts, or `new WebSocket(url)` as with ws). This file is the top of
 * socket/: the public surface (ws-compatible properties and methods,
 * DOM-style listeners) over the layers below, each importing only the ones
 * under it:
 *   state.ts             per-socket state, plain data (imports no sibling)
 *   drain.ts             'drain' after send() returned false
 *   write-batch.ts       output collected and written once per batch
 *   close.ts             close, terminate, close timeout, 'close', CONNECTING's end
 *   send.ts              send/ping/pong, prepared frames, backpressure policy
 *   sink.ts              the state as the core's sink: core events -> 'message', 'ping', 'pong', 'error'
 *   transport.ts         attaching to the net/tls socket, its listeners
 *   client-handshake.ts  the client role: handshake, then attach
 *
 * Inside the package, the server and the client reach a socket's state
 * through `ws[kState]` (state.ts); the symbol is not exported from the package.
 *
 * ## Backpressure
 * `bufferedAmount` = bytes in the transport's write buffer + the batch not
 * yet written (accepted, not yet handed to the kernel) + the core's
 * `pendingBytes` (e.g. waiting for compression). See send.ts for what
 * send() returns and the policies above `highWaterMarkBytes`.
 *
 * Timers (close timeout, heartbeat, idle) live on the shared TimerWheel.
 */
import type { Socket as NetSocket } from 'node:net';
import { ReadyState } from '../../core/events.js';
import type { SendData } from './send-data.js';
import { SocketEmitterBase } from './emitter-base.js';
import { addDomListener, defineEventAttributes, removeDomListener, type DomListener } from './event-target-shim.js';
import { bufferedAmountOf, kState, readyStateOf, type BinaryType, type SendCallback } from './state.js';
import { sendControl, sendMessage, type SocketSendOptions } from './send.js';
import { startClose, terminate } from './close.js';
import { SocketSink } from './sink.js';
import { startWsClient } from './client-handshake.js';
import { ConnectionClosedError } from '../../core/errors.js';
import {
  markHandled,
  requirePort,
  type SocketPublishOptions,
  type TopicData,
  type TopicPosition,
  type TopicSubscribeOptions,
  type TopicSubscribeResult,
} from '../topic-port.js';
import { iterateMessages, type IteratedMessage } from './iterate.js';
import { cancelBlobQueue, isBlob, mustWaitForBlobs, queueBehindBlobs } from './send-blob.js';
import { validateCloseArguments } from '../../core/close.js';

export type { BinaryType, SendCallback } from './state.js';
export type { SocketSendOptions } from './send.js';
export type { BackpressurePolicy } from '../backpressure.js';
export type { SendData } from './send-data.js';
export type { SocketPublishOptions, TopicData, TopicPosition, TopicSubscribeOptions, TopicSubscribeResult } from '../topic-port.js';
export type { IteratedMessage } from './iterate.js';

export class NodeWebSocket extends SocketEmitterBase {
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

  /** @internal The socket's state, also the core's sink (sink.ts); for the server and client in this package. */
  readonly [kState]: SocketSink = new SocketSink(this);

  /**
   * With an address: a client socket that starts the opening handshake at
   * once (ws's signature: protocols, or the options object in its place).
   * Without one (`null`): an unattached socket for the server or connect().
   */
  constructor(address: string | URL | null = null, protocols?: string | string[], options?: object) {
    super();
    if (address !== null && address !== undefined) startWsClient(this[kState], address, protocols, options);
  }

  // --- ws-compatible properties -------------------------------------------

  get readyState(): ReadyState {
    return readyStateOf(this[kState]);
  }

  get protocol(): string {
    return this[kState].protocol;
  }

  get extensions(): string {
    return this[kState].extensions;
  }

  get url(): string {
    return this[kState].url;
  }

  get binaryType(): BinaryType {
    return this[kState].binaryType;
  }

  set binaryType(value: BinaryType) {
    if (value !== 'nodebuffer' && value !== 'arraybuffer' && value !== 'fragments' && value !== 'blob') return;
    this[kState].binaryType = value;
  }

  /** Bytes accepted by send/ping/pong/close and not yet handed to the kernel. */
  get bufferedAmount(): number {
    return bufferedAmountOf(this[kState]);
  }

  /** Round-trip time of the last answered heartbeat ping, in ms. */
  get latencyMs(): number | undefined {
    const micros = this[kState].latencyMicros;
    return micros === undefined ? undefined : micros / 1000;
  }

  /** ws compatibility: the underlying net/tls socket (engine.io and some apps read it). */
  get _socket(): NetSocket | undefined {
    return this[kState].transport;
  }

  get isPaused(): boolean {
    return this[kState].isUserPaused;
  }

  /** True once the closing handshake completed both ways (for DOM 'close' events). */
  get wasClean(): boolean {
    return this[kState].wasClean;
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
  send(data: SendData | Blob, options?: SocketSendOptions | SendCallback, cb?: SendCallback): boolean {
    if (typeof options === 'function') {
      cb = options;
      options = undefined;
    }
    const s = this[kState];
    if (mustWaitForBlobs(s, data)) {
      if (s.conn === undefined && !s.isClosedEmitted) return sendMessage(s, data as SendData, options, cb); // throws while CONNECTING, as ws does
      const sendOptions = options;
      queueBehindBlobs(s, data, cb, (bytes) => sendMessage(s, bytes ?? (data as SendData), sendOptions, cb));
      return false;
    }
    return sendMessage(s, data as SendData, options, cb);
  }

  ping(data?: SendData | Blob | SendCallback, mask?: boolean | SendCallback, cb?: SendCallback): void {
    control(this[kState], true, data, mask, cb);
  }

  pong(data?: SendData | Blob | SendCallback, mask?: boolean | SendCallback, cb?: SendCallback): void {
    control(this[kState], false, data, mask, cb);
  }

  /**
   * Starts the closing handshake (RFC 6455 §7.1.2). Data queued before the
   * call is written first. Throws RangeError/TypeError for a code that may
   * not be sent or a reason over 123 bytes. No-op once closing.
   */
  close(code?: number, reason?: string | Buffer): void {
    const s = this[kState];
    if (s.blobQueue !== undefined) {
      // The close frame must not overtake a Blob still being read; bad arguments still throw here.
      validateCloseArguments(code, Buffer.isBuffer(reason) ? reason.toString() : reason);
      queueBehindBlobs(s, undefined, undefined, () => startClose(s, code, reason));
      return;
    }
    startClose(s, code, reason);
  }

  /** Destroys the transport now; 'close' follows with 1006. */
  terminate(): void {
    const s = this[kState];
    terminate(s);
    cancelBlobQueue(s, new Error('The socket was closed while the blob was being read'));
  }

  // --- topics (server sockets; see node/topics/fanout.ts) ------------------

  /**
   * Subscribes this socket to `topic`. Without `since` the socket receives
   * the topic's messages from the moment this returns (the promise says from
   * which position; its rejection is handled for you). With `since`, it
   * first gets every message after that position, in order, then the live
   * ones; `recovered: false` when the history no longer covers the gap.
   * Throws at once for a bad topic or `since`.
   */
  subscribe(topic: string, options?: TopicSubscribeOptions): Promise<TopicSubscribeResult> {
    const s = this[kState];
    const port = requirePort(s.config.topicPort);
    // A closed socket was already removed from every topic: adding it back would leak it.
    if (s.isClosedEmitted) return markHandled(Promise.reject(new ConnectionClosedError('WebSocket is closed: cannot subscribe')));
    const result = port.subscribe(this, topic, options);
    return options?.since === undefined ? markHandled(result) : result;
  }

  /** Returns false when the socket was not subscribed. */
  unsubscribe(topic: string): boolean {
    return requirePort(this[kState].config.topicPort).unsubscribe(this, topic);
  }

  isSubscribed(topic: string): boolean {
    return this[kState].config.topicPort?.isSubscribed(this, topic) ?? false;
  }

  /** The topics this socket is subscribed to (a copy). */
  get topics(): string[] {
    return this[kState].config.topicPort?.topicsOf(this) ?? [];
  }

  /**
   * Publishes to every subscriber of `topic` on every server of the
   * backplane, except this socket unless `{ self: true }`. Resolves with the
   * message's position once stored; rejects when the backplane refuses it.
   */
  publish(topic: string, data: TopicData, options?: SocketPublishOptions): Promise<TopicPosition> {
    return requirePort(this[kState].config.topicPort).publish(this, topic, data, options);
  }

  /**
   * Lets the process exit while this socket is its only work, as
   * net.Socket#unref does (a client that idles, a CLI that must not hang).
   * Called while CONNECTING, it takes effect when the connection opens; the
   * handshake itself still holds the process until it ends.
   */
  unref(): this {
    this[kState].isUnref = true;
    this[kState].transport?.unref();
    return this;
  }

  /** Undoes unref(): the socket keeps the process alive again. */
  ref(): this {
    this[kState].isUnref = false;
    this[kState].transport?.ref();
    return this;
  }

  /**
   * `for await (const message of socket)`: text as strings, binary as
   * binaryType makes it; ends after a normal close, throws
   * ConnectionClosedError after an abnormal one; pauses the socket while
   * the loop falls behind (iterate.ts).
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<IteratedMessage> {
    return iterateMessages(this);
  }

  /** Stops reading from the transport (TCP flow control pushes back on the peer). */
  pause(): void {
    const s = this[kState];
    if (s.isUserPaused) return;
    s.isUserPaused = true;
    s.transport?.pause();
  }

  resume(): void {
    const s = this[kState];
    if (!s.isUserPaused) return;
    s.isUserPaused = false;
    if (!s.isCorePaused) s.transport?.resume();
  }
}

defineEventAttributes(NodeWebSocket.prototype);
for (const [name, value] of Object.entries(ReadyState)) {
  Object.defineProperty(NodeWebSocket.prototype, name, { value, enumerable: true });
}

/**
 * ping()/pong(): ws's (data?, mask?, cb?) with the callback in any position;
 * `mask` is ignored (the role decides). A function, not a `#private` method:
 * a class with private methods gives every instance a hidden brand field
 * (8 bytes per socket).
 */
function control(
  s: SocketSink,
  isPing: boolean,
  data?: SendData | Blob | SendCallback,
  mask?: boolean | SendCallback,
  cb?: SendCallback,
): void {
  if (typeof mask === 'function') cb = mask;
  if (typeof data === 'function') {
    cb = data;
    data = undefined;
  }
  if (mustWaitForBlobs(s, data) && s.conn !== undefined) {
    if (isBlob(data) && data.size > 125) throw new RangeError('The data size must not be greater than 125 bytes');
    const payload = data;
    queueBehindBlobs(s, data, cb, (bytes) => sendControl(s, isPing, bytes ?? (payload as SendData | undefined), cb));
    return;
  }
  sendControl(s, isPing, data as SendData | undefined, cb);
}
