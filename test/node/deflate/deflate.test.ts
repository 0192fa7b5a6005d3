// The permessage-deflate compressor (RFC 7692) on real zlib: round trips in every zlib placement,
// context takeover, window bits, limits and bounded concurrency. Against ws's: ws-interop.test.ts.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { createDeflateCompressor, zlibQueueStats } from '../../../src/node/deflate/compressor.js';
import { ConnectionClosedError, ErrorCode, MessageTooLargeError, ProtocolError } from '../../../src/core/errors.js';
import { maxDistance } from './deflate-stream.js';
import { MODES, TRAILER, compress, decompress, messages, params, warmInflater } from './support.js';

describe('round trips', () => {
  for (const mode of MODES) for (const takeover of [true, false]) {
    for (const bits of [8, 9, 10, 11, 12, 13, 14, 15]) {
      test(`messages survive server->client and client->server with window ${bits} and context takeover ${takeover ? 'on' : 'off'}, ${mode.name}`, async () => {
        const p = params({
          serverNoContextTakeover: !takeover,
          clientNoContextTakeover: !takeover,
          serverMaxWindowBits: bits,
          clientMaxWindowBits: bits,
        });
        const server = createDeflateCompressor(p, 'server', mode.options);
        const client = createDeflateCompressor(p, 'client', mode.options);
        try {
          for (const [from, to] of [[server, client], [client, server]]) {
            // An independent zlib inflater with the negotiated window reads our output too.
            const reference = zlib.createInflateRaw({ windowBits: bits });
            for (const message of messages()) {
              const compressed = await compress(from, message);
              assert.ok(!compressed.subarray(-4).equals(TRAILER) || compressed.length < 4, 'trailer must be removed');
              assert.deepEqual(await decompress(to, compressed), message);
              if (!takeover) {
                const alone = zlib.inflateRawSync(Buffer.concat([compressed, TRAILER]), {
                  windowBits: bits,
                  finishFlush: zlib.constants.Z_SYNC_FLUSH,
                });
                assert.deepEqual(alone, message);
              }
              const chunks: Buffer[] = [];
              reference.on('data', (c: Buffer) => chunks.push(c));
              await new Promise<void>((resolve) => {
                reference.write(Buffer.concat([compressed, TRAILER]));
                reference.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve());
              });
              reference.removeAllListeners('data');
              assert.deepEqual(Buffer.concat(chunks), message);
            }
            reference.close();
          }
        } finally {
          server.close();
          client.close();
        }
      });
    }
  }

  test('a message split over several frames inflates with the trailer only after the last', async () => {
    const message = Buffer.from('fragmented compressed message '.repeat(500));
    const compressed = zlib.deflateRawSync(message, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
    const c = createDeflateCompressor(params(), 'client', {});
    try {
      const parts = [compressed.subarray(0, 10), compressed.subarray(10, 11), compressed.subarray(11)];
      const out: Buffer[] = [];
      for (let i = 0; i < parts.length; i++) out.push(await decompress(c, parts[i], i === parts.length - 1));
      assert.deepEqual(Buffer.concat(out), message);
    } finally {
      c.close();
    }
  });

  test('an empty message compresses to the single byte 00 (RFC 7692 §7.2.3.6), also right after another message', async () => {
    const c = createDeflateCompressor(params(), 'server', {});
    const d = createDeflateCompressor(params(), 'client', {});
    try {
      assert.deepEqual(await compress(c, Buffer.alloc(0)), Buffer.from([0x00]));
      assert.deepEqual(await decompress(d, await compress(c, Buffer.from('x'))), Buffer.from('x'));
      assert.deepEqual(await compress(c, Buffer.alloc(0)), Buffer.from([0x00]));
      assert.deepEqual(await compress(c, Buffer.alloc(0)), Buffer.from([0x00]));
    } finally {
      c.close();
      d.close();
    }
  });
});

describe('context takeover', () => {
  test('with takeover a repeated message shrinks and the context stays; without it is reset and freed', async () => {
    const message = randomBytes(2000);
    for (const takeover of [true, false]) {
      const c = createDeflateCompressor(params({ serverNoContextTakeover: !takeover }), 'server', {});
      try {
        assert.deepEqual(c.hasContexts, { deflate: false, inflate: false }, 'contexts are created lazily');
        const first = await compress(c, message);
        const second = await compress(c, message);
        if (takeover) {
          assert.ok(second.length < first.length / 10, `second ${second.length} vs first ${first.length}`);
          assert.equal(c.hasContexts.deflate, true);
        } else {
          assert.equal(second.length, first.length);
          assert.equal(c.hasContexts.deflate, false, 'no context held between messages');
        }
      } finally {
        c.close();
      }
      assert.deepEqual(c.hasContexts, { deflate: false, inflate: false }, 'close releases contexts');
    }
  });

  test('the inflater is freed after each message only when the peer resets its context', async () => {
    const text = Buffer.from('hello context '.repeat(100));
    for (const takeover of [true, false]) {
      const p = params({ clientNoContextTakeover: !takeover });
      const client = createDeflateCompressor(p, 'client', {});
      const server = createDeflateCompressor(p, 'server', {});
      try {
        await decompress(server, await compress(client, text));
        assert.equal(server.hasContexts.inflate, takeover);
        assert.deepEqual(await decompress(server, await compress(client, text)), text);
      } finally {
        client.close();
        server.close();
      }
    }
  });
});

describe('window bits 8', () => {
  test('our 8-bit compressor never references further back than 256 bytes', async () => {
    // Random blocks repeated at distances 200, 240 and 300.
    const [b200, b240, b300] = [randomBytes(200), randomBytes(240), randomBytes(300)];
    const message = Buffer.concat([b200, b200, b300, b300, b240, b240, b200, Buffer.alloc(1000, 0x41)]);
    const c8 = createDeflateCompressor(params({ clientMaxWindowBits: 8 }), 'client', {});
    const c10 = createDeflateCompressor(params({ clientMaxWindowBits: 10 }), 'client', {});
    const server = createDeflateCompressor(params({ clientMaxWindowBits: 8 }), 'server', {});
    try {
      for (let round = 0; round < 3; round++) {
        // Later rounds reach back into earlier messages (context takeover).
        const out8 = await compress(c8, message);
        const out10 = await compress(c10, message);
        const d8 = maxDistance(Buffer.concat([out8, TRAILER]));
        const d10 = maxDistance(Buffer.concat([out10, TRAILER]));
        assert.ok(d10 > 256, `the 10-bit stream uses distance ${d10} (proves the check can fail)`);
        assert.ok(d8 > 1 && d8 <= 256, `the 8-bit stream uses distance ${d8}`);
        assert.deepEqual(await decompress(server, out8), message);
      }
    } finally {
      c8.close();
      c10.close();
      server.close();
    }
  });

  test('a stream made with a 256-byte window inflates with our 8-bit inflater', async () => {
    // Matches only at distances <= 256, like any 8-bit-window peer would produce.
    const block = randomBytes(200);
    const message = Buffer.concat([block, block, block]);
    const compressed = zlib.deflateRawSync(message, { windowBits: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
    assert.ok(maxDistance(Buffer.concat([compressed, TRAILER])) <= 256);
    const server = createDeflateCompressor(params({ clientMaxWindowBits: 8 }), 'server', {});
    try {
      assert.deepEqual(await decompress(server, compressed), message);
    } finally {
      server.close();
    }
  });
});

for (const mode of MODES.slice(1)) describe(`bounded inflation, ${mode.name}`, () => {
  test('a decompression bomb fails with MessageTooLargeError without inflating the rest', async () => {
    // ~100 KB of deflate that inflates to 100 MiB.
    const inflatedSize = 100 * 1024 * 1024;
    const bomb = zlib.deflateRawSync(Buffer.alloc(inflatedSize), { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
    assert.ok(bomb.length < 200 * 1024);
    const limit = 1024 * 1024;
    const c = createDeflateCompressor(params(), 'client', mode.options);
    try {
      await warmInflater(c);
      global.gc?.();
      const before = process.memoryUsage();
      const start = performance.now();
      const error = await decompress(c, bomb, true, limit).then(
        () => assert.fail('the bomb inflated'),
        (e: unknown) => e,
      );
      const elapsed = performance.now() - start;
      const after = process.memoryUsage();
      assert.ok(error instanceof MessageTooLargeError, String(error));
      assert.equal(error.closeCode, 1009);
      assert.equal(error.limit, limit);
      // Stopped within one zlib output chunk (16 KiB) of the limit.
      assert.ok(error.size > limit && error.size <= limit + 64 * 1024, `stopped at ${error.size}`);
      const grown = after.rss + after.arrayBuffers - before.rss - before.arrayBuffers;
      assert.ok(grown < 48 * 1024 * 1024, `memory grew by ${(grown / 1048576).toFixed(1)} MiB`);
      assert.ok(elapsed < 2000, `took ${elapsed.toFixed(0)} ms`);
      assert.equal(c.hasContexts.inflate, false, 'the poisoned inflater is released');
    } finally {
      c.close();
    }
  });

  test('the bound applies per call, so a bomb in a later frame of a message is caught too', async () => {
    const bomb = zlib.deflateRawSync(Buffer.alloc(8 * 1024 * 1024), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
    const c = createDeflateCompressor(params(), 'server', mode.options);
    try {
      await warmInflater(c);
      const first = await decompress(c, bomb.subarray(0, 100), false, 1024 * 1024);
      assert.ok(first.length <= 1024 * 1024);
      await assert.rejects(decompress(c, bomb.subarray(100), true, 1024 * 1024 - first.length), MessageTooLargeError);
    } finally {
      c.close();
    }
  });

  test('invalid compressed data fails with a ProtocolError', async () => {
    const c = createDeflateCompressor(params(), 'server', mode.options);
    try {
      await warmInflater(c);
      const error = await decompress(c, Buffer.from([0xff, 0xff, 0xff, 0xff])).then(
        () => assert.fail('garbage inflated'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof ProtocolError);
      assert.equal(error.code, ErrorCode.EXTENSION);
      assert.equal(c.hasContexts.inflate, false);
    } finally {
      c.close();
    }
  });
});

describe('bounded concurrency', () => {
  test('no more than `concurrency` zlib operations run at once', async () => {
    const compressors = Array.from({ length: 40 }, () => createDeflateCompressor(params(), 'server', { concurrency: 3, inlineMaxBytes: 0 }));
    let peak = 0;
    const sample = (): void => {
      peak = Math.max(peak, zlibQueueStats().running);
    };
    const timer = setInterval(sample, 0);
    try {
      const data = randomBytes(256 * 1024);
      await Promise.all(
        compressors.map(async (c) => {
          sample();
          await compress(c, data);
          sample();
        }),
      );
    } finally {
      clearInterval(timer);
      for (const c of compressors) c.close();
    }
    assert.ok(peak >= 1 && peak <= 3, `peak ${peak}`);
    assert.deepEqual(zlibQueueStats(), { running: 0, queued: 0 });
  });

  test('2000 connections closing at once drop their jobs, call every callback and leave no stall', async () => {
    const compressors = Array.from({ length: 2000 }, () => createDeflateCompressor(params(), 'server', { inlineMaxBytes: 0 }));
    const data = randomBytes(4096);
    let completed = 0;
    let closedErrors = 0;
    let otherErrors = 0;
    const all = compressors.map(
      (c) =>
        new Promise<void>((resolve) => {
          let pending = 2;
          const done = (error: Error | null): void => {
            if (error instanceof ConnectionClosedError) closedErrors++;
            else if (error) otherErrors++;
            else completed++;
            if (--pending === 0) resolve();
          };
          c.compress(data, done);
          c.decompress(Buffer.from([0x00]), true, 1024, done);
        }),
    );
    assert.ok(zlibQueueStats().queued > 1000, 'most jobs are queued behind the bound');
    for (const c of compressors) c.close();
    assert.deepEqual(zlibQueueStats(), { running: 0, queued: 0 }, 'closing frees every slot and queue entry');
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('callbacks hang')), 5000).unref());
    await Promise.race([Promise.all(all), timeout]);
    assert.equal(completed + closedErrors, 4000);
    assert.equal(otherErrors, 0);
    assert.ok(closedErrors > 3000);
    // The queue still works right away for new connections.
    const fresh = createDeflateCompressor(params(), 'client', {});
    try {
      assert.deepEqual(await decompress(fresh, await compress(fresh, data)), data);
    } finally {
      fresh.close();
    }
  });

  test('calls after close fail with ConnectionClosedError', async () => {
    const c = createDeflateCompressor(params(), 'server', {});
    c.close();
    await assert.rejects(compress(c, Buffer.from('x')), ConnectionClosedError);
    await assert.rejects(decompress(c, Buffer.from([0])), ConnectionClosedError);
  });
});
