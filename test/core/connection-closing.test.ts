import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Connection } from '../../src/core/connection.js';
import { ReadyState } from '../../src/core/events.js';
import { ConnectionClosedError, ProtocolError } from '../../src/core/errors.js';
import { closeFramesWritten, decodeWritten, feeds, firstError, frameFor, hex, record } from './support.js';

type Role = 'client' | 'server';
const roles: Role[] = ['client', 'server'];
const closePayload = (code: number, reason = '') => {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2);
  return b;
};

describe('peer-initiated close', () => {
  for (const role of roles) {
    for (const [how, feed] of Object.entries(feeds)) {
      test(`${role} echoes the peer's close code and reports close-frame then shutdown (fed ${how})`, () => {
        const r = record({ role });
        feed(r.conn, frameFor(role, { opcode: 8, payload: closePayload(1001, 'bye') }));
        assert.deepEqual(r.plainEvents(), [
          { type: 'close-frame', code: 1001, reason: 'bye' },
          { type: 'shutdown', mode: role === 'server' ? 'end' : 'await-peer-close' },
        ]);
        const frames = decodeWritten(Buffer.concat(r.writes));
        assert.equal(frames.length, 1);
        assert.equal(frames[0].opcode, 8);
        assert.equal(frames[0].masked, role === 'client');
        assert.equal(frames[0].payload.toString('hex'), '03e9');
        assert.equal(r.conn.readyState, ReadyState.CLOSING);
        r.conn.transportClosed();
        assert.deepEqual(r.plainEvents().at(-1), { type: 'closed', code: 1001, reason: 'bye', wasClean: true });
        assert.equal(r.conn.readyState, ReadyState.CLOSED);
      });
    }

    test(`${role} echoes an empty close frame and reports 1005`, () => {
      const r = record({ role });
      r.conn.receive(frameFor(role, { opcode: 8 }));
      assert.deepEqual(closeFramesWritten(r), [{ code: 1005, reason: '' }]);
      assert.equal(decodeWritten(Buffer.concat(r.writes))[0].payload.length, 0);
      r.conn.transportClosed();
      assert.deepEqual(r.plainEvents().at(-1), { type: 'closed', code: 1005, reason: '', wasClean: true });
    });

    test(`${role} ignores frames after the peer's close frame and answers nothing`, () => {
      const r = record({ role });
      r.conn.receive(
        Buffer.concat([
          frameFor(role, { opcode: 8, payload: closePayload(1000) }),
          frameFor(role, { opcode: 9, payload: 'ping' }),
          frameFor(role, { opcode: 1, payload: 'data' }),
        ]),
      );
      r.conn.receive(frameFor(role, { opcode: 9, payload: 'again' }));
      assert.deepEqual(r.types(), ['close-frame', 'shutdown']);
      assert.equal(decodeWritten(Buffer.concat(r.writes)).length, 1, 'only the echo');
    });

    test(`${role} fails a 1-byte close payload with 1002`, () => {
      const r = record({ role });
      r.conn.receive(frameFor(role, { opcode: 8, payload: hex('03') }));
      assert.deepEqual(r.types(), ['error', 'shutdown']);
      assert.deepEqual(closeFramesWritten(r).map((c) => c.code), [1002]);
    });

    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
      test(`${role} fails close code ${code} with 1002`, () => {
        const r = record({ role });
        r.conn.receive(frameFor(role, { opcode: 8, payload: closePayload(code) }));
        const error = firstError(r);
        assert.equal(error.closeCode, 1002);
        assert.deepEqual(closeFramesWritten(r).map((c) => c.code), [1002]);
      });
    }

    for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999]) {
      test(`${role} accepts and echoes close code ${code}`, () => {
        const r = record({ role });
        r.conn.receive(frameFor(role, { opcode: 8, payload: closePayload(code) }));
        assert.equal(r.types()[0], 'close-frame');
        assert.deepEqual(closeFramesWritten(r).map((c) => c.code), [code]);
      });
    }

    test(`${role} fails a close reason that is not UTF-8 with 1007`, () => {
      const r = record({ role });
      r.conn.receive(frameFor(role, { opcode: 8, payload: Buffer.concat([hex('03e8'), hex('ce ba ff')]) }));
      assert.equal(firstError(r).closeCode, 1007);
      assert.deepEqual(closeFramesWritten(r).map((c) => c.code), [1007]);
    });
  }
});

describe('locally initiated close', () => {
  for (const role of roles) {
    test(`${role} sends its close frame, discards later data, then finishes when the echo arrives`, () => {
      const r = record({ role });
      r.conn.close(1000, 'done');
      assert.deepEqual(closeFramesWritten(r), [{ code: 1000, reason: 'done' }]);
      assert.equal(r.conn.readyState, ReadyState.CLOSING);
      r.conn.receive(frameFor(role, { opcode: 1, payload: 'still' }));
      r.conn.receive(frameFor(role, { opcode: 9, payload: 'p' }));
      assert.deepEqual(r.types(), ['ping'], 'data after our close frame is discarded; the ping is reported');
      assert.equal(decodeWritten(Buffer.concat(r.writes)).length, 1, 'no pong after our close frame');
      r.conn.receive(frameFor(role, { opcode: 8, payload: closePayload(1000) }));
      assert.deepEqual(r.plainEvents().slice(1), [
        { type: 'close-frame', code: 1000, reason: '' },
        { type: 'shutdown', mode: role === 'server' ? 'end' : 'await-peer-close' },
      ]);
      assert.equal(closeFramesWritten(r).length, 1, 'no second close frame');
      if (role === 'client') {
        r.conn.receiveEof();
        assert.deepEqual(r.plainEvents().at(-1), { type: 'shutdown', mode: 'end' });
      }
      r.conn.transportClosed();
      r.conn.transportClosed();
      assert.equal(r.types().filter((t) => t === 'closed').length, 1, 'closed exactly once');
      assert.deepEqual(r.plainEvents().at(-1), { type: 'closed', code: 1000, reason: '', wasClean: true });
    });

    test(`${role} close() without a code sends an empty close frame`, () => {
      const r = record({ role });
      r.conn.close();
      assert.equal(decodeWritten(Buffer.concat(r.writes))[0].payload.length, 0);
      r.conn.close(1000);
      assert.equal(r.writes.length, 1, 'a second close() is a no-op');
    });
  }

  test('close() rejects codes that may not be sent with a RangeError', () => {
    const r = record({ role: 'server' });
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 1000.5]) {
      assert.throws(() => r.conn.close(code), RangeError, String(code));
    }
    assert.equal(r.writes.length, 0);
  });

  test('close() rejects a reason over 123 UTF-8 bytes and a reason without a code', () => {
    const r = record({ role: 'server' });
    assert.throws(() => r.conn.close(1000, 'x'.repeat(124)), RangeError);
    assert.throws(() => r.conn.close(1000, 'é'.repeat(62)), RangeError, '124 bytes in 62 characters');
    assert.throws(() => r.conn.close(undefined, 'why'), RangeError);
    r.conn.close(1000, 'x'.repeat(123));
    assert.equal(closeFramesWritten(r)[0].reason.length, 123);
  });

  test('send, ping and pong after close throw ConnectionClosedError carrying the close frames', () => {
    const r = record({ role: 'server' });
    r.conn.close(4000, 'bye');
    for (const call of [() => r.conn.send('x'), () => r.conn.ping(), () => r.conn.pong()]) {
      assert.throws(call, (error: unknown) => {
        assert.ok(error instanceof ConnectionClosedError);
        assert.deepEqual(error.sent, { code: 4000, reason: 'bye' });
        assert.equal(error.received, null);
        assert.equal(error.code, 'SW_CONNECTION_CLOSED');
        return true;
      });
    }
  });

  test('send after the peer closed first says the peer closed first', () => {
    const r = record({ role: 'server' });
    r.conn.receive(frameFor('server', { opcode: 8, payload: closePayload(1001, 'away') }));
    assert.throws(
      () => r.conn.send('x'),
      (error: unknown) =>
        error instanceof ConnectionClosedError &&
        error.isReceivedFirst &&
        error.received?.code === 1001 &&
        error.sent?.code === 1001,
    );
  });
});

describe('abnormal ends and fail()', () => {
  for (const role of roles) {
    test(`${role} reports 1006 when the transport closes without a close frame`, () => {
      const r = record({ role });
      r.conn.receive(frameFor(role, { opcode: 1, payload: 'partial' }).subarray(0, 4));
      r.conn.transportClosed();
      assert.deepEqual(r.plainEvents(), [{ type: 'closed', code: 1006, reason: '', wasClean: false }]);
      assert.throws(() => r.conn.send('x'), ConnectionClosedError);
    });

    test(`${role} ends its side on EOF and reports 1006 afterwards`, () => {
      const r = record({ role });
      r.conn.receiveEof();
      assert.deepEqual(r.plainEvents(), [{ type: 'shutdown', mode: 'end' }]);
      assert.equal(r.conn.readyState, ReadyState.CLOSING);
      r.conn.receive(frameFor(role, { opcode: 1, payload: 'late' }));
      r.conn.transportClosed();
      assert.deepEqual(r.plainEvents().at(-1), { type: 'closed', code: 1006, reason: '', wasClean: false });
    });

    test(`${role} fail() sends the close frame, reports the given error and ends`, () => {
      const r = record({ role });
      const error = new ProtocolError('policy says no', 1008);
      r.conn.fail(1008, 'policy', error);
      assert.deepEqual(closeFramesWritten(r), [{ code: 1008, reason: 'policy' }]);
      assert.equal(r.events[0].type === 'error' && r.events[0].error, error);
      assert.deepEqual(r.types(), ['error', 'shutdown']);
      r.conn.fail(1011);
      assert.equal(r.writes.length, 1, 'a second fail() does nothing');
    });

    test(`${role} fail() without an error reports no error event`, () => {
      const r = record({ role });
      r.conn.fail(1001);
      assert.deepEqual(r.types(), ['shutdown']);
      assert.deepEqual(closeFramesWritten(r).map((c) => c.code), [1001]);
    });

    test(`${role} fail() with a code that may not go on the wire sends no close frame`, () => {
      const r = record({ role });
      r.conn.fail(1006);
      assert.equal(r.writes.length, 0);
      assert.deepEqual(r.types(), ['shutdown']);
    });

    test(`${role} fail() after its close frame was sent sends no second one`, () => {
      const r = record({ role });
      r.conn.close(1000);
      r.conn.fail(1002);
      assert.deepEqual(closeFramesWritten(r).map((c) => c.code), [1000]);
      assert.deepEqual(r.types(), ['shutdown']);
    });

    test(`${role} fail() truncates a long reason to 123 bytes`, () => {
      const r = record({ role });
      r.conn.fail(1008, 'é'.repeat(100));
      assert.equal(Buffer.byteLength(closeFramesWritten(r)[0].reason), 122);
    });
  }

  test('an event handler may close the connection while a chunk is being parsed', () => {
    const r = record({ role: 'client' });
    const writes: string[] = [];
    const original = r.conn;
    r.events.push = function (this: unknown[], ...items) {
      for (const item of items) if (item.type === 'message') original.close(1000);
      return Array.prototype.push.apply(this, items);
    };
    original.receive(Buffer.concat([frameFor('client', { opcode: 1, payload: 'a' }), frameFor('client', { opcode: 1, payload: 'b' })]));
    writes.push(...closeFramesWritten(r).map((c) => String(c.code)));
    assert.deepEqual(r.types(), ['message'], 'the second message, parsed after our close(), is discarded');
    assert.deepEqual(writes, ['1000']);
  });
});

describe('an application handler that throws', () => {
  test('propagates the exception, closes with 1011 and ignores the rest of the input', () => {
    const writes: Buffer[] = [];
    const types: string[] = [];
    const conn = new Connection(
      { role: 'client' },
      {
        write: (b) => writes.push(Buffer.from(b)),
        event: (e) => {
          types.push(e.type);
          if (e.type === 'message') throw new Error('app bug');
        },
      },
    );
    const bytes = Buffer.concat([frameFor('client', { opcode: 1, payload: 'a' }), frameFor('client', { opcode: 1, payload: 'b' })]);
    assert.throws(() => conn.receive(bytes), /app bug/);
    assert.deepEqual(types, ['message', 'shutdown']);
    const frames = decodeWritten(Buffer.concat(writes));
    assert.deepEqual(frames.map((f) => [f.opcode, f.payload.readUInt16BE(0)]), [[8, 1011]]);
    conn.receive(frameFor('client', { opcode: 1, payload: 'c' }));
    assert.deepEqual(types, ['message', 'shutdown']);
  });
});

describe('diagnostics', () => {
  test('closeFrames reports both close frames and which came first', () => {
    const r = record({ role: 'server' });
    assert.deepEqual(r.conn.closeFrames, { sent: null, received: null, isReceivedFirst: false });
    r.conn.receive(frameFor('server', { opcode: 8, payload: closePayload(4001, 'x') }));
    assert.deepEqual(r.conn.closeFrames, {
      sent: { code: 4001, reason: '' },
      received: { code: 4001, reason: 'x' },
      isReceivedFirst: true,
    });
  });

  test('parsedBytes tells where parsing stopped after a failure', () => {
    const r = record({ role: 'client' });
    const good = frameFor('client', { opcode: 1, payload: 'ok' });
    const bad = frameFor('client', { opcode: 3, payload: 'zz' });
    r.conn.receive(Buffer.concat([good, bad, good]));
    // The bad frame's header was consumed; its payload and the rest were not.
    assert.equal(r.conn.parsedBytes, good.length + 2);
    assert.equal(r.conn.role, 'client');
  });
});

describe('issue 11: replies that do not wait for write callbacks', () => {
  for (const role of roles) {
    test(`${role} echoes the peer's close frame when the sink never calls back`, () => {
      const writes: Buffer[] = [];
      const conn = new Connection({ role }, { write: (data) => void writes.push(Buffer.from(data)), event: () => {} });
      conn.receive(frameFor(role, { opcode: 9, payload: 'x' }));
      conn.receive(frameFor(role, { opcode: 8, payload: closePayload(1001) }));
      const frames = decodeWritten(Buffer.concat(writes));
      assert.deepEqual(
        frames.map((f) => f.opcode),
        [10, 8],
      );
      assert.equal(frames[1].payload.readUInt16BE(0), 1001);
    });

    test(`${role} keeps parsing a control frame split across chunks after close() is called between the chunks`, () => {
      const r = record({ role });
      const ping = frameFor(role, { opcode: 9, payload: 'abcdefgh' });
      r.conn.receive(Buffer.from(ping.subarray(0, ping.length - 4)));
      r.conn.close(1000);
      assert.doesNotThrow(() => r.conn.receive(Buffer.from(ping.subarray(ping.length - 4))));
      const ping2 = r.events.find((e) => e.type === 'ping');
      assert.equal(ping2?.type === 'ping' && ping2.data.toString(), 'abcdefgh');
      r.conn.receive(frameFor(role, { opcode: 8, payload: closePayload(1000) }));
      assert.ok(r.types().includes('close-frame'), 'the close reply behind it is still seen');
    });
  }
});
