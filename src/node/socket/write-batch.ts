/**
 * Write batching: a socket's output is collected and written once, during a
 * receive() batch (replies sent from 'message' handlers leave in one write)
 * and, outside one, until a microtask shared by all sockets, so a loop of N
 * sends (or a broadcast) is one syscall per socket. Small frames are
 * concatenated, large ones go as one writev without copying.
 */
import { viewOf } from '../../core/buffer-view.js';
import { ConnectionClosedError } from '../../core/errors.js';
import type { Connection } from '../../core/connection.js';
import type { SendCallback, SocketState, Transport } from './state.js';
import { checkDrain } from './drain.js';
import { applyNoDelay } from './no-delay.js';

/** Batches up to this size are concatenated into one write. */
const CONCAT_MAX_BYTES = 64 * 1024;

/**
 * Small frames (ConnectionSink.reserve) are written by the core straight
 * into this slab, shared by all sockets: no buffer per frame, and one
 * socket's consecutive frames form one run that is written as one view
 * (no concat). Append-only: bytes still queued in a stream are never
 * overwritten; a full slab is replaced, as Node's own Buffer pool is, and
 * no larger than it, so a queued view pins no more memory than a pooled
 * Buffer.allocUnsafe() does.
 */
const SLAB_BYTES = 8 * 1024;
let slab: Buffer | undefined;
let slabUsed = SLAB_BYTES;
/** The socket whose run, slab bytes [runStart, runEnd), is still open. */
let runOwner: SocketState | undefined;
let runStart = 0;
let runEnd = 0;
/** Offset of the bytes handed out by the last reserveWrite(). */
let reservedOffset = 0;

/** Sockets corked outside a receive batch, uncorked together in one microtask. */
let flushQueue: SocketState[] = [];
let isFlushScheduled = false;

/**
 * Starts collecting output into one batch. Outside a receive batch the
 * flush happens in a microtask shared by all sockets.
 */
export function cork(s: SocketState): void {
  if (s.isCorked) return;
  const transport = s.transport as Transport;
  if (transport.destroyed) return;
  s.corkBaseline = transport.writableLength + (s.conn as Connection).pendingBytes;
  s.isCorked = true;
  if (!s.isReceiving) {
    flushQueue.push(s);
    if (!isFlushScheduled) {
      isFlushScheduled = true;
      queueMicrotask(flushAll);
    }
  }
}

function flushAll(): void {
  const queue = flushQueue;
  flushQueue = [];
  isFlushScheduled = false;
  for (let i = 0; i < queue.length; i++) flush(queue[i]);
}

/**
 * Writes the batch: one buffer as is, small frames concatenated into one
 * write (cheaper than the stream's per-chunk bookkeeping), large ones as
 * one writev without copying. `isFinBehind`: end() follows at once.
 */
export function flush(s: SocketState, isFinBehind = false): void {
  if (!s.isCorked) return;
  s.isCorked = false;
  if (runOwner === s) closeRun();
  const batch = s.batch;
  if (batch === undefined) {
    if (s.needDrain) checkDrain(s);
    return;
  }
  const transport = s.transport as Transport;
  // Not before our FIN: it sends what is queued whatever Nagle says.
  if (s.isNoDelayPending && !isFinBehind) applyNoDelay(s, transport);
  const bytes = s.batchBytes;
  const callbacks = s.batchCallbacks;
  // Not kept for reuse: an idle socket holds no array (issue 16), and what
  // is written meanwhile (from a callback) starts a batch of its own.
  s.batch = undefined;
  s.batchBytes = 0;
  s.batchCallbacks = undefined;
  const check = s.needDrain ? s.drainCheck : undefined;
  let cb: SendCallback | undefined = check;
  if (callbacks !== undefined) {
    cb =
      callbacks.length === 1 && check === undefined
        ? callbacks[0]
        : (error) => {
            for (let i = 0; i < callbacks.length; i++) callbacks[i](error);
            check?.(error);
          };
  }
  if (!Array.isArray(batch)) transport.write(batch, cb);
  else if (bytes <= CONCAT_MAX_BYTES) transport.write(Buffer.concat(batch, bytes), cb);
  else {
    const count = batch.length;
    transport.cork();
    for (let i = 0; i < count - 1; i++) transport.write(batch[i]);
    transport.write(batch[count - 1], cb);
    transport.uncork();
  }
  if (s.needDrain) checkDrain(s);
}

/** The transport is gone: unwritten output is lost, its callbacks learn why. */
export function discardBatch(s: SocketState): void {
  if (runOwner === s) closeRun();
  s.isCorked = false;
  const callbacks = s.batchCallbacks;
  s.batch = undefined;
  s.batchBytes = 0;
  s.batchCallbacks = undefined;
  if (callbacks !== undefined) {
    const error = new ConnectionClosedError('the transport closed before the data was written');
    for (const cb of callbacks) process.nextTick(cb, error);
  }
}

/**
 * Counts outgoing bytes and starts a batch if none is open; false (and `cb`
 * told on the next tick) when the transport is already gone.
 */
function admitOutput(s: SocketState, bytes: number, cb: SendCallback | undefined): boolean {
  const counters = s.config.counters;
  if (counters !== undefined) counters.bytesOut += bytes;
  if ((s.transport as Transport).destroyed) {
    if (cb !== undefined) process.nextTick(cb, new ConnectionClosedError('the transport is closed'));
    return false;
  }
  // Writes from asynchronous compression arrive outside any batch.
  if (!s.isCorked) cork(s);
  return true;
}

/** The core's sink.write: bytes for the wire go into the batch. */
export function collectWrite(s: SocketState, data: Buffer, cb: SendCallback | undefined): void {
  if (!admitOutput(s, data.length, cb)) return;
  if (runOwner === s) closeRun();
  addToBatch(s, data);
  s.batchBytes += data.length;
  if (cb !== undefined) (s.batchCallbacks ??= []).push(cb);
}

/**
 * The core's sink.reserve: room for a small frame in the slab, appended to
 * the socket's open run when it directly follows it. Returns the slab; the
 * frame goes at `reservedOffset`.
 */
export function reserveWrite(s: SocketState, bytes: number, cb: SendCallback | undefined): Buffer {
  if (slabUsed + bytes > SLAB_BYTES) {
    if (runOwner !== undefined) closeRun();
    slab = Buffer.allocUnsafe(SLAB_BYTES);
    slabUsed = 0;
  }
  const at = slabUsed;
  slabUsed = at + bytes;
  reservedOffset = at;
  // On a closed transport the frame is filled and never written (the next run starts after it).
  if (!admitOutput(s, bytes, cb)) return slab as Buffer;
  if (runOwner !== s || runEnd !== at) {
    if (runOwner !== undefined) closeRun();
    runOwner = s;
    runStart = at;
  }
  runEnd = at + bytes;
  s.batchBytes += bytes;
  if (cb !== undefined) (s.batchCallbacks ??= []).push(cb);
  return slab as Buffer;
}

/** Where the bytes handed out by the last reserveWrite() start (the sink's reservedOffset). */
export function lastReservedOffset(): number {
  return reservedOffset;
}

/** Ends the open run: its bytes join the owner's batch as one view. */
function closeRun(): void {
  const owner = runOwner as SocketState;
  runOwner = undefined;
  const run = slab as Buffer;
  addToBatch(owner, viewOf(run.buffer, run.byteOffset + runStart, runEnd - runStart));
}

/** A lone buffer is the batch itself; an array is made only for a second one. */
function addToBatch(s: SocketState, data: Buffer): void {
  const batch = s.batch;
  if (batch === undefined) s.batch = data;
  else if (Array.isArray(batch)) batch.push(data);
  else s.batch = [batch, data];
}
