import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createDeflateCompressor, zlibQueueStats, DeflateCompressor } from '../../src/node/deflate.js';
import {
  acceptServerResponse,
  buildClientOffer,
  negotiateServer,
  type DeflateParams,
  type PerMessageDeflateOptions,
} from '../../src/core/deflate/index.js';
import { ConnectionClosedError, ErrorCode, MessageTooLargeError, ProtocolError } from '../../src/core/errors.js';

const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

function params(overrides: Partial<DeflateParams> = {}): DeflateParams {
  return { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15, ...overrides };
}

/**
 * Where zlib runs: small inputs on the main thread (zlib-sync.ts), larger
 * ones on libuv's thread pool. Behaviour must not depend on it, so the tests
 * below run in each mode.
 */
const MODES: Array<{ name: string; options: PerMessageDeflateOptions }> = [
  { name: 'default (inline up to 16 KiB)', options: {} },
  { name: 'all inline', options: { inlineMaxBytes: Infinity } },
  { name: 'all on the thread pool', options: { inlineMaxBytes: 0 } },
];

/**
 * Inflates one small message, so the context has done its first job (always
 * on the thread pool: see deflate.ts) and later ones follow the mode.
 */
async function warmInflater(c: DeflateCompressor): Promise<void> {
  const payload = zlib.deflateRawSync(Buffer.from('warm up'), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
  assert.deepEqual(await decompress(c, payload, true, 1024), Buffer.from('warm up'));
}

function compress(c: DeflateCompressor, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => c.compress(data, (error, result) => (error ? reject(error) : resolve(result as Buffer))));
}

function decompress(c: DeflateCompressor, data: Buffer, isFinal = true, maxBytes = 64 * 1024 * 1024): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    c.decompress(data, isFinal, maxBytes, (error, result) => (error ? reject(error) : resolve(Buffer.concat(result as Buffer[])))),
  );
}

/** Messages that exercise boundaries and context takeover (repeats of earlier messages). */
function messages(): Buffer[] {
  const text = Buffer.from('{"type":"update","user":"alice","items":[1,2,3],"ok":true}'.repeat(40));
  return [
    text,
    Buffer.alloc(0),
    Buffer.from('a'),
    Buffer.alloc(125, 0x61),
    text,
    randomBytes(65_536),
    Buffer.alloc(65_536, 0x20),
    text,
  ];
}

/**
 * Walks a raw deflate stream (RFC 1951) and returns the largest
 * back-reference distance used. Written for the window-8 test: zlib's own
 * inflater cannot tell a 256-byte window from a 512-byte one.
 */
function maxDistance(stream: Buffer): number {
  let pos = 0;
  let bit = 0;
  const bits = (n: number): number => {
    let v = 0;
    for (let k = 0; k < n; k++) {
      if (pos >= stream.length) throw new Error('truncated deflate stream');
      v |= ((stream[pos] >> bit) & 1) << k;
      if (++bit === 8) {
        bit = 0;
        pos++;
      }
    }
    return v;
  };
  interface Huffman { count: number[]; symbol: number[] }
  const build = (lengths: number[]): Huffman => {
    const count = new Array(16).fill(0);
    for (const l of lengths) count[l]++;
    count[0] = 0;
    const offs = [0, 0];
    for (let l = 1; l < 15; l++) offs[l + 1] = offs[l] + count[l];
    const symbol: number[] = [];
    lengths.forEach((l, s) => {
      if (l !== 0) symbol[offs[l]++] = s;
    });
    return { count, symbol };
  };
  const decode = (h: Huffman): number => {
    let code = 0;
    let first = 0;
    let index = 0;
    for (let len = 1; len < 16; len++) {
      code |= bits(1);
      const count = h.count[len];
      if (code - count < first) return h.symbol[index + (code - first)];
      index += count;
      first += count;
      first <<= 1;
      code <<= 1;
    }
    throw new Error('bad Huffman code');
  };
  const LBASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
  const LEXT = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
  const DBASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
  const DEXT = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
  let max = 0;
  while (pos < stream.length) {
    const isLast = bits(1);
    const type = bits(2);
    if (type === 0) {
      if (bit !== 0) {
        bit = 0;
        pos++;
      }
      const len = stream.readUInt16LE(pos);
      pos += 4 + len;
    } else {
      let lit: Huffman;
      let dist: Huffman;
      if (type === 1) {
        const l = [...new Array(144).fill(8), ...new Array(112).fill(9), ...new Array(24).fill(7), ...new Array(8).fill(8)];
        lit = build(l);
        dist = build(new Array(30).fill(5));
      } else {
        const nlen = bits(5) + 257;
        const ndist = bits(5) + 1;
        const ncode = bits(4) + 4;
        const order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
        const cl = new Array(19).fill(0);
        for (let k = 0; k < ncode; k++) cl[order[k]] = bits(3);
        const clh = build(cl);
        const lengths: number[] = [];
        while (lengths.length < nlen + ndist) {
          const sym = decode(clh);
          if (sym < 16) lengths.push(sym);
          else if (sym === 16) lengths.push(...new Array(3 + bits(2)).fill(lengths[lengths.length - 1]));
          else if (sym === 17) lengths.push(...new Array(3 + bits(3)).fill(0));
          else lengths.push(...new Array(11 + bits(7)).fill(0));
        }
        lit = build(lengths.slice(0, nlen));
        dist = build(lengths.slice(nlen));
      }
      for (;;) {
        const sym = decode(lit);
        if (sym < 256) continue;
        if (sym === 256) break;
        bits(LEXT[sym - 257]);
        const d = decode(dist);
        const distance = DBASE[d] + bits(DEXT[d]);
        if (distance > max) max = distance;
      }
    }
    if (isLast) break;
  }
  return max;
}

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

// ws's own permessage-deflate (lib/permessage-deflate.js), loaded by file path
// because the package's `exports` map does not expose it.
interface WsPerMessageDeflate {
  accept(configurations: Array<Record<string, unknown[]>>): Record<string, unknown>;
  offer(): Record<string, unknown>;
  compress(data: Buffer, fin: boolean, cb: (error: Error | null, result?: Buffer) => void): void;
  decompress(data: Buffer, fin: boolean, cb: (error: Error | null, result?: Buffer) => void): void;
  cleanup(): void;
}
const requireFromHere = createRequire(import.meta.url);
const wsLib = join(process.cwd(), 'node_modules', 'ws', 'lib');
const WsPmd = requireFromHere(join(wsLib, 'permessage-deflate.js')) as new (options: Record<string, unknown>) => WsPerMessageDeflate;
const wsExtension = requireFromHere(join(wsLib, 'extension.js')) as {
  parse(header: string): Record<string, Array<Record<string, unknown[]>>>;
  format(extensions: Record<string, unknown>): string;
};

function wsCall(pmd: WsPerMessageDeflate, method: 'compress' | 'decompress', data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => pmd[method](data, true, (error, result) => (error ? reject(error) : resolve(result as Buffer))));
}

describe('interop with ws permessage-deflate at the byte level', () => {
  const configs: Array<{ ours: PerMessageDeflateOptions; theirs: Record<string, unknown> }> = [
    { ours: {}, theirs: {} },
    { ours: { serverNoContextTakeover: true, clientNoContextTakeover: true }, theirs: { serverNoContextTakeover: true, clientNoContextTakeover: true } },
    { ours: { serverMaxWindowBits: 10, clientMaxWindowBits: 11 }, theirs: { serverMaxWindowBits: 10, clientMaxWindowBits: 11 } },
  ];

  for (const [index, { ours, theirs }] of configs.entries()) {
    test(`our client and a ws server agree and exchange messages (config ${index})`, async () => {
      const wsServer = new WsPmd({ ...theirs, isServer: true, maxPayload: 0 });
      const offers = wsExtension.parse(buildClientOffer(ours))['permessage-deflate'];
      const response = wsExtension.format({ 'permessage-deflate': [wsServer.accept(offers)] });
      const agreed = acceptServerResponse(response, ours);
      assert.ok(agreed, response);
      const client = createDeflateCompressor(agreed, 'client', ours);
      try {
        for (const message of messages()) {
          assert.deepEqual(await wsCall(wsServer, 'decompress', await compress(client, message)), message);
          assert.deepEqual(await decompress(client, await wsCall(wsServer, 'compress', message)), message);
        }
      } finally {
        client.close();
        wsServer.cleanup();
      }
    });

    test(`a ws client and our server agree and exchange messages (config ${index})`, async () => {
      const wsClient = new WsPmd({ ...theirs, isServer: false, maxPayload: 0 });
      const offer = wsExtension.format({ 'permessage-deflate': [wsClient.offer()] });
      const answer = negotiateServer(offer, ours);
      assert.ok(answer, offer);
      wsClient.accept(wsExtension.parse(answer.responseHeader)['permessage-deflate']);
      const server = createDeflateCompressor(answer.params, 'server', ours);
      try {
        for (const message of messages()) {
          assert.deepEqual(await wsCall(wsClient, 'decompress', await compress(server, message)), message);
          assert.deepEqual(await decompress(server, await wsCall(wsClient, 'compress', message)), message);
        }
      } finally {
        server.close();
        wsClient.cleanup();
      }
    });
  }
});
