/**
 * Limits and their defaults, in one place. Every entry point validates its
 * options once, at construction, with `validateLimit`, and throws a RangeError
 * naming the option. `Infinity` disables a limit; `0` never means "no limit".
 */

const KiB = 1024;
const MiB = 1024 * KiB;

export const DEFAULTS = {
  /**
   * Largest message (after reassembly and decompression) accepted, in bytes.
   * 16 MiB: enough for files and JSON documents, small enough that a few
   * hundred hostile peers cannot exhaust a server. Over it: close 1009.
   */
  maxMessageBytes: 16 * MiB,
  /**
   * Bytes charged per fragment on top of its payload when bounding the memory
   * of a message being reassembled, so a flood of empty fragments is charged
   * too. 64 bytes is roughly what one retained fragment costs in V8.
   */
  fragmentOverheadBytes: 64,
  /**
   * Fragments allowed in one message. 65,536 fragments must pass (some
   * clients split large uploads); more than 1,048,576 is only ever an attack.
   */
  maxFragments: 1_048_576,
  /** Time for the peer to answer our close frame before the transport is destroyed. */
  closeTimeoutMs: 10_000,
  /** Time for the whole opening handshake (request line to 101) before the socket is dropped. */
  handshakeTimeoutMs: 10_000,
  /** Largest HTTP head (request/status line plus headers) accepted during the handshake. */
  maxHeaderBytes: 16 * KiB,
  /** Most header lines accepted during the handshake. */
  maxHeaderCount: 100,
} as const;

/**
 * Checks a numeric limit: a positive integer, or Infinity to disable.
 * Throws a RangeError that names the option.
 */
export function validateLimit(name: string, value: unknown, { allowZero = false } = {}): number {
  if (value === Infinity) return Infinity;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || (!allowZero && value === 0)) {
    throw new RangeError(
      `option ${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer or Infinity, got ${String(value)}`,
    );
  }
  return value;
}
