import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyMask, fixedMaskSource, randomMaskSource } from '../../src/core/mask.js';

/** Byte-at-a-time reference, straight from RFC 6455 §5.3. */
function referenceMask(data: Uint8Array, start: number, end: number, key: Uint8Array, phase: number): void {
  for (let i = start; i < end; i++) data[i] ^= key[(i - start + phase) % 4];
}

test('applyMask matches the RFC reference for every alignment, phase and length', () => {
  const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const keyInt = key.readInt32LE(0);
  const backing = Buffer.alloc(4200);
  for (let i = 0; i < backing.length; i++) backing[i] = (i * 7 + 3) & 0xff;
  // Lengths from 1024 take the 64-bit path, whose head runs to an 8-byte boundary.
  for (const offset of [0, 1, 2, 3, 5, 6, 7]) {
    for (const length of [0, 1, 3, 4, 31, 32, 33, 100, 257, 1024, 1031, 4097]) {
      for (const phase of [0, 1, 2, 3]) {
        const a = Buffer.from(backing).subarray(offset, offset + length + 4);
        const b = Buffer.from(a);
        applyMask(a, 2, 2 + length, keyInt, phase);
        referenceMask(b, 2, 2 + length, key, phase);
        assert.ok(a.equals(b), `offset ${offset} length ${length} phase ${phase}`);
      }
    }
  }
});

test('masking twice restores the data, also in pieces with running phase', () => {
  const data = Buffer.from('The quick brown fox jumps over the lazy dog, many times over. '.repeat(20));
  const copy = Buffer.from(data);
  const key = -123456789;
  applyMask(copy, 0, copy.length, key, 0);
  assert.ok(!copy.equals(data));
  // Unmask in uneven pieces: the phase is the running offset mod 4.
  let offset = 0;
  for (const size of [1, 2, 5, 64, 3, 1000, 10_000]) {
    const end = Math.min(copy.length, offset + size);
    applyMask(copy, offset, end, key, offset & 3);
    offset = end;
  }
  assert.ok(copy.equals(data));
});

test('a zero key leaves data unchanged', () => {
  const data = Buffer.from('abc');
  applyMask(data, 0, 3, 0, 1);
  assert.equal(data.toString(), 'abc');
});

test('randomMaskSource gives unpredictable keys across pool refills', () => {
  const seen = new Set<string>();
  const target = Buffer.alloc(4);
  for (let i = 0; i < 5000; i++) {
    randomMaskSource(target, 0);
    seen.add(target.toString('hex'));
  }
  assert.ok(seen.size > 4990, `${seen.size} distinct keys of 5000`);
});

test('fixedMaskSource writes its key and refuses keys that are not 4 bytes', () => {
  const target = Buffer.alloc(6);
  fixedMaskSource(Buffer.from([1, 2, 3, 4]))(target, 2);
  assert.equal(target.toString('hex'), '000001020304');
  assert.throws(() => fixedMaskSource(Buffer.from([1, 2, 3])), RangeError);
});
