/**
 * Masking (RFC 6455 §5.3): payload byte i is XORed with key byte i % 4.
 *
 * The key travels as a 32-bit integer read little-endian from its four wire
 * bytes, so key byte j is `(key >>> (8 * j)) & 0xff`. Aligned middle parts are
 * XORed a 32-bit word at a time through an Int32Array view, which on a
 * little-endian machine lines word bytes up with key bytes (large parts 64
 * bits at a time through a BigUint64Array); the unaligned head and the tail
 * go byte by byte. From SIMD_MIN_BYTES, WebAssembly SIMD does it 16 bytes at
 * a time where it is available (mask-simd.ts), and copyMasked() fuses the
 * copy of a payload with its masking.
 */
import { randomFillSync } from 'node:crypto';
import { simdMask } from './mask-simd.js';
import { viewOf } from './buffer-view.js';
import type { MaskSource } from './events.js';

const IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Below this many bytes a typed-array view costs more than it saves. */
const WORD_MIN_BYTES = 64;
/** From this many bytes the 64-bit loop pays for its BigInt key. */
const WIDE_MIN_BYTES = 1024;
/**
 * From this many bytes a pass through WebAssembly memory (copy in, XOR, copy
 * out) beats the JavaScript loops: at 1 KiB they are about even in place.
 */
export const SIMD_MIN_BYTES = 2048;

/**
 * The masking key at `data[offset]` as applyMask takes it (the four bytes
 * little-endian): readInt32LE's result without its argument validation,
 * which cost about 3% of the small-message echo.
 */
export function readKey(data: Uint8Array, offset: number): number {
  return data[offset] | (data[offset + 1] << 8) | (data[offset + 2] << 16) | (data[offset + 3] << 24);
}

/**
 * XORs `data[start, end)` in place with `key`; `phase` is the index (mod 4) of
 * the key byte that applies to `data[start]`, so a payload can be unmasked in
 * pieces as it arrives. Masking and unmasking are the same operation.
 */
export function applyMask(data: Uint8Array, start: number, end: number, key: number, phase: number): void {
  if (key === 0 || end <= start) return;
  const k = rotateKey(key, phase);
  if (end - start >= WORD_MIN_BYTES && IS_LITTLE_ENDIAN) maskWords(data, start, end, k);
  else maskBytes(data, start, end, k);
}

/**
 * Copies `byteCount` bytes of `source` from `sourceStart` into `target` at
 * `targetStart`, masked with `key` from key byte `phase` (see applyMask): one
 * pass instead of a copy and then a pass over the copy. The ranges must not
 * overlap unless they are the same range.
 */
export function copyMasked(
  source: Uint8Array,
  sourceStart: number,
  target: Uint8Array,
  targetStart: number,
  byteCount: number,
  key: number,
  phase: number,
): void {
  if (key !== 0 && byteCount >= SIMD_MIN_BYTES && simdMask(source, sourceStart, target, targetStart, byteCount, rotateKey(key, phase))) return;
  // A whole source (a client's small message) is set as it is: no view to make.
  if (sourceStart === 0 && byteCount === source.length) target.set(source, targetStart);
  else target.set(new Uint8Array(source.buffer, source.byteOffset + sourceStart, byteCount), targetStart);
  applyMask(target, targetStart, targetStart + byteCount, key, phase);
}

/**
 * `byteCount` payload bytes of `chunk` from `start`, unmasked with `key` from
 * key byte `phase`: a view of the chunk unmasked in place, or, when the chunk
 * is borrowed (its memory is reused after the call), a copy unmasked on the way.
 */
export function unmaskedPayload(chunk: Buffer, start: number, byteCount: number, isBorrowed: boolean, key: number, phase: number): Buffer {
  if (isBorrowed) {
    const copy = Buffer.allocUnsafe(byteCount);
    copyMasked(chunk, start, copy, 0, byteCount, key, phase);
    return copy;
  }
  const view = viewOf(chunk.buffer, chunk.byteOffset + start, byteCount);
  applyMask(view, 0, byteCount, key, phase);
  return view;
}

/** `key` rotated so that its low byte is key byte `phase` (the one for the first byte masked). */
function rotateKey(key: number, phase: number): number {
  const shift = (phase & 3) << 3;
  return shift === 0 ? key : (key >>> shift) | (key << (32 - shift));
}

/** Small payloads (most messages): kept tiny so V8 inlines applyMask into the parser. */
function maskBytes(data: Uint8Array, start: number, end: number, k: number): void {
  const k0 = k & 0xff;
  const k1 = (k >>> 8) & 0xff;
  const k2 = (k >>> 16) & 0xff;
  const k3 = k >>> 24;
  let i = start;
  for (; i + 3 < end; i += 4) {
    data[i] ^= k0;
    data[i + 1] ^= k1;
    data[i + 2] ^= k2;
    data[i + 3] ^= k3;
  }
  if (i < end) data[i++] ^= k0;
  if (i < end) data[i++] ^= k1;
  if (i < end) data[i] ^= k2;
}

/** Word-aligned middle through a typed-array view; head and tail byte by byte. */
function maskWords(data: Uint8Array, start: number, end: number, k: number): void {
  if (end - start >= SIMD_MIN_BYTES && simdMask(data, start, data, start, end - start, k)) return;
  let i = start;
  if (end - start >= WIDE_MIN_BYTES) {
    // Byte by byte up to an 8-byte boundary of the underlying memory.
    while (((data.byteOffset + i) & 7) !== 0) {
      data[i++] ^= k;
      k = (k >>> 8) | (k << 24);
    }
    const words = (end - i) >>> 3;
    const k32 = BigInt(k >>> 0);
    xorWideWords(new BigUint64Array(data.buffer, data.byteOffset + i, words), words, (k32 << 32n) | k32);
    i += words << 3;
  } else {
    // Byte by byte up to a 4-byte boundary of the underlying memory.
    while (((data.byteOffset + i) & 3) !== 0) {
      data[i++] ^= k;
      k = (k >>> 8) | (k << 24);
    }
    const words = (end - i) >>> 2;
    xorWords(new Int32Array(data.buffer, data.byteOffset + i, words), 0, words, k);
    i += words << 2;
  }
  maskBytes(data, i, end, k);
}

/**
 * 64 bits at a time: V8 (Node 20) compiles XOR on BigUint64Array elements
 * without allocating BigInts, about twice as fast as 32-bit words over 1 MiB
 * (220 -> 115 µs here). Kept apart and unrolled like xorWords.
 */
function xorWideWords(view: BigUint64Array, to: number, key: bigint): void {
  const unrolled = to - 3;
  let w = 0;
  for (; w < unrolled; w += 4) {
    view[w] ^= key;
    view[w + 1] ^= key;
    view[w + 2] ^= key;
    view[w + 3] ^= key;
  }
  for (; w < to; w++) view[w] ^= key;
}

/** Kept apart (and unrolled) so V8 optimizes this loop on its own. */
function xorWords(view: Int32Array, from: number, to: number, key: number): void {
  const unrolled = to - 3;
  let w = from;
  for (; w < unrolled; w += 4) {
    view[w] ^= key;
    view[w + 1] ^= key;
    view[w + 2] ^= key;
    view[w + 3] ^= key;
  }
  for (; w < to; w++) view[w] ^= key;
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
