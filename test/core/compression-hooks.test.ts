import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError, SockwaveError } from '../../src/core/errors.js';
import type { MessageCompressor } from '../../src/core/deflate/compressor.js';
import {
  closeFramesWritten,
  decodeWritten,
  feeds,
  frameFor,
  hex,
  record,
  tick,
  until,
  xorTestCompressor,
  zlibTestCompressor,
  firstError,
} from './support.js';

type Role = 'client' | 'server';
const roles: Role[] = ['client', 'server'];

describe('receiving compressed messages (RFC 7692)', () => {
  const rfcVectors = {
    'a compressed "Hello" in one frame (§7.2.3.1)': hex('c1 07 f2 48 cd c9 c9 07 00'),
    'a compressed "Hello" in two fragments (§7.2.3.1)': hex('41 03 f2 48 cd  80 04 c9 c9 07 00'),
    'a "Hello" deflated without compression (§7.2.3.3)': hex('c1 0b 00 05 00 fa ff 48 65 6c 6c 6f 00'),
  };
  for (const [name, bytes] of Object.entries(rfcVectors)) {
    for (const [how, feed] of Object.entries(feeds)) {
      test(`client inflates ${name} fed ${how}`, async () => {
        const r = record({ role: 'client', compressor: zlibTestCompressor() });
        feed(r.conn, bytes);
        await until(() => r.events.length > 0);
        await tick();
        assert.deepEqual(r.plainEvents(), [{ type: 'message', data: Buffer.from('Hello').toString('hex'), isBinary: false }]);
      });
    }
  }

  for (const role of roles) {
    test(`${role} pauses parsing while a decompression runs and keeps event order`, async () => {
      const compressor = xorTestCompressor();
      const r = record({ role, compressor });
      const xor = (s: string) => Buffer.from(Buffer.from(s).map((b) => b ^ 0x55));
      r.conn.receive(
        Buffer.concat([
          frameFor(role, { opcode: 1, rsv1: true, payload: xor('first') }),
          frameFor(role, { opcode: 9, payload: 'p' }),
          frameFor(role, { opcode: 1, payload: 'plain' }),
        ]),
      );
      assert.equal(r.conn.isReceivePaused, true);
      assert.deepEqual(r.types(), [], 'nothing overtakes the pending message');
      const tail = Buffer.concat([
        frameFor(role, { opcode: 2, rsv1: true, payload: xor('last'), fin: false }),
        frameFor(role, { opcode: 0, payload: xor('!') }),
      ]);
      const backlog = r.conn.receiveBacklogBytes;
      assert.ok(backlog > 0, 'the rest of the first chunk waits');
      r.conn.receive(Buffer.from(tail));
      assert.equal(r.conn.receiveBacklogBytes, backlog + tail.length);
      await until(() => r.events.length === 4);
      assert.equal(r.conn.isReceivePaused, false);
      assert.equal(r.conn.receiveBacklogBytes, 0);
      assert.ok(r.resumed >= 1, 'the sink heard receiveResumed()');
      assert.deepEqual(
        r.events.map((e) => (e.type === 'message' ? e.data.toString() : e.type)),
        ['first', 'ping', 'plain', 'last!'],
      );
      assert.equal(compressor.decompressCalls, 3);
    });

    test(`${role} works with a compressor that answers synchronously`, () => {
      const r = record({ role, compressor: xorTestCompressor({ isSync: true }) });
      r.conn.receive(frameFor(role, { opcode: 1, rsv1: true, payload: Buffer.from(Buffer.from('abc').map((b) => b ^ 0x55)) }));
      assert.equal(r.conn.isReceivePaused, false);
      assert.deepEqual(r.plainEvents(), [{ type: 'message', data: '616263', isBinary: false }]);
    });

    test(`${role} fails text that is not UTF-8 after inflation with 1007`, async () => {
      const r = record({ role, compressor: xorTestCompressor() });
      r.conn.receive(frameFor(role, { opcode: 1, rsv1: true, payload: Buffer.from(hex('ff').map((b) => b ^ 0x55)) }));
      await until(() => r.events.length > 0);
      assert.equal(firstError(r).closeCode, 1007);
      assert.deepEqual(closeFramesWritten(r).map((c) => c.code), [1007]);
    });

    test(`${role} fails corrupt compressed data with 1002`, async () => {
      const r = record({ role, compressor: zlibTestCompressor() });
      r.conn.receive(frameFor(role, { opcode: 2, rsv1: true, payload: hex('ff ff ff ff') }));
      await until(() => r.events.length > 0);
      assert.deepEqual(closeFramesWritten(r).map((c) => c.code), [1002]);
      assert.equal(r.types()[0], 'error');
    });

    test(`${role} uses the close code carried by a compressor error`, async () => {
      const compressor: MessageCompressor = {
        compress: () => {},
        decompress: (_d, _f, _m, done) => setImmediate(() => done(new ProtocolError('internal trouble', 1011))),
        close: () => {},
      };
      const r = record({ role, compressor });
      r.conn.receive(frameFor(role, { opcode: 2, rsv1: true, payload: 'x' }));
      await until(() => r.events.length > 0);
      assert.deepEqual(closeFramesWritten(r), [{ code: 1011, reason: '' }], '1011 carries no details');
    });

    test(`${role} ignores a decompression that finishes after the connection failed`, async () => {
      const r = record({ role, compressor: xorTestCompressor() });
      r.conn.receive(frameFor(role, { opcode: 1, rsv1: true, payload: Buffer.from(Buffer.from('zz').map((b) => b ^ 0x55)) }));
      r.conn.fail(1001);
      await tick();
      await tick();
      assert.deepEqual(r.types(), ['shutdown']);
    });
  }

  test('transportClosed releases the compressor', () => {
    const compressor = zlibTestCompressor();
    const r = record({ role: 'server', compressor });
    r.conn.transportClosed();
    assert.equal(compressor.closed, true);
  });
});

describe('sending compressed messages', () => {
  for (const role of roles) {
    test(`${role} keeps send order behind an asynchronous compression and counts pendingBytes`, async () => {
      const r = record({ role, compressor: zlibTestCompressor(), compressThresholdBytes: 10 });
      const done: string[] = [];
      r.conn.send('a'.repeat(1000), {}, () => done.push('big'));
      r.conn.send('small', {}, () => done.push('small'));
      r.conn.ping('p');
      assert.equal(r.conn.pendingBytes, 1005);
      assert.deepEqual(decodeWritten(Buffer.concat(r.writes)).map((f) => f.opcode), [9], 'ping may overtake');
      r.conn.close(1000);
      await until(() => r.conn.pendingBytes === 0 && closeFramesWritten(r).length === 1);
      const frames = decodeWritten(Buffer.concat(r.writes));
      assert.deepEqual(
        frames.map((f) => [f.opcode, f.rsv1, f.masked]),
        [
          [9, false, role === 'client'],
          [1, true, role === 'client'],
          [1, false, role === 'client'],
          [8, false, role === 'client'],
        ],
      );
      assert.ok(frames[1].payload.length < 100, 'the big message went out compressed');
      assert.equal(frames[2].payload.toString(), 'small');
      assert.deepEqual(done, ['big', 'small']);
    });

    test(`${role} echoes a peer close only after the messages waiting for compression`, async () => {
      const r = record({ role, compressor: zlibTestCompressor(), compressThresholdBytes: 0 });
      r.conn.send('queued message');
      r.conn.receive(frameFor(role, { opcode: 8, payload: hex('03e8') }));
      assert.deepEqual(r.types(), ['close-frame'], 'no shutdown before our echo is written');
      await until(() => r.conn.pendingBytes === 0 && r.types().includes('shutdown'));
      assert.deepEqual(decodeWritten(Buffer.concat(r.writes)).map((f) => f.opcode), [1, 8]);
      assert.deepEqual(r.types(), ['close-frame', 'shutdown']);
    });

    test(`${role} fail() drops messages waiting for compression and sends its close frame at once`, async () => {
      const r = record({ role, compressor: zlibTestCompressor(), compressThresholdBytes: 0 });
      const results: unknown[] = [];
      r.conn.send('never sent', {}, (e) => results.push(e));
      r.conn.fail(1008, 'policy');
      await tick();
      await tick();
      assert.deepEqual(decodeWritten(Buffer.concat(r.writes)).map((f) => f.opcode), [8]);
      assert.equal(results.length, 1);
      assert.ok(results[0] instanceof SockwaveError);
    });

    test(`${role} sends below the threshold, with compress: false and fragments uncompressed`, () => {
      const r = record({ role, compressor: zlibTestCompressor(), compressThresholdBytes: 100 });
      r.conn.send('x'.repeat(99));
      r.conn.send('y'.repeat(500), { compress: false });
      r.conn.send('z'.repeat(500), { fin: false });
      r.conn.send('z'.repeat(500));
      assert.equal(r.conn.pendingBytes, 0);
      assert.deepEqual(
        decodeWritten(Buffer.concat(r.writes)).map((f) => [f.opcode, f.rsv1, f.payload.length]),
        [
          [1, false, 99],
          [1, false, 500],
          [1, false, 500],
          [0, false, 500],
        ],
      );
    });

    test(`${role} round-trips compressed messages through a peer Connection`, async () => {
      const sender = record({ role, compressor: zlibTestCompressor(), compressThresholdBytes: 0 });
      const receiver = record({ role: role === 'client' ? 'server' : 'client', compressor: zlibTestCompressor() });
      const messages = ['', 'Hello', 'x'.repeat(70_000), '€'.repeat(3000)];
      for (const m of messages) sender.conn.send(m);
      await until(() => sender.conn.pendingBytes === 0);
      receiver.conn.receive(Buffer.concat(sender.writes));
      await until(() => receiver.events.length === messages.length);
      assert.deepEqual(
        receiver.events.map((e) => (e.type === 'message' ? e.data.toString() : e.type)),
        messages,
      );
    });

    test(`${role} fails with 1011 when compression fails and rejects queued callbacks`, async () => {
      const compressor: MessageCompressor = {
        compress: (_d, done) => setImmediate(() => done(new Error('zlib exploded'))),
        decompress: () => {},
        close: () => {},
      };
      const r = record({ role, compressor, compressThresholdBytes: 0 });
      const results: unknown[] = [];
      r.conn.send('a', {}, (e) => results.push(e));
      r.conn.send('b', {}, (e) => results.push(e));
      await until(() => r.events.length > 0);
      assert.deepEqual(closeFramesWritten(r), [{ code: 1011, reason: '' }]);
      assert.equal(r.types()[0], 'error');
      assert.equal(results.length, 2);
      assert.ok(results.every((e) => e instanceof SockwaveError));
      assert.equal(r.conn.pendingBytes, 0);
    });
  }
});
