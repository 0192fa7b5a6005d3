/**
 * The Node client over HTTP/2 (RFC 8441) against sockwave's server on a
 * node:http2 secure server: hundreds of sockets on one pooled session,
 * deflate, the session closed after the last socket, and the fallbacks:
 * ALPN http/1.1 (same TLS connection), h2 without the setting (new
 * HTTP/1.1 connection), 'require' and 'never'.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import https from 'node:https';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect } from '../../../src/node/socket/connect.js';
import type { NodeWebSocket } from '../../../src/node/socket/websocket.js';
import { WebSocketServer } from '../../../src/node/server/server.js';
import { clearHttp2Memory, http2PoolSnapshot } from '../../../src/node/client/h2-session-pool.js';
import { makeCertificate, startH2Server, type Credentials } from '../server/h2-helpers.js';
import { within } from '../server/helpers.js';

const credentials = makeCertificate();
const skip = typeof credentials === 'string' ? credentials : false;
const creds = credentials as Credentials;

function echo(ws: NodeWebSocket): void {
  ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
}

async function open(url: string, options: Parameters<typeof connect>[1] = {}): Promise<{ ws: NodeWebSocket; httpVersion: string }> {
  const ws = connect(url, { tls: { ca: creds.cert }, ...options });
  let httpVersion = '';
  ws.once('upgrade', (response: { httpVersion: string }) => (httpVersion = response.httpVersion));
  await within(
    new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    }),
    10_000,
    'open',
  );
  return { ws, httpVersion };
}

function nextMessage(ws: NodeWebSocket): Promise<string> {
  return within(new Promise((resolve) => ws.once('message', (data: Buffer) => resolve(data.toString()))));
}

async function closeAll(sockets: NodeWebSocket[]): Promise<void> {
  await Promise.all(sockets.map((ws) => {
    const closed = once(ws, 'close');
    ws.close(1000);
    return within(closed);
  }));
}

test('three hundred client sockets ride one HTTP/2 session, and it closes after the last one', { skip }, async () => {
  clearHttp2Memory();
  const fx = await startH2Server(creds);
  fx.wss.on('connection', echo);
  try {
    const opened = await Promise.all(Array.from({ length: 300 }, () => open(`wss://localhost:${fx.port}/`)));
    assert.ok(opened.every((o) => o.httpVersion === '2.0'));
    assert.equal(fx.connections(), 1);
    assert.deepEqual(http2PoolSnapshot(), { sessions: 1, streams: 300 });
    const replies = await Promise.all(opened.map(({ ws }, i) => {
      const reply = nextMessage(ws);
      ws.send(`m${i}`);
      return reply;
    }));
    replies.forEach((reply, i) => assert.equal(reply, `m${i}`));
    // A server close code reaches the client over its stream.
    const first = opened[0].ws;
    const closed = once(first, 'close');
    [...fx.wss.clients][0].close(4002, 'done');
    const [code] = (await within(closed)) as [number];
    assert.equal(code, 4002);
    await closeAll(opened.slice(1).map((o) => o.ws));
    await within(new Promise<void>((resolve) => {
      const poll = (): void => (http2PoolSnapshot().sessions === 0 ? resolve() : void setTimeout(poll, 10));
      poll();
    }));
  } finally {
    await fx.stop();
  }
});

test('permessage-deflate over HTTP/2 between our client and our server', { skip }, async () => {
  clearHttp2Memory();
  const fx = await startH2Server(creds, { perMessageDeflate: { threshold: 0 } });
  fx.wss.on('connection', echo);
  try {
    const { ws, httpVersion } = await open(`wss://localhost:${fx.port}/`);
    assert.equal(httpVersion, '2.0');
    assert.match(ws.extensions, /permessage-deflate/);
    const text = 'squeeze '.repeat(1000);
    const reply = nextMessage(ws);
    ws.send(text);
    assert.equal(await reply, text);
    await closeAll([ws]);
  } finally {
    await fx.stop();
  }
});

test('an HTTP/1.1-only server: ALPN picks http/1.1 and the same TLS connection carries the upgrade', { skip }, async () => {
  clearHttp2Memory();
  const server = https.createServer({ ...creds });
  let connections = 0;
  server.on('connection', () => connections++);
  const wss = new WebSocketServer({ server });
  wss.on('connection', echo);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  try {
    const { ws, httpVersion } = await open(`wss://localhost:${port}/`);
    assert.equal(httpVersion, '1.1');
    assert.equal(connections, 1);
    const reply = nextMessage(ws);
    ws.send('h1');
    assert.equal(await reply, 'h1');
    await closeAll([ws]);
    // 'require' refuses to fall back.
    const strict = connect(`wss://localhost:${port}/`, { tls: { ca: creds.cert }, http2: 'require' });
    const error = await within(new Promise<Error>((resolve) => strict.once('error', resolve)));
    assert.match(error.message, /HTTP\/2/);
  } finally {
    await wss.close({ timeoutMs: 200 });
    server.close();
  }
});

test('an h2 server that does not advertise extended CONNECT gets HTTP/1.1 on a new connection; never skips h2', { skip }, async () => {
  clearHttp2Memory();
  // WebSockets over HTTP/1.1 only: the WebSocketServer is not attached, so nothing advertises the setting.
  const server = http2.createSecureServer({ ...creds, allowHTTP1: true });
  let connections = 0;
  server.on('connection', () => connections++);
  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', echo);
  server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws, request) => wss.emit('connection', ws, request)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  try {
    const { ws, httpVersion } = await open(`wss://localhost:${port}/`);
    assert.equal(httpVersion, '1.1');
    assert.equal(connections, 2);
    // Remembered: the next connect goes straight to HTTP/1.1.
    const second = await open(`wss://localhost:${port}/`);
    assert.equal(second.httpVersion, '1.1');
    assert.equal(connections, 3);
    const never = await open(`wss://localhost:${port}/`, { http2: 'never' });
    assert.equal(never.httpVersion, '1.1');
    await closeAll([ws, second.ws, never.ws]);
  } finally {
    await wss.close({ timeoutMs: 200 });
    server.close();
  }
});

test('a server refusal over HTTP/2 is an error with its status, then close 1006', { skip }, async () => {
  clearHttp2Memory();
  const fx = await startH2Server(creds, { verify: () => ({ accept: false, status: 403 }) });
  try {
    const ws = connect(`wss://localhost:${fx.port}/`, { tls: { ca: creds.cert } });
    const errored = new Promise<Error & { status?: number }>((resolve) => ws.once('error', resolve));
    const closed = new Promise<number>((resolve) => ws.once('close', resolve));
    const error = await within(errored);
    assert.equal(error.status, 403);
    const code = await within(closed);
    assert.equal(code, 1006);
  } finally {
    await fx.stop();
  }
});

test('the WHATWG WebSocket rides the same pooled HTTP/2 session', { skip }, async () => {
  clearHttp2Memory();
  const { WebSocket } = await import('../../../src/web/websocket.js');
  const fx = await startH2Server(creds);
  const versions: string[] = [];
  fx.wss.on('connection', (ws: NodeWebSocket, req: { httpVersion: string }) => {
    versions.push(req.httpVersion);
    echo(ws);
  });
  try {
    const sockets = Array.from({ length: 3 }, () => new WebSocket(`wss://localhost:${fx.port}/`, { tls: { ca: creds.cert } }));
    await within(Promise.all(sockets.map((ws) => new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    }))));
    const reply = await within(new Promise<string>((resolve) => {
      sockets[0].onmessage = (event: { data: unknown }) => resolve(String(event.data));
      sockets[0].send('web');
    }));
    assert.equal(reply, 'web');
    assert.deepEqual(versions, ['2.0', '2.0', '2.0']);
    assert.equal(fx.connections(), 1);
    await within(Promise.all(sockets.map((ws) => new Promise((resolve) => {
      ws.onclose = resolve;
      ws.close(1000);
    }))));
  } finally {
    await fx.stop();
  }
});

test('a dying session closes every client socket on it with 1006, and the next connect opens a new session', { skip }, async () => {
  clearHttp2Memory();
  const fx = await startH2Server(creds);
  const sessions: http2.ServerHttp2Session[] = [];
  fx.server.on('session', (session) => sessions.push(session));
  fx.wss.on('connection', echo);
  try {
    const opened = await Promise.all(Array.from({ length: 3 }, () => open(`wss://localhost:${fx.port}/`)));
    const codes = Promise.all(opened.map(({ ws }) => within(new Promise<number>((resolve) => ws.once('close', resolve)))));
    sessions[0].destroy();
    assert.deepEqual(await codes, [1006, 1006, 1006]);
    const again = await open(`wss://localhost:${fx.port}/`);
    assert.equal(again.httpVersion, '2.0');
    assert.equal(sessions.length, 2);
    await closeAll([again.ws]);
  } finally {
    await fx.stop();
  }
});
