/**
 * Borrowed chunks and read targets (FrameParser.receive(chunk, true),
 * readTarget(), receivedInto()): a transport that reuses one read buffer
 * and reads large payloads straight into the core's targets must get the
 * same events as one that hands over fresh chunks, with payloads that never
 * change after delivery, at any split point, masked or not, fragmented or
 * not, at sizes around the 1 MiB block boundary.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { record, sendFragmented } from './support.js';

type Role = 'client' | 'server';
const KiB = 1024;
const MiB = 1024 * KiB;
const digest = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

const size = fc.oneof(
  fc.constantFrom(0, 1, 125, 126, 127, 65_535, 65_536, MiB - 1, MiB, MiB + 1, 2 * MiB + 3),
  fc.integer({ min: 0, max: 300 * KiB }),
);
const message = fc.record({
  size,
  isBinary: fc.boolean(),
  cuts: fc.array(fc.nat(), { maxLength: 3 }),
  withPing: fc.boolean(),
});
/** One transport step: how many bytes to read, and whether to read into the core's target when it offers one. */
const step = fc.record({ bytes: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 256 * KiB })), intoTarget: fc.boolean() });

/** Payload i of a message: ASCII for text (any byte split stays valid UTF-8 across pieces), a pattern for binary. */
function payloadOf(index: number, m: { size: number; isBinary: boolean }): Buffer {
  const data = Buffer.allocUnsafe(m.size);
  for (let i = 0; i < m.size; i++) data[i] = m.isBinary ? (i * 31 + index * 7) & 0xff : 0x41 + ((i + index) % 26);
  return data;
}

test('any mix of borrowed chunks and read targets yields the same messages, and no delivered payload changes later', () => {
  fc.assert(
    fc.property(fc.constantFrom<Role>('client', 'server'), fc.array(message, { minLength: 1, maxLength: 5 }), fc.array(step, { minLength: 1, maxLength: 12 }), (receiverRole, messages, steps) => {
      const sender = record({ role: receiverRole === 'client' ? 'server' : 'client', maxMessageBytes: 8 * MiB });
      const expected: Buffer[] = [];
      messages.forEach((m, index) => {
        const payload = payloadOf(index, m);
        sendFragmented(sender.conn, payload, m.cuts, m.isBinary, m.withPing);
        expected.push(payload);
      });
      const wire = Buffer.concat(sender.writes);
      const receiver = record({ role: receiverRole, maxMessageBytes: 8 * MiB });
      const delivered: { data: Buffer; digest: string }[] = [];
      const conn = receiver.conn;
      // One reused read buffer, scribbled over after every read, like a transport's.
      const scratch = Buffer.allocUnsafe(256 * KiB);
      let offset = 0;
      let i = 0;
      let targetsUsed = 0;
      while (offset < wire.length) {
        const { bytes, intoTarget } = steps[i++ % steps.length];
        const target = intoTarget ? conn.readTarget() : undefined;
        if (target !== undefined) {
          const n = Math.min(bytes, target.length, wire.length - offset);
          wire.copy(target, 0, offset, offset + n);
          conn.receivedInto(n);
          targetsUsed++;
          offset += n;
        } else {
          const n = Math.min(bytes, scratch.length, wire.length - offset);
          wire.copy(scratch, 0, offset, offset + n);
          conn.receiveBorrowed(scratch.subarray(0, n));
          scratch.fill(0xaa);
          offset += n;
        }
        for (const event of receiver.events.splice(0)) {
          if (event.type === 'message') delivered.push({ data: event.data, digest: digest(event.data) });
          else assert.ok(event.type === 'ping', `unexpected ${event.type}`);
        }
      }
      assert.equal(delivered.length, expected.length);
      for (let k = 0; k < expected.length; k++) {
        assert.ok(delivered[k].data.equals(expected[k]), `message ${k} (${expected[k].length} bytes) intact`);
        assert.equal(digest(delivered[k].data), delivered[k].digest, `message ${k} unchanged after delivery`);
      }
      // Big single frames fed in small steps must have been offered targets (the property is not vacuous).
      if (steps.some((s) => s.intoTarget) && messages.some((m) => m.size > 300 * KiB && m.cuts.length === 0)) assert.ok(targetsUsed > 0);
    }),
    { numRuns: 60 },
  );
});

test('a frame over 1 MiB read into targets arrives in 1 MiB blocks: the first target is at most 1 MiB', () => {
  const sender = record({ role: 'client' });
  sender.conn.send(Buffer.alloc(3 * MiB + 5, 7), { isBinary: true });
  const wire = Buffer.concat(sender.writes);
  const receiver = record({ role: 'server', maxMessageBytes: 8 * MiB });
  receiver.conn.receiveBorrowed(wire.subarray(0, 14));
  const lengths: number[] = [];
  let offset = 14;
  while (offset < wire.length) {
    const target = receiver.conn.readTarget() as Buffer;
    lengths.push(target.length);
    const n = Math.min(target.length, wire.length - offset);
    wire.copy(target, 0, offset, offset + n);
    receiver.conn.receivedInto(n);
    offset += n;
  }
  assert.deepEqual(lengths, [MiB, MiB, MiB, 5]);
  const [event] = receiver.events;
  assert.equal(event.type, 'message');
  assert.ok(event.type === 'message' && event.data.equals(Buffer.alloc(3 * MiB + 5, 7)));
});

test('a read target is offered only while a data payload is incomplete, never for control frames or while closing', () => {
  const receiver = record({ role: 'server' });
  assert.equal(receiver.conn.readTarget(), undefined, 'nothing received yet');
  // A masked ping header (125-byte payload) without its payload.
  receiver.conn.receiveBorrowed(Buffer.from([0x89, 0x80 | 125, 1, 2, 3, 4]));
  assert.equal(receiver.conn.readTarget(), undefined, 'control frame');
});
