/**
 * Backpressure a socket reports: 'drain' once everything queued was written
 * (after a send() that returned false), with the diagnostics events.
 */
import type { Connection } from '../../core/connection.js';
import { publishBackpressure } from '../backpressure.js';
import { bufferedAmountOf, kSocket, type SocketState, type Transport } from './state.js';

export function armDrain(s: SocketState): void {
  if (s.needDrain) return;
  s.needDrain = true;
  s.drainCheck ??= () => checkDrain(s);
  // Writes issued before the queue built up carry no drain check; the
  // transport's own 'drain' covers them (it fires once its buffer, which
  // passed its high-water mark, is empty).
  if (!s.isDrainListening) {
    s.isDrainListening = true;
    (s.transport as Transport).once('drain', onTransportDrain);
  }
  publishBackpressure(s.ws, bufferedAmountOf(s), s.config.highWaterMarkBytes, s.config.policy, 'queued');
}

export function checkDrain(s: SocketState): void {
  if (!s.needDrain || s.isCorked) return;
  const transport = s.transport as Transport;
  if (transport.writableLength !== 0 || s.batchBytes !== 0 || (s.conn as Connection).pendingBytes !== 0) return;
  s.needDrain = false;
  publishBackpressure(s.ws, 0, s.config.highWaterMarkBytes, s.config.policy, 'drained');
  s.ws.emit('drain');
}

// Transport listener: `this` is the transport.
function onTransportDrain(this: Transport): void {
  const s = this[kSocket];
  if (s === undefined) return;
  s.isDrainListening = false;
  checkDrain(s);
}
