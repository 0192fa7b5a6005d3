/**
 * Masking (RFC 6455 §5.3): payload byte i is XORed with key byte i % 4.
 *
 * The key travels as a 32-bit integer read little-endian from its four wire
 * bytes, so key byte j is `(key >>> (8 * j)) & 0xff`. Aligned middle parts are
 * XORed a 32-bit word at a time through an Int32Array view, which on a
 * little-endian machine lines word bytes up with key bytes; the unaligned head
 * and the tail go byte by byte.
 */
import { randomFillSync } from 'node:crypto';
import type { MaskSource } from './events.js';

const IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Below this many bytes a typed-array view costs more than it saves. */
const WORD_MIN_BYTES = 32;

/**
 * XORs `data[start, end)` in place with `key`; `phase` is the index (mod 4) of
 * the key byte that applies to `data[start]`, so a payload can be unmasked in
 * pieces as it arrives. Masking and unmasking are the same operation.
 */
export function applyMask(data: Uint8Array, start: number, end: number, key: number, phase: number): void {
  if (key === 0) return;
  let i = start;
  let p = phase & 3;
  if (end - start >= WORD_MIN_BYTES && IS_LITTLE_ENDIAN) {
    const base = data.byteOffset;
    while (((base + i) & 3) !== 0) {
      data[i] ^= key >>> (p << 3);
      i++;
      p = (p + 1) & 3;
    }
    const words = (end - i) >>> 2;
    // Rotate so the word's first byte meets key byte p.
    const rotated = p === 0 ? key : (key >>> (p << 3)) | (key << (32 - (p << 3)));
    const view = new Int32Array(data.buffer, base + i, words);
    for (let w = 0; w < words; w++) view[w] ^= rotated;
    i += words << 2;
  }
  for (; i < end; i++) {
    data[i] ^= key >>> (p << 3);
    p = (p + 1) & 3;
  }
}

const POOL_BYTES = 8 * 1024;
let pool: Buffer | undefined;
let poolOffset = POOL_BYTES;

/**
 * Default client mask source: keys come from a pooled `randomFillSync`
 * buffer refilled every 2,048 keys, so sending a frame costs no crypto call.
 * RFC 6455 §5.3 wants keys the server cannot predict; a CSPRNG gives that.
 */
export const randomMaskSource: MaskSource = (target, offset) => {
  if (poolOffset === POOL_BYTES) {
    pool ??= Buffer.allocUnsafe(POOL_BYTES);
    randomFillSync(pool);
    poolOffset = 0;
  }
  const source = pool as Buffer;
  target[offset] = source[poolOffset];
  target[offset + 1] = source[poolOffset + 1];
  target[offset + 2] = source[poolOffset + 2];
  target[offset + 3] = source[poolOffset + 3];
  poolOffset += 4;
};

/** A mask source that always writes `key` (4 bytes); for tests and vectors. */
export function fixedMaskSource(key: Uint8Array): MaskSource {
  if (key.length !== 4) throw new RangeError('a masking key is 4 bytes');
  return (target, offset) => {
    target.set(key, offset);
  };
}
