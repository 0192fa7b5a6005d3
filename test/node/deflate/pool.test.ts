// Without context takeover, messages borrow reset zlib contexts from a
// process-wide pool (src/node/deflate/zlib-pool.ts). These tests check that a pooled
// context carries nothing from one message (or connection) to the next, that
// a fragmented message keeps its inflater until its last frame, and that the
// pool stays within the concurrency bound.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { createDeflateCompressor, drainZlibPool, zlibPoolStats, type DeflateCompressor } from '../../../src/node/deflate/compressor.js';
import type { DeflateParams } from '../../../src/core/deflate/index.js';
import { MessageTooLargeError } from '../../../src/core/errors.js';

const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const NO_TAKEOVER: DeflateParams = {
  serverNoContextTakeover: true,
  clientNoContextTakeover: true,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};

function compress(c: DeflateCompressor, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => c.compress(data, (error, result) => (error ? reject(error) : resolve(result as Buffer))));
}

function decompress(c: DeflateCompressor, data: Buffer, isFinal = true): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    c.decompress(data, isFinal, 1 << 24, (error, result) => (error ? reject(error) : resolve(Buffer.concat(result as Buffer[])))),
  );
}

/** Inflates one message with a brand-new inflater: fails if it refers to bytes of an earlier message. */
function inflateAlone(compressed: Buffer): Buffer {
  return zlib.inflateRawSync(Buffer.concat([compressed, TRAILER]), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
}

function text(seed: string): Buffer {
  return Buffer.from(JSON.stringify(Array.from({ length: 40 }, (_, i) => ({ id: i, seed, name: `user-${i}` }))));
}

describe('pooled contexts without context takeover', () => {
  test('a context reused by other messages and connections starts fresh every time', async () => {
    drainZlibPool();
    const a = createDeflateCompressor(NO_TAKEOVER, 'server', {});
    const b = createDeflateCompressor(NO_TAKEOVER, 'server', {});
    try {
      const message = text('same');
      const first = await compress(a, message);
      assert.ok(zlibPoolStats().idle >= 1, 'the context went back to the pool');
      // b borrows the context a used; a's message must not be in its window.
      const other = await compress(b, text('other'));
      const again = await compress(b, message);
      const third = await compress(a, message);
      assert.deepEqual(again, first, 'same bytes as from a fresh context');
      assert.deepEqual(third, first);
      assert.deepEqual(inflateAlone(first), message);
      assert.deepEqual(inflateAlone(other), text('other'));
      assert.deepEqual(inflateAlone(again), message);
      assert.deepEqual(a.hasContexts, { deflate: false, inflate: false }, 'no context held between messages');
    } finally {
      a.close();
      b.close();
    }
  });

  test('a fragmented message keeps its inflater until the last frame while other connections use the pool', async () => {
    drainZlibPool();
    const sender = createDeflateCompressor(NO_TAKEOVER, 'client', {});
    const a = createDeflateCompressor(NO_TAKEOVER, 'server', {});
    const b = createDeflateCompressor(NO_TAKEOVER, 'server', {});
    try {
      const long = text('long');
      const compressed = await compress(sender, long);
      const cut = compressed.length >> 1;
      const head = await decompress(a, compressed.subarray(0, cut), false);
      assert.equal(a.hasContexts.inflate, true, 'held between the frames of one message');
      // Meanwhile b inflates whole messages through pooled inflaters.
      for (let i = 0; i < 3; i++) {
        const short = text(`short ${i}`);
        assert.deepEqual(await decompress(b, await compress(sender, short)), short);
      }
      const tail = await decompress(a, compressed.subarray(cut), true);
      assert.deepEqual(Buffer.concat([head, tail]), long);
      assert.equal(a.hasContexts.inflate, false, 'given back after the last frame');
      // The returned inflater was reset: the next message inflates correctly.
      assert.deepEqual(await decompress(a, await compress(sender, long)), long);
    } finally {
      sender.close();
      a.close();
      b.close();
    }
  });

  test('idle pooled contexts stay within the concurrency bound', async () => {
    drainZlibPool();
    const connections = Array.from({ length: 50 }, () => createDeflateCompressor(NO_TAKEOVER, 'server', { concurrency: 3 }));
    try {
      const message = text('bound');
      const results = await Promise.all(connections.map((c) => compress(c, message)));
      for (const result of results) assert.deepEqual(inflateAlone(result), message);
      const { idle } = zlibPoolStats();
      assert.ok(idle >= 1 && idle <= 3, `idle pooled deflaters ${idle}`);
    } finally {
      for (const c of connections) c.close();
    }
    drainZlibPool();
    assert.equal(zlibPoolStats().idle, 0);
  });

  test('a message ending the peer\'s deflate stream (BFINAL, RFC 7692 §7.2.3.4) never leaves an ended inflater in the pool', async () => {
    for (const takeover of [false, true]) {
      drainZlibPool();
      const p = { ...NO_TAKEOVER, clientNoContextTakeover: !takeover };
      const a = createDeflateCompressor(p, 'server', {});
      const b = createDeflateCompressor(p, 'server', {});
      try {
        const finalBlock = zlib.deflateRawSync(Buffer.from('a block with BFINAL set')); // Z_FINISH
        assert.equal((await decompress(a, finalBlock)).toString(), 'a block with BFINAL set');
        const message = text('next');
        const next = zlib.deflateRawSync(message, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
        assert.deepEqual(await decompress(b, next), message, 'another connection borrowing from the pool');
        assert.deepEqual(await decompress(a, next), message, 'the same connection, with a new inflater');
      } finally {
        a.close();
        b.close();
      }
    }
  });

  test('a bomb destroys the borrowed inflater instead of returning it to the pool', async () => {
    drainZlibPool();
    const c = createDeflateCompressor(NO_TAKEOVER, 'server', {});
    try {
      const bomb = zlib.deflateRawSync(Buffer.alloc(4 << 20), { flush: zlib.constants.Z_SYNC_FLUSH });
      await assert.rejects(
        new Promise((resolve, reject) =>
          c.decompress(bomb.subarray(0, bomb.length - 4), true, 64 * 1024, (error, result) => (error ? reject(error) : resolve(result))),
        ),
        (error) => error instanceof MessageTooLargeError,
      );
      assert.equal(zlibPoolStats().idle, 0, 'the poisoned inflater was not pooled');
      const message = text('after');
      const sender = createDeflateCompressor(NO_TAKEOVER, 'client', {});
      try {
        assert.deepEqual(await decompress(c, await compress(sender, message)), message);
      } finally {
        sender.close();
      }
    } finally {
      c.close();
    }
  });
});
