/**
 * After our close frame (close()), data frames are still framed but their
 * payloads are discarded: no message events, no inflating, no UTF-8 check,
 * no buffering (RFC 6455 §5.5.1; WHATWG drops messages once not OPEN).
 * Control frames are still handled, so the peer's close reply gets through.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ReadyState } from '../../src/core/events.js';
import {
  closeFramesWritten,
  decodeWritten,
  feeds,
  firstError,
  frameFor,
  hex,
  record,
  until,
  xorTestCompressor,
} from './support.js';

type Role = 'client' | 'server';
const roles: Role[] = ['client', 'server'];
const closePayload = (code: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code, 0);
  return b;
};
const xor55 = (text: string) => Buffer.from(Buffer.from(text).map((b) => b ^ 0x55));

describe('data after our close frame is discarded', () => {
  for (const role of roles) {
    for (const [how, feed] of Object.entries(feeds)) {
      test(`${role}: text, binary, invalid UTF-8 and compressed messages are dropped, the close reply is handled (fed ${how})`, () => {
        const compressor = xorTestCompressor({ isSync: true });
        const r = record({ role, compressor });
        r.conn.close(1000);
        const stream = Buffer.concat([
          frameFor(role, { opcode: 1, payload: 'text' }),
          frameFor(role, { opcode: 2, payload: hex('00ff') }),
          frameFor(role, { opcode: 1, payload: hex('ce baff') }), // invalid UTF-8: would be 1007 while OPEN
          frameFor(role, { opcode: 1, rsv1: true, payload: xor55('deflated') }),
          frameFor(role, { opcode: 2, payload: Buffer.alloc(70_000, 7) }), // 64-bit length form
          frameFor(role, { opcode: 8, payload: closePayload(1000) }),
        ]);
        feed(r.conn, stream);
        assert.deepEqual(r.plainEvents(), [
          { type: 'close-frame', code: 1000, reason: '' },
          { type: 'shutdown', mode: role === 'server' ? 'end' : 'await-peer-close' },
        ]);
        assert.equal(compressor.decompressCalls, 0, 'nothing inflated after our close frame');
        assert.deepEqual(closeFramesWritten(r).map((c) => c.code), [1000], 'no second close frame');
        r.conn.transportClosed();
        assert.deepEqual(r.plainEvents().at(-1), { type: 'closed', code: 1000, reason: '', wasClean: true });
      });
    }

    test(`${role}: a fragmented message partly received when close() is called is dropped; its continuations stay valid`, () => {
      const r = record({ role });
      r.conn.receive(frameFor(role, { opcode: 1, fin: false, payload: 'part one, ' }));
      r.conn.close(1001);
      r.conn.receive(frameFor(role, { opcode: 0, fin: false, payload: 'part two, ' }));
      r.conn.receive(frameFor(role, { opcode: 0, payload: 'end' }));
      r.conn.receive(frameFor(role, { opcode: 8, payload: closePayload(1001) }));
      assert.deepEqual(r.types(), ['close-frame', 'shutdown']);
      assert.equal(r.events.some((e) => e.type === 'error'), false);
    });

    test(`${role}: a frame whose payload is half received when close() is called is skipped`, () => {
      const r = record({ role });
      const message = frameFor(role, { opcode: 1, payload: 'x'.repeat(300) });
      r.conn.receive(Buffer.from(message.subarray(0, 100)));
      r.conn.close(1000);
      r.conn.receive(Buffer.concat([message.subarray(100), frameFor(role, { opcode: 8, payload: closePayload(1000) })]));
      assert.deepEqual(r.types(), ['close-frame', 'shutdown']);
    });

    test(`${role}: a ping after our close frame is reported but never answered`, () => {
      const r = record({ role });
      r.conn.close(1000);
      r.conn.receive(frameFor(role, { opcode: 9, payload: 'are you there' }));
      assert.deepEqual(r.plainEvents(), [{ type: 'ping', data: Buffer.from('are you there').toString('hex') }]);
      assert.deepEqual(
        decodeWritten(Buffer.concat(r.writes)).map((f) => f.opcode),
        [8],
        'only our close frame, no pong',
      );
    });

    test(`${role}: header violations after our close frame still fail the connection (1002), without a second close frame`, () => {
      for (const bad of [
        frameFor(role, { opcode: 0, payload: 'continuation without a start' }),
        frameFor(role, { opcode: 3, payload: 'reserved opcode' }),
        frameFor(role, { opcode: 1, rsv2: true, payload: 'rsv2' }),
        frameFor(role, { opcode: 1, rsv1: true, payload: 'rsv1 without deflate' }),
      ]) {
        const r = record({ role });
        r.conn.close(1000);
        r.conn.receive(Buffer.from(bad));
        assert.equal(firstError(r).closeCode, 1002);
        assert.deepEqual(closeFramesWritten(r).map((c) => c.code), [1000]);
        assert.equal(r.plainEvents().at(-1)?.type, 'shutdown');
      }
    });

    test(`${role}: nothing is buffered for discarded frames; only a single frame over the limit fails (1009)`, () => {
      const r = record({ role, maxMessageBytes: 1024, maxFragments: 4 });
      r.conn.close(1000);
      // 64 fragments of 1000 bytes: far over maxMessageBytes and maxFragments, but nothing is kept.
      for (let i = 0; i < 64; i++) {
        r.conn.receive(frameFor(role, { opcode: i === 0 ? 2 : 0, fin: i === 63, payload: Buffer.alloc(1000, i) }));
      }
      assert.deepEqual(r.types(), [], 'no message, no error');
      assert.equal(r.conn.receiveBacklogBytes, 0);
      r.conn.receive(frameFor(role, { opcode: 2, payload: Buffer.alloc(1025) }));
      assert.equal(firstError(r).closeCode, 1009);
    });
  }

  test('a decompression running when close() is called finishes, its output is dropped and the rest is parsed without inflating', async () => {
    const compressor = xorTestCompressor(); // answers on setImmediate
    const r = record({ role: 'server', compressor });
    r.conn.receive(
      Buffer.concat([
        frameFor('server', { opcode: 1, rsv1: true, payload: xor55('in flight') }),
        frameFor('server', { opcode: 1, rsv1: true, payload: xor55('queued behind it') }),
        frameFor('server', { opcode: 8, payload: closePayload(1000) }),
      ]),
    );
    assert.equal(r.conn.isReceivePaused, true);
    r.conn.close(1000);
    await until(() => r.types().includes('shutdown'));
    assert.equal(compressor.decompressCalls, 1);
    assert.deepEqual(r.types(), ['close-frame', 'shutdown']);
    assert.equal(r.conn.readyState, ReadyState.CLOSING);
  });
});
