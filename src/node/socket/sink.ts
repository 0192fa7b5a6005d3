/**
 * The core's sink for one Node `WebSocket`: the socket's state (state.ts)
 * with the methods the core calls, so a socket is one object for the core
 * and every call lands here with no further hop:
 *   write / reserve / reservedOffset  output into the write batch (write-batch.ts)
 *   message / event                   core events -> ws-style 'message', 'ping', 'pong', 'error', 'close'
 *   receiveResumed                    an async inflate finished: read from the transport again
 * It is also the heartbeat's timer-wheel entry (heartbeat.ts), so the
 * heartbeat pings and times out through the socket's internals, not its
 * public API.
 */
import { EventEmitter } from 'node:events';
import { ReadyState, type ConnectionSink, type CoreEvent } from '../../core/events.js';
import { TimeoutError } from '../../core/errors.js';
import { channels } from '../diagnostics.js';
import { heartbeatTimer, notePong, type HeartbeatOptions, type LivenessState } from '../heartbeat.js';
import { readyStateOf, SocketState, type SendCallback, type Transport } from './state.js';
import { collectWrite, cork, flush, lastReservedOffset, reserveWrite } from './write-batch.js';
import { armCloseTimer, closeTransportAtOnce, emitClose, emitError, startClose, terminate } from './close.js';
import { sendControl } from './send.js';
import { toWsError } from './ws-errors.js';
import { findInternalSymbol, listenerEntry } from './node-internals.js';
import { LARGE_MESSAGE_BYTES, noteLargeMessage } from '../malloc-reuse.js';

/** EventEmitter's own per-instance captureRejections flag (a private symbol, found once). */
const kCapture = findInternalSymbol(new EventEmitter(), 'kCapture');

/**
 * emit() routes a promise rejected by a listener to 'error' when
 * captureRejections is on: keep emit() then (and when the flag cannot be found).
 */
function isCapturingRejections(ws: object): boolean {
  return kCapture === undefined || (ws as Record<symbol, unknown>)[kCapture] !== false;
}

export class SocketSink extends SocketState implements ConnectionSink, LivenessState {
  // --- output ----------------------------------------------------------------

  write(data: Buffer, cb?: SendCallback): void {
    collectWrite(this, data, cb);
  }

  reserve(bytes: number, cb?: SendCallback): Buffer {
    return reserveWrite(this, bytes, cb);
  }

  get reservedOffset(): number {
    return lastReservedOffset();
  }

  /**
   * The write batch calls every callback (once written, or with an error when
   * the transport closes), so the core may keep one automatic pong in flight
   * and bound a ping flood from a peer that does not read (RFC 6455 §5.5.3).
   */
  get callsWriteCallbacks(): boolean {
    return true;
  }

  // --- events ----------------------------------------------------------------

  /** A message, as the app wants it (the core's fast path; also the 'message' event). */
  message(data: Buffer, isBinary: boolean): void {
    const ws = this.ws;
    const counters = this.config.counters;
    if (counters !== undefined) counters.messagesIn++;
    this.sawMessage = true;
    // Keeps glibc from giving large read and message buffers back to the kernel after every GC (malloc-reuse.ts).
    if (data.length >= LARGE_MESSAGE_BYTES) noteLargeMessage();
    // binaryType applies to binary messages only: text arrives as a Buffer of UTF-8 (as in ws).
    const binaryType = isBinary ? this.binaryType : 'nodebuffer';
    if (binaryType === 'nodebuffer') {
      // One plain listener (the usual case) is called directly: what emit()
      // would do, without its rest-argument array and generic dispatch.
      const listener = listenerEntry(ws, 'message');
      if (typeof listener === 'function' && !isCapturingRejections(ws)) listener.call(ws, data, isBinary);
      else ws.emit('message', data, isBinary);
    } else if (binaryType === 'blob') {
      ws.emit('message', new Blob([data as Uint8Array<ArrayBuffer>]), isBinary);
    } else if (binaryType === 'arraybuffer') {
      ws.emit('message', data.buffer.slice(data.byteOffset, data.byteOffset + data.length), isBinary);
    } else ws.emit('message', [data], isBinary);
  }

  event(event: CoreEvent): void {
    const ws = this.ws;
    switch (event.type) {
      case 'message':
        this.message(event.data, event.isBinary);
        return;
      case 'ping':
        ws.emit('ping', event.data);
        return;
      case 'pong':
        notePong(this);
        ws.emit('pong', event.data);
        return;
      case 'close-frame':
        return;
      case 'error': {
        const error = event.error;
        if (channels.protocolError.hasSubscribers) {
          channels.protocolError.publish({ socket: ws, error, closeCode: (error as { closeCode?: number }).closeCode });
        }
        armCloseTimer(this);
        // After terminate() (by the app, or for an unreadable Blob), frames
        // still parsed from what was received report nothing more.
        if (this.isTerminated) return;
        emitError(this, this.isWsFlavour ? toWsError(error) : error);
        return;
      }
      case 'shutdown':
        this.isCorePaused = false;
        if (event.mode === 'end') {
          // Everything queued (the close frame last) goes before our FIN.
          const wasCorked = this.isCorked;
          flush(this, true);
          if (closeTransportAtOnce(this)) return;
          (this.transport as Transport).end();
          if (wasCorked && this.isReceiving) cork(this);
        }
        // Whatever paused reading (inflation, the app) no longer matters: the
        // core ignores further data, and only reading shows us the peer's
        // FIN or RST, which ends the connection without the close timer.
        (this.transport as Transport).resume();
        armCloseTimer(this);
        return;
      case 'closed':
        this.wasClean = event.wasClean;
        emitClose(this, event.code, event.reason);
        return;
    }
  }

  /** The core finished an async inflate and parsed what waited: read again. */
  receiveResumed(): void {
    if (!this.isCorePaused) return;
    this.isCorePaused = false;
    if (!this.isUserPaused) this.transport?.resume();
  }

  // --- LivenessState (heartbeat.ts) --------------------------------------------

  /** The heartbeat's deadline: the state is its timer-wheel entry. */
  onTimer(): void {
    heartbeatTimer(this, this.config.heartbeat as HeartbeatOptions);
  }

  sendHeartbeatPing(): void {
    if (readyStateOf(this) === ReadyState.OPEN) sendControl(this, true, undefined, undefined);
  }

  onHeartbeatTimeout(timeoutMs: number): void {
    emitError(this, new TimeoutError('heartbeat', timeoutMs));
    terminate(this);
  }

  onIdleTimeout(): void {
    if (readyStateOf(this) === ReadyState.OPEN) startClose(this, 1001, 'idle timeout');
  }
}
