/**
 * Blobs on a Node `WebSocket` (as ws 8.18+ takes them): `send(blob)`,
 * `ping(blob)`, `pong(blob)`. A Blob is read asynchronously, and a message
 * must not be overtaken by a later call: while a Blob is being read, every
 * later send/ping/pong/close waits in `s.blobQueue` and runs in call order
 * once the Blobs before it are read.
 *
 * - A Blob that cannot be read (its file changed or went away) fails the
 *   connection: its callback and those queued behind it get a
 *   NotReadableError DOMException, 'error' is emitted with it (unless the
 *   socket already closed), and the transport is destroyed ('close' 1006),
 *   as ws does.
 * - terminate() while Blobs are read: every queued callback gets an error at
 *   once (readyState is CLOSING then); see cancelBlobQueue.
 */
import { ReadyState } from '../../core/events.js';
import type { SendData } from './send-data.js';
import { readyStateOf, type SendCallback, type SocketState } from './state.js';
import { emitError, terminate } from './close.js';

/** One call waiting behind a Blob: `run` gets the Blob's bytes when the call itself had a Blob. */
export interface QueuedCall {
  blob: Blob | undefined;
  bytes: Buffer | undefined;
  run: (bytes: Buffer | undefined) => void;
  cb: SendCallback | undefined;
}

export function isBlob(data: unknown): data is Blob {
  return typeof Blob === 'function' && data instanceof Blob;
}

/** True when a call with `data` must go through the queue (it is a Blob, or Blobs are being read). */
export function mustWaitForBlobs(s: SocketState, data: unknown): boolean {
  return s.blobQueue !== undefined || isBlob(data);
}

/**
 * Queues a call; `run` receives the Blob's bytes (or undefined when `data`
 * is no Blob) once every Blob before it was read.
 */
export function queueBehindBlobs(s: SocketState, data: SendData | Blob | undefined, cb: SendCallback | undefined, run: (bytes: Buffer | undefined) => void): void {
  const queue = (s.blobQueue ??= []) as QueuedCall[];
  queue.push({ blob: isBlob(data) ? data : undefined, bytes: undefined, run, cb });
  if (queue.length === 1) runQueue(s, queue);
}

function runQueue(s: SocketState, queue: QueuedCall[]): void {
  while (queue.length > 0) {
    const call = queue[0] as QueuedCall;
    if (call.blob !== undefined) {
      const blob = call.blob;
      call.blob = undefined;
      blob.arrayBuffer().then(
        (arrayBuffer) => {
          if (s.blobQueue !== queue) return; // cancelled meanwhile
          call.bytes = Buffer.from(arrayBuffer);
          runQueue(s, queue);
        },
        () => {
          if (s.blobQueue !== queue) return;
          failBlobRead(s);
        },
      );
      return;
    }
    queue.shift();
    if (queue.length === 0) s.blobQueue = undefined;
    // A call that throws (misuse found late) must not strand the calls behind it.
    try {
      call.run(call.bytes);
    } catch (error) {
      if (s.blobQueue === queue) process.nextTick(runQueue, s, queue);
      throw error;
    }
  }
  if (s.blobQueue === queue) s.blobQueue = undefined;
}

function failBlobRead(s: SocketState): void {
  const error = new DOMException('The blob could not be read', 'NotReadableError');
  cancelBlobQueue(s, error);
  if (readyStateOf(s) === ReadyState.CLOSED) return;
  emitError(s, error);
  terminate(s);
}

/** Every queued call's callback gets `error` (synchronously, in call order); the queue is dropped. */
export function cancelBlobQueue(s: SocketState, error: Error): void {
  const queue = s.blobQueue as QueuedCall[] | undefined;
  if (queue === undefined) return;
  s.blobQueue = undefined;
  for (const call of queue) call.cb?.(error);
}
