/**
 * Collects the payload of a frame that spans chunks (see frame-parser.ts),
 * with one copy at most, and offers the transport the place where the next
 * payload bytes belong (`target()`), so a transport that can read into a
 * buffer of its choosing puts them there directly and nothing is copied.
 *
 * A frame of at most ASSEMBLE_UPFRONT_MAX_BYTES gets one buffer of its
 * announced length on its first piece. A larger one starts as a list of
 * pieces (views of the chunks, which the parser owns), and whatever is read
 * into targets or copied from borrowed chunks goes into blocks of at most
 * BLOCK_BYTES: a peer that announces a huge frame and stalls makes us
 * allocate at most one block beyond what it sent.
 */
import { copyMasked, unmaskedPayload } from './mask.js';

/** A frame up to this size gets its whole buffer when its first piece arrives. */
export const ASSEMBLE_UPFRONT_MAX_BYTES = 1024 * 1024;
/** Larger frames are assembled in blocks of at most this size, joined at the end. */
export const BLOCK_BYTES = 1024 * 1024;

export class PayloadCollector {
  /** Bytes of the current payload collected so far. */
  received = 0;
  /** The announced payload length. */
  private length = 0;
  /** The buffer being filled: the whole payload, or (over 1 MiB) the current block. */
  private buffer: Buffer | undefined;
  /** Payload offset of buffer[0]. */
  private bufferStart = 0;
  /** Over 1 MiB: completed pieces and blocks, in order. */
  private pieces: Buffer[] | undefined;

  /** A payload of `length` bytes starts. */
  start(length: number): void {
    this.length = length;
    this.received = 0;
    this.bufferStart = 0;
    if (length <= ASSEMBLE_UPFRONT_MAX_BYTES) {
      this.buffer = Buffer.allocUnsafe(length);
      this.pieces = undefined;
    } else {
      this.buffer = undefined;
      this.pieces = [];
    }
  }

  get isComplete(): boolean {
    return this.received === this.length;
  }

  /**
   * Takes up to `count` bytes of `chunk` from `offset` (fewer when a block
   * fills first), unmasks them with `maskKey` (0: an unmasked frame) and
   * returns them as the part of the payload they became. Bytes copied are
   * unmasked on the way (copyMasked: one pass); a piece kept as a view of the
   * chunk is unmasked in place. `isBorrowed`: the chunk may be reused after
   * the call, so a piece kept as a view is copied.
   */
  take(chunk: Buffer, offset: number, count: number, isBorrowed: boolean, maskKey: number): Buffer {
    const buffer = this.buffer;
    const phase = this.received & 3;
    if (buffer === undefined) {
      const piece = unmaskedPayload(chunk, offset, count, isBorrowed, maskKey, phase);
      this.received += count;
      (this.pieces as Buffer[]).push(piece);
      return piece;
    }
    const into = this.received - this.bufferStart;
    const room = buffer.length - into;
    const n = count < room ? count : room;
    copyMasked(chunk, offset, buffer, into, n, maskKey, phase);
    return this.filled(n);
  }

  /** Where the next payload bytes belong (never empty while the payload is incomplete). */
  target(): Buffer {
    let buffer = this.buffer;
    if (buffer === undefined) {
      const left = this.length - this.received;
      buffer = this.buffer = Buffer.allocUnsafe(left < BLOCK_BYTES ? left : BLOCK_BYTES);
      this.bufferStart = this.received;
    }
    return buffer.subarray(this.received - this.bufferStart);
  }

  /** `n` bytes were written at the current position of the buffer (by take() or into target()); returns them. */
  filled(n: number): Buffer {
    const buffer = this.buffer as Buffer;
    const into = this.received - this.bufferStart;
    this.received += n;
    const piece = buffer.subarray(into, into + n);
    if (into + n === buffer.length && this.pieces !== undefined) {
      // A full block: the next bytes start a new one (or go to pieces).
      this.pieces.push(buffer);
      this.buffer = undefined;
    }
    return piece;
  }

  /** The complete payload; the collector is empty afterwards. */
  finish(): Buffer {
    const pieces = this.pieces;
    const buffer = this.buffer;
    this.clear();
    if (pieces === undefined) return buffer as Buffer;
    return pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, this.length);
  }

  /** Drops what was collected. */
  clear(): void {
    this.buffer = undefined;
    this.pieces = undefined;
  }
}
