/**
 * A client that stays connected: it opens a Node socket with connect(),
 * and when that connection fails or drops it waits (exponential backoff
 * with jitter, options.ts) and opens another, until the app calls close(),
 * the server closes with a "do not come back" code, or the attempt limit
 * is reached. Messages sent while disconnected wait in a bounded queue
 * (outgoing-queue.ts) and go out, in order, on the next connection.
 *
 * Delivery is at most once: a message handed to a connection that then
 * drops may be lost, as with any single connection. Apps that need more
 * resend from their own state in an 'open' handler; topic recovery does
 * this for subscriptions (resubscribe `since` the last position seen).
 *
 * Events (EventEmitter):
 *   'connecting' (info: { attempt, delayMs })      an attempt starts (attempt 0 = first connection)
 *   'open'       (socket, { attempt, isReconnect }) a connection opened; the queue is flushed right after
 *   'reconnect'  (socket, { attempt })             the same, for every connection but the first
 *   'message'    (data, isBinary)                   from the current connection
 *   'ping' / 'pong' (data)                          from the current connection
 *   'disconnect' (info)                             a connection ended or an attempt failed; says what happens next
 *   'dropped'    (data, reason)                     a message that will not be sent ('queue-full' or 'closed')
 *   'close'      (code, reason)                     the client is done: close(), a policy close, or attempts exhausted
 * There is no 'error' event: errors arrive in 'disconnect' (info.error), so
 * an app without listeners never crashes on a network failure.
 */
import { EventEmitter } from 'node:events';
import { ReadyState } from '../../core/events.js';
import { getWebSocketUrlRecord } from '../../core/url.js';
import { ConnectionClosedError } from '../../core/errors.js';
import { resolveClientOptions, type ClientOptions } from '../client/options.js';
import { connect } from '../socket/connect.js';
import type { NodeWebSocket, SendData, SocketSendOptions } from '../socket/websocket.js';
import { backoffDelayMs, resolveReconnectOptions, type DisconnectInfo, type ReconnectingClientOptions, type ResolvedReconnectOptions } from './options.js';
import { OutgoingQueue, payloadBytes, type QueuedMessage } from './outgoing-queue.js';

/** The server address, or a function called before every attempt (a fresh token in the query, another host). */
export type UrlSource = string | URL | (() => string | URL | Promise<string | URL>);

export type DropReason = 'queue-full' | 'closed';

export interface DisconnectEventInfo extends DisconnectInfo {
  /** True when another attempt is scheduled. */
  willReconnect: boolean;
  /** The wait before that attempt, in ms (undefined when none follows). */
  delayMs: number | undefined;
  /** The number of the attempt that follows (1 = the first retry since the last connection that stayed up minUptimeMs); when none follows, the retries made. */
  attempt: number;
}

export class ReconnectingWebSocket extends EventEmitter {
  readonly #source: UrlSource;
  readonly #client: ClientOptions;
  readonly #policy: ResolvedReconnectOptions;
  readonly #queue: OutgoingQueue;
  readonly #signal: AbortSignal | undefined;
  #socket: NodeWebSocket | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Reconnection attempts since the last stable connection. */
  #retries = 0;
  #hasOpened = false;
  #openedAt = 0;
  #lastError: Error | undefined;
  #readyState: ReadyState = ReadyState.CONNECTING;
  #isRefed = true;
  /** Set by close(): the code and reason the final 'close' reports when no connection carries them. */
  #closeRequest: { code: number; reason: string } | undefined;
  readonly #onAbort = (): void => this.close();

  /**
   * Starts connecting at once. Throws synchronously for an invalid URL
   * (when it is not a function) and for invalid options (RangeError/TypeError
   * naming the option), like connect().
   */
  constructor(url: UrlSource, options: ReconnectingClientOptions = {}) {
    super();
    const { reconnect, client, signal } = resolveReconnectOptions(options);
    // Validate the per-attempt options now, not on the first attempt.
    resolveClientOptions(client);
    if (typeof url !== 'function') getWebSocketUrlRecord(url);
    this.#source = url;
    this.#client = client;
    this.#policy = reconnect;
    this.#queue = new OutgoingQueue(reconnect.maxQueuedMessages, reconnect.maxQueuedBytes, reconnect.queueOverflow);
    this.#signal = signal;
    if (signal?.aborted) {
      this.close();
      return;
    }
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    // The first attempt starts on the next tick, not on a 0 ms timer: an
    // unref() right after construction would unref that timer, and the
    // process could exit before the client ever tried to connect. Once the
    // attempt runs, its handshake holds the process as a socket's does.
    process.nextTick(() => void this.#attempt(0));
  }

  /** CONNECTING while waiting or handshaking, OPEN with a live connection, CLOSING after close(), CLOSED when done. */
  get readyState(): ReadyState {
    return this.#readyState;
  }

  /** The open connection, if any (for its protocol, extensions, bufferedAmount, latencyMs). */
  get socket(): NodeWebSocket | undefined {
    return this.#readyState === ReadyState.OPEN ? this.#socket : undefined;
  }

  /** Messages waiting for a connection. */
  get queuedMessages(): number {
    return this.#queue.length;
  }

  /** Payload bytes waiting for a connection. */
  get queuedBytes(): number {
    return this.#queue.bytes;
  }

  /**
   * Sends on the open connection, or queues while disconnected. Returns
   * false when the message was refused (queue full with 'reject'; 'dropped'
   * tells the app) or the open connection asked to wait for 'drain'.
   * Throws ConnectionClosedError after close(). Fragments (`fin: false`)
   * cannot span connections and are refused with a TypeError.
   */
  send(data: SendData, options?: SocketSendOptions): boolean {
    if (options?.fin === false) throw new TypeError('the reconnecting client sends whole messages only (fin: false)');
    if (this.#readyState === ReadyState.CLOSING || this.#readyState === ReadyState.CLOSED) {
      throw new ConnectionClosedError('send() after close()');
    }
    const socket = this.#socket;
    if (socket !== undefined && socket.readyState === ReadyState.OPEN && this.#readyState === ReadyState.OPEN) {
      return socket.send(data, options);
    }
    // The app may reuse its buffer once send() returns: keep a copy.
    const copy = typeof data === 'string' || typeof data === 'number' ? data : Buffer.from(toBytes(data));
    const { isAccepted, dropped } = this.#queue.push({ data: copy, options, bytes: payloadBytes(copy) });
    for (const message of dropped) this.emit('dropped', message.data, 'queue-full' satisfies DropReason);
    return isAccepted;
  }

  /**
   * Ends the client: no further attempts. An open connection gets the
   * closing handshake (code, reason); a pending attempt is aborted. Queued
   * messages are reported as 'dropped' (reason 'closed'). 'close' follows.
   */
  close(code?: number, reason?: string): void {
    if (this.#closeRequest !== undefined) return;
    this.#closeRequest = { code: code ?? 1000, reason: reason ?? '' };
    this.#readyState = ReadyState.CLOSING;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const message of this.#queue.take()) this.emit('dropped', message.data, 'closed' satisfies DropReason);
    const socket = this.#socket;
    if (socket === undefined || socket.readyState === ReadyState.CLOSED) {
      process.nextTick(() => this.#finish(this.#closeRequest!.code, this.#closeRequest!.reason));
      return;
    }
    // Validates code and reason (throws like the socket's close) before anything is torn down.
    if (socket.readyState === ReadyState.OPEN) socket.close(this.#closeRequest.code, reason);
    else socket.terminate();
  }

  /** Destroys the current connection at once (no closing handshake) and ends the client. */
  terminate(): void {
    const socket = this.#socket;
    this.close();
    socket?.terminate();
  }

  /**
   * Lets the process exit while the client is idle: the connection and the
   * backoff timer no longer keep the event loop alive. An attempt's
   * handshake in flight still does, until it ends (handshakeTimeoutMs).
   */
  unref(): this {
    this.#isRefed = false;
    this.#timer?.unref();
    this.#socket?.unref();
    return this;
  }

  ref(): this {
    this.#isRefed = true;
    this.#timer?.ref();
    this.#socket?.ref();
    return this;
  }

  // --- the attempt cycle ------------------------------------------------------

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#attempt(delayMs);
    }, delayMs);
    if (!this.#isRefed) this.#timer.unref();
  }

  async #attempt(delayMs: number): Promise<void> {
    if (this.#closeRequest !== undefined) return;
    this.emit('connecting', { attempt: this.#retries, delayMs });
    let socket: NodeWebSocket;
    try {
      const address = typeof this.#source === 'function' ? await this.#source() : this.#source;
      if (this.#closeRequest !== undefined) return;
      socket = connect(address, this.#client);
    } catch (error) {
      // A URL function that threw or rejected, or returned an invalid URL: a failed attempt.
      this.#lastError = error as Error;
      this.#ended(1006, '');
      return;
    }
    this.#socket = socket;
    this.#lastError = undefined;
    socket.on('open', () => this.#opened(socket));
    socket.on('message', (data: unknown, isBinary: boolean) => this.emit('message', data, isBinary));
    socket.on('ping', (data: Buffer) => this.emit('ping', data));
    socket.on('pong', (data: Buffer) => this.emit('pong', data));
    socket.on('error', (error: Error) => {
      this.#lastError = error;
    });
    socket.on('close', (code: number, reason: Buffer) => {
      if (this.#socket === socket) this.#socket = undefined;
      this.#ended(code, reason.toString('utf8'));
    });
  }

  #opened(socket: NodeWebSocket): void {
    if (this.#closeRequest !== undefined) return;
    if (!this.#isRefed) socket.unref();
    this.#openedAt = performance.now();
    this.#readyState = ReadyState.OPEN;
    const isReconnect = this.#hasOpened;
    this.#hasOpened = true;
    const info = { attempt: this.#retries, isReconnect };
    // 'open' first: the app re-authenticates and resubscribes before the
    // messages it queued while disconnected go out.
    this.emit('open', socket, info);
    if (isReconnect) this.emit('reconnect', socket, info);
    this.#flushQueue(socket);
  }

  #flushQueue(socket: NodeWebSocket): void {
    for (const message of this.#queue.take()) {
      if (socket.readyState !== ReadyState.OPEN) {
        // The connection went away while flushing: keep the rest for the next one.
        this.#requeue(message);
        continue;
      }
      socket.send(message.data, message.options);
    }
  }

  #requeue(message: QueuedMessage): void {
    const { dropped } = this.#queue.push(message);
    for (const lost of dropped) this.emit('dropped', lost.data, 'queue-full' satisfies DropReason);
  }

  /** A connection ended or an attempt failed: decide between another attempt and the end. */
  #ended(code: number, reason: string): void {
    const wasOpen = this.#openedAt > 0;
    const uptimeMs = wasOpen ? performance.now() - this.#openedAt : 0;
    this.#openedAt = 0;
    if (this.#closeRequest !== undefined) {
      this.#finish(code, reason);
      return;
    }
    this.#readyState = ReadyState.CONNECTING;
    if (wasOpen && uptimeMs >= this.#policy.minUptimeMs) this.#retries = 0;
    const info: DisconnectInfo = { code, reason, error: this.#lastError, wasOpen };
    const isAllowed = this.#policy.shouldReconnect(info);
    const willReconnect = isAllowed && this.#retries < this.#policy.maxAttempts;
    const delayMs = willReconnect ? backoffDelayMs(this.#policy, this.#retries) : undefined;
    if (willReconnect) this.#retries++;
    this.emit('disconnect', { ...info, willReconnect, delayMs, attempt: this.#retries } satisfies DisconnectEventInfo);
    if (!willReconnect) {
      for (const message of this.#queue.take()) this.emit('dropped', message.data, 'closed' satisfies DropReason);
      this.#finish(code, reason);
      return;
    }
    this.#schedule(delayMs as number);
  }

  #finish(code: number, reason: string): void {
    if (this.#readyState === ReadyState.CLOSED) return;
    this.#readyState = ReadyState.CLOSED;
    clearTimeout(this.#timer);
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.emit('close', code, reason);
  }
}

function toBytes(data: Exclude<SendData, string | number>): Uint8Array {
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}
