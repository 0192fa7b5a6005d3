/**
 * Reassembly of a fragmented message (RFC 6455 §5.4) under a byte-accounted
 * memory bound.
 *
 * Each fragment is charged its payload plus `fragmentOverheadBytes`, so a
 * flood of empty or 1-byte fragments exhausts the budget long before it
 * exhausts memory. The budget is `maxMessageBytes` plus the overhead of
 * 65,536 fragments: a legitimate message of that many fragments passes even
 * at the full message size, a flood of tiny fragments does not. Small
 * fragments are also copied into shared 4 KiB blocks instead of being kept
 * as separate Buffers (each would pin its socket chunk and cost an object),
 * so real memory stays close to the payload bytes.
 */
import { MessageTooLargeError, ProtocolError, ErrorCode } from './errors.js';

/** Fragments whose overhead is covered on top of maxMessageBytes. */
export const FREE_FRAGMENT_ALLOWANCE = 65_536;
const COALESCE_BELOW_BYTES = 512;
const BLOCK_BYTES = 4096;

export class MessageAssembler {
  /** Payload bytes of the current message so far (after decompression). */
  bytes = 0;
  fragments = 0;
  private charged = 0;
  private parts: Buffer[] = [];
  private block: Buffer | undefined;
  private blockUsed = 0;
  private readonly budget: number;

  constructor(
    private readonly maxMessageBytes: number,
    private readonly maxFragments: number,
    private readonly fragmentOverheadBytes: number,
  ) {
    this.budget = maxMessageBytes + FREE_FRAGMENT_ALLOWANCE * fragmentOverheadBytes;
  }

  /** Bytes the current message may still grow by (its fragments already counted). */
  get remainingBytes(): number {
    return Math.max(0, Math.min(this.maxMessageBytes - this.bytes, this.budget - this.charged));
  }

  /**
   * Checks, before any payload is buffered, that one more fragment of
   * `length` bytes fits. Returns the error to fail with, or undefined.
   */
  check(length: number): ProtocolError | undefined {
    if (this.fragments + 1 > this.maxFragments) {
      return new ProtocolError(
        `message has more than ${this.maxFragments} fragments`,
        1009,
        ErrorCode.MESSAGE_TOO_LARGE,
      );
    }
    if (this.bytes + length > this.maxMessageBytes) {
      return new MessageTooLargeError(this.bytes + length, this.maxMessageBytes);
    }
    const charge = this.charged + length + this.fragmentOverheadBytes;
    if (charge > this.budget) return new MessageTooLargeError(charge, this.budget);
    return undefined;
  }

  /** Counts one fragment (its payload follows through `append`). */
  countFragment(): void {
    this.fragments++;
    this.charged += this.fragmentOverheadBytes;
  }

  /** Adds payload bytes (a fragment's, or a piece of inflated output). */
  append(data: Buffer): void {
    const length = data.length;
    if (length === 0) return;
    this.bytes += length;
    this.charged += length;
    if (length >= COALESCE_BELOW_BYTES) {
      this.flushBlock();
      this.parts.push(data);
      return;
    }
    if (this.block === undefined || this.blockUsed + length > this.block.length) {
      this.flushBlock();
      this.block = Buffer.allocUnsafe(BLOCK_BYTES);
    }
    this.block.set(data, this.blockUsed);
    this.blockUsed += length;
  }

  /** Returns the whole message and resets for the next one. */
  take(): Buffer {
    this.flushBlock();
    const parts = this.parts;
    const data = parts.length === 1 ? parts[0] : parts.length === 0 ? Buffer.alloc(0) : Buffer.concat(parts, this.bytes);
    this.reset();
    return data;
  }

  reset(): void {
    this.parts = [];
    this.block = undefined;
    this.blockUsed = 0;
    this.bytes = 0;
    this.fragments = 0;
    this.charged = 0;
  }

  private flushBlock(): void {
    if (this.block !== undefined && this.blockUsed > 0) {
      this.parts.push(this.block.subarray(0, this.blockUsed));
      this.block = this.blockUsed >= this.block.length - COALESCE_BELOW_BYTES ? undefined : this.block.subarray(this.blockUsed);
      this.blockUsed = 0;
    }
  }
}
