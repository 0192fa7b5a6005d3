/**
 * Closing a Node `WebSocket`: the closing handshake (close), terminate, the
 * close timeout on the shared timer wheel, the final 'close' event, and the
 * two ends of CONNECTING (the client's hooks, a failed handshake).
 */
import { ReadyState } from '../../core/events.js';
import { ErrorCode, SockwaveError, TimeoutError } from '../../core/errors.js';
import { isScheduled, sharedWheel, type TimerEntry, type TimerLink } from '../timer-wheel.js';
import { channels } from '../diagnostics.js';
import { stopLiveness } from '../heartbeat.js';
import { bareTcpHandle } from './node-internals.js';
import { bufferedAmountOf, kSocket, type CloseEntry, type ConnectingHooks, type SocketState } from './state.js';
import { cork } from './write-batch.js';

const EMPTY = Buffer.alloc(0);

/** Client: the handshake is under way; close()/terminate() now call `hooks.abort`. */
export function setConnecting(s: SocketState, hooks: ConnectingHooks): void {
  s.connecting = hooks;
  if (hooks.url !== undefined) s.url = hooks.url;
}

/**
 * Client: the handshake failed: 'error' (when listened; none for null) then
 * 'close' 1006 (RFC 6455 §7.4.1: no close frame was received).
 */
export function failConnecting(s: SocketState, error: Error | null): void {
  if (s.isClosedEmitted || s.conn !== undefined) return;
  s.connecting = undefined;
  // CLOSING from here to 'close' (as ws and WHATWG report a failed connect): sends are refused, not thrown.
  s.isTerminated = true;
  if (error !== null) emitError(s, error);
  emitClose(s, 1006, '');
}

function abortConnecting(s: SocketState): void {
  if (s.connecting !== undefined) {
    s.connecting.abort(new SockwaveError(ErrorCode.CONNECTION_CLOSED, 'WebSocket was closed before the connection was established'));
  }
}

/**
 * Starts the closing handshake (RFC 6455 §7.1.2). Data queued before the
 * call is written first. No-op once closing.
 */
export function startClose(s: SocketState, code: number | undefined, reason: string | Buffer | undefined): void {
  const text = reason === undefined ? undefined : Buffer.isBuffer(reason) ? reason.toString() : reason;
  const conn = s.conn;
  if (conn === undefined) {
    abortConnecting(s);
    return;
  }
  if (conn.readyState !== ReadyState.OPEN || s.isTerminated) return;
  cork(s);
  conn.close(code, text);
  armCloseTimer(s);
}

/** Destroys the transport now; 'close' follows with 1006. */
export function terminate(s: SocketState): void {
  const transport = s.transport;
  if (transport === undefined) {
    abortConnecting(s);
    return;
  }
  if (s.isClosedEmitted) return;
  s.isTerminated = true;
  transport.destroy();
}

/**
 * The server's end of a completed closing handshake (RFC 6455 §7.1.1: the
 * server closes the TCP connection first). When both close frames are
 * through and every byte we queued is already in the kernel, a bare TCP
 * socket is closed at once: close(2) still sends what the kernel holds (our
 * close frame) and then the FIN, and the peer, having sent its close frame,
 * sends nothing more. That skips the half-close (shutdown, waiting for the
 * peer's FIN, reading it), a system call or three and a trip through the
 * stream's end machinery per connection. Anything else half-closes as
 * before: bytes still queued in Node or libuv (destroy would drop them), a
 * TLS socket (close_notify goes through end()), any other Duplex, and a
 * failed connection (the peer may still be sending: closing with unread
 * bytes makes the kernel answer with a reset, which can discard our close
 * frame before the peer reads it).
 */
export function closeTransportAtOnce(s: SocketState): boolean {
  const transport = s.transport;
  const conn = s.conn;
  if (transport === undefined || conn === undefined || !conn.isCloseExchanged || transport.writableLength !== 0) return false;
  if (bareTcpHandle(transport) === undefined || bytesInLibuv(s) !== 0) return false;
  transport.destroy();
  return true;
}

export function armCloseTimer(s: SocketState): void {
  const closeTimeoutMs = s.config.closeTimeoutMs;
  if (closeTimeoutMs === Infinity || s.isClosedEmitted) return;
  let entry = s.closeEntry;
  if (entry === undefined) {
    entry = s.closeEntry = new CloseTimer(s);
  } else if (isScheduled(entry)) {
    return;
  }
  entry.lastBuffered = bufferedAmountOf(s);
  entry.lastInLibuv = bytesInLibuv(s);
  sharedWheel.schedule(entry, closeTimeoutMs);
}

/** The close timeout's wheel entry: one object per closing socket (a method, not a closure beside it). */
class CloseTimer implements TimerEntry {
  wheelPrev: TimerLink | undefined = undefined;
  wheelNext: TimerLink | undefined = undefined;
  lastBuffered = -1;
  lastInLibuv = -1;
  readonly #socket: SocketState;

  constructor(socket: SocketState) {
    this.#socket = socket;
  }

  onTimer(): void {
    onCloseTimer(this.#socket);
  }
}

/**
 * Bytes of the current write requests that libuv has not yet handed to the
 * kernel. While a big batch is one write request, `writableLength` (and so
 * bufferedAmount) only drops when the whole request completes; libuv's
 * `writeQueueSize` drops with every partial write. Without it a slow but
 * reading peer looked silent and lost the rest of the queue to the close
 * timeout (issue #12 section 3). 0 for a transport without such a handle.
 */
function bytesInLibuv(s: SocketState): number {
  const handle = (s.transport as { _handle?: { writeQueueSize?: unknown } } | undefined)?._handle;
  return typeof handle?.writeQueueSize === 'number' ? handle.writeQueueSize : 0;
}

function onCloseTimer(s: SocketState): void {
  const entry = s.closeEntry as CloseEntry;
  const buffered = bufferedAmountOf(s);
  const inLibuv = bytesInLibuv(s);
  // Progress: a write request completed, libuv wrote part of one, or the
  // batch queued before close() went out to libuv since the last check.
  const isDraining =
    (entry.lastBuffered > 0 && buffered < entry.lastBuffered) ||
    (entry.lastInLibuv > 0 && inLibuv < entry.lastInLibuv) ||
    (entry.lastInLibuv === 0 && inLibuv > 0);
  // The timeout measures silence, not transfer time: while data queued
  // before close() still drains to a reading peer, wait on; once our queue
  // emptied (the close frame is in the kernel), the peer gets one more full
  // period to read what the kernel holds and answer.
  if (isDraining) {
    entry.lastBuffered = buffered;
    entry.lastInLibuv = inLibuv;
    sharedWheel.schedule(entry, s.config.closeTimeoutMs);
    return;
  }
  emitError(s, new TimeoutError('close', s.config.closeTimeoutMs));
  s.transport?.destroy();
}

export function emitError(s: SocketState, error: Error): void {
  // ws emits 'error' unconditionally, which crashes apps without a
  // listener; a peer's misbehaviour must never do that here.
  if (s.ws.listenerCount('error') > 0) s.ws.emit('error', error);
}

export function emitClose(s: SocketState, code: number, reason: string): void {
  if (s.isClosedEmitted) return;
  s.isClosedEmitted = true;
  stopLiveness(s);
  const closeEntry = s.closeEntry;
  if (closeEntry !== undefined) sharedWheel.cancel(closeEntry);
  const transport = s.transport;
  // Only reached from the transport's 'close' (via the core): no more
  // transport events can come, so unlinking is enough.
  if (transport !== undefined) transport[kSocket] = undefined;
  s.config.onClose?.(s.ws, code, reason);
  if (channels.connectionClose.hasSubscribers) {
    channels.connectionClose.publish({ socket: s.ws, code, reason, wasClean: s.wasClean });
  }
  s.ws.emit('close', code, reason === '' ? EMPTY : Buffer.from(reason));
}
