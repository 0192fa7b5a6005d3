import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFrame, headerLength, Opcode, isControlOpcode, isKnownOpcode } from '../../src/core/frame.js';
import { fixedMaskSource } from '../../src/core/mask.js';
import { feeds, feedChunked, hex, record, until, zlibTestCompressor, type Recorder } from './support.js';

const RFC_KEY = hex('37fa213d');

/** RFC 6455 §5.7 examples, as (receiving role, bytes, expected events). */
const vectors: Array<{ name: string; role: 'client' | 'server'; bytes: Buffer; events: object[] }> = [
  {
    name: 'a single-frame unmasked text message',
    role: 'client',
    bytes: hex('81 05 48 65 6c 6c 6f'),
    events: [{ type: 'message', data: '48656c6c6f', isBinary: false }],
  },
  {
    name: 'a single-frame masked text message',
    role: 'server',
    bytes: hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'),
    events: [{ type: 'message', data: '48656c6c6f', isBinary: false }],
  },
  {
    name: 'a fragmented unmasked text message',
    role: 'client',
    bytes: hex('01 03 48 65 6c  80 02 6c 6f'),
    events: [{ type: 'message', data: '48656c6c6f', isBinary: false }],
  },
  {
    name: 'an unmasked ping',
    role: 'client',
    bytes: hex('89 05 48 65 6c 6c 6f'),
    events: [{ type: 'ping', data: '48656c6c6f' }],
  },
  {
    name: 'a masked pong',
    role: 'server',
    bytes: hex('8a 85 37 fa 21 3d 7f 9f 4d 51 58'),
    events: [{ type: 'pong', data: '48656c6c6f' }],
  },
  {
    name: 'a 256-byte unmasked binary message (16-bit length)',
    role: 'client',
    bytes: Buffer.concat([hex('82 7e 01 00'), Buffer.alloc(256, 0xab)]),
    events: [{ type: 'message', data: 'ab'.repeat(256), isBinary: true }],
  },
  {
    name: 'a 64 KiB unmasked binary message (64-bit length)',
    role: 'client',
    bytes: Buffer.concat([hex('82 7f 00 00 00 00 00 01 00 00'), Buffer.alloc(65536, 0xcd)]),
    events: [{ type: 'message', data: 'cd'.repeat(65536), isBinary: true }],
  },
];

describe('RFC 6455 §5.7 examples', () => {
  for (const vector of vectors) {
    for (const [how, feed] of Object.entries(feeds)) {
      test(`${vector.role} decodes ${vector.name} fed ${how}`, () => {
        const r = record({ role: vector.role, maskSource: fixedMaskSource(RFC_KEY) });
        feed(r.conn, vector.bytes);
        assert.deepEqual(r.plainEvents(), vector.events);
      });
    }
  }

  test('client answers the RFC ping with exactly the RFC masked pong', () => {
    const r = record({ role: 'client', maskSource: fixedMaskSource(RFC_KEY) });
    r.conn.receive(hex('89 05 48 65 6c 6c 6f'));
    assert.equal(r.written(), '8a8537fa213d7f9f4d5158');
  });

  test('server answers a masked ping with an unmasked pong of the same payload', () => {
    const r = record({ role: 'server' });
    r.conn.receive(hex('89 85 37 fa 21 3d 7f 9f 4d 51 58'));
    assert.equal(r.written(), '8a0548656c6c6f');
  });

  test('server encodes "Hello" as 81 05 48 65 6c 6c 6f', () => {
    const r = record({ role: 'server' });
    r.conn.send('Hello');
    assert.equal(r.written(), '810548656c6c6f');
  });

  test('client encodes "Hello" with key 37fa213d as the RFC masked frame', () => {
    const r = record({ role: 'client', maskSource: fixedMaskSource(RFC_KEY) });
    r.conn.send('Hello');
    assert.equal(r.written(), '818537fa213d7f9f4d5158');
  });

  test('server encodes a fragmented text message as the RFC example', () => {
    const r = record({ role: 'server' });
    r.conn.send('Hel', { fin: false });
    r.conn.send('lo');
    assert.equal(r.written(), '010348656c80026c6f');
  });

  test('server encodes 256 and 65536 byte binary messages with 16- and 64-bit lengths', () => {
    const r = record({ role: 'server' });
    r.conn.send(Buffer.alloc(256, 1));
    r.conn.send(Buffer.alloc(65536, 2));
    const out = Buffer.concat(r.writes);
    assert.equal(out.subarray(0, 4).toString('hex'), '827e0100');
    assert.equal(out.subarray(260, 270).toString('hex'), '827f0000000000010000');
    assert.equal(out.length, 4 + 256 + 10 + 65536);
  });
});

describe('encodeFrame', () => {
  test('returns header and the untouched payload for a large unmasked frame', () => {
    const payload = Buffer.alloc(20000, 7);
    const [header, body] = encodeFrame(Opcode.BINARY, payload);
    assert.equal(header.toString('hex'), '827e4e20');
    assert.equal(body, payload);
  });

  test('returns one buffer for a small frame and sets RSV1 and FIN as asked', () => {
    const out = encodeFrame(Opcode.TEXT, Buffer.from('Hi'), { fin: false, rsv1: true });
    assert.equal(out.length, 1);
    assert.equal(out[0].toString('hex'), '41024869');
  });

  test('masks with the given source and leaves the caller payload unchanged', () => {
    const payload = Buffer.from('Hello');
    const out = encodeFrame(Opcode.TEXT, payload, { mask: fixedMaskSource(RFC_KEY) });
    assert.equal(out[0].toString('hex'), '818537fa213d7f9f4d5158');
    assert.equal(payload.toString(), 'Hello');
  });

  test('random masks differ from frame to frame', () => {
    const a = encodeFrame(Opcode.TEXT, Buffer.from('x'), { mask: true })[0];
    const b = encodeFrame(Opcode.TEXT, Buffer.from('x'), { mask: true })[0];
    assert.equal(a.length, 7);
    assert.notEqual(a.subarray(2, 6).toString('hex'), b.subarray(2, 6).toString('hex'));
  });

  test('header sizes follow the 7/16/64-bit length rule', () => {
    assert.deepEqual(
      [0, 125, 126, 65535, 65536].map((n) => headerLength(n, false)),
      [2, 2, 4, 4, 10],
    );
    assert.equal(headerLength(0, true), 6);
  });

  test('opcode helpers classify control and reserved opcodes', () => {
    assert.deepEqual([0, 1, 2, 8, 9, 10].map(isKnownOpcode), [true, true, true, true, true, true]);
    assert.deepEqual([3, 7, 11, 15].map(isKnownOpcode), [false, false, false, false]);
    assert.equal(isControlOpcode(9), true);
    assert.equal(isControlOpcode(2), false);
  });
});

/**
 * gorilla/websocket TestFraming style: sizes x role x compression x chunking,
 * sending with one Connection and receiving with the opposite role.
 */
describe('sizes x role x compression x chunking', () => {
  const sizes = [0, 1, 125, 126, 127, 65535, 65536];
  const chunkings: Record<string, number[]> = {
    whole: [Number.MAX_SAFE_INTEGER],
    'byte by byte': [1],
    'odd chunks': [3, 1, 7, 126, 2, 4093],
  };
  for (const role of ['client', 'server'] as const) {
    for (const isCompressed of [false, true]) {
      test(`${role} receives every boundary size ${isCompressed ? 'compressed' : 'uncompressed'} in every chunking`, async () => {
        const peerRole = role === 'client' ? 'server' : 'client';
        for (const size of sizes) {
          const payload = Buffer.alloc(size);
          for (let i = 0; i < size; i++) payload[i] = (i * 31 + size) & 0x7f; // ASCII: valid as text too
          for (const isBinary of [true, false]) {
            const sender = record({
              role: peerRole,
              compressor: isCompressed ? zlibTestCompressor() : undefined,
              compressThresholdBytes: 0,
            });
            sender.conn.send(payload, { isBinary });
            await until(() => sender.writes.length > 0 && sender.conn.pendingBytes === 0);
            const wire = Buffer.concat(sender.writes);
            assert.equal((wire[0] & 0x40) !== 0, isCompressed, 'RSV1 marks compressed messages');
            for (const [name, chunking] of Object.entries(chunkings)) {
              if (chunking[0] === 1 && size > 65535 && isCompressed) continue; // covered uncompressed
              const receiver: Recorder = record({ role, compressor: isCompressed ? zlibTestCompressor() : undefined });
              feedChunked(receiver.conn, wire, chunking);
              await until(() => receiver.events.length > 0);
              assert.deepEqual(
                receiver.plainEvents(),
                [{ type: 'message', data: payload.toString('hex'), isBinary }],
                `${size} bytes, ${isBinary ? 'binary' : 'text'}, ${name}`,
              );
            }
          }
        }
      });
    }
  }
});
