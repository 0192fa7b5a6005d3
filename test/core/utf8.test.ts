import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isUtf8 } from 'node:buffer';
import { Utf8Validator, isValidUtf8 } from '../../src/core/utf8.js';
import { hex } from './support.js';

const valid = ['', 'a', 'κόσμε', '𝄞', '\u{10FFFF}', '\u{FFFD}', 'e\u0301', '€uro'].map((s) => Buffer.from(s));
const invalid: Array<[string, number]> = [
  // [bytes, index of the first invalid byte]
  ['80', 0],
  ['c0 af', 0],
  ['c1 bf', 0],
  ['e0 80 af', 1],
  ['e0 9f bf', 1],
  ['ed a0 80', 1],
  ['ed bf bf', 1],
  ['f0 8f bf bf', 1],
  ['f4 90 80 80', 1],
  ['f5 80 80 80', 0],
  ['fe', 0],
  ['ff', 0],
  ['61 62 c3 28', 3],
  ['ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64', 12],
];

test('valid strings pass whole and split at every position', () => {
  for (const bytes of valid) {
    assert.equal(isValidUtf8(bytes), true);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const v = new Utf8Validator();
      assert.equal(v.write(bytes.subarray(0, cut)), -1);
      assert.equal(v.write(bytes.subarray(cut)), -1);
      assert.equal(v.isComplete, true);
    }
  }
});

test('the validator reports the first invalid byte', () => {
  for (const [text, index] of invalid) {
    const bytes = hex(text);
    assert.equal(isValidUtf8(bytes), false, text);
    assert.equal(new Utf8Validator().write(bytes), index, text);
  }
});

test('the validator fails at the first invalid byte when fed byte by byte', () => {
  for (const [text, index] of invalid) {
    const bytes = hex(text);
    const v = new Utf8Validator();
    let failedAt = -1;
    for (let i = 0; i < bytes.length; i++) {
      if (v.write(bytes, i, i + 1) !== -1) {
        failedAt = i;
        break;
      }
    }
    assert.equal(failedAt, index, text);
  }
});

test('an unfinished code point is incomplete, not invalid', () => {
  const v = new Utf8Validator();
  assert.equal(v.write(hex('f0 9d 84')), -1);
  assert.equal(v.isComplete, false);
  assert.equal(v.write(hex('9e')), -1);
  assert.equal(v.isComplete, true);
  v.write(hex('e2'));
  v.reset();
  assert.equal(v.isComplete, true);
});

test('any split of any bytes agrees with buffer.isUtf8 (property)', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 64 }),
        fc.string({ unit: 'binary', maxLength: 32 }).map((s) => new Uint8Array(Buffer.from(s))),
      ),
      fc.array(fc.nat(64), { maxLength: 6 }),
      (bytes, cuts) => {
        const data = Buffer.from(bytes);
        const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
        const v = new Utf8Validator();
        let ok = true;
        let start = 0;
        for (const point of [...points, data.length]) {
          if (v.write(data, start, point) !== -1) {
            ok = false;
            break;
          }
          start = point;
        }
        assert.equal(ok && v.isComplete, isUtf8(data));
      },
    ),
    { numRuns: 2000 },
  );
});
