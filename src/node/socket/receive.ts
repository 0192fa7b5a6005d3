/**
 * The receive path of a Node `WebSocket`: bytes from the transport into the
 * core, and (with `ownReadBuffers`) reading large payloads straight into the
 * buffers the application gets.
 *
 * Bytes come either from 'data' (Node's own reads) or, for a bare TCP
 * socket switched to user-buffer reads (scratch-reads.ts: a standalone
 * server's sockets from the start, any TCP socket once `ownReadBuffers`
 * finds a large payload), from `onUserBufferRead`: then a read lands in the
 * process's shared scratch buffer, which the core only borrows (it copies
 * what it keeps), or, with `ownReadBuffers`, straight in the core's message
 * buffer: once the core has a large payload to read into
 * (Connection.readTarget), each next read targets exactly the part of it
 * still missing, and a completed message buffer is never handed to the
 * kernel again, so no buffer the application holds is ever written afterwards.
 */
import type { Connection } from '../../core/connection.js';
import { raiseMmapThreshold } from '../malloc-reuse.js';
import { chooseReadBuffers, readIntoUserBuffers, readNextIntoScratch, scratchBuffer } from './scratch-reads.js';
import { kSocket, type SocketState, type Transport } from './state.js';
import { cork, flush } from './write-batch.js';

/** Below this many missing bytes a read of their own costs more than copying them out of the shared buffer. */
const TARGET_MIN_BYTES = 16 * 1024;

/** Per socket, with `ownReadBuffers`: true once reads target payloads; null: tried, cannot; absent: not tried. */
const kOwnReads = Symbol('sockwave.ownReads');
type ReadingTransport = Transport & { [kOwnReads]?: true | null };

/** The 'data' listener: `this` is the transport. */
export function onTransportData(this: ReadingTransport, chunk: Buffer): void {
  const s = this[kSocket];
  if (s === undefined) return;
  const conn = s.conn as Connection;
  receiveInto(this, s, conn, chunk, chunk.length, false);
  if (s.config.ownReadBuffers && this[kOwnReads] === undefined) trySwitch(this, conn);
}

/**
 * Hands one read of `byteCount` bytes to the core with the socket corked
 * (replies go out in one write), then pauses if the core paused. `chunk`
 * null: the bytes were read into the core's read target (receivedInto).
 */
function receiveInto(t: Transport, s: SocketState, conn: Connection, chunk: Buffer | null, byteCount: number, isBorrowed: boolean): void {
  const counters = s.config.counters;
  if (counters !== undefined) counters.bytesIn += byteCount;
  s.sawTraffic = true;
  const wasCorked = s.isCorked;
  s.isReceiving = true;
  cork(s);
  try {
    if (chunk === null) conn.receivedInto(byteCount);
    else if (isBorrowed) conn.receiveBorrowed(chunk);
    else conn.receive(chunk);
  } finally {
    s.isReceiving = false;
    if (!wasCorked) flush(s);
  }
  // Decompression runs asynchronously; stop reading meanwhile so a peer
  // cannot pile bytes up in the core (TCP pushes back instead).
  if (conn.isReceivePaused && !s.isCorePaused) {
    s.isCorePaused = true;
    t.pause();
  }
}

/** Switches a bare TCP socket to reading into our buffers, once the core has a large payload to read into. */
function trySwitch(t: ReadingTransport, conn: Connection): void {
  const target = conn.readTarget();
  if (target === undefined || target.length < TARGET_MIN_BYTES) return;
  t[kOwnReads] = null;
  if (t.readableFlowing !== true || t.readableLength !== 0 || t.listenerCount('data') !== 1) return;
  if (!readIntoUserBuffers(t, onUserBufferRead, target)) return;
  startTargetedReads(t, target);
}

/** Each next read goes into the part of a large payload still missing, or scratch. */
function startTargetedReads(t: ReadingTransport, first: Buffer): void {
  raiseMmapThreshold();
  t[kOwnReads] = true;
  // Node calls the chooser without a receiver: one closure per socket (only with ownReadBuffers).
  chooseReadBuffers(t, () => nextReadBuffer(t), first);
}

/**
 * The read callback of a switched socket (`this` is the transport): `nread`
 * bytes at the start of `buffer`. Bytes in the core's target are taken in
 * place; scratch is lent. A target that is no longer current (the core
 * started skipping payloads meanwhile) is lent like scratch: its bytes are
 * still parsed, and it was never handed to the application.
 */
export function onUserBufferRead(this: ReadingTransport, nread: number, buffer: Buffer): boolean {
  const s = this[kSocket];
  if (s === undefined) return true;
  const conn = s.conn as Connection;
  try {
    const target = buffer === scratchBuffer() ? undefined : conn.readTarget();
    // In the target: taken in place (a compressed frame completed here pauses reading like any other).
    if (target !== undefined && target.buffer === buffer.buffer && target.byteOffset === buffer.byteOffset) receiveInto(this, s, conn, null, nread, false);
    else receiveInto(this, s, conn, buffer.subarray(0, nread), nread, true);
  } catch (error) {
    // Node asks for the next buffer only after a normal return: point the handle at scratch now,
    // so the next read cannot land in a buffer the application may already hold.
    if (this[kOwnReads] === true) readNextIntoScratch(this);
    throw error;
  }
  if (this[kOwnReads] === undefined && s.config.ownReadBuffers) {
    const target = conn.readTarget();
    if (target !== undefined && target.length >= TARGET_MIN_BYTES) startTargetedReads(this, target);
  }
  return true;
}

/** The buffer the next read goes into: the rest of a large payload, or scratch. */
function nextReadBuffer(t: ReadingTransport): Buffer {
  const s = t[kSocket];
  const target = s === undefined ? undefined : (s.conn as Connection).readTarget();
  return target !== undefined && target.length >= TARGET_MIN_BYTES ? target : scratchBuffer();
}
