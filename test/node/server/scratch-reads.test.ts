/**
 * A standalone server reads its TCP sockets into one process-wide scratch
 * buffer (node/socket/scratch-reads.ts): every read lands at the start of
 * the same memory, so whatever outlives a read (a head that arrives in
 * pieces, frames in the same read as the head) must be a copy. These tests
 * send such input on real sockets and check nothing is corrupted by the
 * reads that follow it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from '../../../src/node/server/server.js';
import type { NodeWebSocket } from '../../../src/node/socket/websocket.js';
import { BULK_BUFFER_BYTES } from '../../../src/node/socket/receive.js';
import { clientFrame, delay, startServer, upgradeRequest, within } from './helpers.js';

const KEY_A = 'AAAAAAAAAAAAAAAAAAAAAA==';
const acceptFor = (key: string): string => createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');

async function rawClient(port: number): Promise<{ raw: net.Socket; received: () => string }> {
  const raw = net.connect(port, '127.0.0.1');
  raw.on('error', () => {});
  await once(raw, 'connect');
  const chunks: Buffer[] = [];
  raw.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { raw, received: () => Buffer.concat(chunks).toString('latin1') };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > 5000) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

/** A standalone server that records every message it receives, and a ws client connected to it. */
async function recordingServer(): Promise<{ wss: WebSocketServer; got: Buffer[]; client: import('ws').WebSocket }> {
  const { wss, url } = await startServer();
  const got: Buffer[] = [];
  wss.on('connection', (ws: NodeWebSocket) => ws.on('message', (data: Buffer) => got.push(data)));
  const { WebSocket: WS } = await import('ws');
  const client = new WS(url);
  await within(once(client, 'open'));
  return { wss, got, client };
}

test("a standalone server's sockets are read by callback (no 'data' listener), and so are those an HTTP server hands over", async () => {
  const { wss, url } = await startServer();
  const seen = new Promise<number>((resolve) => wss.on('connection', (ws: NodeWebSocket) => resolve((ws as unknown as { _socket: net.Socket })._socket.listenerCount('data'))));
  const { WebSocket: WS } = await import('ws');
  const client = new WS(url);
  await within(once(client, 'open'));
  assert.equal(await within(seen), 0);
  client.close();
  await wss.close({ timeoutMs: 1000 });

  const { server, port } = await httpServer();
  const attached = new WebSocketServer({ server });
  const seenHttp = new Promise<number>((resolve) => attached.on('connection', (ws: NodeWebSocket) => resolve((ws as unknown as { _socket: net.Socket })._socket.listenerCount('data'))));
  const other = new WS(`ws://127.0.0.1:${port}`);
  await within(once(other, 'open'));
  assert.equal(await within(seenHttp), 0);
  other.close();
  await attached.close({ timeoutMs: 1000 });
  server.close();
});

async function httpServer(): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((_req, res) => res.end('plain'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

test('an HTTP server\'s sockets, read by callback after the upgrade: messages of every size intact, pause and resume, plain requests unaffected', async () => {
  const { server, port } = await httpServer();
  const wss = new WebSocketServer({ server });
  const got: Buffer[] = [];
  let serverSide: NodeWebSocket | undefined;
  wss.on('connection', (ws: NodeWebSocket) => {
    serverSide = ws;
    ws.on('message', (data: Buffer) => {
      got.push(data);
      ws.send(data);
    });
  });
  const { WebSocket: WS } = await import('ws');
  const client = new WS(`ws://127.0.0.1:${port}`);
  await within(once(client, 'open'));
  const echoed: Buffer[] = [];
  client.on('message', (data: Buffer) => echoed.push(data));
  const sizes = [10, 1 << 20, 65536, 5, 200_000, 3, 65536, 70_000, 1];
  const sent = sizes.map((size, i) => Buffer.alloc(size, (i * 41 + 5) & 0xff));
  for (const data of sent) client.send(data);
  await until(() => echoed.length === sent.length, `${sent.length} echoes`);
  got.forEach((data, i) => assert.ok(data.equals(sent[i]), `message ${i} (${sizes[i]} bytes) as received`));
  echoed.forEach((data, i) => assert.ok(data.equals(sent[i]), `echo ${i} (${sizes[i]} bytes)`));
  // pause() stops the reads (TCP pushes back), resume() delivers what waited.
  (serverSide as NodeWebSocket).pause();
  client.send('while paused');
  await delay(50);
  assert.equal(got.length, sent.length, 'nothing delivered while paused');
  (serverSide as NodeWebSocket).resume();
  await until(() => got.length === sent.length + 1, 'the message sent while paused');
  assert.equal(got[sent.length].toString(), 'while paused');
  const plain = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(await plain.text(), 'plain');
  client.close();
  await wss.close({ timeoutMs: 1000 });
  server.close();
});

test('an HTTP server\'s socket with frames pipelined behind the request (async verify) keeps stream reads and loses nothing; a sockwave/ws one keeps them always', async () => {
  const { server, port } = await httpServer();
  const wss = new WebSocketServer({ server, verifyClient: (_info: unknown, done: (ok: boolean) => void) => setTimeout(() => done(true), 30) });
  const got: string[] = [];
  const listeners = new Promise<number>((resolve) =>
    wss.on('connection', (ws: NodeWebSocket) => {
      resolve((ws as unknown as { _socket: net.Socket })._socket.listenerCount('data'));
      ws.on('message', (data: Buffer) => got.push(data.toString()));
    }),
  );
  const { raw } = await rawClient(port);
  raw.write(upgradeRequest());
  for (let i = 0; i < 3; i++) raw.write(clientFrame(1, `early ${i}`));
  await delay(5);
  for (let i = 3; i < 5; i++) raw.write(clientFrame(1, `early ${i}`));
  await until(() => got.length === 5, '5 messages');
  assert.deepEqual(got, ['early 0', 'early 1', 'early 2', 'early 3', 'early 4']);
  assert.equal(await within(listeners), 1, 'bytes were waiting in the stream: it keeps reading through it');
  raw.destroy();
  await wss.close({ timeoutMs: 1000 });
  server.close();

  const { WebSocketServer: WsEntryServer } = await import('../../../src/ws.js');
  const second = await httpServer();
  const wsEntry = new WsEntryServer({ server: second.server });
  const seen = new Promise<number>((resolve) => wsEntry.on('connection', (ws: NodeWebSocket) => resolve((ws as unknown as { _socket: net.Socket })._socket.listenerCount('data'))));
  const { WebSocket: WS } = await import('ws');
  const client = new WS(`ws://127.0.0.1:${second.port}`);
  await within(once(client, 'open'));
  assert.equal(await within(seen), 1);
  client.close();
  await new Promise<void>((resolve) => wsEntry.close(() => resolve()));
  second.server.close();
});

test("a 'sockwave/ws' server reads as ws does: a 'data' listener on ws._socket sees the frames", async () => {
  const { WebSocketServer: WsEntryServer } = await import('../../../src/ws.js');
  const wss = new WsEntryServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  const seen = new Promise<Buffer>((resolve) => {
    wss.on('connection', (ws: NodeWebSocket) => {
      const chunks: Buffer[] = [];
      (ws as unknown as { _socket: net.Socket })._socket.prependListener('data', (chunk: Buffer) => chunks.push(chunk));
      ws.on('message', () => resolve(Buffer.concat(chunks)));
    });
  });
  const { WebSocket: WS } = await import('ws');
  const client = new WS(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  await within(once(client, 'open'));
  client.send('over the stream');
  const bytes = await within(seen);
  assert.equal(bytes.length, 6 + 'over the stream'.length, 'the masked frame, as read');
  client.close();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
});

test('a head that arrives in pieces is parsed from copies: later reads into the same buffer change nothing', async () => {
  const { wss, port } = await startServer();
  let request: IncomingMessage | undefined;
  wss.on('connection', (_ws: NodeWebSocket, req: IncomingMessage) => (request = req));
  const { raw, received } = await rawClient(port);
  const head = upgradeRequest({ 'Sec-WebSocket-Key': KEY_A, 'X-Probe': 'first-piece-value' });
  // Each piece is a read of its own into the start of the scratch buffer; the last one
  // is long enough to overwrite the bytes of both earlier pieces there.
  const cut1 = head.indexOf('X-Probe') + 12;
  const cut2 = head.indexOf('\r\n', cut1) + 2;
  for (const piece of [head.slice(0, cut1), head.slice(cut1, cut2), `${head.slice(cut2, -2)}${'X-Filler: '.padEnd(200, 'z')}\r\n\r\n`]) {
    raw.write(piece);
    await delay(30);
  }
  await until(() => received().includes('\r\n\r\n'), 'the 101');
  assert.match(received(), /^HTTP\/1\.1 101 /);
  assert.ok(received().includes(`Sec-WebSocket-Accept: ${acceptFor(KEY_A)}\r\n`), received());
  assert.equal(request?.headers['x-probe'], 'first-piece-value');
  assert.equal(request?.headers['sec-websocket-key'], KEY_A);
  raw.destroy();
  await wss.close({ timeoutMs: 1000 });
});

test('frames read with the head are kept as a copy: reads before their replay do not overwrite them', async () => {
  // An async verify hook holds the first frame back while later reads land in the scratch buffer.
  const { wss, port } = await startServer({
    verifyClient: (_info: unknown, done: (ok: boolean) => void) => void setTimeout(() => done(true), 80),
  });
  const got: string[] = [];
  wss.on('connection', (ws: NodeWebSocket) => ws.on('message', (data: Buffer) => got.push(data.toString())));
  const { raw } = await rawClient(port);
  const first = 'f'.repeat(100);
  raw.write(Buffer.concat([Buffer.from(upgradeRequest()), clientFrame(1, first)]));
  await delay(20);
  // Bytes that land at the start of the scratch buffer while the first frame waits.
  raw.write(Buffer.concat(Array.from({ length: 20 }, (_, i) => clientFrame(1, `x${i}`.padEnd(120, 'y')))));
  await until(() => got.length === 21, '21 messages');
  assert.equal(got[0], first);
  assert.deepEqual(got.slice(1), Array.from({ length: 20 }, (_, i) => `x${i}`.padEnd(120, 'y')));
  raw.destroy();
  await wss.close({ timeoutMs: 1000 });
});

test('bytes that arrive while an async verify hook decides reach the socket intact and in order', async () => {
  const { wss, port } = await startServer({
    verifyClient: (_info: unknown, done: (ok: boolean) => void) => void setTimeout(() => done(true), 60),
  });
  const got: string[] = [];
  wss.on('connection', (ws: NodeWebSocket) => ws.on('message', (data: Buffer) => got.push(data.toString())));
  const { raw } = await rawClient(port);
  raw.write(upgradeRequest());
  const expected: string[] = [];
  for (let i = 0; i < 5; i++) {
    await delay(8);
    const text = `while-deciding-${i}`.padEnd(100, String(i));
    expected.push(text);
    raw.write(clientFrame(1, text));
  }
  await until(() => got.length === 5, '5 messages');
  assert.deepEqual(got, expected);
  raw.destroy();
  await wss.close({ timeoutMs: 1000 });
});

test('large and small messages in any order arrive intact, and a small one pins no more than a read buffer (65 KiB, 64 KiB as with Node\'s reads plus room for a header)', async () => {
  const { wss, got, client } = await recordingServer();
  const sizes = [1 << 20, 10, 10, 200_000, 5, 70_000, 3, 1 << 20, 17, 2];
  const sent = sizes.map((size, i) => Buffer.alloc(size, (i * 37 + 11) & 0xff));
  for (const data of sent) client.send(data);
  await until(() => got.length === sent.length, `${sent.length} messages`);
  got.forEach((data, i) => assert.ok(data.equals(sent[i]), `message ${i} (${sizes[i]} bytes)`));
  for (const [i, data] of got.entries()) {
    if (sizes[i] < 100) assert.ok(data.buffer.byteLength <= BULK_BUFFER_BYTES, `message ${i} holds a ${data.buffer.byteLength}-byte buffer`);
  }
  client.close();
  await wss.close({ timeoutMs: 1000 });
});

test('a 64 KiB message read whole in bulk is a view of its read (no copy) and stays intact while later reads arrive', async () => {
  const { wss, got, client } = await recordingServer();
  // The first large read goes to scratch and starts bulk reads; then 64 KiB messages one at a time,
  // each written whole, so the server finds each frame (65,550 bytes) queued whole.
  const sent: Buffer[] = [];
  const first = Buffer.alloc(200_000, 7);
  client.send(first);
  sent.push(first);
  await until(() => got.length === 1, 'the first message');
  for (let i = 0; i < 12; i++) {
    const data = Buffer.alloc(65536, (i * 29 + 3) & 0xff);
    data[0] = i;
    sent.push(data);
    client.send(data);
    await until(() => got.length === sent.length, `message ${sent.length}`);
  }
  // Later reads (and the small ones after them) must not have touched the earlier messages.
  for (let i = 0; i < 50; i++) client.send(Buffer.alloc(70_000 + i, 0xee));
  await until(() => got.length === sent.length + 50, 'the trailing messages');
  got.slice(0, sent.length).forEach((data, i) => assert.ok(data.equals(sent[i]), `message ${i} intact`));
  const views = got.slice(1, sent.length).filter((data) => data.buffer.byteLength === BULK_BUFFER_BYTES && data.byteOffset === 14);
  // A frame can be split across two reads now and then (it arrives as two TCP segments); most are whole.
  assert.ok(views.length >= 6, `only ${views.length} of 12 64 KiB messages were views of their read`);
  client.close();
  await wss.close({ timeoutMs: 1000 });
});
