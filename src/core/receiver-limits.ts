/**
 * The receive limits the MessageReader enforces before buffering (see
 * message-assembler.ts for the per-fragment accounting), shared between
 * connections so idle connections stay small.
 */
import { MessageTooLargeError, type ProtocolError } from './errors.js';
import type { MessageAssembler } from './message-assembler.js';

export interface ReceiverLimits {
  maxMessageBytes: number;
  maxFragments: number;
  fragmentOverheadBytes: number;
}

let lastLimits: Readonly<ReceiverLimits> | undefined;
/**
 * Returns a frozen limits object, reusing the previous one when the values
 * match: a server creates thousands of connections with the same limits.
 */
export function sharedLimits(maxMessageBytes: number, maxFragments: number, fragmentOverheadBytes: number): Readonly<ReceiverLimits> {
  const last = lastLimits;
  if (
    last !== undefined &&
    last.maxMessageBytes === maxMessageBytes &&
    last.maxFragments === maxFragments &&
    last.fragmentOverheadBytes === fragmentOverheadBytes
  ) {
    return last;
  }
  lastLimits = Object.freeze({ maxMessageBytes, maxFragments, fragmentOverheadBytes });
  return lastLimits;
}

/** Slack for deflate's worst-case expansion of incompressible data (RFC 1951 stored blocks). */
const COMPRESSED_SLACK_BYTES = 1024;

/** Compressed bytes a message may take on the wire: deflate can expand incompressible data a little. */
export function compressedWireLimit(limits: Readonly<ReceiverLimits>): number {
  return limits.maxMessageBytes + COMPRESSED_SLACK_BYTES + limits.maxMessageBytes / 64;
}

/**
 * The limit a fragment (or a compressed frame) of a message breaks, checked
 * from its header before any payload is buffered; undefined when it fits.
 * `wireBytes`: compressed bytes of the message so far, this frame included.
 */
export function fragmentLimitError(
  limits: Readonly<ReceiverLimits>,
  assembler: MessageAssembler,
  length: number,
  isCompressed: boolean,
  wireBytes: number,
): ProtocolError | undefined {
  if (!isCompressed) return assembler.check(length);
  if (wireBytes > compressedWireLimit(limits)) return new MessageTooLargeError(wireBytes, limits.maxMessageBytes);
  return assembler.check(0); // the inflated size is checked while inflating
}

/**
 * While closing, discarded payloads are not buffered: only a single frame no
 * acceptable message could hold still fails.
 */
export function discardedFrameLimitError(limits: Readonly<ReceiverLimits>, length: number, isCompressed: boolean): ProtocolError | undefined {
  const frameLimit = isCompressed ? compressedWireLimit(limits) : limits.maxMessageBytes;
  return length > frameLimit ? new MessageTooLargeError(length, limits.maxMessageBytes) : undefined;
}
