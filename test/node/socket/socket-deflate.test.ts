/**
 * permessage-deflate on the ws-compatible server socket over real loopback
 * connections with ws clients: negotiation, ordering of many compressed
 * messages (also with broadcast), and a 1009 raised while inflating.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import type { NodeWebSocket } from '../../../src/node/socket/websocket.js';
import { closeEvent, delay, startServer, upgradeRequest, within } from '../server/helpers.js';
import { collect, serverAndClient } from './pair.js';

test('permessage-deflate is negotiated with a ws client when enabled and round-trips messages', async () => {
  const { wss, client, socket } = await serverAndClient({ perMessageDeflate: { threshold: 0 } }, { perMessageDeflate: true });
  assert.match(socket.extensions, /^permessage-deflate/);
  assert.match(client.extensions, /permessage-deflate/);
  socket.on('message', (data: Buffer, isBinary: boolean) => socket.send(data, { binary: isBinary }));
  const big = 'sockwave '.repeat(20_000);
  const replies = collect(client, 3);
  client.send(big);
  client.send('small');
  client.send(Buffer.alloc(100_000, 7));
  const [a, b, c] = await within(replies);
  assert.equal(a.data.toString(), big);
  assert.equal(b.data.toString(), 'small');
  assert.equal(c.data.length, 100_000);
  assert.ok(wss.stats().bytesIn < big.length, 'compressed bytes crossed the wire');
  client.close();
  await wss.close({ timeoutMs: 1000 });
});

test('permessage-deflate stays off unless enabled', async () => {
  const { wss, client, socket } = await serverAndClient({}, { perMessageDeflate: true });
  assert.equal(socket.extensions, '');
  assert.equal(client.extensions, '');
  client.close();
  await wss.close({ timeoutMs: 1000 });
});

test('a thousand compressed messages sent at once all reach a ws client, in order', async () => {
  // They queue behind the connection's first compression (on the thread pool) and then run
  // inline one after another: a recursion per queued message once overflowed the stack here.
  const { wss, client, socket } = await serverAndClient({ perMessageDeflate: true }, { perMessageDeflate: true });
  const count = 1000;
  const got: number[] = [];
  const done = new Promise<void>((resolve) =>
    client.on('message', (data: Buffer) => {
      got.push(JSON.parse(data.toString()).i);
      if (got.length === count) resolve();
    }),
  );
  for (let i = 0; i < count; i++) socket.send(JSON.stringify({ i, text: 'compress me '.repeat(150) }));
  await within(done, 10_000);
  assert.deepEqual(got, Array.from({ length: count }, (_, i) => i));
  client.close();
  await wss.close({ timeoutMs: 1000 });
});

test('broadcast keeps order with messages still waiting for compression', async () => {
  const { wss, client, socket } = await serverAndClient({ perMessageDeflate: { threshold: 0 } }, { perMessageDeflate: true });
  const received = collect(client, 3);
  socket.send('compressed first '.repeat(100));
  wss.broadcast('broadcast second');
  socket.send('compressed third '.repeat(100));
  const messages = await within(received);
  assert.deepEqual(
    messages.map((m) => m.data.toString().split(' ')[1]),
    ['first', 'second', 'third'],
  );
  client.close();
  await wss.close({ timeoutMs: 1000 });
});

test('after a 1009 raised while inflating a continuation frame the server still sees the peer hang up', async () => {
  // Regression: reading stayed paused after the inflate failed, so the FIN
  // went unnoticed until closeTimeoutMs.
  const { deflateRawSync, constants } = await import('node:zlib');
  const { wss, port } = await startServer({ perMessageDeflate: true, maxPayload: 64 * 1024, heartbeat: false });
  const connected = once(wss, 'connection');
  const raw = net.connect(port, '127.0.0.1');
  raw.on('error', () => {});
  raw.write(upgradeRequest({ 'Sec-WebSocket-Extensions': 'permessage-deflate' }));
  raw.resume();
  const [socket] = (await within(connected)) as [NodeWebSocket];
  const closed = closeEvent(socket);
  const bomb = deflateRawSync(Buffer.alloc(4 * 1024 * 1024), { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, -4);
  const half = Math.floor(bomb.length / 2);
  const frame = (first: boolean, fin: boolean, body: Buffer) => {
    const header = Buffer.from([(fin ? 0x80 : 0) | (first ? 0x40 | 0x2 : 0), 0x80 | 126, 0, 0, 0, 0, 0, 0]);
    header.writeUInt16BE(body.length, 2);
    return Buffer.concat([header, body]);
  };
  raw.write(frame(true, false, bomb.subarray(0, half)));
  raw.write(frame(false, true, bomb.subarray(half)));
  await delay(300);
  raw.end();
  const started = performance.now();
  await within(closed, 3000, 'server noticing the hang-up');
  assert.ok(performance.now() - started < 2000);
  raw.destroy();
  await wss.close({ timeoutMs: 500 });
});
