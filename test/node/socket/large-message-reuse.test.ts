/**
 * src/node/malloc-reuse.ts: a socket's first message of 64 KiB or more
 * raises glibc's dynamic mmap threshold to LARGE_MESSAGE_RAISE_BYTES (on
 * default options), smaller messages never do, and the `ownReadBuffers`
 * level still goes above it. The raise is process-wide, so the tests run in
 * order in this file's own process (node --test runs each file apart).
 * Real `ws` peers on loopback; every echo is compared byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import type WS from 'ws';
import {
  isMmapThresholdRaised,
  LARGE_MESSAGE_BYTES,
  LARGE_MESSAGE_RAISE_BYTES,
  MMAP_THRESHOLD_RAISE_BYTES,
  mmapThresholdRaise,
} from '../../../src/node/malloc-reuse.js';
import type { NodeWebSocket } from '../../../src/node/socket/websocket.js';
import { openClient, startServer, within } from '../server/helpers.js';

async function echoServer(options: { ownReadBuffers?: boolean; perMessageDeflate?: boolean } = {}) {
  const server = await startServer(options);
  server.wss.on('connection', (socket: NodeWebSocket) => {
    socket.on('message', (data: Buffer, isBinary: boolean) => socket.send(data, { binary: isBinary }));
  });
  return server;
}

async function echoOf(client: WS, data: Buffer | string): Promise<Buffer> {
  const reply = once(client, 'message');
  client.send(data);
  const [echo] = (await within(reply, 5000, 'echo')) as [Buffer];
  return echo;
}

test('messages under 64 KiB, plain and compressed, raise nothing', async () => {
  const plain = await echoServer();
  const compressed = await echoServer({ perMessageDeflate: true });
  const a = await openClient(plain.url);
  const b = await openClient(compressed.url, { perMessageDeflate: true });
  try {
    for (const size of [0, 125, 126, 65_535, LARGE_MESSAGE_BYTES - 1]) {
      const data = randomBytes(size);
      assert.ok((await echoOf(a, data)).equals(data));
    }
    // Compressible text just under the size, sent compressed: inflated on the server to 64 KiB - 1.
    const text = 'x'.repeat(LARGE_MESSAGE_BYTES - 1);
    assert.equal((await echoOf(b, text)).toString(), text);
    assert.equal(mmapThresholdRaise(), 0);
  } finally {
    a.terminate();
    b.terminate();
    await Promise.all([plain.wss.close(), compressed.wss.close()]);
  }
});

test('the first message of 64 KiB raises the threshold to the large-message level, once', async () => {
  const server = await echoServer({ perMessageDeflate: true });
  const client = await openClient(server.url, { perMessageDeflate: true });
  try {
    const data = randomBytes(LARGE_MESSAGE_BYTES);
    assert.ok((await echoOf(client, data)).equals(data));
    assert.equal(mmapThresholdRaise(), LARGE_MESSAGE_RAISE_BYTES);
    assert.equal(isMmapThresholdRaised(), false, 'not the ownReadBuffers level');
    // Further large messages, compressed too, change nothing and still arrive intact.
    const text = 'y'.repeat(3 * LARGE_MESSAGE_BYTES);
    assert.equal((await echoOf(client, text)).toString(), text);
    assert.equal(mmapThresholdRaise(), LARGE_MESSAGE_RAISE_BYTES);
  } finally {
    client.terminate();
    await server.wss.close();
  }
});

test('ownReadBuffers still raises to its own, higher level afterwards', async () => {
  const server = await echoServer({ ownReadBuffers: true });
  const client = await openClient(server.url);
  try {
    const data = randomBytes(1024 * 1024 + 3);
    assert.ok((await echoOf(client, data)).equals(data));
    assert.equal(mmapThresholdRaise(), MMAP_THRESHOLD_RAISE_BYTES);
    assert.equal(isMmapThresholdRaised(), true);
    const small = randomBytes(LARGE_MESSAGE_BYTES);
    assert.ok((await echoOf(client, small)).equals(small));
    assert.equal(mmapThresholdRaise(), MMAP_THRESHOLD_RAISE_BYTES, 'never lowered');
  } finally {
    client.terminate();
    await server.wss.close();
  }
});
