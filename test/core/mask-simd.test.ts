import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SIMD_MIN_BYTES, applyMask, copyMasked } from '../../src/core/mask.js';
import { simdMask } from '../../src/core/mask-simd.js';

/** Byte-at-a-time reference, straight from RFC 6455 §5.3. */
function referenceMasked(source: Uint8Array, start: number, byteCount: number, key: number, phase: number): Buffer {
  const out = Buffer.alloc(byteCount);
  for (let i = 0; i < byteCount; i++) out[i] = source[start + i] ^ ((key >>> (8 * ((i + phase) & 3))) & 0xff);
  return out;
}

function patterned(length: number, seed: number): Buffer {
  const data = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    data[i] = x & 0xff;
  }
  return data;
}

// Around the module's 16- and 64-byte steps, its 64 KiB block, and the threshold.
const LENGTHS = [0, 1, 3, 15, 16, 17, 63, 64, 65, 79, 127, 1000, SIMD_MIN_BYTES - 1, SIMD_MIN_BYTES, SIMD_MIN_BYTES + 13,
  65535, 65536, 65537, 65536 * 2 + 5, 300_001];
const KEYS = [0x3d21fa37 | 0, 0x01020304, -1, 0x80000001 | 0];

test('WebAssembly SIMD is available on this machine (the rest of this file tests the fast path)', () => {
  const data = Buffer.alloc(32);
  assert.equal(simdMask(data, 0, data, 0, 32, 0x11223344), true, 'Node 20 on x64 and arm64 supports WebAssembly SIMD');
  assert.ok(data.equals(referenceMasked(Buffer.alloc(32), 0, 32, 0x11223344, 0)));
});

test('simdMask matches the RFC reference for any length, offset and key, copying or in place', () => {
  for (const length of LENGTHS) {
    for (const [i, key] of KEYS.entries()) {
      const sourceOffset = (length + i * 5) % 11;
      const source = patterned(length + 24, length * 31 + i);
      const before = Buffer.from(source);
      const expected = referenceMasked(source, sourceOffset, length, key, 0);
      const target = Buffer.alloc(length + 24, 0xee);
      assert.equal(simdMask(source, sourceOffset, target, 7, length, key), true);
      assert.ok(target.subarray(7, 7 + length).equals(expected), `copy: length ${length} key ${key}`);
      assert.ok(target.subarray(0, 7).every((b) => b === 0xee) && target.subarray(7 + length).every((b) => b === 0xee), `copy wrote outside its range: length ${length}`);
      assert.ok(source.equals(before), 'the source is left as it came');
      assert.equal(simdMask(source, sourceOffset, source, sourceOffset, length, key), true);
      assert.ok(source.subarray(sourceOffset, sourceOffset + length).equals(expected), `in place: length ${length} key ${key}`);
    }
  }
});

test('copyMasked and applyMask match the reference for every phase, as a payload arriving in pieces is unmasked', () => {
  const key = 0x9a3c71e5 | 0;
  for (const length of LENGTHS) {
    for (const phase of [0, 1, 2, 3]) {
      const source = patterned(length + 9, length + phase);
      const expected = referenceMasked(source, 9, length, key, phase);
      const copied = Buffer.alloc(length + 3);
      copyMasked(source, 9, copied, 3, length, key, phase);
      assert.ok(copied.subarray(3).equals(expected), `copyMasked length ${length} phase ${phase}`);
      applyMask(source, 9, 9 + length, key, phase);
      assert.ok(source.subarray(9).equals(expected), `applyMask length ${length} phase ${phase}`);
    }
  }
  // Key 0 (an unmasked frame) copies unchanged.
  const plain = patterned(70_000, 5);
  const copy = Buffer.alloc(70_000);
  copyMasked(plain, 0, copy, 0, plain.length, 0, 1);
  assert.ok(copy.equals(plain));
});

test('a large payload unmasked in pieces of odd sizes equals the whole unmasked at once', () => {
  const key = 0x5eed1234;
  const whole = patterned(200_000, 77);
  const expected = referenceMasked(whole, 0, whole.length, key, 0);
  const assembled = Buffer.alloc(whole.length);
  let at = 0;
  for (const size of [1, 3, 5000, 65537, 2047, 2048, 70_001]) {
    copyMasked(whole, at, assembled, at, size, key, at & 3);
    at += size;
  }
  copyMasked(whole, at, assembled, at, whole.length - at, key, at & 3);
  assert.ok(assembled.equals(expected));
});

test('without WebAssembly (node --jitless) masking falls back to the JavaScript loops with the same results', () => {
  const maskUrl = new URL('../../src/core/mask.ts', import.meta.url).href;
  const simdUrl = new URL('../../src/core/mask-simd.ts', import.meta.url).href;
  const script = `
    const { applyMask, copyMasked } = await import(${JSON.stringify(maskUrl)});
    const { simdMask } = await import(${JSON.stringify(simdUrl)});
    const n = 100_000, key = 0x3d21fa37;
    const source = Buffer.alloc(n + 1); for (let i = 0; i < source.length; i++) source[i] = (i * 13 + 7) & 255;
    const a = Buffer.alloc(n); copyMasked(source, 1, a, 0, n, key, 2);
    const b = Buffer.from(source.subarray(1)); applyMask(b, 0, n, key, 2);
    let ok = a.equals(b);
    for (let i = 0; i < n; i++) if (a[i] !== (source[i + 1] ^ ((key >>> (8 * ((i + 2) & 3))) & 255))) ok = false;
    console.log(JSON.stringify({ wasm: typeof WebAssembly, simd: simdMask(a, 0, a, 0, 16, 1), ok }));
  `;
  const child = spawnSync(process.execPath, ['--jitless', '--no-warnings', '--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    encoding: 'utf8',
  });
  assert.equal(child.status, 0, child.stderr);
  const result = JSON.parse(child.stdout.trim().split('\n').pop() as string);
  assert.deepEqual(result, { wasm: 'undefined', simd: false, ok: true });
});
