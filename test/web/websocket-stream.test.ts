/**
 * WebSocketStream over real loopback sockets: against `ws` (the server side
 * most Node apps run) and python3-websockets (Debian), plus backpressure in
 * both directions measured on the server's side of the TCP connection.
 * The WPT websockets/stream tests run through scripts/wpt (see the report in
 * docs/api.md); these cover what they do not: other peers, and backpressure
 * observed from the peer rather than inferred from timing alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket as WsSocket } from 'ws';
import { WebSocketStream } from '../../src/web/websocket-stream.js';
import { WebSocketError } from '../../src/web/websocket-error.js';
import { findPythonWithWebsockets, startPythonServer } from '../node/client/peers.js';

async function startWs(onConnection: (socket: WsSocket) => void): Promise<{ url: string; wss: WebSocketServer; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: (set) => (set.has('chat') ? 'chat' : false) });
  await once(wss, 'listening');
  wss.on('connection', onConnection);
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`,
    wss,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

const echo = (socket: WsSocket): void => {
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
};

async function echoSuite(peer: string, url: string): Promise<void> {
  const stream = new WebSocketStream(url, { protocols: ['chat'] });
  const { readable, writable, protocol } = await stream.opened;
  assert.equal(protocol, 'chat', peer);
  const writer = writable.getWriter();
  const reader = readable.getReader();
  await writer.write('héllo');
  await writer.write(new Uint8Array([1, 2, 3]));
  await writer.write(new Uint16Array([0x0201]).buffer);
  const first = await reader.read();
  assert.equal(first.value, 'héllo', peer);
  const second = await reader.read();
  assert.ok(second.value instanceof Uint8Array, peer);
  assert.deepEqual([...(second.value as Uint8Array)], [1, 2, 3]);
  const third = await reader.read();
  assert.deepEqual([...(third.value as Uint8Array)], [1, 2]);
  stream.close({ closeCode: 4000, reason: 'done' });
  const closed = await stream.closed;
  assert.equal(closed.closeCode, 4000, peer);
  assert.equal(closed.reason, 'done', peer);
  assert.equal((await reader.read()).done, true, 'the readable ends after a clean close');
}

test('WebSocketStream echoes text and binary with ws and closes cleanly with our code', async () => {
  const server = await startWs(echo);
  try {
    await echoSuite('ws', server.url);
  } finally {
    await server.close();
  }
});

test('WebSocketStream echoes text and binary with python3-websockets', async (t) => {
  const found = findPythonWithWebsockets();
  if ('skip' in found) {
    t.skip(found.skip);
    return;
  }
  const server = await startPythonServer(found.python);
  try {
    await echoSuite('python3-websockets', server.url);
  } finally {
    await server.close();
  }
});

test('reading slowly stops reading from the socket: the server sees its send buffer fill, then drain', async () => {
  const chunk = Buffer.alloc(256 * 1024, 7);
  const count = 64; // 16 MiB, well past the kernel's socket buffers on loopback
  let serverSocket: WsSocket | undefined;
  const server = await startWs((socket) => {
    serverSocket = socket;
    for (let i = 0; i < count; i++) socket.send(chunk);
  });
  try {
    const stream = new WebSocketStream(server.url);
    const { readable } = await stream.opened;
    await new Promise((resolve) => setTimeout(resolve, 400));
    // Without reads the client stopped pulling bytes, so most of the 16 MiB still waits on the server.
    const waiting = serverSocket!.bufferedAmount;
    assert.ok(waiting > 8 * 1024 * 1024, `server still holds ${waiting} bytes`);
    let received = 0;
    const reader = readable.getReader();
    for (let i = 0; i < count; i++) received += ((await reader.read()).value as Uint8Array).byteLength;
    assert.equal(received, count * chunk.length);
    stream.close();
    await stream.closed;
  } finally {
    await server.close();
  }
});

test('a write resolves only when the socket took the data: a server that does not read holds the writer back', async () => {
  let serverSocket: WsSocket | undefined;
  const server = await startWs((socket) => {
    serverSocket = socket;
    // Stop reading at the TCP level for 500 ms.
    (socket as unknown as { _socket: import('node:net').Socket })._socket.pause();
    setTimeout(() => (socket as unknown as { _socket: import('node:net').Socket })._socket.resume(), 500);
    socket.on('message', (data) => socket.send(String((data as Buffer).length)));
  });
  try {
    const stream = new WebSocketStream(server.url);
    const { writable, readable } = await stream.opened;
    const writer = writable.getWriter();
    const started = performance.now();
    await writer.write(new Uint8Array(16 * 1024 * 1024));
    const elapsed = performance.now() - started;
    assert.ok(serverSocket);
    assert.ok(elapsed >= 350, `the write resolved after ${elapsed.toFixed(0)} ms`);
    const { value } = await readable.getReader().read();
    assert.equal(value, String(16 * 1024 * 1024));
    stream.close();
    await stream.closed;
  } finally {
    await server.close();
  }
});

test('cancelling the readable with a WebSocketError sends its code and reason; other reasons send no code', async () => {
  const seen: Array<{ code: number; reason: string }> = [];
  const server = await startWs((socket) => socket.on('close', (code, reason) => seen.push({ code, reason: reason.toString() })));
  try {
    const first = new WebSocketStream(server.url);
    await (await first.opened).readable.cancel(new WebSocketError('', { closeCode: 3001, reason: 'bye' }));
    await first.closed;
    const second = new WebSocketStream(server.url);
    await (await second.opened).writable.abort(new Error('not a WebSocketError'));
    await second.closed;
    // The server's 'close' comes when its TCP side ends, which may be after ours.
    for (let i = 0; i < 100 && seen.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(seen, [
      { code: 3001, reason: 'bye' },
      { code: 1005, reason: '' },
    ]);
  } finally {
    await server.close();
  }
});

test('an abrupt close rejects closed with a WebSocketError (1006) and errors both streams with it', async () => {
  const server = await startWs((socket) => setTimeout(() => socket.terminate(), 20));
  try {
    const stream = new WebSocketStream(server.url);
    const { readable, writable } = await stream.opened;
    const error = await stream.closed.then(
      () => assert.fail('closed should reject'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof WebSocketError);
    assert.ok(error instanceof DOMException);
    assert.equal(error.closeCode, 1006);
    await assert.rejects(readable.getReader().read(), (e) => e === error);
    await assert.rejects(writable.getWriter().ready, (e) => e === error);
  } finally {
    await server.close();
  }
});

test('an abort signal stops the handshake (AbortError); a refused connection is a WebSocketError', async () => {
  // A TCP server that accepts and never answers the upgrade.
  const silent = createServer(() => {});
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  const port = (silent.address() as AddressInfo).port;
  try {
    const controller = new AbortController();
    const stream = new WebSocketStream(`ws://127.0.0.1:${port}/`, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(stream.opened, { name: 'AbortError' });
    await assert.rejects(stream.closed, { name: 'AbortError' });
  } finally {
    silent.close();
  }
  const refused = new WebSocketStream(`ws://127.0.0.1:${port}/`);
  // opened: no connection existed, so no close code (as Chromium); closed: the abnormal closure, 1006.
  await assert.rejects(refused.opened, (e) => e instanceof WebSocketError && e.closeCode === null && /could not be established/.test(e.message));
  await assert.rejects(refused.closed, (e) => e instanceof WebSocketError && e.closeCode === 1006 && /could not be established/.test(e.message));
});

test('bad arguments throw the errors the proposal names', () => {
  assert.throws(() => new (WebSocketStream as unknown as new () => unknown)(), TypeError);
  assert.throws(() => new WebSocketStream('invalid:'), { name: 'SyntaxError' });
  assert.throws(() => new WebSocketStream('ws://127.0.0.1:1/', true as never), TypeError);
  assert.throws(() => new WebSocketStream('ws://127.0.0.1:1/', { protocols: 'chat' as never }), TypeError);
  assert.throws(() => new WebSocketStream('ws://127.0.0.1:1/', { protocols: ['a b'] }), { name: 'SyntaxError' });
  assert.throws(() => new WebSocketError('', { closeCode: 1001 }), { name: 'InvalidAccessError' });
  assert.throws(() => new WebSocketError('', { reason: '🔌'.repeat(32) }), { name: 'SyntaxError' });
  assert.throws(() => new WebSocketError('', { closeCode: Number.NaN }), TypeError);
  const error = new WebSocketError('m', { reason: 'r' });
  assert.equal(error.name, 'WebSocketError');
  assert.equal(error.closeCode, 1000);
  assert.equal(error.code, 0);
});
