// Issue 16: the core drops its receive side (MessageReader + FrameParser)
// after a chunk of control frames only that left it at rest, so an idle
// socket answering heartbeats keeps none of it. These tests check that it is
// dropped only then, and that no byte stream parses differently because of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Connection } from '../../src/core/connection.js';
import { fixedMaskSource } from '../../src/core/mask.js';
import { feedChunked, frameFor, hex, record, xorTestCompressor, type Recorder } from './support.js';

type Role = 'client' | 'server';
const roles: Role[] = ['server', 'client'];

/** The private receive side: undefined when dropped (white-box, for the "only at rest" checks). */
const receiverOf = (conn: Connection): unknown => (conn as unknown as { receiver: unknown }).receiver;

const ping = (role: Role, payload = 'hb'): Buffer => frameFor(role, { opcode: 9, payload });
const pong = (role: Role, payload = 'hb'): Buffer => frameFor(role, { opcode: 10, payload });

/** Fragmented messages with pings and pongs between their frames, and whole messages between them. */
function stream(role: Role): Buffer {
  return Buffer.concat([
    ping(role, 'a'),
    frameFor(role, { opcode: 1, fin: false, payload: 'héllo ' }),
    ping(role, 'b'),
    pong(role, 'c'),
    frameFor(role, { opcode: 0, fin: false, payload: 'wör' }),
    ping(role, ''),
    frameFor(role, { opcode: 0, payload: 'ld' }),
    pong(role, 'd'),
    frameFor(role, { opcode: 2, payload: Buffer.alloc(300, 7) }),
    ping(role, 'e'),
    frameFor(role, { opcode: 2, fin: false, payload: Buffer.alloc(130, 1) }),
    pong(role, 'f'),
    frameFor(role, { opcode: 0, payload: Buffer.alloc(2, 2) }),
    pong(role, 'g'),
  ]);
}

/** Clients mask their pongs: a fixed key makes what two connections wrote comparable. */
const recordFixed = (role: Role): Recorder => record({ role, maskSource: fixedMaskSource(hex('0badf00d')) });

function outcome(r: Recorder): unknown {
  return { events: r.plainEvents(), written: r.written(), parsed: r.conn.parsedBytes };
}

for (const role of roles) {
  test(`${role}: a chunk of pings and pongs only drops the receive side, and the pongs still go out`, () => {
    const r = record({ role });
    r.conn.receive(Buffer.concat([ping(role, 'x'), pong(role, 'y')]));
    assert.equal(receiverOf(r.conn), undefined);
    assert.deepEqual(r.types(), ['ping', 'pong']);
    assert.equal(r.writes.length, 1, 'the ping was answered');
    r.conn.receive(ping(role, 'z'));
    assert.equal(receiverOf(r.conn), undefined);
    assert.equal(r.writes.length, 2, 'a later ping is answered by a fresh receive side');
  });

  test(`${role}: the receive side is kept when a chunk carried a data frame, or left anything in progress`, () => {
    const cases: Array<[string, Buffer[]]> = [
      ['a data frame with the ping', [Buffer.concat([frameFor(role, { opcode: 2, payload: 'm' }), ping(role)])]],
      ['half a ping header', [ping(role).subarray(0, 1)]],
      ['a ping header without its payload', [ping(role, 'abc').subarray(0, 2)]],
      ['a fragmented message open behind the ping', [frameFor(role, { opcode: 1, fin: false, payload: 'a' }), ping(role)]],
      ['the start of a data frame after the ping', [Buffer.concat([ping(role), frameFor(role, { opcode: 2, payload: 'abc' }).subarray(0, 3)])]],
    ];
    for (const [what, chunks] of cases) {
      const r = record({ role });
      for (const chunk of chunks) r.conn.receive(Buffer.from(chunk));
      assert.notEqual(receiverOf(r.conn), undefined, what);
    }
  });

  test(`${role}: the receive side is kept once closing or failed (later bytes stay ignored or skipped)`, () => {
    const closing = record({ role });
    closing.conn.close(1000);
    closing.conn.receive(ping(role));
    assert.notEqual(receiverOf(closing.conn), undefined);
    const failed = record({ role });
    failed.conn.receive(frameFor(role, { opcode: 0, payload: 'x' })); // a continuation without a message: 1002
    failed.conn.receive(ping(role));
    assert.notEqual(receiverOf(failed.conn), undefined);
    assert.deepEqual(failed.types(), ['error', 'shutdown'], 'no ping is reported after the failure');
  });

  test(`${role}: a ping that arrives while a compressed message inflates keeps the receive side until it is parsed`, async () => {
    const compressor = xorTestCompressor();
    const r = record({ role, compressor });
    r.conn.receive(Buffer.concat([frameFor(role, { opcode: 2, rsv1: true, payload: 'abc' }), ping(role)]));
    assert.equal(r.conn.isReceivePaused, true);
    assert.notEqual(receiverOf(r.conn), undefined);
    r.conn.receive(ping(role, 'later'));
    assert.notEqual(receiverOf(r.conn), undefined);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(r.types(), ['message', 'ping', 'ping']);
  });

  test(`${role}: after a drop, a continuation frame still fails with 1002 and a new message parses normally`, () => {
    const r = record({ role });
    r.conn.receive(ping(role));
    assert.equal(receiverOf(r.conn), undefined);
    r.conn.receive(frameFor(role, { opcode: 1, payload: 'ok' }));
    assert.deepEqual(r.plainEvents()[1], { type: 'message', data: Buffer.from('ok').toString('hex'), isBinary: false });
    r.conn.receive(pong(role));
    r.conn.receive(frameFor(role, { opcode: 0, payload: 'x' }));
    assert.equal(r.types().at(-2), 'error');
    assert.deepEqual(r.plainEvents().at(-2), { type: 'error', code: 'SW_PROTOCOL', closeCode: 1002 });
  });

  test(`${role}: fragmented messages interleaved with pings parse the same split at every offset`, () => {
    const bytes = stream(role);
    const whole = recordFixed(role);
    whole.conn.receive(Buffer.from(bytes));
    assert.deepEqual(
      whole.types().filter((t) => t === 'message'),
      ['message', 'message', 'message'],
    );
    const expected = outcome(whole);
    for (let cut = 1; cut < bytes.length; cut++) {
      const r = recordFixed(role);
      r.conn.receive(Buffer.from(bytes.subarray(0, cut)));
      r.conn.receive(Buffer.from(bytes.subarray(cut)));
      assert.deepEqual(outcome(r), expected, `split at ${cut}`);
    }
    const bytewise = recordFixed(role);
    feedChunked(bytewise.conn, bytes, [1]);
    assert.deepEqual(outcome(bytewise), expected, 'byte by byte');
  });

  test(`${role}: any chunking of frames and lone control frames gives the same events, pongs and parsedBytes`, () => {
    const bytes = stream(role);
    const whole = recordFixed(role);
    whole.conn.receive(Buffer.from(bytes));
    const expected = outcome(whole);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }), (sizes) => {
        const r = recordFixed(role);
        feedChunked(r.conn, bytes, sizes);
        assert.deepEqual(outcome(r), expected);
      }),
      { numRuns: 300 },
    );
  });
}
