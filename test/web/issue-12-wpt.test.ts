/**
 * Issue #12, section 2: the WHATWG WebSocket failures the Web Platform Tests
 * found (websockets/constructor/001 and 014, idlharness, events/013 and 018,
 * Create-protocols-repeated-case-insensitive, Create-non-absolute-url,
 * Create-url-with-windows-1252-encoding), each checked here without WPT,
 * against a real `ws` server on loopback.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { WebSocket } from '../../src/web/websocket.js';
import { CloseEvent, ErrorEvent, MessageEvent } from '../../src/web/events.js';
import { startWsServer, type Peer } from '../node/client/peers.js';

const peers: Peer[] = [];
after(async () => {
  await Promise.all(peers.map((peer) => peer.close()));
});

function waitFor(ws: WebSocket, type: string): Promise<Event> {
  return new Promise((resolve) => ws.addEventListener(type, resolve, { once: true }));
}

/** A ws server that holds every handshake for `delayMs` and records when each request arrived. */
async function startSlowServer(delayMs: number): Promise<Peer & { arrivals: number[]; origins: Array<string | undefined> }> {
  const arrivals: number[] = [];
  const origins: Array<string | undefined> = [];
  const peer = await startWsServer({
    verifyClient: (info: { req: IncomingMessage }, done: (ok: boolean) => void) => {
      arrivals.push(performance.now());
      origins.push(info.req.headers.origin);
      setTimeout(() => done(true), delayMs);
    },
  } as never);
  peers.push(peer);
  return Object.assign(peer, { arrivals, origins });
}

test('issue 12: new WebSocket() with no arguments throws TypeError (WPT constructor/001)', () => {
  const Ctor = WebSocket as unknown as new () => WebSocket;
  assert.throws(() => new Ctor(), TypeError);
});

test('issue 12: WebIDL shape: length 1, enumerable accessors and operations, class strings (WPT idlharness)', () => {
  assert.equal(WebSocket.length, 1);
  assert.equal(WebSocket.prototype.close.length, 0);
  assert.equal(WebSocket.prototype.send.length, 1);
  for (const name of ['url', 'readyState', 'bufferedAmount', 'extensions', 'protocol', 'binaryType', 'onopen', 'onmessage', 'onerror', 'onclose']) {
    const descriptor = Object.getOwnPropertyDescriptor(WebSocket.prototype, name);
    assert.ok(descriptor?.get, `${name} is an accessor`);
    assert.equal(descriptor.enumerable, true, `${name} is enumerable`);
  }
  for (const name of ['close', 'send']) {
    assert.equal(Object.getOwnPropertyDescriptor(WebSocket.prototype, name)?.enumerable, true, `${name} is enumerable`);
  }
  for (const name of ['wasClean', 'code', 'reason']) {
    assert.equal(Object.getOwnPropertyDescriptor(CloseEvent.prototype, name)?.enumerable, true, `CloseEvent ${name}`);
  }
  assert.equal(String(new CloseEvent('close')), '[object CloseEvent]');
  assert.equal(String(new ErrorEvent('error')), '[object ErrorEvent]');
  const message = new MessageEvent('message', { data: 'x' });
  assert.equal(String(message), '[object MessageEvent]');
  assert.ok(message instanceof globalThis.MessageEvent, 'still a platform MessageEvent');
  // Operations and setters check their receiver before their arguments.
  assert.throws(() => WebSocket.prototype.close.call(null, 7), TypeError);
  assert.throws(() => Reflect.set(WebSocket.prototype, 'binaryType', 'blob', {}), TypeError);
});

test('issue 12: a message event prints as [object MessageEvent] (WPT events/018)', async () => {
  const peer = await startWsServer();
  peers.push(peer);
  const ws = new WebSocket(peer.url);
  await waitFor(ws, 'open');
  ws.send('hello');
  const event = await waitFor(ws, 'message');
  assert.equal(Object.prototype.toString.call(event), '[object MessageEvent]');
  ws.close();
  await waitFor(ws, 'close');
});

test('issue 12: on* attributes keep a non-callable object and never call it; primitives mean null (WPT events/013)', async () => {
  const peer = await startWsServer();
  peers.push(peer);
  const ws = new WebSocket(peer.url);
  const object = { handleEvent: () => assert.fail('a non-callable handler is not called') };
  ws.onopen = object as never;
  ws.onclose = object as never;
  assert.equal(ws.onopen, object);
  await waitFor(ws, 'open');
  ws.onmessage = 42 as never;
  assert.equal(ws.onmessage, null);
  ws.close();
  await waitFor(ws, 'close');
  assert.equal(ws.onclose, object);
});

test('issue 12: protocols repeated in another case throw SyntaxError (WPT Create-protocols-repeated-case-insensitive)', () => {
  assert.throws(
    () => new WebSocket('ws://127.0.0.1:1/', ['chat', 'CHAT']),
    (error: unknown) => error instanceof DOMException && error.name === 'SyntaxError',
  );
});

test('issue 12: relative URLs resolve against the baseUrl option, percent-encoded in UTF-8 (WPT Create-url-with-windows-1252-encoding)', async () => {
  const peer = await startWsServer();
  peers.push(peer);
  const base = peer.url.replace('ws:', 'http:') + '/app/page.html';
  const ws = new WebSocket('/?€', { baseUrl: base });
  assert.equal(ws.url, `${peer.url}/?%E2%82%AC`);
  await waitFor(ws, 'open');
  ws.close();
  await waitFor(ws, 'close');
  // No base at all: a relative URL is still a SyntaxError.
  assert.throws(() => new WebSocket('/chat'), (error: unknown) => error instanceof DOMException && error.name === 'SyntaxError');
});

test('issue 12: with globalThis.location, relative URLs resolve against it and the page origin is sent (WPT Create-non-absolute-url)', async () => {
  const peer = await startSlowServer(0);
  const pageUrl = new URL(peer.url.replace('ws:', 'http:') + '/dir/index.html');
  const g = globalThis as { location?: unknown };
  g.location = pageUrl;
  try {
    const ws = new WebSocket('socket?x=1');
    assert.equal(ws.url, `${peer.url}/dir/socket?x=1`);
    await waitFor(ws, 'open');
    assert.equal(peer.origins.at(-1), pageUrl.origin);
    ws.close();
    await waitFor(ws, 'close');
    // An explicit origin option wins over the page's.
    const other = new WebSocket('socket', { origin: 'https://app.example' });
    await waitFor(other, 'open');
    assert.equal(peer.origins.at(-1), 'https://app.example');
    other.close();
    await waitFor(other, 'close');
  } finally {
    delete g.location;
  }
});

test('issue 12: connections to one host open one at a time while CONNECTING (WPT constructor/014)', async () => {
  const peer = await startSlowServer(300);
  const first = new WebSocket(peer.url);
  const second = new WebSocket(peer.url);
  await Promise.all([waitFor(first, 'open'), waitFor(second, 'open')]);
  assert.equal(peer.arrivals.length, 2);
  const gap = peer.arrivals[1] - peer.arrivals[0];
  assert.ok(gap >= 250, `the second handshake started ${gap.toFixed(0)} ms after the first, before it opened`);
  first.close();
  second.close();
  await Promise.all([waitFor(first, 'close'), waitFor(second, 'close')]);
});

test('issue 12: connections to different hosts do not wait for each other', async () => {
  const a = await startSlowServer(500);
  const b = await startSlowServer(500);
  const first = new WebSocket(a.url);
  const second = new WebSocket(b.url);
  await Promise.all([waitFor(first, 'open'), waitFor(second, 'open')]);
  // Waiting would mean b hears from us only after a's 101, 500 ms after a got its request
  // (measured from a's arrival, not the wall clock, so a loaded machine does not matter).
  assert.ok(b.arrivals[0] < a.arrivals[0] + 500, 'the second host was contacted without waiting for the first');
  first.close();
  second.close();
  await Promise.all([waitFor(first, 'close'), waitFor(second, 'close')]);
});

test('issue 12: close() while waiting for its turn fails that connection without contacting the server', async () => {
  const peer = await startSlowServer(200);
  const first = new WebSocket(peer.url);
  const waiting = new WebSocket(peer.url);
  const events: string[] = [];
  waiting.addEventListener('error', () => events.push('error'));
  const closed = new Promise<CloseEvent>((resolve) => waiting.addEventListener('close', (e) => resolve(e as CloseEvent)));
  waiting.close();
  assert.equal(waiting.readyState, WebSocket.CLOSING);
  const event = await closed;
  assert.deepEqual(events, ['error']);
  assert.equal(event.code, 1006);
  assert.equal(event.wasClean, false);
  await waitFor(first, 'open');
  // A third connection after the given-up one still gets its turn.
  const third = new WebSocket(peer.url);
  await waitFor(third, 'open');
  assert.equal(peer.arrivals.length, 2, 'the closed one never reached the server');
  first.close();
  third.close();
  await Promise.all([waitFor(first, 'close'), waitFor(third, 'close')]);
});
