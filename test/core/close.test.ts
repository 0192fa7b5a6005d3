import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeClosePayload,
  isValidWireCloseCode,
  parseClosePayload,
  validateCloseArguments,
  MAX_CLOSE_REASON_BYTES,
} from '../../src/core/close.js';
import { ProtocolError } from '../../src/core/errors.js';
import { hex } from './support.js';

test('wire close codes are 1000-1003, 1007-1014 and 3000-4999', () => {
  const valid = [];
  for (let code = 0; code < 6000; code++) if (isValidWireCloseCode(code)) valid.push(code);
  assert.equal(valid.length, 4 + 8 + 2000);
  assert.deepEqual(valid.slice(0, 12), [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014]);
  assert.equal(valid.at(-1), 4999);
  assert.equal(isValidWireCloseCode(1000.5), false);
});

test('an empty close payload means 1005 with no reason', () => {
  assert.deepEqual(parseClosePayload(Buffer.alloc(0)), { code: 1005, reason: '' });
});

test('a close payload parses into code and reason', () => {
  assert.deepEqual(parseClosePayload(hex('03e8 6f6b')), { code: 1000, reason: 'ok' });
});

test('a 1-byte payload and reserved codes are 1002, a bad reason 1007', () => {
  const closeCodeOf = (payload: Buffer) => {
    try {
      parseClosePayload(payload);
    } catch (error) {
      assert.ok(error instanceof ProtocolError);
      return error.closeCode;
    }
    return 0;
  };
  assert.equal(closeCodeOf(hex('03')), 1002);
  assert.equal(closeCodeOf(hex('03ed')), 1002);
  assert.equal(closeCodeOf(hex('03ee')), 1002);
  assert.equal(closeCodeOf(hex('03e8 ff')), 1007);
});

test('encodeClosePayload writes the code big-endian and the reason as UTF-8', () => {
  assert.equal(encodeClosePayload(1001, 'é').toString('hex'), '03e9c3a9');
  assert.equal(encodeClosePayload().length, 0);
  assert.equal(encodeClosePayload(1005).length, 0);
});

test('validateCloseArguments throws RangeError for codes, missing codes and long reasons', () => {
  assert.equal(validateCloseArguments(undefined, undefined), 0);
  assert.equal(validateCloseArguments(4000, 'x'.repeat(MAX_CLOSE_REASON_BYTES)), 123);
  assert.throws(() => validateCloseArguments(1006, undefined), RangeError);
  assert.throws(() => validateCloseArguments(undefined, 'r'), RangeError);
  assert.throws(() => validateCloseArguments(1000, '😀'.repeat(31)), RangeError);
});
