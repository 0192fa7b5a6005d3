// The FrameParser on its own: policy passed in, frames out to a recording
// handler and owner, no Connection. RFC 6455 §5.7 vectors first, each fed
// whole, byte by byte and with the start of another frame behind it.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { FrameParser, type DataFrameHandler, type FrameOwner, type FramePolicy } from '../../src/core/frame-parser.js';
import type { ProtocolError } from '../../src/core/errors.js';
import { hex } from './support.js';

interface Recorded {
  parser: FrameParser;
  log: string[];
  /** The data frames' payloads as hex, with their header. */
  frames: Array<{ opcode: number; fin: boolean; messageOpcode: number; payload: string }>;
}

function recorder(policy: Partial<FramePolicy> = {}, o: { validate?: boolean } = {}): Recorded {
  const log: string[] = [];
  const frames: Recorded['frames'] = [];
  const parser: FrameParser = new FrameParser(
    { isClient: true, hasCompressor: false, maxMessageBytes: 1 << 20, ...policy },
    {
      checkDataFrame: (opcode, fin, rsv1, length) => (log.push(`check ${opcode} ${fin} ${rsv1} ${length}`), true),
      startPieces: () => (log.push('pieces'), o.validate === true),
      validatePiece: (piece) => (log.push(`piece ${piece.toString('hex')}`), true),
      onDataFrame: (payload) =>
        void frames.push({ opcode: parser.opcode, fin: parser.fin, messageOpcode: parser.messageOpcode, payload: payload.toString('hex') }),
    } satisfies DataFrameHandler,
    {
      onControlFrame: (opcode, payload) => void log.push(`control ${opcode} ${payload.toString('hex')}`),
      failWith: (error: ProtocolError) => void log.push(`fail ${error.closeCode} ${error.message}`),
      abortAfterThrow: () => void log.push('abort'),
      onReceiveResumed: () => void log.push('resumed'),
    } satisfies FrameOwner,
  );
  return { parser, log, frames };
}

const feeds: Record<string, (parser: FrameParser, bytes: Buffer) => void> = {
  whole: (parser, bytes) => parser.receive(Buffer.from(bytes)),
  'byte by byte': (parser, bytes) => {
    for (let i = 0; i < bytes.length; i++) parser.receive(Buffer.from(bytes.subarray(i, i + 1)));
  },
  'with trailing bytes': (parser, bytes) => parser.receive(Buffer.concat([bytes, hex('81')])),
};

describe('FrameParser (RFC 6455 §5.7 vectors)', () => {
  for (const [how, feed] of Object.entries(feeds)) {
    test(`a client reads the unmasked "Hello" (fed ${how})`, () => {
      const r = recorder();
      feed(r.parser, hex('810548656c6c6f'));
      assert.deepEqual(r.frames, [{ opcode: 1, fin: true, messageOpcode: 1, payload: '48656c6c6f' }]);
      assert.equal(r.log.filter((l) => l.startsWith('fail')).length, 0);
    });

    test(`a server unmasks the masked "Hello" (fed ${how})`, () => {
      const r = recorder({ isClient: false });
      feed(r.parser, hex('818537fa213d7f9f4d5158'));
      assert.deepEqual(r.frames.map((f) => f.payload), ['48656c6c6f']);
    });

    test(`a fragmented "Hel" + "lo" keeps the message opcode on the continuation (fed ${how})`, () => {
      const r = recorder();
      feed(r.parser, hex('010348656c80026c6f'));
      assert.deepEqual(r.frames, [
        { opcode: 1, fin: false, messageOpcode: 1, payload: '48656c' },
        { opcode: 0, fin: true, messageOpcode: 1, payload: '6c6f' },
      ]);
    });

    test(`a ping goes to the owner, not to the message layer (fed ${how})`, () => {
      const r = recorder();
      feed(r.parser, hex('890548656c6c6f'));
      assert.deepEqual(r.frames, []);
      assert.ok(r.log.includes('control 9 48656c6c6f'));
    });
  }
});

describe('FrameParser rules and flow', () => {
  test('the policy decides: a masked frame fails a client, RSV1 fails without a compressor', () => {
    const masked = recorder();
    masked.parser.receive(hex('818537fa213d7f9f4d5158'));
    assert.ok(masked.log.some((l) => l === 'fail 1002 server sent a masked frame'));
    const rsv1 = recorder();
    rsv1.parser.receive(hex('c10548656c6c6f'));
    assert.ok(rsv1.log.some((l) => l === 'fail 1002 RSV1 set without a negotiated extension'));
    const allowed = recorder({ hasCompressor: true });
    allowed.parser.receive(hex('c10548656c6c6f'));
    assert.equal(allowed.frames.length, 1);
  });

  test('the fragment sequence is checked from the first two bytes (RFC 6455 §5.4)', () => {
    const orphan = recorder();
    orphan.parser.receive(hex('80')); // a continuation with nothing to continue: fails as soon as the second byte is in
    orphan.parser.receive(hex('02'));
    assert.ok(orphan.log.includes('fail 1002 continuation frame without a message to continue'));
    const interleaved = recorder();
    interleaved.parser.receive(hex('0101418101'));
    assert.ok(interleaved.log.includes('fail 1002 new data frame inside a fragmented message'));
  });

  test('a payload that spans chunks arrives in validated pieces when the handler asks for it', () => {
    const r = recorder({}, { validate: true });
    r.parser.receive(hex('8105486c'));
    r.parser.receive(hex('6c6c6f'));
    assert.deepEqual(r.log.filter((l) => l === 'pieces' || l.startsWith('piece ')), ['pieces', 'piece 486c', 'piece 6c6c6f']);
    assert.deepEqual(r.frames.map((f) => f.payload), ['486c6c6c6f']);
  });

  test('pause() stores input, resume() applies the step then parses it in order and reports the resume', () => {
    const r = recorder();
    r.parser.pause();
    r.parser.receive(hex('810141810142'));
    assert.equal(r.parser.isReceivePaused, true);
    assert.equal(r.parser.receiveBacklogBytes, 6);
    assert.equal(r.frames.length, 0);
    r.parser.resume(() => r.log.push('step'));
    assert.deepEqual(r.frames.map((f) => f.payload), ['41', '42']);
    const tail = r.log.slice(r.log.indexOf('step'));
    assert.equal(tail[0], 'step', 'the step is applied before the stored frames are parsed');
    assert.equal(tail.at(-1), 'resumed');
    assert.equal(r.parser.parsedBytes, 6);
  });

  test('skipDataPayloads() skips data payloads unread but still checks headers; stop() ignores the rest', () => {
    const r = recorder();
    r.parser.skipDataPayloads();
    r.parser.receive(hex('8103414243890178'));
    assert.equal(r.frames.length, 0, 'the data frame was skipped');
    assert.ok(r.log.includes('control 9 78'), 'control frames still arrive');
    r.parser.stop();
    r.parser.receive(hex('890179'));
    assert.ok(!r.log.includes('control 9 79'));
  });

  test('a handler that throws aborts the parse, and the exception propagates', () => {
    const r = recorder();
    const parser = new FrameParser(
      { isClient: true, hasCompressor: false, maxMessageBytes: 100 },
      { checkDataFrame: () => true, startPieces: () => false, validatePiece: () => true, onDataFrame: () => { throw new Error('app bug'); } },
      { onControlFrame() {}, failWith() {}, abortAfterThrow: () => void r.log.push('abort'), onReceiveResumed() {} },
    );
    assert.throws(() => parser.receive(hex('810141')), /app bug/);
    assert.deepEqual(r.log, ['abort']);
  });
});

describe('FrameParser large payloads across chunks', () => {
  /** A masked binary frame (server side receiving) of `payload` with `key`. */
  function maskedFrame(payload: Buffer, key: number[]): Buffer {
    const n = payload.length;
    const head = n < 126 ? Buffer.from([0x82, 0x80 | n]) : n < 65536 ? Buffer.from([0x82, 0xfe, n >> 8, n & 0xff]) : Buffer.alloc(10);
    if (n >= 65536) {
      head[0] = 0x82;
      head[1] = 0xff;
      head.writeBigUInt64BE(BigInt(n), 2);
    }
    const body = Buffer.from(payload);
    for (let i = 0; i < n; i++) body[i] ^= key[i & 3];
    return Buffer.concat([head, Buffer.from(key), body]);
  }

  /** Deterministic pseudo-random numbers, so a failure can be replayed. */
  function lcg(seed: number): () => number {
    let x = seed;
    return () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
  }

  // Sizes on both sides of the 1 MiB upfront-assembly bound, and around the 16- and 64-bit header forms.
  for (const size of [126, 65535, 65536, 70_001, 1024 * 1024, 1024 * 1024 + 3]) {
    test(`${size} bytes in random chunks are unmasked exactly, and kept payloads never change afterwards`, () => {
      const random = lcg(size);
      const delivered: Buffer[] = [];
      const parser = new FrameParser(
        { isClient: false, hasCompressor: false, maxMessageBytes: 1 << 22 },
        {
          checkDataFrame: () => true,
          startPieces: () => false,
          validatePiece: () => true,
          onDataFrame: (payload) => void delivered.push(payload),
        },
        { onControlFrame() {}, failWith: (error) => assert.fail(error.message), abortAfterThrow() {}, onReceiveResumed() {} },
      );
      const payloads = [0, 1, 2].map((m) => {
        const p = Buffer.allocUnsafe(size);
        for (let i = 0; i < size; i++) p[i] = (i * 31 + m * 7 + (i >> 9)) & 0xff;
        return p;
      });
      const stream = Buffer.concat(payloads.map((p, m) => maskedFrame(p, [0x11 + m, 0x5a, 0xc3, 0x7e])));
      // Chunks of random length (1 byte to 96 KiB) at random byte offsets of their memory.
      for (let o = 0; o < stream.length; ) {
        const length = Math.min(stream.length - o, 1 + Math.floor(random() * 96 * 1024));
        const chunk = Buffer.allocUnsafe(length + 8).subarray(Math.floor(random() * 8), undefined);
        stream.copy(chunk, 0, o, o + length);
        parser.receive(chunk.subarray(0, length));
        o += length;
      }
      // Checked only after all three arrived: a buffer reused for a later message would show here.
      assert.equal(delivered.length, 3);
      for (let m = 0; m < 3; m++) assert.ok(delivered[m].equals(payloads[m]), `message ${m}`);
    });
  }
});
