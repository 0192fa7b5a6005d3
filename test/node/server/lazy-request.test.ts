/**
 * The standalone server's upgrade request (server/lazy-request.ts): an
 * http.IncomingMessage whose stream half is made on first use. Real loopback
 * sockets, the `ws` client as the peer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Readable } from 'node:stream';
import type { NodeWebSocket } from '../../../src/node/socket/websocket.js';
import { isLazyRequest } from '../../../src/node/server/lazy-request.js';
import { openClient, startServer, within } from './helpers.js';

async function oneRequest(path = '/'): Promise<{ request: http.IncomingMessage; socket: NodeWebSocket; finish(): Promise<void> }> {
  const { wss, url } = await startServer();
  const seen = new Promise<[NodeWebSocket, http.IncomingMessage]>((resolve) => wss.once('connection', (s, r) => resolve([s, r])));
  const client = await openClient(`${url}${path}`, { headers: { 'X-Token': 'abc', 'X-Twice': 'a' } });
  const [socket, request] = await within(seen);
  return {
    request,
    socket,
    async finish() {
      client.close();
      await wss.close({ timeoutMs: 1000 });
    },
  };
}

test('this Node gets the lazy request (the layout check matches Node 20)', () => {
  assert.equal(isLazyRequest, true);
});

test('the request reads as an IncomingMessage before its stream half exists', async () => {
  const { request, socket, finish } = await oneRequest('/room?x=1');
  assert.ok(request instanceof http.IncomingMessage);
  assert.ok(request instanceof Readable);
  assert.equal(Object.hasOwn(request, '_readableState'), false, 'no stream made for reading plain fields');
  assert.equal(request.method, 'GET');
  assert.equal(request.url, '/room?x=1');
  assert.equal(request.httpVersion, '1.1');
  assert.equal(request.httpVersionMajor, 1);
  assert.equal(request.httpVersionMinor, 1);
  assert.equal(request.complete, true);
  assert.equal((request as http.IncomingMessage & { upgrade: boolean }).upgrade, true);
  assert.equal(request.headers['x-token'], 'abc');
  assert.equal(request.headers.upgrade, 'websocket');
  assert.equal(request.headersDistinct['x-token']?.[0], 'abc');
  assert.ok(request.rawHeaders.includes('X-Token'));
  assert.deepEqual(request.rawTrailers, []);
  assert.deepEqual(request.trailers, {});
  assert.equal(request.socket, socket._socket);
  assert.equal(request.connection, socket._socket);
  assert.equal(Object.hasOwn(request, '_readableState'), false);
  await finish();
});

test('the first stream or emitter use makes the stream, as new IncomingMessage(socket) would', async () => {
  const { request, finish } = await oneRequest();
  const seen: string[] = [];
  request.on('custom', (value: string) => seen.push(value));
  assert.equal(Object.hasOwn(request, '_readableState'), true);
  assert.equal(request.emit('custom', 'a'), true);
  assert.deepEqual(seen, ['a']);
  assert.equal(request.listenerCount('custom'), 1);
  assert.equal(request.readable, true);
  assert.equal(request.destroyed, false);
  assert.equal(request.readableHighWaterMark, request.socket.readableHighWaterMark);
  // The fields set before the stream was made survive it.
  assert.equal(request.url, '/');
  assert.equal(request.headers['x-token'], 'abc');
  const real = new http.IncomingMessage(request.socket);
  real.on('custom', () => {});
  assert.deepEqual(Reflect.ownKeys(request).map(String).sort(), Reflect.ownKeys(real).map(String).sort());
  request.destroy();
  assert.equal(request.destroyed, true);
  await finish();
});

test('a property written before any stream use makes the stream first, then holds the value', async () => {
  const { request, finish } = await oneRequest();
  (request as unknown as { _maxListeners: number })._maxListeners = 3;
  assert.equal(request.getMaxListeners(), 3);
  assert.equal(request.readable, true);
  await finish();
});

test('two requests do not share their arrays or streams', async () => {
  const a = await oneRequest('/a');
  const b = await oneRequest('/b');
  assert.notEqual(a.request.rawTrailers, b.request.rawTrailers);
  a.request.on('x', () => {});
  assert.equal(Object.hasOwn(b.request, '_readableState'), false);
  assert.equal(b.request.listenerCount('x'), 0);
  assert.notEqual((a.request as unknown as { _readableState: object })._readableState, (b.request as unknown as { _readableState: object })._readableState);
  await a.finish();
  await b.finish();
});
