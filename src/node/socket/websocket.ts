/**
 * The ws-compatible Node socket: a core `Connection` over a net/tls socket.
 * Used by BOTH the server (server-upgrade.ts) and the Node client (client.ts).
 * This file is the socket's public surface (ws-compatible properties and
 * methods, DOM-style listeners); the work is done by:
 *   socket-state.ts        per-socket state, also the core's sink
 *   socket-send.ts         send/ping/pong, prepared frames, backpressure policy
 *   socket-write-batch.ts  output collected and written once per batch
 *   socket-drain.ts        'drain' after send() returned false
 *   socket-close.ts        close, terminate, close timeout, 'close'
 *   socket-core-events.ts  core events -> 'message', 'ping', 'pong', 'error'
 *   socket-transport.ts    attaching to the net/tls socket, its listeners
 *
 * ## Internal API for transports (not exported from the package root)
 *
 *   const ws = new WebSocket(null);          // CONNECTING, no transport yet
 *   setConnecting(ws, { url, abort })        // client: close()/terminate() while CONNECTING call abort(error)
 *   attachSocket(ws, transport, head, options)  // after a valid 101 (see AttachOptions)
 *   failConnecting(ws, error)                // handshake failed: 'error' (when listened) then 'close' 1006
 *   registerClientStarter(fn)                // client.ts: makes `new WebSocket(url, protocols, options)` connect
 *   sendPreparedFrame(ws, frame, payload, isBinary)  // broadcast: write an already encoded frame
 *
 * ## Backpressure
 * `bufferedAmount` = bytes in the transport's write buffer + the batch not
 * yet written (accepted, not yet handed to the kernel) + the core's
 * `pendingBytes` (e.g. waiting for compression). See socket-send.ts for what
 * send() returns and the policies above `highWaterMarkBytes`.
 *
 * Timers (close timeout, heartbeat, idle) live on the shared TimerWheel.
 */
import { EventEmitter } from 'node:events';
import type { Socket as NetSocket } from 'node:net';
import { ReadyState } from '../../core/events.js';
import { TimeoutError } from '../../core/errors.js';
import type { LivenessTarget } from '../heartbeat.js';
import type { SendData } from './send-data.js';
import { addDomListener, defineEventAttributes, removeDomListener, type DomListener } from './event-target-shim.js';
import { bufferedAmountOf, readyStateOf, SocketState, type BinaryType, type ConnectingHooks, type SendCallback } from './state.js';
import { sendControl, sendMessage, sendPrepared, type SocketSendOptions } from './send.js';
import { emitClose, emitError, startClose, terminate } from './close.js';
import { attachTransport, type AttachOptions } from './transport.js';

export type { BinaryType, ConnectingHooks, SendCallback } from './state.js';
export type { SocketSendOptions } from './send.js';
export type { AttachOptions } from './transport.js';
export { isAttached } from './transport.js';
export type { BackpressurePolicy } from './backpressure.js';
export type { SendData } from './send-data.js';
export { toPayload } from './send-data.js';

export type ClientStarter = (
  socket: WebSocket,
  address: string | URL,
  protocols: string | string[] | undefined,
  options: object | undefined,
) => void;

let clientStarter: ClientStarter | undefined;

/**
 * EventEmitter starts `_events` as `{ __proto__: null }`, which V8 keeps in
 * dictionary mode: about 170 bytes per socket, most of an idle socket's own
 * heap after the core. Instances of a function whose prototype has no
 * prototype are fast objects that still inherit no keys ('constructor',
 * 'toString' stay free as event names), as Node's EventEmitter itself did
 * before v14.
 */
const EventMap = function EventMap() {} as unknown as { new (): object; prototype: object };
EventMap.prototype = Object.create(null) as object;

/** Internal: client.ts registers how `new WebSocket(url)` starts a handshake. */
export function registerClientStarter(starter: ClientStarter): void {
  clientStarter = starter;
}

// Assigned in the class's static block (they need its private state).
export let attachSocket: (ws: WebSocket, transport: NetSocket, head: Buffer, options: AttachOptions) => void;
export let setConnecting: (ws: WebSocket, hooks: ConnectingHooks) => void;
export let failConnecting: (ws: WebSocket, error: Error) => void;
/** Writes an encoded frame (server role, unmasked) as if send(payload) was called. Returns send()'s value. */
export let sendPreparedFrame: (ws: WebSocket, frame: readonly Buffer[], payload: Buffer | string, isBinary: boolean) => boolean;

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

  readonly #s: SocketState = new SocketState(this);

  constructor(address: string | URL | null = null, protocols?: string | string[], options?: object) {
    super();
    (this as unknown as { _events: object })._events = new EventMap();
    if (address !== null && address !== undefined) {
      if (clientStarter === undefined) {
        throw new Error('the sockwave client is not loaded: import { connect } from "sockwave"');
      }
      clientStarter(this, address, protocols, options);
    }
  }

  // --- ws-compatible properties -------------------------------------------

  get readyState(): ReadyState {
    return readyStateOf(this.#s);
  }

  get protocol(): string {
    return this.#s.protocol;
  }

  get extensions(): string {
    return this.#s.extensions;
  }

  get url(): string {
    return this.#s.url;
  }

  get binaryType(): BinaryType {
    return this.#s.binaryType;
  }

  set binaryType(value: BinaryType) {
    if (value !== 'nodebuffer' && value !== 'arraybuffer' && value !== 'fragments') return;
    this.#s.binaryType = value;
  }

  /** Bytes accepted by send/ping/pong/close and not yet handed to the kernel. */
  get bufferedAmount(): number {
    return bufferedAmountOf(this.#s);
  }

  /** Round-trip time of the last answered heartbeat ping, in ms. */
  get latencyMs(): number | undefined {
    return this.#s.liveness?.latencyMs;
  }

  /** ws compatibility: the underlying net/tls socket (engine.io and some apps read it). */
  get _socket(): NetSocket | undefined {
    return this.#s.transport;
  }

  get isPaused(): boolean {
    return this.#s.isUserPaused;
  }

  /** True once the closing handshake completed both ways (for DOM 'close' events). */
  get wasClean(): boolean {
    return this.#s.wasClean;
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
    return sendMessage(this.#s, data, options, cb);
  }

  ping(data?: SendData | SendCallback, mask?: boolean | SendCallback, cb?: SendCallback): void {
    this.#control(true, data, mask, cb);
  }

  pong(data?: SendData | SendCallback, mask?: boolean | SendCallback, cb?: SendCallback): void {
    this.#control(false, data, mask, cb);
  }

  /** ws's (data?, mask?, cb?) with the callback in any position; `mask` is ignored (the role decides). */
  #control(isPing: boolean, data?: SendData | SendCallback, mask?: boolean | SendCallback, cb?: SendCallback): void {
    if (typeof mask === 'function') cb = mask;
    if (typeof data === 'function') {
      cb = data;
      data = undefined;
    }
    sendControl(this.#s, isPing, data, cb);
  }

  /**
   * Starts the closing handshake (RFC 6455 §7.1.2). Data queued before the
   * call is written first. Throws RangeError/TypeError for a code that may
   * not be sent or a reason over 123 bytes. No-op once closing.
   */
  close(code?: number, reason?: string | Buffer): void {
    startClose(this.#s, code, reason);
  }

  /** Destroys the transport now; 'close' follows with 1006. */
  terminate(): void {
    terminate(this.#s);
  }

  /** Stops reading from the transport (TCP flow control pushes back on the peer). */
  pause(): void {
    const s = this.#s;
    if (s.isUserPaused) return;
    s.isUserPaused = true;
    s.transport?.pause();
  }

  resume(): void {
    const s = this.#s;
    if (!s.isUserPaused) return;
    s.isUserPaused = false;
    if (!s.isCorePaused) s.transport?.resume();
  }

  // --- LivenessTarget (heartbeat.ts); not part of the documented API -------

  /** @internal */
  sendHeartbeatPing(): void {
    if (this.readyState === ReadyState.OPEN) this.ping();
  }

  /** @internal */
  onHeartbeatTimeout(timeoutMs: number): void {
    emitError(this.#s, new TimeoutError('heartbeat', timeoutMs));
    this.terminate();
  }

  /** @internal */
  onIdleTimeout(): void {
    if (this.readyState === ReadyState.OPEN) this.close(1001, 'idle timeout');
  }

  static {
    attachSocket = (ws, transport, head, options) => attachTransport(ws.#s, transport, head, options);

    setConnecting = (ws, hooks) => {
      ws.#s.connecting = hooks;
      if (hooks.url !== undefined) ws.#s.url = hooks.url;
    };

    failConnecting = (ws, error) => {
      const s = ws.#s;
      if (s.isClosedEmitted || s.conn !== undefined) return;
      s.connecting = undefined;
      emitError(s, error);
      emitClose(s, 1006, '');
    };

    sendPreparedFrame = (ws, frame, payload, isBinary) => sendPrepared(ws.#s, frame, payload, isBinary);
  }
}

defineEventAttributes(WebSocket.prototype);
for (const [name, value] of Object.entries(ReadyState)) {
  Object.defineProperty(WebSocket.prototype, name, { value, enumerable: true });
}
