import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fixedMaskSource } from '../../src/core/mask.js';
import { ProtocolError } from '../../src/core/errors.js';
import { feedChunked, firstError, frame, hex, record, sendFragmented, xorTestCompressor, type FrameSpec } from './support.js';

type Role = 'client' | 'server';
const role = fc.constantFrom<Role>('client', 'server');
const key = hex('0badf00d');

const message = fc.record({
  isBinary: fc.boolean(),
  text: fc.string({ unit: 'grapheme', maxLength: 40 }),
  bytes: fc.uint8Array({ maxLength: 300 }),
  cuts: fc.array(fc.nat(300), { maxLength: 4 }),
  withPing: fc.boolean(),
});

test('encode then decode is the identity (messages, fragments, pings; both roles)', () => {
  fc.assert(
    fc.property(role, fc.array(message, { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1 }), (receiverRole, messages, chunks) => {
      const sender = record({ role: receiverRole === 'client' ? 'server' : 'client' });
      const expected: string[] = [];
      for (const m of messages) {
        const payload = m.isBinary ? Buffer.from(m.bytes) : Buffer.from(m.text);
        // Text fragments must split on code point boundaries only from the sender's view of bytes:
        // the receiver validates across fragments, so any byte split is legal.
        sendFragmented(sender.conn, payload, m.cuts, m.isBinary, m.withPing);
                expected.push(`${m.isBinary}:${payload.toString('hex')}`);
      }
      const receiver = record({ role: receiverRole });
      feedChunked(receiver.conn, Buffer.concat(sender.writes), chunks);
      const got = receiver.events.map((e) => (e.type === 'message' ? `${e.isBinary}:${e.data.toString('hex')}` : e.type === 'ping' ? 'ping:70' : e.type));
      // Pings sent between fragments arrive before their message; compare the messages, count the pings.
      assert.deepEqual(got.filter((g) => !g.startsWith('ping')), expected);
      const pings = messages.reduce((n, m) => n + (m.withPing ? [...new Set(m.cuts.map((c) => c % ((m.isBinary ? m.bytes.length : Buffer.byteLength(m.text)) + 1)))].length : 0), 0);
      assert.equal(got.filter((g) => g.startsWith('ping')).length, pings);
      assert.equal(receiver.types().filter((t) => t === 'error').length, 0);
    }),
    { numRuns: 300 },
  );
});

/** Random frames, valid and invalid: every header field is fuzzed. */
const frameSpec: fc.Arbitrary<FrameSpec & { masked: boolean }> = fc.record({
  opcode: fc.oneof(fc.constantFrom(0, 1, 2, 8, 9, 10), fc.integer({ min: 0, max: 15 })),
  payload: fc.oneof(
    fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
    fc.string({ maxLength: 20 }).map((s) => Buffer.from(s)),
    fc.constantFrom(Buffer.from([0x03, 0xe8]), Buffer.alloc(126), Buffer.alloc(200, 0x61), Buffer.from([0xe2, 0x82])),
  ),
  fin: fc.boolean(),
  rsv1: fc.constantFrom(false, false, true),
  rsv2: fc.constantFrom(false, false, false, true),
  rsv3: fc.constantFrom(false, false, false, true),
  masked: fc.constantFrom(true, true, true, false),
  lengthForm: fc.constantFrom<7 | 16 | 64 | undefined>(undefined, undefined, 16, 64),
});

function wireOf(specs: Array<FrameSpec & { masked: boolean }>, receiverRole: Role): Buffer {
  return Buffer.concat(
    specs.map(({ masked, ...spec }) => {
      const isMasked = receiverRole === 'server' ? masked : !masked;
      return frame({ ...spec, mask: isMasked ? key : undefined });
    }),
  );
}

function run(receiverRole: Role, wire: Buffer, chunks: number[], withCompressor: boolean) {
  const r = record({
    role: receiverRole,
    maskSource: fixedMaskSource(key),
    maxMessageBytes: 150,
    compressor: withCompressor ? xorTestCompressor({ isSync: true }) : undefined,
  });
  feedChunked(r.conn, wire, chunks);
  return { events: r.plainEvents(), written: r.written(), r };
}

test('any chunking of valid and invalid frames yields the same events and the same bytes out', () => {
  fc.assert(
    fc.property(
      role,
      fc.array(frameSpec, { maxLength: 10 }),
      fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 10 }),
      fc.boolean(),
      (receiverRole, specs, chunks, withCompressor) => {
        const wire = wireOf(specs, receiverRole);
        const whole = run(receiverRole, wire, [wire.length || 1], withCompressor);
        const split = run(receiverRole, wire, chunks, withCompressor);
        const bytewise = run(receiverRole, wire, [1], withCompressor);
        assert.deepEqual(split.events, whole.events);
        assert.deepEqual(bytewise.events, whole.events);
        assert.equal(split.written, whole.written);
        assert.equal(bytewise.written, whole.written);
      },
    ),
    { numRuns: 1500 },
  );
});

test('random bytes never throw and end in events or a failure with 1002, 1007 or 1009', () => {
  fc.assert(
    fc.property(
      role,
      fc.uint8Array({ maxLength: 400 }),
      fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 5 }),
      fc.boolean(),
      (receiverRole, bytes, chunks, withCompressor) => {
        const { r } = run(receiverRole, Buffer.from(bytes), chunks, withCompressor);
        const errors = r.types().filter((t) => t === 'error');
        assert.ok(errors.length <= 1);
        if (errors.length === 1) {
          const error = firstError(r);
          assert.ok([1002, 1007, 1009].includes(error.closeCode), `close code ${error.closeCode}`);
          assert.deepEqual(r.types().slice(-2), ['error', 'shutdown']);
        }
        r.conn.transportClosed();
        assert.equal(r.types().at(-1), 'closed');
      },
    ),
    { numRuns: 3000 },
  );
});

test('random valid-looking frames after a valid prefix never throw and fail only with wire codes', () => {
  fc.assert(
    fc.property(role, fc.array(frameSpec, { minLength: 1, maxLength: 20 }), (receiverRole, specs) => {
      const { r } = run(receiverRole, wireOf(specs, receiverRole), [7], true);
      for (const event of r.events) {
        if (event.type === 'error') assert.ok([1002, 1007, 1009].includes((event.error as ProtocolError).closeCode));
      }
    }),
    { numRuns: 1500 },
  );
});
