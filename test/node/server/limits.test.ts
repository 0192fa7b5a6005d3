/**
 * Handshake limits and timeouts attacked over real loopback sockets:
 * slowloris, header floods, long repetitive headers, capacity caps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import type { NodeWebSocket } from '../../../src/node/socket/websocket.js';
import { closeEvent, delay, openClient, rawExchange, startServer, upgradeRequest, within } from './helpers.js';

function connectRaw(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  return once(socket, 'connect').then(() => socket);
}

/** The first chunk the server answers (the connection may stay open after a 101). */
async function firstAnswer(port: number, request: string): Promise<string> {
  const socket = await connectRaw(port);
  socket.write(request);
  const [chunk] = (await within(once(socket, 'data'), 3000, 'answer')) as [Buffer];
  socket.destroy();
  return chunk.toString('latin1');
}

test('slowloris: clients sending the request byte by byte are dropped while normal clients still connect', async () => {
  const { wss, port, url } = await startServer({ handshakeTimeoutMs: 1500 });
  const request = upgradeRequest();
  const slow = await Promise.all(Array.from({ length: 200 }, () => connectRaw(port)));
  let offset = 0;
  const drip = setInterval(() => {
    for (const socket of slow) if (!socket.destroyed) socket.write(request[offset % 20]);
    offset++;
  }, 50);
  try {
    for (let i = 0; i < 50 && wss.stats().pendingHandshakes < 200; i++) await delay(20);
    assert.equal(wss.stats().pendingHandshakes, 200);
    const started = performance.now();
    const normal = await Promise.all(Array.from({ length: 10 }, () => openClient(url)));
    assert.ok(performance.now() - started < 1500, 'normal clients are not starved');
    const closed = await within(Promise.all(slow.map((socket) => (socket.destroyed ? Promise.resolve() : new Promise((resolve) => socket.once('close', resolve))))), 5000, 'slow clients dropped');
    assert.equal(closed.length, 200);
    assert.equal(wss.stats().pendingHandshakes, 0);
    assert.equal(wss.stats().connections, 10);
    for (const client of normal) client.close();
  } finally {
    clearInterval(drip);
    for (const socket of slow) socket.destroy();
    await wss.close({ timeoutMs: 1000 });
  }
});

test('an upgraded connection outlives the handshake timeout', async () => {
  const { wss, url } = await startServer({ handshakeTimeoutMs: 200, heartbeat: false });
  const client = await openClient(url);
  await delay(700);
  assert.equal(client.readyState, 1);
  client.send('still here');
  const [socket] = [...wss.clients];
  const [data] = (await within(once(socket, 'message'))) as [Buffer];
  assert.equal(data.toString(), 'still here');
  client.close();
  await wss.close({ timeoutMs: 1000 });
});

test('an async verify hook that never settles is cut off by the handshake timeout', async () => {
  const { wss, port } = await startServer({ handshakeTimeoutMs: 300, verify: () => new Promise(() => {}) });
  const started = performance.now();
  const answer = await rawExchange(port, upgradeRequest(), 3000);
  assert.equal(answer, '');
  assert.ok(performance.now() - started < 2000);
  assert.equal(wss.stats().pendingHandshakes, 0);
  await wss.close({ timeoutMs: 1000 });
});

test('a request head over maxHeaderBytes gets 431', async () => {
  const { wss, port } = await startServer({ maxHeaderBytes: 2048 });
  const answer = await rawExchange(port, upgradeRequest({ 'X-Padding': 'a'.repeat(4096) }));
  assert.match(answer, /^HTTP\/1\.1 431 /);
  await wss.close({ timeoutMs: 1000 });
});

test('more header lines than maxHeaderCount get 431', async () => {
  const { wss, port } = await startServer({ maxHeaderCount: 20 });
  const extra: Record<string, string> = {};
  for (let i = 0; i < 30; i++) extra[`X-H${i}`] = 'v';
  const answer = await rawExchange(port, upgradeRequest(extra));
  assert.match(answer, /^HTTP\/1\.1 431 /);
  const fine = await rawExchange(port, upgradeRequest({ 'X-One': '1', 'Sec-WebSocket-Version': '99' }));
  assert.match(fine, /^HTTP\/1\.1 426 /, 'under the limit the request is examined normally');
  await wss.close({ timeoutMs: 1000 });
});

test('long repetitive Sec-WebSocket-Protocol and Extensions values are handled in linear time', async () => {
  const { wss, port } = await startServer({ maxHeaderBytes: 64 * 1024, perMessageDeflate: true });
  const cases: Array<Record<string, string>> = [
    { 'Sec-WebSocket-Protocol': 'a,'.repeat(8000) + 'a' },
    { 'Sec-WebSocket-Protocol': ' '.repeat(16_000) + 'x' },
    { 'Sec-WebSocket-Extensions': 'permessage-deflate; '.repeat(1500) },
    { 'Sec-WebSocket-Extensions': 'x;'.repeat(8000) },
    { 'Sec-WebSocket-Extensions': `permessage-deflate; server_max_window_bits="${'1'.repeat(16_000)}"` },
  ];
  for (const headers of cases) {
    const started = performance.now();
    const answer = await firstAnswer(port, upgradeRequest(headers));
    const elapsed = performance.now() - started;
    assert.match(answer, /^HTTP\/1\.1 (101|400) /);
    assert.ok(elapsed < 500, `answered in ${elapsed.toFixed(1)} ms`);
  }
  await wss.close({ timeoutMs: 1000 });
});

test('over maxPendingHandshakes new handshakes get 503 with Retry-After', async () => {
  const { wss, port, url } = await startServer({ maxPendingHandshakes: 5, handshakeTimeoutMs: 2000 });
  const stalled = await Promise.all(Array.from({ length: 5 }, () => connectRaw(port)));
  for (const socket of stalled) socket.write('GET / HTTP/1.1\r\n');
  await delay(50);
  assert.equal(wss.stats().pendingHandshakes, 5);
  const answer = await rawExchange(port, upgradeRequest());
  assert.match(answer, /^HTTP\/1\.1 503 /);
  assert.match(answer, /\r\nRetry-After: \d+\r\n/);
  for (const socket of stalled) socket.destroy();
  await delay(50);
  const client = await openClient(url);
  client.close();
  await wss.close({ timeoutMs: 1000 });
});

test('over maxConnections new handshakes get 503 with Retry-After', async () => {
  const { wss, port, url } = await startServer({ maxConnections: 2 });
  const a = await openClient(url);
  const b = await openClient(url);
  const answer = await rawExchange(port, upgradeRequest());
  assert.match(answer, /^HTTP\/1\.1 503 /);
  assert.match(answer, /Retry-After: /);
  const [first] = [...wss.clients];
  const closed = closeEvent(first);
  a.close();
  await within(closed);
  const c = await openClient(url);
  b.close();
  c.close();
  await wss.close({ timeoutMs: 1000 });
});

test('idleTimeoutMs closes a connection without messages with 1001', async () => {
  const { wss, url } = await startServer({ idleTimeoutMs: 200, heartbeat: false });
  const quiet = await openClient(url);
  const chatty = await openClient(url);
  const quietClosed = closeEvent(quiet as never);
  const chat = setInterval(() => chatty.send('hi'), 50);
  try {
    const [code] = await within(quietClosed, 3000);
    assert.equal(code, 1001);
    await delay(300);
    assert.equal(chatty.readyState, 1, 'an active connection stays open');
  } finally {
    clearInterval(chat);
  }
  chatty.close();
  await wss.close({ timeoutMs: 1000 });
});

test('closeTimeoutMs destroys a connection whose peer never answers the close frame', async () => {
  const { wss, port } = await startServer({ closeTimeoutMs: 200, heartbeat: false });
  const connected = once(wss, 'connection');
  const raw = await connectRaw(port);
  raw.write(upgradeRequest());
  raw.resume();
  const [socket] = (await within(connected)) as [NodeWebSocket];
  const closed = closeEvent(socket);
  const started = performance.now();
  socket.close(1000);
  const rawClosed = once(raw, 'close');
  const [code] = await within(closed, 3000);
  const elapsed = performance.now() - started;
  assert.equal(code, 1006);
  assert.ok(elapsed >= 180 && elapsed < 1500, `closed after ${elapsed.toFixed(0)} ms`);
  await within(rawClosed);
  await wss.close({ timeoutMs: 1000 });
});
