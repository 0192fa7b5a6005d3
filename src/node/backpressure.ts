/**
 * Backpressure vocabulary shared by the socket and the server: the policy
 * applied above a socket's high-water mark, the check itself, and the
 * diagnostics event.
 *
 * Policies (per socket, when bufferedAmount would pass highWaterMarkBytes):
 * - 'queue': keep queuing; send() returns false and the app waits for
 *   'drain'. Memory is the app's responsibility (ws behaves like this).
 * - 'drop':  refuse the message: send() returns false, the socket emits
 *   'dropped' (data, isBinary) and the send callback gets a POLICY error.
 *   Nothing accepted is lost; refused messages are reported, never silent.
 * - 'close': start the closing handshake with 1008 (policy violation: the
 *   peer does not read). 1013 "try again later" was considered, but it
 *   describes server overload, not a peer that stopped reading.
 */
import { channels } from './diagnostics.js';

export type BackpressurePolicy = 'queue' | 'drop' | 'close';

/** What happened, as reported on 'sockwave:backpressure'. */
export type BackpressureAction = 'queued' | 'dropped' | 'closed' | 'drained';

/** True when accepting `size` more bytes would pass the mark. An empty queue always accepts one message. */
export function isOverHighWaterMark(bufferedAmount: number, size: number, highWaterMarkBytes: number): boolean {
  return bufferedAmount > 0 && bufferedAmount + size > highWaterMarkBytes;
}

export function publishBackpressure(
  socket: object,
  bufferedAmount: number,
  highWaterMarkBytes: number,
  policy: BackpressurePolicy,
  action: BackpressureAction,
): void {
  if (!channels.backpressure.hasSubscribers) return;
  channels.backpressure.publish({ socket, bufferedAmount, highWaterMarkBytes, policy, action });
}
