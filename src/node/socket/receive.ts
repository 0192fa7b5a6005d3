/**
 * The receive path of a Node `WebSocket`: bytes from the transport into the
 * core, and (with `ownReadBuffers`) reading large payloads straight into the
 * buffers the application gets.
 *
 * Normally Node reads each chunk into a buffer of its own, emits 'data', and
 * the core copies a payload that spans chunks into its message buffer. With
 * `ownReadBuffers`, once a plain TCP socket receives a payload the core can
 * take reads for (Connection.readTarget), the socket is switched to Node's
 * user-buffer read path (the one `net.Socket`'s public `onread` option
 * uses): the kernel then reads the rest of each large payload straight into
 * its message buffer, and everything else into one reused 64 KiB buffer that
 * the core only borrows (it copies what it keeps). That buffer is shared by
 * every switched socket of the process: libuv reads one socket at a time and
 * each read is fully parsed before the callback returns, so no socket ever
 * finds another's bytes in it, and an idle switched socket holds no read
 * memory (as with Node's own reads). Every target is exactly
 * the part of a payload still missing, and a completed message buffer is
 * never handed to the kernel again, so no buffer the application holds is
 * ever written afterwards.
 *
 * Node offers the user-buffer path only at construction (accepted server
 * sockets cannot ask for it), so this uses its internals: the `kBuffer`,
 * `kBufferCb` and `kBufferGen` symbols on the socket (found by description)
 * and the handle's `useUserBuffer()` (lib/net.js, lib/internal/stream_base_commons.js,
 * Node 12 to 24). When any of them is missing, or the socket is not a bare
 * TCP socket (TLS, a pipe, an HTTP/2 stream, any Duplex), it stays on 'data'.
 */
import type { Connection } from '../../core/connection.js';
import { raiseMmapThreshold } from '../malloc-reuse.js';
import { bareTcpHandle, findInternalSymbol } from './node-internals.js';
import { kSocket, type SocketState, type Transport } from './state.js';
import { cork, flush } from './write-batch.js';

/** Below this many missing bytes a read of their own costs more than copying them out of the shared buffer. */
const TARGET_MIN_BYTES = 16 * 1024;
/** The reused buffer switched sockets read everything else into (Node's own read size). */
const SCRATCH_BYTES = 64 * 1024;
/** Shared by all switched sockets (see the file comment); made by the first. */
let sharedScratch: Buffer | undefined;

/** Per socket: the scratch buffer once switched. Absent: not tried; null: tried and stays on 'data'. */
const kScratch = Symbol('sockwave.readScratch');
type ReadingTransport = Transport & { [kScratch]?: Buffer | null };

interface NodeReadInternals {
  kBuffer: symbol;
  kBufferCb: symbol;
  kBufferGen: symbol;
}
/** Found on the first socket that tries (undefined: not looked yet; null: not there). */
let internals: NodeReadInternals | null | undefined;

function findInternals(socket: object): NodeReadInternals | null {
  const kBuffer = findInternalSymbol(socket, 'kBuffer');
  const kBufferCb = findInternalSymbol(socket, 'kBufferCb');
  const kBufferGen = findInternalSymbol(socket, 'kBufferGen');
  if (kBuffer === undefined || kBufferCb === undefined || kBufferGen === undefined) return null;
  return { kBuffer, kBufferCb, kBufferGen };
}

/** The 'data' listener: `this` is the transport. */
export function onTransportData(this: ReadingTransport, chunk: Buffer): void {
  const s = this[kSocket];
  if (s === undefined) return;
  const conn = s.conn as Connection;
  receiveInto(this, s, conn, chunk, chunk.length, false);
  if (s.config.ownReadBuffers && this[kScratch] === undefined) trySwitch(this, conn);
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
  t[kScratch] = null;
  const handle = bareTcpHandle(t);
  if (
    handle === undefined ||
    typeof handle.useUserBuffer !== 'function' ||
    t.destroyed ||
    t.readableFlowing !== true ||
    t.readableLength !== 0 ||
    t.listenerCount('data') !== 1
  ) {
    return;
  }
  if (internals === undefined) internals = findInternals(t);
  if (internals === null) return;
  const { kBuffer, kBufferCb, kBufferGen } = internals;
  const fields = t as unknown as Record<symbol, unknown>;
  // Not already reading into a user buffer (a socket made with `onread`).
  if (fields[kBuffer] !== null || fields[kBufferCb] !== null || fields[kBufferGen] !== null) return;
  raiseMmapThreshold();
  t[kScratch] = sharedScratch ??= Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  fields[kBufferCb] = onUserBufferRead;
  // Node calls kBufferGen without a receiver: one closure per switched socket.
  fields[kBufferGen] = () => nextReadBuffer(t);
  fields[kBuffer] = target;
  (handle.useUserBuffer as (buffer: Buffer) => void).call(handle, target);
}

/**
 * Node calls this with `nread` bytes at the start of `buffer` (the last one
 * nextReadBuffer gave). Bytes in the core's target are taken in place; the
 * scratch buffer is lent. A target that is no longer current (the core
 * started skipping payloads meanwhile) is lent like scratch: its bytes are
 * still parsed, and it was never handed to the application.
 */
function onUserBufferRead(this: ReadingTransport, nread: number, buffer: Buffer): boolean {
  const s = this[kSocket];
  if (s === undefined) return true;
  const conn = s.conn as Connection;
  try {
    const target = buffer === this[kScratch] ? undefined : conn.readTarget();
    // In the target: taken in place (a compressed frame completed here pauses reading like any other).
    if (target !== undefined && target.buffer === buffer.buffer && target.byteOffset === buffer.byteOffset) receiveInto(this, s, conn, null, nread, false);
    else receiveInto(this, s, conn, buffer.subarray(0, nread), nread, true);
  } catch (error) {
    // Node asks nextReadBuffer only after a normal return: point the handle at scratch now,
    // so the next read cannot land in a buffer the application may already hold.
    pointAtScratch(this);
    throw error;
  }
  return true;
}

/** The buffer the next read goes into: the rest of a large payload, or scratch. */
function nextReadBuffer(t: ReadingTransport): Buffer {
  const scratch = t[kScratch] as Buffer;
  const s = t[kSocket];
  const target = s === undefined ? undefined : (s.conn as Connection).readTarget();
  return target !== undefined && target.length >= TARGET_MIN_BYTES ? target : scratch;
}

function pointAtScratch(t: ReadingTransport): void {
  const handle = (t as unknown as { _handle?: { useUserBuffer(buffer: Buffer): void } })._handle;
  const scratch = t[kScratch] as Buffer;
  if (internals != null) (t as unknown as Record<symbol, unknown>)[internals.kBuffer] = scratch;
  handle?.useUserBuffer(scratch);
}
