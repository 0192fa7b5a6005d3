/**
 * The ws-compatible server socket over real loopback connections: sending
 * every data type, closing rules, peer faults that must not crash the app,
 * ping/pong, DOM-style listeners, broadcast, streams, and an undici client.
 * Compression: socket-deflate.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { WebSocket as UndiciWebSocket } from 'undici';
import type { NodeWebSocket } from '../../../src/node/socket/websocket.js';
import { clientFrame, closeEvent, openClient, startServer, upgradeRequest, within } from '../server/helpers.js';
import { collect, serverAndClient } from './pair.js';

test('send treats strings as text and Buffer, ArrayBuffer, TypedArray and DataView as binary', async () => {
  const { wss, client, socket } = await serverAndClient();
  const received = collect(client, 7);
  const bytes = new Uint8Array([9, 8, 7, 6]);
  socket.send('text');
  socket.send(Buffer.from('buf'));
  socket.send(bytes.buffer);
  socket.send(new Uint16Array([0x0102]));
  socket.send(new DataView(bytes.buffer, 1, 2));
  socket.send('binary-string', { binary: true });
  socket.send(Buffer.from('as-text'), { binary: false });
  const messages = await within(received);
  assert.deepEqual(
    messages.map((m) => [m.data.toString('hex'), m.isBinary]),
    [
      [Buffer.from('text').toString('hex'), false],
      [Buffer.from('buf').toString('hex'), true],
      ['09080706', true],
      [Buffer.from(new Uint16Array([0x0102]).buffer).toString('hex'), true],
      ['0807', true],
      [Buffer.from('binary-string').toString('hex'), true],
      [Buffer.from('as-text').toString('hex'), false],
    ],
  );
  assert.throws(() => socket.send({} as never), TypeError);
  client.close();
  await wss.close({ timeoutMs: 1000 });
});

test('send callbacks run after the write and report an error after close', async () => {
  const { wss, client, socket } = await serverAndClient();
  const error = await new Promise<Error | null | undefined>((resolve) => socket.send('x', resolve));
  assert.equal(error ?? null, null);
  const closed = closeEvent(socket);
  client.close(1000);
  await within(closed);
  assert.equal(socket.readyState, 3);
  const late = await new Promise<Error | null | undefined>((resolve) => socket.send('late', resolve));
  assert.ok(late instanceof Error);
  assert.equal(socket.send('late again'), false);
  await wss.close({ timeoutMs: 1000 });
});

test('close validates its code and reason', async () => {
  const { wss, client, socket } = await serverAndClient();
  assert.throws(() => socket.close(1005), RangeError);
  assert.throws(() => socket.close(999), RangeError);
  assert.throws(() => socket.close(1000, 'x'.repeat(124)), RangeError);
  assert.equal(socket.readyState, 1, 'a rejected close changes nothing');
  const closed = closeEvent(client as never);
  socket.close(4001, Buffer.from('custom'));
  const [code, reason] = await within(closed);
  assert.equal(code, 4001);
  assert.equal(reason.toString(), 'custom');
  await wss.close({ timeoutMs: 1000 });
});

test('close() flushes a large burst first: every message sent before it reaches the peer', async () => {
  const { wss, client, socket } = await serverAndClient();
  const count = 3000;
  const payload = Buffer.alloc(8 * 1024, 0x61);
  let received = 0;
  let isOrdered = true;
  client.on('message', (data: Buffer) => {
    if (data.readUInt32BE(0) !== received) isOrdered = false;
    received++;
  });
  const clientClosed = closeEvent(client as never);
  for (let i = 0; i < count; i++) {
    const message = Buffer.from(payload);
    message.writeUInt32BE(i, 0);
    socket.send(message);
  }
  assert.ok(socket.bufferedAmount > 0, 'bytes the kernel did not take yet are accounted');
  socket.close(1000, 'done');
  const [code] = await within(clientClosed, 10_000);
  assert.equal(code, 1000);
  assert.equal(received, count);
  assert.ok(isOrdered);
  await wss.close({ timeoutMs: 1000 });
});

test('a protocol error from the peer closes with 1002 and does not crash an app without error listener', async () => {
  const { wss, port } = await startServer();
  let serverSocket: NodeWebSocket | undefined;
  let serverClosed: Promise<[number, Buffer]> | undefined;
  wss.on('connection', (socket: NodeWebSocket) => {
    serverSocket = socket;
    serverClosed = closeEvent(socket);
  });
  const raw = net.connect(port, '127.0.0.1');
  raw.write(upgradeRequest());
  await within(once(raw, 'data'));
  const received: Buffer[] = [];
  raw.on('data', (chunk: Buffer) => received.push(chunk));
  // An unmasked client frame: RFC 6455 §5.1 requires the server to fail it.
  raw.write(Buffer.from([0x81, 0x02, 0x68, 0x69]));
  await within(once(raw, 'close'));
  assert.ok(serverSocket);
  const closed = Buffer.concat(received);
  assert.equal(closed[0], 0x88, 'a close frame came back');
  assert.equal(closed.readUInt16BE(2), 1002);
  await within(serverClosed as Promise<[number, Buffer]>);
  assert.equal(serverSocket.readyState, 3);
  await wss.close({ timeoutMs: 1000 });
});

test('a peer error reaches an error listener, then close reports the code the peer got', async () => {
  const { wss, port } = await startServer();
  const connected = once(wss, 'connection');
  const raw = net.connect(port, '127.0.0.1');
  raw.on('error', () => {});
  raw.write(upgradeRequest());
  await within(once(raw, 'data'));
  const [socket] = (await within(connected)) as [NodeWebSocket];
  const errors: Error[] = [];
  socket.on('error', (error: Error) => errors.push(error));
  const closed = closeEvent(socket);
  // Text that is not UTF-8: 1007.
  raw.write(clientFrame(0x1, Buffer.from([0xc3, 0x28])));
  const [code] = await within(closed);
  assert.equal(errors.length, 1);
  assert.equal((errors[0] as Error & { closeCode: number }).closeCode, 1007);
  assert.equal(code, 1006, 'no close frame came from the peer');
  raw.destroy();
  await wss.close({ timeoutMs: 1000 });
});

test('messages over maxPayload close the connection with 1009', async () => {
  const { wss, client } = await serverAndClient({ maxPayload: 1024 });
  const closed = closeEvent(client as never);
  client.send(Buffer.alloc(2048));
  const [code] = await within(closed);
  assert.equal(code, 1009);
  await wss.close({ timeoutMs: 1000 });
});

test('ping and pong events flow both ways and terminate() reports 1006', async () => {
  const { wss, client, socket } = await serverAndClient();
  const serverPong = once(socket, 'pong');
  socket.ping(Buffer.from('p1'));
  const [pongData] = (await within(serverPong)) as [Buffer];
  assert.equal(pongData.toString(), 'p1');
  const serverPing = once(socket, 'ping');
  const automaticPong = once(client, 'pong');
  client.ping('p2');
  const [pingData] = (await within(serverPing)) as [Buffer];
  assert.equal(((await within(automaticPong)) as [Buffer])[0].toString(), 'p2', 'the server answered the ping');
  assert.equal(pingData.toString(), 'p2');
  const clientPong = once(client, 'pong');
  socket.pong('p3');
  assert.equal(((await within(clientPong)) as [Buffer])[0].toString(), 'p3');
  const closed = closeEvent(socket);
  socket.terminate();
  assert.equal(socket.readyState, 2);
  const [code] = await within(closed);
  assert.equal(code, 1006);
  await wss.close({ timeoutMs: 1000 });
});

test('binaryType arraybuffer and fragments change what message listeners get', async () => {
  const { wss, client, socket } = await serverAndClient();
  socket.binaryType = 'arraybuffer';
  const first = once(socket, 'message');
  client.send(Buffer.from([1, 2]));
  const [data] = (await within(first)) as [ArrayBuffer];
  assert.ok(data instanceof ArrayBuffer);
  assert.deepEqual([...new Uint8Array(data)], [1, 2]);
  socket.binaryType = 'fragments';
  const second = once(socket, 'message');
  client.send(Buffer.from([3]));
  const [parts] = (await within(second)) as [Buffer[]];
  assert.ok(Array.isArray(parts));
  assert.deepEqual([...Buffer.concat(parts)], [3]);
  client.close();
  await wss.close({ timeoutMs: 1000 });
});

test('DOM-style addEventListener and on-attributes work like ws', async () => {
  const { wss, client, socket } = await serverAndClient();
  const events: string[] = [];
  const listener = (event: { data?: unknown }) => events.push(`listener:${String(event.data)}`);
  socket.addEventListener('message', listener);
  socket.addEventListener('message', listener);
  socket.onmessage = (event: { data?: unknown }) => events.push(`attr:${String(event.data)}`);
  const closed = new Promise<{ code?: number; wasClean?: boolean }>((resolve) => {
    socket.onclose = resolve;
  });
  const first = once(socket, 'message');
  client.send('one');
  await within(first);
  socket.removeEventListener('message', listener);
  const second = once(socket, 'message');
  client.send('two');
  await within(second);
  assert.deepEqual(events, ['listener:one', 'attr:one', 'attr:two']);
  assert.equal(typeof socket.onmessage, 'function');
  client.close(1000);
  const event = await within(closed);
  assert.equal(event.code, 1000);
  assert.equal(event.wasClean, true);
  await wss.close({ timeoutMs: 1000 });
});

test('broadcast encodes once and reaches every open client except the excluded one', async () => {
  const { wss, url } = await startServer();
  const clients = await Promise.all(Array.from({ length: 20 }, () => openClient(url)));
  const [sender] = [...wss.clients];
  const received = clients.map((client) => within(once(client, 'message'), 2000).then(([data]) => String(data)));
  const count = wss.broadcast('news', { except: sender });
  assert.equal(count, 19);
  const results = await Promise.allSettled(received);
  const delivered = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<string>).value);
  assert.equal(delivered.length, 19);
  assert.ok(delivered.every((text) => text === 'news'));
  assert.equal(wss.broadcast(Buffer.from([1, 2, 3])), 20);
  for (const client of clients) client.close();
  await wss.close({ timeoutMs: 1000 });
});

test('an undici WebSocket client talks to the server', async () => {
  const { wss, url } = await startServer({ handleProtocols: (protocols) => (protocols.has('v1') ? 'v1' : false) });
  wss.on('connection', (socket: NodeWebSocket) => socket.on('message', (data: Buffer, isBinary: boolean) => socket.send(data, { binary: isBinary })));
  const client = new UndiciWebSocket(url, ['v1']);
  client.binaryType = 'arraybuffer';
  await within(new Promise((resolve, reject) => {
    client.onopen = resolve;
    client.onerror = reject;
  }));
  assert.equal(client.protocol, 'v1');
  const replies: unknown[] = [];
  const done = new Promise<void>((resolve) => {
    client.onmessage = (event) => {
      replies.push(event.data);
      if (replies.length === 2) resolve();
    };
  });
  client.send('from undici');
  client.send(new Uint8Array([5, 6]));
  await within(done);
  assert.equal(replies[0], 'from undici');
  assert.deepEqual([...new Uint8Array(replies[1] as ArrayBuffer)], [5, 6]);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    client.onclose = (event) => resolve({ code: event.code, reason: event.reason });
  });
  client.close(4000, 'bye');
  const event = await within(closed);
  assert.equal(event.code, 4000);
  await wss.close({ timeoutMs: 1000 });
});

test('the sockwave/ws entry is a drop-in for ws: default export with Server and WebSocketServer', async () => {
  const ws = await import('../../../src/ws.js');
  assert.equal(ws.default.Server, ws.WebSocketServer);
  assert.equal(ws.default.WebSocketServer, ws.WebSocketServer);
  assert.equal(ws.default.OPEN, 1);
  const wss = new ws.default.Server({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  wss.on('connection', (socket: NodeWebSocket) => socket.send('hi'));
  const port = (wss.address() as net.AddressInfo).port;
  const client = new ws.default(`ws://127.0.0.1:${port}`);
  const [data] = (await within(once(client, 'message'))) as [Buffer];
  assert.equal(data.toString(), 'hi');
  client.close();
  await wss.close({ timeoutMs: 1000 });
});

// Inline (main thread, the default for small messages) and on the thread pool, where reading pauses for every message.
for (const inlineMaxBytes of [16 * 1024, 0]) test(`a burst of compressed messages arrives complete and in order while reading pauses for inflation (inlineMaxBytes ${inlineMaxBytes})`, async () => {
  const { wss, client, socket } = await serverAndClient(
    { perMessageDeflate: { threshold: 0, inlineMaxBytes } },
    { perMessageDeflate: { threshold: 0 } },
  );
  const count = 500;
  const got: number[] = [];
  const done = new Promise<void>((resolve) =>
    socket.on('message', (data: Buffer) => {
      got.push(JSON.parse(data.toString()).i);
      if (got.length === count) resolve();
    }),
  );
  for (let i = 0; i < count; i++) client.send(JSON.stringify({ i, text: 'compress me '.repeat(50) }));
  await within(done, 10_000);
  assert.deepEqual(got, Array.from({ length: count }, (_, i) => i));
  assert.equal(socket.isPaused, false, 'internal pauses are not the app pause');
  client.close();
  await wss.close({ timeoutMs: 1000 });
});

test('createWebSocketStream pipes a stream through a connection with backpressure', async () => {
  const { createWebSocketStream } = await import('../../../src/ws.js');
  const { pipeline } = await import('node:stream/promises');
  const { Readable, Writable } = await import('node:stream');
  const { wss, client, socket } = await serverAndClient();
  // The ws client echoes; the stream runs over the sockwave server socket.
  client.on('message', (data: Buffer) => client.send(data));
  const stream = createWebSocketStream(socket);
  const chunks = Array.from({ length: 200 }, (_, i) => Buffer.alloc(10_000, i % 256));
  let received = 0;
  const sink = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received === 200 * 10_000) stream.end();
      setImmediate(callback);
    },
  });
  await within(Promise.all([pipeline(Readable.from(chunks), stream, { end: false }), pipeline(stream, sink)]), 10_000);
  assert.equal(received, 200 * 10_000);
  await wss.close({ timeoutMs: 1000 });
});
