// permessage-deflate on the main thread (src/node/deflate/zlib-sync.ts): small
// messages skip libuv's thread pool. These tests pin down what that path must
// keep: the same bytes as the thread-pool path, no queue slot, no long stall
// of the event loop, and clean cancellation.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { createDeflateCompressor, drainZlibPool, zlibPoolStats, zlibQueueStats, type DeflateCompressor } from '../../../src/node/deflate/compressor.js';
import { isSyncZlibAvailable, SLICE_OUTPUT_BYTES } from '../../../src/node/deflate/zlib-sync.js';
import type { DeflateParams, PerMessageDeflateOptions } from '../../../src/core/deflate/index.js';
import { ConnectionClosedError } from '../../../src/core/errors.js';

const TAKEOVER: DeflateParams = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
const INLINE: PerMessageDeflateOptions = { inlineMaxBytes: Infinity };
const POOL: PerMessageDeflateOptions = { inlineMaxBytes: 0 };

function compress(c: DeflateCompressor, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => c.compress(data, (error, result) => (error ? reject(error) : resolve(result as Buffer))));
}

/** A JSON-like text of about `size` bytes; `seed` varies the records. */
function jsonText(size: number, seed: number): Buffer {
  let s = '[';
  for (let i = 0; s.length < size; i++) s += JSON.stringify({ id: seed * 1000 + i, user: `user${(seed + i) % 37}`, ok: i % 2 === 0 }) + ',';
  return Buffer.from(s.slice(0, size - 1) + ']');
}

/** Compressed payload (without the trailer) that inflates to `size` zero bytes. */
function zeros(size: number): Buffer {
  return zlib.deflateRawSync(Buffer.alloc(size), { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
}

/** Inflates one small message, so the context has done its first job (on the thread pool) and later ones may run inline. */
async function warmInflater(c: DeflateCompressor): Promise<void> {
  const payload = zlib.deflateRawSync(Buffer.from('warm up'), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
  await new Promise<void>((resolve, reject) => c.decompress(payload, true, 1024, (error) => (error ? reject(error) : resolve())));
}

describe('zlib on the main thread', () => {
  test('this Node exposes what the inline path needs (else every message would go to the thread pool)', () => {
    assert.equal(isSyncZlibAvailable(), true);
  });

  test('inline and thread-pool compression give byte-identical output, message after message', async () => {
    const inline = createDeflateCompressor(TAKEOVER, 'server', INLINE);
    const pooled = createDeflateCompressor(TAKEOVER, 'server', POOL);
    try {
      const messages = [jsonText(2048, 1), Buffer.alloc(0), jsonText(2048, 1), randomBytes(40_000), jsonText(300_000, 2), jsonText(2048, 3)];
      for (const [index, message] of messages.entries()) {
        const [a, b] = await Promise.all([compress(inline, message), compress(pooled, message)]);
        assert.ok(a.equals(b), `message ${index}: ${a.length} vs ${b.length} bytes`);
      }
    } finally {
      inline.close();
      pooled.close();
    }
  });

  test('a new context does its first job on the thread pool (zlib allocates then), later small jobs inline', async () => {
    for (const params of [TAKEOVER, { ...TAKEOVER, serverNoContextTakeover: true }]) {
      const c = createDeflateCompressor(params, 'server', {});
      try {
        const answers: boolean[] = [];
        for (let i = 0; i < 3; i++) {
          let isAnswered = false;
          const done = new Promise<void>((resolve, reject) =>
            c.compress(jsonText(2048, i), (error) => {
              isAnswered = true;
              if (error) reject(error);
              else resolve();
            }),
          );
          answers.push(isAnswered);
          await done;
        }
        // Without takeover the second message borrows the pooled context the first one warmed.
        assert.deepEqual(answers, [false, true, true], JSON.stringify(params));
      } finally {
        c.close();
      }
    }
  });

  test('an inline job answers before compress() returns and takes no queue slot, even when the queue is full', async () => {
    const busy = createDeflateCompressor(TAKEOVER, 'server', { ...POOL, concurrency: 1 });
    // Without takeover, so the answer inflates on its own.
    const small = createDeflateCompressor({ ...TAKEOVER, serverNoContextTakeover: true }, 'server', { concurrency: 1 });
    try {
      await compress(small, jsonText(2048, 5)); // the context's first job runs on the thread pool
      const pending = compress(busy, randomBytes(1024 * 1024));
      assert.equal(zlibQueueStats().running, 1, 'the thread-pool job holds the only slot');
      let answer: Buffer | undefined;
      small.compress(jsonText(2048, 4), (error, result) => {
        assert.equal(error, null);
        answer = result;
      });
      assert.ok(answer !== undefined && answer.length > 0, 'answered synchronously');
      assert.equal(zlibQueueStats().running, 1);
      const inflated = zlib.inflateRawSync(Buffer.concat([answer, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      assert.ok(inflated.equals(jsonText(2048, 4)));
      await pending;
    } finally {
      busy.close();
      small.close();
    }
    assert.deepEqual(zlibQueueStats(), { running: 0, queued: 0 });
  });

  test('a job that waited for a thread-pool slot runs inline if a warm context is idle by its turn', async () => {
    // Without takeover both compressors borrow from the process-wide pool. A's first job
    // creates a context on the pool; B, queued behind it (concurrency 1), then finds that
    // context warm and idle: it runs inline right after A's callback, before any microtask,
    // instead of taking another thread-pool round trip (and keeping every later message
    // on the pool: see #runsInline in deflate.ts).
    drainZlibPool();
    const nct = { ...TAKEOVER, serverNoContextTakeover: true };
    const a = createDeflateCompressor(nct, 'server', { concurrency: 1 });
    const b = createDeflateCompressor(nct, 'server', { concurrency: 1 });
    try {
      const order: string[] = [];
      let isRightAfterA = false;
      await Promise.all([
        new Promise<void>((resolve) =>
          a.compress(jsonText(2048, 6), () => {
            order.push('A');
            isRightAfterA = true;
            queueMicrotask(() => (isRightAfterA = false));
            resolve();
          }),
        ),
        new Promise<void>((resolve) =>
          b.compress(jsonText(2048, 7), () => {
            order.push(isRightAfterA ? 'B inline after A' : 'B later');
            resolve();
          }),
        ),
      ]);
      assert.deepEqual(order, ['A', 'B inline after A']);
      assert.equal(zlibPoolStats().idle, 1, 'one context served both messages');
    } finally {
      a.close();
      b.close();
      drainZlibPool();
    }
  });

  test('a thousand messages queued on one connection are all answered, in order, and the lane keeps working', async () => {
    // The first job runs on the thread pool and the rest queue behind it; once it is done they
    // all run inline, one after the other (a recursion per queued message overflowed the stack).
    const c = createDeflateCompressor(TAKEOVER, 'server', {});
    const inflater = createDeflateCompressor(TAKEOVER, 'client', {});
    try {
      const answers: number[] = [];
      const outputs: Buffer[] = [];
      await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          new Promise<void>((resolve, reject) =>
            c.compress(jsonText(2048, i % 50), (error, result) => {
              if (error) return reject(error);
              answers.push(i);
              outputs.push(result as Buffer);
              resolve();
            }),
          ),
        ),
      );
      assert.deepEqual(answers, Array.from({ length: 1000 }, (_, i) => i));
      // Context takeover: the outputs only inflate in order, each into its message.
      for (let i = 0; i < 1000; i++) {
        const inflated = await new Promise<Buffer>((resolve, reject) =>
          inflater.decompress(outputs[i], true, 1 << 20, (e, r) => (e ? reject(e) : resolve(Buffer.concat(r as Buffer[])))),
        );
        assert.ok(inflated.equals(jsonText(2048, i % 50)), `message ${i}`);
      }
      assert.ok((await compress(c, Buffer.from('still working'))).length > 0);
    } finally {
      c.close();
      inflater.close();
    }
  });

  test('2000 connections compressing at once on a cold pool all get answers and free every slot', async () => {
    drainZlibPool();
    const nct = { ...TAKEOVER, serverNoContextTakeover: true };
    const compressors = Array.from({ length: 2000 }, () => createDeflateCompressor(nct, 'server', { concurrency: 2 }));
    try {
      let answered = 0;
      await Promise.all(
        compressors.map((c, i) => compress(c, jsonText(2048, i % 50)).then(() => void answered++)),
      );
      assert.equal(answered, 2000);
      assert.deepEqual(zlibQueueStats(), { running: 0, queued: 0 });
    } finally {
      for (const c of compressors) c.close();
      drainZlibPool();
    }
  });

  test('an exception thrown by an inline callback (an application handler) reaches the caller; the lane goes on', async () => {
    const c = createDeflateCompressor(TAKEOVER, 'server', {});
    try {
      await warmInflater(c);
      const payload = zlib.deflateRawSync(Buffer.from('boom'), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
      assert.throws(
        () =>
          c.decompress(payload, true, 1024, () => {
            throw new Error('handler bug');
          }),
        /handler bug/,
      );
      const again = zlib.deflateRawSync(Buffer.from('after'), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
      const result = await new Promise<Buffer[]>((resolve, reject) => c.decompress(again, true, 1024, (e, r) => (e ? reject(e) : resolve(r as Buffer[]))));
      // The inflater kept its context: 'after' inflates whatever the history holds.
      assert.equal(Buffer.concat(result).toString(), 'after');
    } finally {
      c.close();
    }
  });

  test("an application exception inside another connection's completion neither stops nor skips that connection's work", async () => {
    // In a child process: the exceptions must surface as uncaught (as from any thread-pool callback).
    const { execFileSync } = await import('node:child_process');
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'test/node/deflate/fixtures/zlib-throw-across.ts'], { encoding: 'utf8', timeout: 30_000 });
    const result = JSON.parse(out.trim().split('\n').pop() as string) as {
      log: string[];
      uncaught: string[];
      closedContexts: { deflate: boolean; inflate: boolean };
      queue: { running: number; queued: number };
    };
    for (const tag of ['A1', 'A2', 'B1', 'W1', 'Y1', 'X1 ConnectionClosedError', 'X2 ConnectionClosedError']) {
      assert.equal(result.log.filter((entry) => entry === tag).length, 1, `${tag} answered once: ${JSON.stringify(result.log)}`);
    }
    assert.ok(result.log.indexOf('A1') < result.log.indexOf('A2'), 'A in order');
    assert.deepEqual([...result.uncaught].sort(), ['handler bug in B', 'handler bug in Y']);
    assert.deepEqual(result.closedContexts, { deflate: false, inflate: false }, "close() freed X's contexts");
    assert.deepEqual(result.queue, { running: 0, queued: 0 });
  });

  test('a frame that inflates to megabytes is inflated in slices, letting the event loop run between them', async () => {
    const size = 8 * 1024 * 1024;
    const payload = zeros(size);
    assert.ok(payload.length <= 16 * 1024, 'small enough for the default inline limit');
    const c = createDeflateCompressor(TAKEOVER, 'server', {});
    await warmInflater(c);
    let turns = 0;
    let isWaiting = true;
    const spin = (): void => {
      if (!isWaiting) return;
      turns++;
      setImmediate(spin);
    };
    setImmediate(spin);
    try {
      let isSynchronous = true;
      const pieces = await new Promise<Buffer[]>((resolve, reject) => {
        c.decompress(payload, true, 64 * 1024 * 1024, (error, result) => (error ? reject(error) : resolve(result as Buffer[])));
        isSynchronous = false;
        assert.equal(zlibQueueStats().running, 0, 'inline: no thread-pool slot taken');
      }).finally(() => {
        isWaiting = false;
      });
      assert.equal(isSynchronous, false);
      const output = Buffer.concat(pieces);
      assert.equal(output.length, size);
      assert.ok(output.every((b) => b === 0));
      const slices = Math.ceil(size / SLICE_OUTPUT_BYTES);
      assert.ok(turns >= slices / 2, `${turns} event-loop turns ran during ${slices} slices`);
    } finally {
      c.close();
    }
  });

  test('close() between slices cancels the inflation: the callback gets ConnectionClosedError and zlib is not touched again', async () => {
    const c = createDeflateCompressor(TAKEOVER, 'server', {});
    await warmInflater(c);
    const error = await new Promise<Error | null>((resolve) => {
      c.decompress(zeros(8 * 1024 * 1024), true, 64 * 1024 * 1024, (e) => resolve(e));
      assert.equal(zlibQueueStats().running, 0, 'inline: no thread-pool slot taken');
      setImmediate(() => c.close());
    });
    assert.ok(error instanceof ConnectionClosedError, String(error));
    assert.deepEqual(c.hasContexts, { deflate: false, inflate: false });
    // Any slice still scheduled runs into a closed task and must neither throw nor call back again.
    await new Promise((resolve) => setTimeout(resolve, 20));
  });
});
