/**
 * Rules decided by the first two header bytes (RSV bits, opcode, mask bit,
 * FIN of control frames, fragment sequence) fail the connection with 1002 as
 * soon as those two bytes arrive, before the extended length or the masking
 * key: a stream split after 2 bytes already gets its answer.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { closeFramesWritten, firstError, frameFor, hex, record, xorTestCompressor } from './support.js';

type Role = 'client' | 'server';
const roles: Role[] = ['client', 'server'];
/** Masked as the receiving role expects (bit 0x80 of byte 1) unless `wrongMask`. */
const maskBit = (role: Role, wrongMask = false) => ((role === 'server') !== wrongMask ? 0x80 : 0);

describe('the first two header bytes are checked before the rest of the header', () => {
  for (const role of roles) {
    // [what, first byte, whether the mask bit is wrong, a frame to send first (message in progress), compressor]
    const cases: Array<[string, number, boolean, Buffer | undefined, boolean]> = [
      ['RSV2', 0x82 | 0x20, false, undefined, false],
      ['RSV3', 0x82 | 0x10, false, undefined, false],
      ['reserved data opcode 3', 0x83, false, undefined, false],
      ['reserved control opcode 0xB', 0x8b, false, undefined, false],
      [role === 'server' ? 'an unmasked client frame' : 'a masked server frame', 0x82, true, undefined, false],
      ['a fragmented control frame', 0x09, false, undefined, false],
      ['RSV1 on a control frame', 0x89 | 0x40, false, undefined, true],
      ['RSV1 without a negotiated extension', 0x82 | 0x40, false, undefined, false],
      ['a continuation without a message', 0x80, false, undefined, false],
      ['RSV1 on a continuation frame', 0x80 | 0x40, false, frameFor(role, { opcode: 2, fin: false, payload: 'a' }), true],
      ['a new data frame inside a fragmented message', 0x82, false, frameFor(role, { opcode: 1, fin: false, payload: 'a' }), false],
    ];
    for (const [what, b0, wrongMask, before, withCompressor] of cases) {
      for (const len7 of [126, 127]) {
        test(`${role}: ${what} fails with 1002 after 2 bytes of a ${len7 === 126 ? 4 : 10}+ byte header`, () => {
          const r = record({ role, compressor: withCompressor ? xorTestCompressor({ isSync: true }) : undefined });
          if (before !== undefined) r.conn.receive(Buffer.from(before));
          const start = r.conn.parsedBytes;
          r.conn.receive(Buffer.from([b0, maskBit(role, wrongMask) | len7]));
          assert.equal(firstError(r).closeCode, 1002);
          assert.deepEqual(closeFramesWritten(r).map((c) => c.code), [1002]);
          assert.equal(r.conn.parsedBytes - start, 2, 'failed at the second byte');
          assert.deepEqual(r.types().slice(-2), ['error', 'shutdown']);
        });
      }
    }

    test(`${role}: a valid first two bytes wait for the rest of the header, byte by byte`, () => {
      const r = record({ role });
      const bytes = frameFor(role, { opcode: 2, payload: Buffer.alloc(300, 1) });
      for (let i = 0; i < bytes.length - 1; i++) r.conn.receive(Buffer.from(bytes.subarray(i, i + 1)));
      assert.deepEqual(r.types(), []);
      r.conn.receive(Buffer.from(bytes.subarray(-1)));
      assert.deepEqual(r.types(), ['message']);
    });

    test(`${role}: a control frame over 125 bytes fails once its extended length is in`, () => {
      const r = record({ role });
      const header = role === 'server' ? hex('89fe 007e') : hex('897e 007e');
      r.conn.receive(Buffer.from(header.subarray(0, 2)));
      assert.deepEqual(r.types(), [], 'the length is not known yet');
      r.conn.receive(Buffer.from(header.subarray(2)));
      if (role === 'server') r.conn.receive(hex('00000000'));
      assert.equal(firstError(r).closeCode, 1002);
    });
  }
});
