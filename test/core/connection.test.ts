import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Connection } from '../../src/core/connection.js';
import { ReadyState } from '../../src/core/events.js';
import { ConnectionClosedError, ProtocolError } from '../../src/core/errors.js';
import { encodeFrame, Opcode } from '../../src/core/frame.js';
import { fixedMaskSource } from '../../src/core/mask.js';
import {
  closeFramesWritten,
  decodeWritten,
  feeds,
  frame,
  frameFor,
  hex,
  record,
  xorTestCompressor,
  zlibTestCompressor,
  until,
  type FrameSpec,
  firstError,
} from './support.js';

type Role = 'client' | 'server';

/** Feeds `bytes` (three ways) and asserts the connection failed with `closeCode`. */
function assertFails(role: Role, bytes: Buffer, closeCode: number, extra: { compressor?: boolean } = {}): void {
  for (const [how, feed] of Object.entries(feeds)) {
    const r = record({ role, compressor: extra.compressor ? xorTestCompressor({ isSync: true }) : undefined });
    feed(r.conn, bytes);
    assert.equal(r.types().filter((t) => t === 'error').length, 1, `one error event (${how})`);
    const error = firstError(r);
    assert.ok(error instanceof ProtocolError);
    assert.equal(error.closeCode, closeCode, `error.closeCode (${how})`);
    const closes = closeFramesWritten(r);
    assert.equal(closes.length, 1, `one close frame written (${how})`);
    assert.equal(closes[0].code, closeCode, `close frame code (${how})`);
    const sent = decodeWritten(Buffer.concat(r.writes)).at(-1)!;
    assert.equal(sent.masked, role === 'client', 'close frame masked only by clients');
    assert.deepEqual(r.types().slice(-2), ['error', 'shutdown']);
    assert.equal(r.conn.readyState, ReadyState.CLOSING);
    // Anything after the failure is ignored.
    const before = r.events.length;
    r.conn.receive(frameFor(role, { opcode: 1, payload: 'late' }));
    r.conn.receive(frameFor(role, { opcode: 9, payload: 'late' }));
    assert.equal(r.events.length, before, 'no events after failing');
    assert.equal(closeFramesWritten(r).length, 1, 'no pong or second close after failing');
  }
}

const roles: Role[] = ['client', 'server'];

describe('framing rules fail the connection with 1002', () => {
  test('server fails an unmasked frame with 1002', () => {
    assertFails('server', frame({ opcode: 1, payload: 'Hello' }), 1002);
  });

  test('client fails a masked frame with 1002', () => {
    assertFails('client', frame({ opcode: 1, payload: 'Hello', mask: hex('37fa213d') }), 1002);
  });

  for (const role of roles) {
    for (const rsv of ['rsv1', 'rsv2', 'rsv3'] as const) {
      test(`${role} fails ${rsv.toUpperCase()} without a negotiated extension with 1002`, () => {
        assertFails(role, frameFor(role, { opcode: 2, payload: 'x', [rsv]: true }), 1002);
      });
    }

    test(`${role} fails RSV2 and RSV3 even with a compressor with 1002`, () => {
      assertFails(role, frameFor(role, { opcode: 2, payload: 'x', rsv2: true }), 1002, { compressor: true });
      assertFails(role, frameFor(role, { opcode: 2, payload: 'x', rsv3: true }), 1002, { compressor: true });
    });

    test(`${role} fails RSV1 on a control frame with 1002 even with a compressor`, () => {
      assertFails(role, frameFor(role, { opcode: 9, payload: 'x', rsv1: true }), 1002, { compressor: true });
    });

    test(`${role} fails RSV1 on a continuation frame with 1002 even with a compressor`, () => {
      const bytes = Buffer.concat([
        frameFor(role, { opcode: 2, payload: 'ab', rsv1: true, fin: false }),
        frameFor(role, { opcode: 0, payload: 'cd', rsv1: true }),
      ]);
      assertFails(role, bytes, 1002, { compressor: true });
    });

    for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
      test(`${role} fails reserved opcode ${opcode} with 1002`, () => {
        assertFails(role, frameFor(role, { opcode, payload: 'x' }), 1002);
      });
    }

    test(`${role} fails a control frame over 125 bytes with 1002`, () => {
      assertFails(role, frameFor(role, { opcode: 9, payload: Buffer.alloc(126) }), 1002);
    });

    test(`${role} fails a fragmented control frame with 1002`, () => {
      assertFails(role, frameFor(role, { opcode: 9, payload: 'x', fin: false }), 1002);
    });

    test(`${role} fails a continuation frame without a start with 1002`, () => {
      assertFails(role, frameFor(role, { opcode: 0, payload: 'x' }), 1002);
    });

    test(`${role} fails a new data frame inside a fragmented message with 1002`, () => {
      const bytes = Buffer.concat([
        frameFor(role, { opcode: 1, payload: 'a', fin: false }),
        frameFor(role, { opcode: 2, payload: 'b' }),
      ]);
      assertFails(role, bytes, 1002);
    });

    test(`${role} fails a 64-bit length with the most significant bit set with 1002`, () => {
      const header = role === 'server' ? hex('82ff 8000000000000005 00000000') : hex('827f 8000000000000005');
      assertFails(role, header, 1002);
    });

    test(`${role} accepts non-minimal length encodings`, () => {
      const r = record({ role });
      const bytes = Buffer.concat([
        frameFor(role, { opcode: 1, payload: 'Hi', lengthForm: 16 }),
        frameFor(role, { opcode: 2, payload: 'yo', lengthForm: 64 }),
      ]);
      r.conn.receive(bytes);
      assert.deepEqual(r.plainEvents(), [
        { type: 'message', data: '4869', isBinary: false },
        { type: 'message', data: '796f', isBinary: true },
      ]);
    });
  }
});

describe('text must be UTF-8 (1007, fail fast)', () => {
  for (const role of roles) {
    test(`${role} fails a single text frame with invalid UTF-8 with 1007`, () => {
      assertFails(role, frameFor(role, { opcode: 1, payload: hex('48 c3 28 48') }), 1007);
    });

    test(`${role} fails a text message ending inside a code point with 1007`, () => {
      assertFails(role, frameFor(role, { opcode: 1, payload: hex('48 e2 82') }), 1007);
      const fragmented = Buffer.concat([
        frameFor(role, { opcode: 1, payload: hex('48'), fin: false }),
        frameFor(role, { opcode: 0, payload: hex('e2 82') }),
      ]);
      assertFails(role, fragmented, 1007);
    });

    test(`${role} fails overlongs, surrogates and code points over U+10FFFF with 1007`, () => {
      for (const bad of ['c0 80', 'e0 80 80', 'ed a0 80', 'f4 90 80 80', 'f5 80 80 80', 'ff']) {
        assertFails(role, frameFor(role, { opcode: 1, payload: hex(bad) }), 1007);
      }
    });

    test(`${role} fails at the first invalid fragment, before the message ends`, () => {
      const r = record({ role });
      r.conn.receive(frameFor(role, { opcode: 1, payload: hex('ce ba e1 bd'), fin: false }));
      assert.deepEqual(r.types(), [], 'a code point may continue in the next fragment');
      r.conn.receive(frameFor(role, { opcode: 0, payload: hex('b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64'), fin: false }));
      assert.deepEqual(r.types(), ['error', 'shutdown']);
      assert.equal(closeFramesWritten(r)[0].code, 1007);
    });

    test(`${role} fails inside a frame whose payload is still arriving`, () => {
      const r = record({ role });
      const bytes = frameFor(role, { opcode: 1, payload: Buffer.concat([hex('ff'), Buffer.alloc(1000, 0x61)]) });
      r.conn.receive(Buffer.from(bytes.subarray(0, 20)));
      assert.deepEqual(r.types(), ['error', 'shutdown']);
      assert.equal(closeFramesWritten(r)[0].code, 1007);
    });

    test(`${role} accepts code points split across fragments and frame pieces`, () => {
      const text = 'κόσμε 𝄞 €'.repeat(50);
      const bytes = Buffer.from(text);
      const frames = [];
      for (let i = 0; i < bytes.length; i += 7) {
        const last = i + 7 >= bytes.length;
        frames.push(frameFor(role, { opcode: i === 0 ? 1 : 0, payload: bytes.subarray(i, i + 7), fin: last }));
      }
      for (const [how, feed] of Object.entries(feeds)) {
        const r = record({ role });
        feed(r.conn, Buffer.concat(frames));
        assert.deepEqual(r.plainEvents(), [{ type: 'message', data: bytes.toString('hex'), isBinary: false }], how);
      }
    });

    test(`${role} does not validate binary messages as text`, () => {
      const r = record({ role });
      r.conn.receive(frameFor(role, { opcode: 2, payload: hex('ff fe') }));
      assert.deepEqual(r.plainEvents(), [{ type: 'message', data: 'fffe', isBinary: true }]);
    });
  }
});

describe('messages, fragments and control frames', () => {
  for (const role of roles) {
    test(`${role} reassembles a fragmented binary message with control frames in between`, () => {
      const frames: FrameSpec[] = [
        { opcode: 2, payload: 'ab', fin: false },
        { opcode: 9, payload: 'p1' },
        { opcode: 0, payload: '', fin: false },
        { opcode: 10, payload: 'p2' },
        { opcode: 0, payload: 'cd' },
      ];
      for (const [how, feed] of Object.entries(feeds)) {
        const r = record({ role, maskSource: fixedMaskSource(hex('00000000')) });
        feed(r.conn, Buffer.concat(frames.map((f) => frameFor(role, f))));
        assert.deepEqual(
          r.plainEvents(),
          [
            { type: 'ping', data: '7031' },
            { type: 'pong', data: '7032' },
            { type: 'message', data: '61626364', isBinary: true },
          ],
          how,
        );
        const written = decodeWritten(Buffer.concat(r.writes));
        assert.deepEqual(
          written.map((f) => [f.opcode, f.payload.toString()]),
          [[10, 'p1']],
          'the ping was answered with a pong of the same payload',
        );
      }
    });

    test(`${role} delivers empty text and binary messages`, () => {
      const r = record({ role });
      r.conn.receive(Buffer.concat([frameFor(role, { opcode: 1 }), frameFor(role, { opcode: 2 })]));
      assert.deepEqual(r.plainEvents(), [
        { type: 'message', data: '', isBinary: false },
        { type: 'message', data: '', isBinary: true },
      ]);
    });

    test(`${role} delivers many frames from one chunk in order`, () => {
      const r = record({ role });
      const parts = [];
      for (let i = 0; i < 100; i++) parts.push(frameFor(role, { opcode: 1, payload: `m${i}` }));
      r.conn.receive(Buffer.concat(parts));
      assert.equal(r.events.length, 100);
      assert.equal(Buffer.from((r.events[99] as { data: Buffer }).data).toString(), 'm99');
    });
  }

  test('send encodes text, binary, fragments, ping and pong in order and calls back', () => {
    const r = record({ role: 'server' });
    const calls: string[] = [];
    r.conn.send('t', {}, () => calls.push('t'));
    r.conn.send(Buffer.from('b'), {}, () => calls.push('b'));
    r.conn.send('s', { isBinary: true });
    r.conn.send(Buffer.from('f1'), { fin: false });
    r.conn.ping('pi');
    r.conn.send(Buffer.from('f2'), { fin: false });
    r.conn.send(Buffer.from('f3'));
    r.conn.pong();
    assert.deepEqual(
      decodeWritten(Buffer.concat(r.writes)).map((f) => [f.fin, f.opcode, f.payload.toString()]),
      [
        [true, 1, 't'],
        [true, 2, 'b'],
        [true, 2, 's'],
        [false, 2, 'f1'],
        [true, 9, 'pi'],
        [false, 0, 'f2'],
        [true, 0, 'f3'],
        [true, 10, ''],
      ],
    );
    assert.deepEqual(calls, ['t', 'b']);
    assert.equal(r.conn.pendingBytes, 0);
  });

  test('server writes a large payload as header plus the caller buffer, uncopied', () => {
    const writes: Buffer[] = [];
    const conn = new Connection({ role: 'server' }, { write: (b) => writes.push(b), event: () => {} });
    const payload = Buffer.alloc(100_000, 1);
    conn.send(payload);
    assert.equal(writes.length, 2);
    assert.equal(writes[1], payload);
  });

  test('sendEncoded writes a pre-encoded frame as is and keeps order behind compression', async () => {
    const frame = encodeFrame(Opcode.TEXT, Buffer.from('broadcast'));
    const writes: Buffer[] = [];
    new Connection({ role: 'server' }, { write: (b) => writes.push(b), event: () => {} }).sendEncoded(frame);
    assert.equal(writes[0], frame[0], 'not copied');
    const r = record({ role: 'server', compressor: zlibTestCompressor(), compressThresholdBytes: 0 });
    r.conn.send('compressed first');
    const done: string[] = [];
    r.conn.sendEncoded(frame, () => done.push('encoded'));
    assert.equal(r.writes.length, 0);
    assert.equal(r.conn.pendingBytes > 0, true);
    await until(() => r.conn.pendingBytes === 0);
    const frames = decodeWritten(Buffer.concat(r.writes));
    assert.deepEqual(frames.map((f) => [f.rsv1, f.opcode]), [[true, 1], [false, 1]]);
    assert.equal(frames[1].payload.toString(), 'broadcast');
    assert.deepEqual(done, ['encoded']);
  });

  test('sendEncoded refuses to interleave with a fragmented message and to send after close', () => {
    const r = record({ role: 'server' });
    const frame = encodeFrame(Opcode.BINARY, Buffer.from('x'));
    r.conn.send('part', { fin: false });
    assert.throws(() => r.conn.sendEncoded(frame), { code: 'SW_INVALID_ARGUMENT' });
    r.conn.send('end');
    r.conn.sendEncoded(frame);
    r.conn.close();
    assert.throws(() => r.conn.sendEncoded(frame), ConnectionClosedError);
  });

  test('client masks every frame and never modifies the caller buffer', () => {
    const r = record({ role: 'client' });
    const payload = Buffer.alloc(70_000, 0x61);
    r.conn.send(payload);
    r.conn.send('small');
    assert.ok(payload.every((b) => b === 0x61));
    const frames = decodeWritten(Buffer.concat(r.writes));
    assert.ok(frames.every((f) => f.masked));
    assert.ok(frames[0].payload.equals(payload));
    assert.equal(frames[1].payload.toString(), 'small');
  });

  test('ping and pong refuse payloads over 125 bytes with a RangeError', () => {
    const r = record({ role: 'server' });
    assert.throws(() => r.conn.ping(Buffer.alloc(126)), RangeError);
    assert.throws(() => r.conn.pong('x'.repeat(126)), RangeError);
    r.conn.ping(Buffer.alloc(125));
    assert.equal(r.writes.length, 1);
  });

  test('options are validated with a RangeError naming the option', () => {
    assert.throws(() => record({ role: 'server', maxMessageBytes: 0 }), /maxMessageBytes/);
    assert.throws(() => record({ role: 'server', maxFragments: -1 }), /maxFragments/);
    assert.throws(() => record({ role: 'server', maxMessageBytes: 1.5 }), /maxMessageBytes/);
    assert.throws(() => record({ role: 'nobody' as Role }), /role/);
    assert.doesNotThrow(() => record({ role: 'server', maxMessageBytes: Infinity, maxFragments: Infinity }));
  });

  test('a connection created CONNECTING refuses to send until open()', () => {
    const r = record({ role: 'client', isOpen: false });
    assert.equal(r.conn.readyState, ReadyState.CONNECTING);
    assert.throws(() => r.conn.send('x'), { code: 'SW_NOT_OPEN_YET' });
    r.conn.open();
    assert.equal(r.conn.readyState, ReadyState.OPEN);
    r.conn.send('x');
    assert.equal(r.writes.length, 1);
  });
});

describe('ping floods (RFC 6455 §5.5.3)', () => {
  for (const role of ['client', 'server'] as const) {
    test(`${role} keeps one pong in flight and answers only the latest ping while the peer does not read (sink.callsWriteCallbacks)`, () => {
      const writes: Buffer[] = [];
      const callbacks: Array<(error?: Error | null) => void> = [];
      const pings: string[] = [];
      const conn = new Connection(
        { role },
        {
          callsWriteCallbacks: true,
          write: (data, cb) => {
            writes.push(Buffer.from(data));
            if (cb) callbacks.push(cb); // not flushed yet: a peer that stopped reading
          },
          event: (e) => void (e.type === 'ping' && pings.push(e.data.toString())),
        },
      );
      for (let i = 0; i < 1000; i++) conn.receive(frameFor(role, { opcode: 9, payload: `p${i}` }));
      assert.equal(pings.length, 1000, 'every ping is still reported');
      assert.equal(writes.length, 1, 'one pong written');
      assert.equal(decodeWritten(writes[0])[0].payload.toString(), 'p0');
      callbacks.shift()?.();
      assert.equal(writes.length, 2);
      assert.equal(decodeWritten(writes[1])[0].payload.toString(), 'p999', 'the latest ping is answered');
      callbacks.shift()?.();
      assert.equal(writes.length, 2, 'nothing else deferred');
      conn.receive(frameFor(role, { opcode: 9, payload: 'again' }));
      assert.equal(writes.length, 3);
    });

    test(`issue 11: ${role} answers every ping when the sink never calls its write callbacks`, () => {
      const writes: Buffer[] = [];
      const pings: string[] = [];
      const conn = new Connection(
        { role },
        {
          write: (data) => void writes.push(Buffer.from(data)), // ignores cb, and does not claim callsWriteCallbacks
          event: (e) => void (e.type === 'ping' && pings.push(e.data.toString())),
        },
      );
      const pongs = () => writes.flatMap((w) => decodeWritten(w)).filter((f) => f.opcode === 10).map((f) => f.payload.toString());
      for (let i = 0; i < 100; i++) conn.receive(frameFor(role, { opcode: 9, payload: `p${i}` }));
      conn.receive(Buffer.concat(Array.from({ length: 3 }, (_, i) => frameFor(role, { opcode: 9, payload: `burst${i}` }))));
      assert.equal(pings.length, 103);
      assert.deepEqual(pongs(), [...Array.from({ length: 100 }, (_, i) => `p${i}`), 'burst0', 'burst1', 'burst2']);
    });
  }
});
