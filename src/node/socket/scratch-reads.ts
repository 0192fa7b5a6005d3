/**
 * Reads of a bare TCP socket into one buffer shared by the whole process
 * (the "scratch"), handed to a callback, instead of Node's default read
 * path. Node's path allocates a fresh buffer for every read (a 64 KiB
 * allocation trimmed to the bytes read) and passes it through the Readable
 * machinery ('data' listeners, `push`, `resume` on a later tick); for a
 * connection that lives for one handshake and one close, that machinery is
 * a tenth of its cost (issue 16, bench/RESULTS.md session 9).
 *
 * Borrowing is safe because libuv reads one socket at a time and every
 * callback consumes its bytes before it returns: a callback that keeps any
 * of them copies them first. Whoever reads the socket through the stream
 * instead (a socket handed to an app, bytes before an async verify
 * decision) gets copies pushed into the stream (`pushIntoStream`), so the
 * stream sees what Node's own reads would have given it. Once switched, a
 * socket cannot go back (the handle keeps reading into user buffers).
 *
 * Node offers this path (`onread` with a `buffer`) only when a socket is
 * constructed; accepted server sockets cannot ask for it, so this uses
 * Node's internals: the `kBuffer`, `kBufferCb` and `kBufferGen` symbols on
 * the socket (found by description) and the handle's `useUserBuffer()`
 * (lib/net.js, lib/internal/stream_base_commons.js, Node 12 to 24). When any
 * of them is missing, or the socket is not a bare TCP socket, nothing is
 * switched and the caller stays on 'data'. `pause()` and `resume()` keep
 * working: net.Socket stops and starts the handle itself in this mode.
 */
import type { Socket } from 'node:net';
import { bareTcpHandle, findInternalSymbol } from './node-internals.js';

/** Called with `nread` bytes at the start of `buffer`; `this` is the socket. False stops reading (as a full stream would). */
export type ReadCallback = (this: Socket, nread: number, buffer: Buffer) => boolean;

/** Node's read size; the scratch buffer is allocated once, by the first socket switched. */
const SCRATCH_BYTES = 64 * 1024;
let scratch: Buffer | undefined;

interface ReadInternals {
  kBuffer: symbol;
  kBufferCb: symbol;
  kBufferGen: symbol;
}
/** Found on the first socket that tries (undefined: not looked yet; null: not there). */
let internals: ReadInternals | null | undefined;

type Fields = Record<symbol, unknown>;
type UserBufferHandle = { useUserBuffer?: (buffer: Buffer) => void };

function findInternals(socket: object): ReadInternals | null {
  const kBuffer = findInternalSymbol(socket, 'kBuffer');
  const kBufferCb = findInternalSymbol(socket, 'kBufferCb');
  const kBufferGen = findInternalSymbol(socket, 'kBufferGen');
  if (kBuffer === undefined || kBufferCb === undefined || kBufferGen === undefined) return null;
  return { kBuffer, kBufferCb, kBufferGen };
}

/** The process's scratch buffer (every switched socket's reads land in it unless a callback chose another target). */
export function scratchBuffer(): Buffer {
  return (scratch ??= Buffer.allocUnsafeSlow(SCRATCH_BYTES));
}

/** The internals when `socket` is a bare TCP socket that still reads the default way; otherwise null. */
function switchableInternals(socket: Socket): ReadInternals | null {
  const handle = bareTcpHandle(socket);
  if (handle === undefined || typeof handle.useUserBuffer !== 'function' || socket.destroyed) return null;
  if (internals === undefined) internals = findInternals(socket);
  if (internals === null) return null;
  const fields = socket as unknown as Fields;
  // Already reading into a user buffer (a socket made with `onread`, or switched before).
  if (fields[internals.kBuffer] !== null || fields[internals.kBufferCb] !== null || fields[internals.kBufferGen] !== null) return null;
  return internals;
}

/**
 * Switches `socket` to reading into `target` (the scratch buffer unless
 * given) with `callback`. False when it cannot (see the file comment): the
 * socket is left as it was.
 */
export function readIntoUserBuffers(socket: Socket, callback: ReadCallback, target: Buffer = scratchBuffer()): boolean {
  const found = switchableInternals(socket);
  if (found === null) return false;
  (socket as unknown as Fields)[found.kBufferCb] = callback;
  pointNextReadAt(socket, target);
  return true;
}

/** The callback a switched socket reads with; undefined when it reads the default way. */
export function readCallbackOf(socket: Socket): ReadCallback | undefined {
  if (internals == null) return undefined;
  const callback = (socket as unknown as Fields)[internals.kBufferCb];
  return typeof callback === 'function' ? (callback as ReadCallback) : undefined;
}

/** Replaces a switched socket's callback (the socket must be switched: readCallbackOf() is defined). */
export function setReadCallback(socket: Socket, callback: ReadCallback): void {
  (socket as unknown as Fields)[(internals as ReadInternals).kBufferCb] = callback;
}

/**
 * Lets a switched socket choose the buffer of each next read: `next` is
 * called after every callback (without a receiver: one closure per socket).
 * The next read goes into `first` at once.
 */
export function chooseReadBuffers(socket: Socket, next: () => Buffer, first: Buffer): void {
  (socket as unknown as Fields)[(internals as ReadInternals).kBufferGen] = next;
  pointNextReadAt(socket, first);
}

/**
 * From inside a read callback: `next` chooses the buffer of every read
 * after this one (Node asks it as soon as the callback returns; one closure
 * per socket).
 */
export function chooseLaterReadBuffers(socket: Socket, next: () => Buffer): void {
  (socket as unknown as Fields)[(internals as ReadInternals).kBufferGen] = next;
}

/** Points the next read of a switched socket at the scratch buffer (after a callback threw mid-target). */
export function readNextIntoScratch(socket: Socket): void {
  pointNextReadAt(socket, scratchBuffer());
}

/** The next read of a socket whose internals were found goes into `buffer` (Node's field and the handle's). */
function pointNextReadAt(socket: Socket, buffer: Buffer): void {
  (socket as unknown as Fields)[(internals as ReadInternals).kBuffer] = buffer;
  (socket as unknown as { _handle?: UserBufferHandle | null })._handle?.useUserBuffer?.(buffer);
}

/**
 * The callback of a switched socket that somebody reads through the stream:
 * a copy of the bytes is pushed, as Node's own read would have pushed them
 * (a full stream stops reading until it is read).
 */
export function pushIntoStream(this: Socket, nread: number, buffer: Buffer): boolean {
  return this.push(Buffer.from(buffer.subarray(0, nread)));
}
