/**
 * What the core reports, turned into a Node `WebSocket`'s ws-style events
 * ('message' in the socket's binaryType, 'ping', 'pong', 'error', 'close')
 * and into transport actions (half-close, resume reading).
 */
import { EventEmitter } from 'node:events';
import type { CoreEvent } from '../../core/events.js';
import { channels } from '../diagnostics.js';
import type { SocketState, Transport } from './state.js';
import { cork, flush } from './write-batch.js';
import { armCloseTimer, emitClose, emitError } from './close.js';

/** EventEmitter's own per-instance captureRejections flag (a private symbol, found once). */
const kCapture = Object.getOwnPropertySymbols(new EventEmitter()).find((symbol) => symbol.description === 'kCapture');

/**
 * emit() routes a promise rejected by a listener to 'error' when
 * captureRejections is on: keep emit() then (and when the flag cannot be found).
 */
function isCapturingRejections(ws: object): boolean {
  return kCapture === undefined || (ws as Record<symbol, unknown>)[kCapture] !== false;
}

/** The core finished an async inflate and parsed what waited: read again. */
export function onInflateDone(s: SocketState): void {
  if (!s.isCorePaused) return;
  s.isCorePaused = false;
  if (!s.isUserPaused) s.transport?.resume();
}

/** A message, as the app wants it (the core's sink.message fast path, and the 'message' event). */
export function onMessage(s: SocketState, data: Buffer, isBinary: boolean): void {
  const ws = s.ws;
  if (s.counters !== undefined) s.counters.messagesIn++;
  if (s.liveness !== undefined) s.liveness.sawMessage = true;
  const binaryType = s.binaryType;
  if (binaryType === 'nodebuffer') {
    // One plain listener (the usual case) is called directly: what emit()
    // would do, without its rest-argument array and generic dispatch.
    const listener = (ws as unknown as { _events: Record<string, unknown> })._events.message;
    if (typeof listener === 'function' && !isCapturingRejections(ws)) listener.call(ws, data, isBinary);
    else ws.emit('message', data, isBinary);
  } else if (binaryType === 'arraybuffer') {
    ws.emit('message', data.buffer.slice(data.byteOffset, data.byteOffset + data.length), isBinary);
  } else ws.emit('message', [data], isBinary);
}

export function onCoreEvent(s: SocketState, event: CoreEvent): void {
  const ws = s.ws;
  switch (event.type) {
    case 'message':
      onMessage(s, event.data, event.isBinary);
      return;
    case 'ping':
      ws.emit('ping', event.data);
      return;
    case 'pong':
      s.liveness?.onPong();
      ws.emit('pong', event.data);
      return;
    case 'close-frame':
      return;
    case 'error': {
      const error = event.error;
      if (channels.protocolError.hasSubscribers) {
        channels.protocolError.publish({ socket: ws, error, closeCode: (error as { closeCode?: number }).closeCode });
      }
      armCloseTimer(s);
      emitError(s, error);
      return;
    }
    case 'shutdown':
      // Whatever paused reading (inflation, the app) no longer matters: the
      // core ignores further data, and only reading shows us the peer's
      // FIN or RST, which ends the connection without the close timer.
      s.isCorePaused = false;
      (s.transport as Transport).resume();
      if (event.mode === 'end') {
        // Everything queued (the close frame last) goes before our FIN.
        const wasCorked = s.isCorked;
        flush(s);
        (s.transport as Transport).end();
        if (wasCorked && s.isReceiving) cork(s);
      }
      armCloseTimer(s);
      return;
    case 'closed':
      s.wasClean = event.wasClean;
      emitClose(s, event.code, event.reason);
      return;
  }
}
