import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MessageTooLargeError } from '../../src/core/errors.js';
import { DEFAULTS } from '../../src/core/options.js';
import { FREE_FRAGMENT_ALLOWANCE } from '../../src/core/message-assembler.js';
import { closeFramesWritten, firstError, frameFor, hex, record, until, xorTestCompressor } from './support.js';

type Role = 'client' | 'server';
const roles: Role[] = ['client', 'server'];
const errorOf = firstError;

describe('maxMessageBytes (1009 before buffering)', () => {
  for (const role of roles) {
    test(`${role} fails a single frame over the limit with 1009 as soon as its header arrives`, () => {
      const r = record({ role, maxMessageBytes: 1000 });
      const bytes = frameFor(role, { opcode: 2, payload: Buffer.alloc(1001) });
      r.conn.receive(Buffer.from(bytes.subarray(0, role === 'server' ? 8 : 4))); // header only
      const error = errorOf(r);
      assert.ok(error instanceof MessageTooLargeError);
      assert.equal(error.closeCode, 1009);
      assert.equal(error.size, 1001);
      assert.equal(error.limit, 1000);
      assert.deepEqual(closeFramesWritten(r).map((c) => c.code), [1009]);
    });

    test(`${role} accepts a message of exactly maxMessageBytes`, () => {
      const r = record({ role, maxMessageBytes: 1000 });
      r.conn.receive(frameFor(role, { opcode: 2, payload: Buffer.alloc(1000) }));
      r.conn.receive(
        Buffer.concat([
          frameFor(role, { opcode: 2, payload: Buffer.alloc(600), fin: false }),
          frameFor(role, { opcode: 0, payload: Buffer.alloc(400) }),
        ]),
      );
      assert.deepEqual(r.types(), ['message', 'message']);
    });

    test(`${role} fails the fragment that takes a message over the limit, at its header`, () => {
      const r = record({ role, maxMessageBytes: 1000 });
      r.conn.receive(frameFor(role, { opcode: 2, payload: Buffer.alloc(600), fin: false }));
      const next = frameFor(role, { opcode: 0, payload: Buffer.alloc(401) });
      r.conn.receive(Buffer.from(next.subarray(0, role === 'server' ? 8 : 4)));
      const error = errorOf(r);
      assert.ok(error instanceof MessageTooLargeError);
      assert.equal(error.size, 1001);
      assert.deepEqual(closeFramesWritten(r).map((c) => c.code), [1009]);
    });

    test(`${role} fails a 64-bit length beyond 2^53 with 1009 even without a limit`, () => {
      const r = record({ role, maxMessageBytes: Infinity });
      r.conn.receive(role === 'server' ? hex('82ff 0100000000000000 00000000') : hex('827f 0100000000000000'));
      assert.equal(errorOf(r).closeCode, 1009);
    });
  }
});

describe('fragment floods and the reassembly memory bound', () => {
  for (const role of roles) {
    test(`${role} fails more than maxFragments fragments with 1009`, () => {
      const r = record({ role, maxFragments: 3 });
      const frames = [0, 1, 2, 3].map((i) => frameFor(role, { opcode: i === 0 ? 2 : 0, payload: 'x', fin: false }));
      r.conn.receive(Buffer.concat(frames.slice(0, 3)));
      assert.deepEqual(r.types(), []);
      r.conn.receive(frames[3]);
      assert.equal(errorOf(r).closeCode, 1009);
      assert.equal(errorOf(r).code, 'SW_MESSAGE_TOO_LARGE');
    });

    test(`${role} passes a legitimate message of 65,536 fragments at full size`, () => {
      // 65,536 fragments of 8 bytes make exactly maxMessageBytes: the fragment allowance covers their overhead.
      const r = record({ role, maxMessageBytes: 65_536 * 8 });
      const frames = [];
      for (let i = 0; i < 65_536; i++) {
        frames.push(frameFor(role, { opcode: i === 0 ? 1 : 0, payload: 'κόσμε'.slice(0, 4) /* 8 bytes */, fin: i === 65_535 }));
      }
      const wire = Buffer.concat(frames);
      for (let o = 0; o < wire.length; o += 65_536) r.conn.receive(Buffer.from(wire.subarray(o, o + 65_536)));
      assert.deepEqual(r.types(), ['message']);
      const data = (r.events[0] as { data: Buffer }).data;
      assert.equal(data.length, 65_536 * 8);
      assert.equal(data.subarray(0, 8).toString(), 'κόσμ');
    });

    test(`${role} passes 65,536 fragments under the default limits, including empty ones`, () => {
      const r = record({ role });
      const frames = [];
      for (let i = 0; i < 65_536; i++) {
        frames.push(frameFor(role, { opcode: i === 0 ? 2 : 0, payload: i % 2 ? '' : 'ab', fin: i === 65_535 }));
      }
      r.conn.receive(Buffer.concat(frames));
      assert.deepEqual(r.types(), ['message']);
      assert.equal((r.events[0] as { data: Buffer }).data.length, 65_536);
    });

    test(`${role} stops a flood of empty fragments once their overhead exceeds the budget`, () => {
      const maxMessageBytes = 64 * 1024;
      const r = record({ role, maxMessageBytes, maxFragments: Infinity });
      const budget = maxMessageBytes + FREE_FRAGMENT_ALLOWANCE * DEFAULTS.fragmentOverheadBytes;
      const empty = frameFor(role, { opcode: 0, payload: '', fin: false });
      r.conn.receive(frameFor(role, { opcode: 2, payload: '', fin: false }));
      let fed = 1;
      const batch = Buffer.concat(Array.from({ length: 1000 }, () => empty));
      while (r.events.length === 0 && fed < 10_000_000) {
        r.conn.receive(Buffer.from(batch));
        fed += 1000;
      }
      const error = errorOf(r);
      assert.ok(error instanceof MessageTooLargeError);
      assert.equal(error.closeCode, 1009);
      assert.ok(fed <= budget / DEFAULTS.fragmentOverheadBytes + 1000, `stopped after ${fed} fragments`);
      assert.ok(fed > FREE_FRAGMENT_ALLOWANCE, 'legitimate fragment counts pass');
    });
  }

  test('a flood of 1-byte fragments keeps memory near the payload size (4 MiB limit)', () => {
    const maxMessageBytes = 4 * 1024 * 1024;
    const r = record({ role: 'client', maxMessageBytes, maxFragments: Infinity });
    const one = frameFor('client', { opcode: 0, payload: 'x', fin: false });
    const batch = Buffer.concat(Array.from({ length: 4096 }, () => one));
    r.conn.receive(frameFor('client', { opcode: 2, payload: 'x', fin: false }));
    globalThis.gc?.();
    const before = process.memoryUsage();
    let fed = 0;
    while (r.events.length === 0) {
      r.conn.receive(Buffer.from(batch));
      fed += 4096;
    }
    const after = process.memoryUsage();
    const grown = after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers;
    assert.equal(errorOf(r).closeCode, 1009);
    // Budget is 4 MiB + 4 MiB of overhead: at 65 charged bytes per 1-byte fragment it stops near 129k fragments.
    assert.ok(fed < 140_000, `fed ${fed}`);
    assert.ok(grown < 64 * 1024 * 1024, `memory grew ${grown} bytes`);
  });
});

describe('compressed messages', () => {
  for (const role of roles) {
    test(`${role} fails a decompression bomb with 1009 (compressor enforces the budget)`, async () => {
      const r = record({ role, maxMessageBytes: 10_000, compressor: xorTestCompressor({ expand: 1000 }) });
      r.conn.receive(frameFor(role, { opcode: 2, rsv1: true, payload: Buffer.alloc(11) }));
      await until(() => r.events.length > 0);
      assert.equal(errorOf(r).closeCode, 1009);
      assert.deepEqual(closeFramesWritten(r).map((c) => c.code), [1009]);
    });

    test(`${role} fails a compressed message over the limit even when inflating frame by frame`, async () => {
      const r = record({ role, maxMessageBytes: 10_000, compressor: xorTestCompressor({ expand: 100 }) });
      for (let i = 0; i < 3; i++) {
        r.conn.receive(frameFor(role, { opcode: i === 0 ? 2 : 0, rsv1: i === 0, payload: Buffer.alloc(40), fin: false }));
      }
      await until(() => r.events.length > 0);
      assert.equal(errorOf(r).closeCode, 1009);
    });

    test(`${role} enforces the limit itself when a compressor ignores its budget`, async () => {
      const r = record({ role, maxMessageBytes: 1000, compressor: xorTestCompressor({ expand: 100, ignoresBudget: true }) });
      r.conn.receive(frameFor(role, { opcode: 2, rsv1: true, payload: Buffer.alloc(11) }));
      await until(() => r.events.length > 0);
      const error = errorOf(r);
      assert.ok(error instanceof MessageTooLargeError);
      assert.equal(error.size, 1100);
      assert.deepEqual(closeFramesWritten(r).map((c) => c.code), [1009]);
    });

    test(`${role} fails compressed wire bytes far beyond the limit before inflating`, () => {
      const compressor = xorTestCompressor();
      const r = record({ role, maxMessageBytes: 10_000, compressor });
      const bytes = frameFor(role, { opcode: 2, rsv1: true, payload: Buffer.alloc(20_000) });
      r.conn.receive(Buffer.from(bytes.subarray(0, 14)));
      assert.equal(errorOf(r).closeCode, 1009);
      assert.equal(compressor.decompressCalls, 0);
    });
  }
});
