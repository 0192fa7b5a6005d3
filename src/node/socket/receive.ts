/**
 * The receive path of a Node `WebSocket`: bytes from the transport into the
 * core, and (with `ownReadBuffers`) reading large payloads straight into the
 * buffers the application gets.
 *
 * Bytes come either from 'data' (Node's own reads) or, for a bare TCP
 * socket switched to user-buffer reads (scratch-reads.ts: a standalone
 * server's sockets from the start, any TCP socket once `ownReadBuffers`
 * finds a large payload), from `onUserBufferRead`: then a read lands in the
 * process's shared scratch buffer and is copied once for the core, or in a
 * buffer of its own during bulk reads (startBulkReads), or, with
 * `ownReadBuffers`, straight in the core's message buffer: once the core
 * has a large payload to read into
 * (Connection.readTarget), each next read targets exactly the part of it
 * still missing, and a completed message buffer is never handed to the
 * kernel again, so no buffer the application holds is ever written afterwards.
 */
import type { Connection } from '../../core/connection.js';
import { raiseMmapThreshold } from '../malloc-reuse.js';
import { chooseLaterReadBuffers, chooseReadBuffers, readIntoUserBuffers, readNextIntoScratch, scratchBuffer } from './scratch-reads.js';
import { kSocket, type SocketState, type Transport } from './state.js';
import { cork, flush } from './write-batch.js';

/** Below this many missing bytes a read of their own costs more than copying them out of the shared buffer. */
const TARGET_MIN_BYTES = 16 * 1024;

/** Per socket, with `ownReadBuffers`: true once reads target payloads; null: tried, cannot; absent: not tried. */
const kOwnReads = Symbol('sockwave.ownReads');
/**
 * A read into scratch of at least this many bytes sends the next reads into
 * buffers of their own (bulk reads; see startBulkReads).
 */
const BULK_READ_BYTES = 16 * 1024;
/**
 * The size of a bulk read's buffer: Node's own read size and 1 KiB more, so
 * that a 64 KiB message (a common chunk size) with its 14-byte header fits
 * one read. Its payload is then a view of that read, unmasked in place: no
 * second read, no message buffer, no copy. With exactly 64 KiB the header
 * pushed its last 14 bytes into a second read, and the payload was copied
 * into a buffer of its own (the 64 KiB echo cost 0.69-0.83x as much this way;
 * bench/RESULTS.md, session 10).
 */
export const BULK_BUFFER_BYTES = 64 * 1024 + 1024;
/** Per socket, once it read in bulk (without ownReadBuffers): how many reads in a row were small, for the chooser. */
const kBulkReads = Symbol('sockwave.bulkReads');
type ReadingTransport = Transport & { [kOwnReads]?: true | null; [kBulkReads]?: { smallReads: number } };

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
 * bytes at the start of `buffer`. A read into scratch is copied once for the
 * core; a bulk read's buffer is the core's; bytes in the core's target are
 * taken in place. A target that is no longer current (the core started
 * skipping payloads meanwhile) is lent: its bytes are still parsed, and it
 * was never handed to the application.
 */
export function onUserBufferRead(this: ReadingTransport, nread: number, buffer: Buffer): boolean {
  const s = this[kSocket];
  if (s === undefined) return true;
  const conn = s.conn as Connection;
  const bulk = this[kBulkReads];
  try {
    if (buffer === scratchBuffer()) {
      // Copied once, then the core's own (views, unmasked in place): cheaper than the copy of every
      // payload the core keeps from a lent chunk when a read holds many small messages.
      const chunk = Buffer.allocUnsafe(nread);
      buffer.copy(chunk, 0, 0, nread);
      receiveInto(this, s, conn, chunk, nread, false);
    } else if (bulk !== undefined) {
      // A bulk read's own buffer: the core may keep views of it, as of Node's reads; a small read is lent
      // (the core copies what it keeps), so no 64 KiB buffer stays behind a few bytes the app holds.
      receiveInto(this, s, conn, buffer.subarray(0, nread), nread, nread < BULK_READ_BYTES);
    } else {
      const target = conn.readTarget();
      // In the target: taken in place (a compressed frame completed here pauses reading like any other).
      if (target !== undefined && target.buffer === buffer.buffer && target.byteOffset === buffer.byteOffset) receiveInto(this, s, conn, null, nread, false);
      else receiveInto(this, s, conn, buffer.subarray(0, nread), nread, true);
    }
  } catch (error) {
    // Node asks for the next buffer only after a normal return: point the handle at scratch now,
    // so the next read cannot land in a buffer the application may already hold.
    if (this[kOwnReads] === true) readNextIntoScratch(this);
    throw error;
  }
  if (bulk !== undefined) bulk.smallReads = nread >= BULK_READ_BYTES ? 0 : bulk.smallReads + 1;
  else if (this[kOwnReads] === undefined) {
    if (s.config.ownReadBuffers) {
      const target = conn.readTarget();
      if (target !== undefined && target.length >= TARGET_MIN_BYTES) startTargetedReads(this, target);
    } else if (nread >= BULK_READ_BYTES) startBulkReads(this);
  }
  return true;
}

/**
 * Bulk reads (without ownReadBuffers): after a read of BULK_READ_BYTES or
 * more, the next reads go into new buffers of their own, as Node's reads do,
 * rather than into scratch, until two reads in a row are smaller (one short
 * read, the tail of a large message, does not end a run of them). Not for
 * speed: those read buffers, allocated
 * between the large message buffers, keep glibc from trimming the heap each
 * time a GC frees a run of message buffers (malloc-reuse.ts); with every
 * read in scratch, a stream of 1 MiB messages faulted fresh pages in for
 * each message (39 page faults per message vs 5; bench/RESULTS.md session 9).
 */
function startBulkReads(t: ReadingTransport): void {
  const bulk = (t[kBulkReads] = { smallReads: 0 });
  chooseLaterReadBuffers(t, () => (bulk.smallReads < 2 ? Buffer.allocUnsafeSlow(BULK_BUFFER_BYTES) : scratchBuffer()));
}

/** The buffer the next read goes into: the rest of a large payload, or scratch. */
function nextReadBuffer(t: ReadingTransport): Buffer {
  const s = t[kSocket];
  const target = s === undefined ? undefined : (s.conn as Connection).readTarget();
  return target !== undefined && target.length >= TARGET_MIN_BYTES ? target : scratchBuffer();
}
