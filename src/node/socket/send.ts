/**
 * The send path of a Node `WebSocket`: messages, prepared (broadcast)
 * frames, ping and pong, and what send() returns.
 *
 * `send()` returns true when the data goes to the kernel in this tick and
 * false when it waits behind bytes already queued (then 'drain' follows once
 * everything queued was written). Above `highWaterMarkBytes` the
 * `backpressurePolicy` applies: 'queue' keeps queuing (the app watches the
 * return value), 'drop' refuses the message and emits 'dropped' (data,
 * isBinary), 'close' starts the closing handshake with 1008 (policy
 * violation: the peer does not read).
 */
import type { Connection } from '../../core/connection.js';
import { ReadyState } from '../../core/events.js';
import { ConnectionClosedError, ErrorCode, SockwaveError } from '../../core/errors.js';
import { isOverHighWaterMark, publishBackpressure } from '../backpressure.js';
import { isBinaryMessage, payloadLength, toPayload, type SendData } from './send-data.js';
import { bufferedAmountOf, readyStateOf, type SendCallback, type SocketState, type Transport } from './state.js';
import { cork, flush } from './write-batch.js';
import { armDrain } from './drain.js';
import { startClose } from './close.js';

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

const EMPTY = Buffer.alloc(0);
const READY_STATE_NAMES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'] as const;
/** A batch this large is flushed at once (see settleBatch). */
const FLUSH_BYTES = 64 * 1024;
const TEXT = { isBinary: false } as const;
const BINARY = { isBinary: true } as const;
const TEXT_OPTION: SocketSendOptions = { binary: false };
const BINARY_OPTION: SocketSendOptions = { binary: true };

function notOpenWhileConnecting(): SockwaveError {
  // Nothing closed: the connection is not open yet (the web layer's InvalidStateError).
  return new SockwaveError(ErrorCode.NOT_OPEN_YET, 'WebSocket is not open yet: readyState 0 (CONNECTING); wait for open');
}

export function sendMessage(s: SocketState, data: SendData, options: SocketSendOptions | undefined, cb: SendCallback | undefined): boolean {
  const conn = s.conn;
  if (conn === undefined) {
    if (s.isClosedEmitted || s.isTerminated) return refuse(s, cb);
    throw notOpenWhileConnecting();
  }
  const payload = toPayload(data);
  const isBinary = isBinaryMessage(data, options?.binary);
  if (conn.readyState !== ReadyState.OPEN || s.isTerminated) return refuse(s, cb);
  const config = s.config;
  if (config.highWaterMarkBytes !== Infinity && config.policy !== 'queue') {
    if (isOverHighWaterMark(bufferedAmountOf(s), payloadLength(payload), config.highWaterMarkBytes)) {
      return overflow(s, payload, isBinary, cb);
    }
  }
  cork(s);
  const wasQueued = s.corkBaseline > 0 || conn.pendingBytes > 0;
  if (wasQueued) armDrain(s);
  const sendOptions =
    options === undefined || (options.compress === undefined && options.fin === undefined)
      ? isBinary
        ? BINARY
        : TEXT
      : { isBinary, compress: options.compress, fin: options.fin };
  conn.send(payload, sendOptions, cb);
  s.isFragmenting = options?.fin === false;
  if (config.counters !== undefined) config.counters.messagesOut++;
  s.sawMessage = true;
  return settleBatch(s, !wasQueued);
}

/** Writes an encoded frame (server role, unmasked) as if send(payload) was called. */
export function sendPrepared(s: SocketState, frame: readonly Buffer[], payload: Buffer | string, isBinary: boolean): boolean {
  const conn = s.conn;
  if (conn === undefined || conn.readyState !== ReadyState.OPEN || s.isTerminated) return false;
  // The core cannot interleave a whole frame into a fragmented message.
  if (s.isFragmenting) return sendMessage(s, payload, isBinary ? BINARY_OPTION : TEXT_OPTION, undefined);
  const config = s.config;
  if (config.highWaterMarkBytes !== Infinity && config.policy !== 'queue') {
    if (isOverHighWaterMark(bufferedAmountOf(s), payloadLength(payload), config.highWaterMarkBytes)) {
      return overflow(s, payload, isBinary, undefined);
    }
  }
  cork(s);
  const wasQueued = s.corkBaseline > 0 || conn.pendingBytes > 0;
  if (wasQueued) armDrain(s);
  // Ordered behind messages still waiting for compression, like send().
  conn.sendEncoded(frame as Buffer[]);
  if (config.counters !== undefined) config.counters.messagesOut++;
  s.sawMessage = true;
  return settleBatch(s, !wasQueued);
}

/**
 * After a write into the corked batch: a batch past FLUSH_BYTES goes to
 * the kernel now, so a synchronous send loop sees real backpressure
 * (false) instead of growing one unbounded batch. Returns send()'s value.
 */
function settleBatch(s: SocketState, isWritten: boolean): boolean {
  const transport = s.transport as Transport;
  if (s.isCorked && s.batchBytes >= FLUSH_BYTES) {
    flush(s);
    isWritten = transport.writableLength === 0;
    if (s.isReceiving) cork(s);
  }
  if ((s.conn as Connection).pendingBytes > 0) isWritten = false;
  if (!isWritten) armDrain(s);
  return isWritten;
}

/** ping (`isPing`) or pong with an optional payload. Throws only while CONNECTING. */
export function sendControl(s: SocketState, isPing: boolean, data: SendData | undefined, cb: SendCallback | undefined): void {
  const conn = s.conn;
  if (conn === undefined && !s.isClosedEmitted && !s.isTerminated) throw notOpenWhileConnecting();
  if (conn === undefined || conn.readyState !== ReadyState.OPEN || s.isTerminated) {
    refuse(s, cb);
    return;
  }
  cork(s);
  const payload = data === undefined ? EMPTY : toPayload(data);
  if (isPing) conn.ping(payload, cb);
  else conn.pong(payload, cb);
}

function refuse(s: SocketState, cb: SendCallback | undefined): false {
  if (cb !== undefined) {
    const state = readyStateOf(s);
    // ws's text, which apps and ws's own tests match: the number and its name.
    const error = new ConnectionClosedError(`WebSocket is not open: readyState ${state} (${READY_STATE_NAMES[state]})`);
    process.nextTick(cb, error);
  }
  return false;
}

function overflow(s: SocketState, payload: Buffer | string, isBinary: boolean, cb: SendCallback | undefined): false {
  const buffered = bufferedAmountOf(s);
  const { policy, highWaterMarkBytes } = s.config;
  publishBackpressure(s.ws, buffered, highWaterMarkBytes, policy, policy === 'drop' ? 'dropped' : 'closed');
  if (policy === 'drop') {
    s.ws.emit('dropped', typeof payload === 'string' ? Buffer.from(payload) : payload, isBinary);
    if (cb !== undefined) {
      process.nextTick(cb, new SockwaveError(ErrorCode.POLICY, `message dropped: ${buffered} bytes already queued`));
    }
    return false;
  }
  // 'close': RFC 6455 §7.4.1 1008, the peer violates our policy by not reading.
  startClose(s, 1008, 'peer is not reading');
  return refuse(s, cb);
}
