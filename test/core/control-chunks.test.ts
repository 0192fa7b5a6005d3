// Issue 16: a chunk of complete control frames only, arriving at a connection
// without a receive side (fresh, or dropped after earlier control frames),
// is handled without making one (core/control-frames.ts). Such a chunk must
// give exactly what the parser gives for the same bytes: the byte-by-byte
// feed below always goes through the parser (a lone byte is never a complete
// frame), the whole-chunk feed takes the shortcut whenever it applies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Connection } from '../../src/core/connection.js';
import type { CoreEvent } from '../../src/core/events.js';
import { fixedMaskSource } from '../../src/core/mask.js';
import { isControlFramesOnly } from '../../src/core/control-frames.js';
import { feedChunked, frame, frameFor, hex, record, type FrameSpec, type Recorder } from './support.js';

type Role = 'client' | 'server';
const roles: Role[] = ['server', 'client'];
const receiverOf = (conn: Connection): unknown => (conn as unknown as { receiver: unknown }).receiver;
const recordFixed = (role: Role): Recorder => record({ role, maskSource: fixedMaskSource(hex('0badf00d')) });
/** parsedBytes after a failure depends on how the input was cut (where the parser stopped), with or without the shortcut. */
const outcome = (r: Recorder): unknown => ({
  events: r.plainEvents(),
  written: r.written(),
  parsed: r.types().includes('error') ? 'after a failure' : r.conn.parsedBytes,
  state: r.conn.readyState,
});

/** A close payload: a code (valid, reserved or out of range), a reason (valid or invalid UTF-8), or one byte. */
const closePayload = fc.oneof(
  fc.constant(Buffer.alloc(0)),
  fc.constant(Buffer.from([3])),
  fc
    .tuple(fc.constantFrom(1000, 1001, 1005, 1006, 1011, 1015, 2999, 3000, 4999, 5000, 999), fc.oneof(fc.string({ maxLength: 20 }), fc.constant('\udc00')), fc.boolean())
    .map(([code, reason, isBadUtf8]) => {
      const head = Buffer.from([code >> 8, code & 0xff]);
      return Buffer.concat([head, isBadUtf8 ? Buffer.from([0xc3, 0x28]) : Buffer.from(reason)]).subarray(0, 125);
    }),
);

/** A control frame as the role receives it, sometimes breaking one rule the parser enforces. */
const controlFrame = (role: Role): fc.Arbitrary<Buffer> =>
  fc
    .tuple(
      fc.constantFrom(8, 9, 10),
      fc.uint8Array({ maxLength: 125 }),
      closePayload,
      fc.constantFrom('valid', 'valid', 'valid', 'valid', 'rsv1', 'not-fin', 'wrong-mask', 'long-form', 'too-long', 'reserved-opcode'),
    )
    .map(([opcode, bytes, close, flaw]) => {
      const payload = opcode === 8 ? close : Buffer.from(bytes);
      const spec: Omit<FrameSpec, 'mask'> = { opcode: flaw === 'reserved-opcode' ? 11 : opcode, payload };
      if (flaw === 'rsv1') spec.rsv1 = true;
      if (flaw === 'not-fin') spec.fin = false;
      if (flaw === 'long-form') spec.lengthForm = 16;
      if (flaw === 'too-long') spec.payload = Buffer.alloc(126, 1);
      // The other role's masking: a server gets an unmasked frame, a client a masked one.
      if (flaw === 'wrong-mask') return role === 'server' ? frame(spec) : frame({ ...spec, mask: hex('01020304') });
      return frameFor(role, spec);
    });

for (const role of roles) {
  test(`${role}: any run of control frames, valid or not, gives the same events, writes and parsedBytes whole as byte by byte`, () => {
    fc.assert(
      fc.property(fc.array(controlFrame(role), { minLength: 1, maxLength: 6 }), fc.boolean(), (frames, withPingFirst) => {
        const chunks = withPingFirst ? [frameFor(role, { opcode: 9, payload: 'hb' }), ...frames] : frames;
        const bytes = Buffer.concat(chunks);
        const whole = recordFixed(role);
        if (withPingFirst) {
          // A receive side made and dropped before: the shortcut applies to a connection in either state.
          whole.conn.receive(Buffer.from(chunks[0]));
          whole.conn.receive(Buffer.from(bytes.subarray(chunks[0].length)));
        } else whole.conn.receive(Buffer.from(bytes));
        const bytewise = recordFixed(role);
        feedChunked(bytewise.conn, bytes, [1]);
        assert.deepEqual(outcome(whole), outcome(bytewise));
      }),
      { numRuns: 400 },
    );
  });

  test(`${role}: a close frame on a fresh connection is echoed and ends reading without making a receive side`, () => {
    const r = record({ role });
    const closeBytes = frameFor(role, { opcode: 8, payload: Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from('bye')]) });
    assert.ok(isControlFramesOnly(closeBytes, role === 'client'));
    r.conn.receive(Buffer.concat([closeBytes, frameFor(role, { opcode: 9, payload: 'after' })]));
    assert.equal(receiverOf(r.conn), undefined);
    assert.equal(r.events[0].type, 'close-frame');
    assert.deepEqual(r.plainEvents()[0], { type: 'close-frame', code: 1000, reason: 'bye' });
    assert.equal(r.conn.parsedBytes, closeBytes.length, 'the ping behind the close frame is not parsed');
    r.conn.receiveEof();
    r.conn.transportClosed();
    assert.equal(receiverOf(r.conn), undefined, 'EOF and the transport closing make none either');
    assert.equal(r.types().filter((t) => t === 'ping').length, 0);
    assert.equal(r.types().at(-1), 'closed');
  });

  test(`${role}: a borrowed chunk is left as it came, and its payloads are copies`, () => {
    const r = record({ role });
    const bytes = Buffer.concat([frameFor(role, { opcode: 9, payload: 'ping-payload' }), frameFor(role, { opcode: 10, payload: 'pong-payload' })]);
    const before = Buffer.from(bytes);
    r.conn.receiveBorrowed(bytes);
    assert.ok(bytes.equals(before));
    const pingData = (r.events[0] as { data: Buffer }).data;
    assert.equal(pingData.toString(), 'ping-payload');
    bytes.fill(0);
    assert.equal(pingData.toString(), 'ping-payload', 'not a view of the borrowed chunk');
    assert.equal((r.events[1] as { data: Buffer }).data.toString(), 'pong-payload');
  });
}

test('bytes received from inside a handler of a control chunk are parsed after the rest of that chunk', () => {
  const run = (feed: (conn: Connection, bytes: Buffer) => void): string[] => {
    const seen: string[] = [];
    let conn: Connection | undefined;
    const inner = Buffer.concat([frameFor('server', { opcode: 10, payload: 'inner' }), frameFor('server', { opcode: 2, payload: 'data' })]);
    let isFed = false;
    const r = record({ role: 'server' });
    conn = r.conn;
    const events = r.events;
    // Watch the events as they are pushed, and feed the inner bytes at the first ping.
    events.push = (...items: CoreEvent[]): number => {
      for (const item of items) {
        seen.push(item.type === 'message' ? `message:${item.data.toString()}` : `${item.type}:${'data' in item ? (item.data as Buffer).toString() : ''}`);
        if (item.type === 'ping' && !isFed) {
          isFed = true;
          (conn as Connection).receive(Buffer.from(inner));
        }
      }
      return Array.prototype.push.apply(events, items);
    };
    feed(conn, Buffer.concat([frameFor('server', { opcode: 9, payload: 'one' }), frameFor('server', { opcode: 10, payload: 'two' })]));
    return seen;
  };
  const whole = run((conn, bytes) => conn.receive(Buffer.from(bytes)));
  assert.deepEqual(whole, ['ping:one', 'pong:two', 'pong:inner', 'message:data']);
  // The parser does the same with a chunk it parses (a data frame in front keeps the shortcut out).
  const parsed = run((conn, bytes) => conn.receive(Buffer.concat([frameFor('server', { opcode: 2, payload: 'pre' }), bytes])));
  assert.deepEqual(parsed, ['message:pre', ...whole]);
});
