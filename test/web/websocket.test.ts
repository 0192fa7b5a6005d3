/**
 * WHATWG WebSocket conformance over real loopback connections to a `ws`
 * server: ready states, event order, event objects, binaryType, send of every
 * data type, bufferedAmount, close() rules.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from '../../src/web/websocket.js';
import { CloseEvent, ErrorEvent, MessageEvent } from '../../src/web/events.js';
import { startRawServer, startWsServer, type Peer } from '../node/client/peers.js';
import type { WebSocket as WsSocket } from 'ws';

let peer: Peer & { server: import('ws').WebSocketServer };
/** Server-side sockets in connection order, so a test can drive the server end. */
const serverSockets: WsSocket[] = [];
/** What the server received: [isBinary, bytes] per message, per connection. */
const received = new Map<WsSocket, Array<[boolean, Buffer]>>();
const closes = new Map<WsSocket, { code: number; reason: string }>();

before(async () => {
  peer = await startWsServer(
    { handleProtocols: (protocols) => (protocols.has('superchat') ? 'superchat' : false) },
    (socket) => {
      serverSockets.push(socket);
      received.set(socket, []);
      socket.on('message', (data, isBinary) => {
        const bytes = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
        received.get(socket)!.push([isBinary, bytes]);
        const text = bytes.toString();
        if (!isBinary && text.startsWith('close ')) {
          const [, code, ...reason] = text.split(' ');
          socket.close(code === 'none' ? undefined : Number(code), reason.join(' ') || undefined);
          return;
        }
        if (!isBinary && text === 'drop') {
          socket.terminate();
          return;
        }
        socket.send(bytes, { binary: isBinary });
      });
      socket.on('close', (code, reason) => closes.set(socket, { code, reason: reason.toString() }));
    },
  );
});

after(async () => {
  await peer.close();
});

function eventLog(ws: WebSocket): string[] {
  const log: string[] = [];
  for (const type of ['open', 'message', 'error', 'close']) {
    ws.addEventListener(type, () => log.push(`${type}:${ws.readyState}`));
  }
  return log;
}

function next<T extends Event = Event>(ws: WebSocket, type: string): Promise<T> {
  return new Promise((resolve) => ws.addEventListener(type, (event) => resolve(event as T), { once: true }));
}

async function opened(url = peer.url, protocols?: string | string[]): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols);
  await next(ws, 'open');
  return ws;
}

function assertDomException(fn: () => unknown, name: string): void {
  assert.throws(fn, (error: unknown) => error instanceof DOMException && error.name === name);
}

test('constants exist on the class and on instances; initial attributes are per spec', async () => {
  assert.deepEqual([WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED], [0, 1, 2, 3]);
  const ws = new WebSocket(peer.url.replace('ws:', 'http:') + '/path?q=1');
  assert.deepEqual([ws.CONNECTING, ws.OPEN, ws.CLOSING, ws.CLOSED], [0, 1, 2, 3]);
  assert.ok('OPEN' in WebSocket.prototype);
  assert.equal(ws.readyState, WebSocket.CONNECTING);
  assert.equal(ws.url, peer.url + '/path?q=1');
  assert.equal(ws.protocol, '');
  assert.equal(ws.extensions, '');
  assert.equal(ws.bufferedAmount, 0);
  assert.equal(ws.binaryType, 'blob');
  ws.binaryType = 'nonsense' as never;
  assert.equal(ws.binaryType, 'blob');
  ws.binaryType = 'arraybuffer';
  assert.equal(ws.binaryType, 'arraybuffer');
  assert.ok(ws instanceof EventTarget);
  assert.equal(Object.prototype.toString.call(ws), '[object WebSocket]');
  await next(ws, 'open');
  ws.close();
  await next(ws, 'close');
});

test('constructor throws SyntaxError for bad URLs and protocols before connecting', () => {
  assertDomException(() => new WebSocket('ftp://127.0.0.1/'), 'SyntaxError');
  assertDomException(() => new WebSocket('ws://127.0.0.1/#frag'), 'SyntaxError');
  assertDomException(() => new WebSocket('ws://127.0.0.1/#'), 'SyntaxError');
  assertDomException(() => new WebSocket('nonsense'), 'SyntaxError');
  assertDomException(() => new WebSocket(peer.url, ['a', 'a']), 'SyntaxError');
  assertDomException(() => new WebSocket(peer.url, 'a b'), 'SyntaxError');
  assertDomException(() => new WebSocket(peer.url, ['']), 'SyntaxError');
});

test('send() while CONNECTING throws InvalidStateError and sends nothing', async () => {
  const ws = new WebSocket(peer.url);
  assertDomException(() => ws.send('too early'), 'InvalidStateError');
  assert.equal(ws.bufferedAmount, 0);
  await next(ws, 'open');
  ws.close();
  await next(ws, 'close');
});

test('open, message and close fire in order with the right ready states and event classes', async () => {
  const ws = new WebSocket(peer.url, ['chat', 'superchat']);
  const log = eventLog(ws);
  await next(ws, 'open');
  assert.equal(ws.protocol, 'superchat');
  const message = next<MessageEvent>(ws, 'message');
  ws.send('hello');
  const event = await message;
  assert.ok(event instanceof MessageEvent);
  assert.equal(event.data, 'hello');
  assert.equal(event.origin, new URL(peer.url).origin);
  const close = next<CloseEvent>(ws, 'close');
  ws.close(1000, 'done');
  assert.equal(ws.readyState, WebSocket.CLOSING);
  const closeEvent = await close;
  assert.ok(closeEvent instanceof CloseEvent);
  assert.deepEqual([closeEvent.wasClean, closeEvent.code, closeEvent.reason], [true, 1000, 'done']);
  assert.deepEqual(log, ['open:1', 'message:1', 'close:3']);
  const serverSide = serverSockets.at(-1)!;
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(closes.get(serverSide), { code: 1000, reason: 'done' });
});

test('on* handler attributes and addEventListener both fire, in registration order', async () => {
  const ws = new WebSocket(peer.url);
  const order: string[] = [];
  ws.addEventListener('open', () => order.push('listener-1'));
  ws.onopen = () => order.push('first-handler');
  ws.addEventListener('open', () => order.push('listener-2'));
  // Replacing the handler keeps its place among listeners (HTML event handler processing).
  ws.onopen = function (this: WebSocket) {
    assert.equal(this, ws);
    order.push('handler');
  };
  assert.equal(typeof ws.onopen, 'function');
  ws.onmessage = () => order.push('never');
  ws.onmessage = null;
  assert.equal(ws.onmessage, null);
  await next(ws, 'open');
  assert.deepEqual(order, ['listener-1', 'handler', 'listener-2']);
  const closed = new Promise<CloseEvent>((resolve) => {
    ws.onclose = (event) => resolve(event);
  });
  ws.close();
  assert.equal((await closed).code, 1005);
});

test('binaryType blob (default) delivers a Blob, arraybuffer an ArrayBuffer, with exact bytes', async () => {
  const ws = await opened();
  const bytes = new Uint8Array([0, 1, 2, 253, 254, 255]);
  let message = next<MessageEvent>(ws, 'message');
  ws.send(bytes);
  const blob = (await message).data;
  assert.ok(blob instanceof Blob);
  assert.deepEqual(new Uint8Array(await (blob as Blob).arrayBuffer()), bytes);
  ws.binaryType = 'arraybuffer';
  message = next<MessageEvent>(ws, 'message');
  ws.send(bytes.buffer);
  const buffer = (await message).data;
  assert.ok(buffer instanceof ArrayBuffer);
  assert.deepEqual(new Uint8Array(buffer as ArrayBuffer), bytes);
  ws.close();
  await next(ws, 'close');
});

test('send() accepts string, ArrayBuffer, views with offsets, DataView and Blob, keeping order', async () => {
  const ws = await opened();
  const serverSide = serverSockets.at(-1)!;
  ws.binaryType = 'arraybuffer';
  const backing = new Uint8Array([9, 8, 7, 6, 5, 4, 3, 2]);
  const count = 7;
  let seen = 0;
  const allEchoed = new Promise<void>((resolve) => {
    ws.addEventListener('message', () => {
      if (++seen === count) resolve();
    });
  });
  ws.send(new Blob([new Uint8Array([1, 2, 3])])); // read asynchronously: must still go first
  ws.send('text \ud83d\ude00');
  ws.send(backing.subarray(2, 5));
  ws.send(new DataView(backing.buffer, 6, 2));
  ws.send(new Uint16Array([0x0102]));
  ws.send(new Blob(['blob text'])); // a Blob is always binary
  ws.send(12345 as unknown as string); // other values are converted to strings
  await allEchoed;
  const got = received.get(serverSide)!;
  assert.deepEqual(
    got.map(([isBinary, data]) => [isBinary, [...data]]),
    [
      [true, [1, 2, 3]],
      [false, [...Buffer.from('text \ud83d\ude00')]],
      [true, [7, 6, 5]],
      [true, [3, 2]],
      [true, [...Buffer.from(new Uint16Array([0x0102]).buffer)]],
      [true, [...Buffer.from('blob text')]],
      [false, [...Buffer.from('12345')]],
    ],
  );
  ws.close();
  await next(ws, 'close');
});

test('send() copies the bytes: changing the buffer afterwards does not change the message', async () => {
  const ws = await opened();
  ws.binaryType = 'arraybuffer';
  const data = new Uint8Array([1, 2, 3]);
  const message = next<MessageEvent>(ws, 'message');
  ws.send(data);
  data.fill(0);
  assert.deepEqual(new Uint8Array((await message).data as ArrayBuffer), new Uint8Array([1, 2, 3]));
  ws.close();
  await next(ws, 'close');
});

test('bufferedAmount counts queued UTF-8 bytes, drains to 0, and only grows after closing starts', async () => {
  const ws = await opened();
  ws.send('\u20ac'.repeat(10)); // 30 UTF-8 bytes
  ws.send(new Uint8Array(5));
  assert.equal(ws.bufferedAmount, 35);
  await new Promise<void>((resolve) => {
    const poll = (): void => (ws.bufferedAmount === 0 ? resolve() : void setTimeout(poll, 5));
    poll();
  });
  ws.close();
  assert.equal(ws.readyState, WebSocket.CLOSING);
  ws.send('abc'); // does not throw, is not sent, is counted
  assert.equal(ws.bufferedAmount, 3);
  await next(ws, 'close');
  ws.send(new Uint8Array(4));
  assert.equal(ws.bufferedAmount, 7);
  assert.equal(ws.readyState, WebSocket.CLOSED);
});

test('close() argument errors are InvalidAccessError/SyntaxError and leave the socket OPEN', async () => {
  const ws = await opened();
  assertDomException(() => ws.close(1001), 'InvalidAccessError');
  assertDomException(() => ws.close(2999), 'InvalidAccessError');
  assertDomException(() => ws.close(5000), 'InvalidAccessError');
  assertDomException(() => ws.close(0), 'InvalidAccessError');
  assertDomException(() => ws.close(1000, 'x'.repeat(124)), 'SyntaxError');
  assert.equal(ws.readyState, WebSocket.OPEN);
  const close = next<CloseEvent>(ws, 'close');
  ws.close(4999, 'x'.repeat(123));
  ws.close(1000); // CLOSING: does nothing
  const event = await close;
  assert.deepEqual([event.code, event.reason.length, event.wasClean], [4999, 123, true]);
});

test('close(undefined, reason) sends 1000 with the reason; close() alone reports 1005', async () => {
  let ws = await opened();
  let close = next<CloseEvent>(ws, 'close');
  ws.close(undefined, 'why');
  assert.deepEqual([(await close).code, (await close).reason], [1000, 'why']);
  ws = await opened();
  close = next<CloseEvent>(ws, 'close');
  ws.close();
  assert.deepEqual([(await close).code, (await close).reason], [1005, '']);
});

test('server-initiated close: readyState CLOSING then CLOSED, CloseEvent carries code and reason', async () => {
  const ws = await opened();
  const log = eventLog(ws);
  const close = next<CloseEvent>(ws, 'close');
  ws.send('close 4002 server bye');
  const event = await close;
  assert.deepEqual([event.wasClean, event.code, event.reason], [true, 4002, 'server bye']);
  assert.deepEqual(log, ['close:3']);
});

test('an abrupt TCP close fires error then close 1006 with wasClean false', async () => {
  const ws = await opened();
  const log = eventLog(ws);
  const close = next<CloseEvent>(ws, 'close');
  ws.send('drop');
  const event = await close;
  assert.deepEqual([event.wasClean, event.code], [false, 1006]);
  assert.deepEqual(log, ['error:3', 'close:3']);
});

test('a refused handshake fires error (ErrorEvent with the cause) then close 1006, never open', async () => {
  const server = await startRawServer((socket) => socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n'));
  try {
    const ws = new WebSocket(server.url);
    const log = eventLog(ws);
    const error = next<ErrorEvent>(ws, 'error');
    const close = next<CloseEvent>(ws, 'close');
    const errorEvent = await error;
    assert.ok(errorEvent instanceof ErrorEvent);
    assert.match(errorEvent.message, /403/);
    const closeEvent = await close;
    assert.deepEqual([closeEvent.wasClean, closeEvent.code, closeEvent.reason], [false, 1006, '']);
    assert.deepEqual(log, ['error:3', 'close:3']);
  } finally {
    await server.close();
  }
});

test('close() while CONNECTING fails the connection: CLOSING at once, then error and close 1006', async () => {
  const ws = new WebSocket(peer.url);
  const log = eventLog(ws);
  ws.close();
  assert.equal(ws.readyState, WebSocket.CLOSING);
  const event = await next<CloseEvent>(ws, 'close');
  assert.equal(event.code, 1006);
  assert.equal(event.wasClean, false);
  assert.deepEqual(log, ['error:3', 'close:3']);
});

test('messages arriving after close() was called are not delivered', async () => {
  const ws = await opened();
  let messages = 0;
  ws.onmessage = () => messages++;
  ws.send('one');
  ws.close();
  await next(ws, 'close');
  assert.equal(messages, 0);
});

test('the options object (Node extra) passes headers; { protocols } may replace the list', async () => {
  const seen: string[] = [];
  const extra = await startWsServer({}, (socket, request) => {
    seen.push(String(request.headers['x-token']), String(request.headers['sec-websocket-protocol']));
    socket.close(1000);
  });
  try {
    const ws = new WebSocket(extra.url, { protocols: ['p1'], headers: { 'X-Token': 'abc' } } as never);
    await next(ws, 'close');
    const ws2 = new WebSocket(extra.url, 'p2', { headers: { 'X-Token': 'def' } });
    await next(ws2, 'close');
    assert.deepEqual(seen, ['abc', 'p1', 'def', 'p2']);
  } finally {
    await extra.close();
  }
});

test('close() right after send(Blob) still delivers the Blob before the close frame', async () => {
  const ws = await opened();
  const serverSide = serverSockets.at(-1)!;
  ws.send(new Blob(['queued before close']));
  ws.send('also before');
  ws.close(3005, 'after blob');
  ws.send('after close: counted, never sent');
  assert.equal(ws.readyState, WebSocket.CLOSING);
  const event = await next<CloseEvent>(ws, 'close');
  assert.deepEqual([event.code, event.reason, event.wasClean], [3005, 'after blob', true]);
  assert.deepEqual(
    received.get(serverSide)!.map(([isBinary, data]) => [isBinary, data.toString()]),
    [
      [true, 'queued before close'],
      [false, 'also before'],
    ],
  );
  assert.equal(ws.bufferedAmount, Buffer.byteLength('after close: counted, never sent'));
});
