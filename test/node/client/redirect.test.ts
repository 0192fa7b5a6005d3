/**
 * Redirects during the opening handshake (issue #14 item 2): opt-in,
 * bounded, and credentials never follow to another origin. Real HTTP
 * servers answer the upgrade with 3xx or hand it to a ws server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { WebSocketServer } from 'ws';
import { connect } from '../../../src/node/socket/connect.js';
import { WebSocket as WebWebSocket } from '../../../src/web/websocket.js';
import { UnexpectedResponseError } from '../../../src/node/client/unexpected-response.js';
import { HandshakeError } from '../../../src/core/errors.js';
import { nextEvent } from './peers.js';

interface Hop {
  url: string;
  requests: http.IncomingHttpHeaders[];
  paths: string[];
  close(): Promise<void>;
}

/** An HTTP server whose upgrade requests get `redirect(path)`'s Location as a 302, or a real WebSocket when it returns null. */
async function startHop(redirect: (path: string) => string | null): Promise<Hop> {
  const server = http.createServer();
  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (socket) => socket.on('message', (data) => socket.send(data)));
  const requests: http.IncomingHttpHeaders[] = [];
  const paths: string[] = [];
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (request: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    requests.push(request.headers);
    paths.push(request.url ?? '');
    const location = redirect(request.url ?? '');
    if (location === null) {
      wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
      return;
    }
    socket.end(`HTTP/1.1 302 Found\r\nLocation: ${location}\r\nContent-Length: 0\r\n\r\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    requests,
    paths,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function openAndEcho(socket: ReturnType<typeof connect>): Promise<void> {
  const errors: Error[] = [];
  socket.on('error', (error: Error) => errors.push(error));
  await Promise.race([nextEvent(socket, 'open'), nextEvent(socket, 'close')]);
  assert.deepEqual(errors.map(String), []);
  socket.send('after redirect');
  const [data] = (await nextEvent(socket, 'message')) as [Buffer];
  assert.equal(data.toString(), 'after redirect');
  socket.close();
  await nextEvent(socket, 'close');
}

const CREDENTIALS = { Authorization: 'Bearer secret-token', Cookie: 'session=abc', 'X-Trace': 't1' };

test('a redirect to another origin is followed and Authorization and Cookie are dropped', async () => {
  const target = await startHop(() => null);
  const entry = await startHop(() => `${target.url.replace('ws:', 'http:')}/landed?x=1`);
  try {
    const socket = connect(`${entry.url}/start`, { followRedirects: true, headers: CREDENTIALS, proxy: false });
    const hops: string[] = [];
    socket.on('redirect', (url: string) => hops.push(url));
    await openAndEcho(socket);
    assert.deepEqual(hops, [`${target.url}/landed?x=1`]);
    assert.equal(socket.url, `${target.url}/landed?x=1`);
    assert.equal(entry.requests[0].authorization, 'Bearer secret-token');
    assert.equal(target.requests.length, 1);
    assert.equal(target.requests[0].authorization, undefined, 'Authorization must not reach another origin');
    assert.equal(target.requests[0].cookie, undefined, 'Cookie must not reach another origin');
    assert.equal(target.requests[0]['x-trace'], 't1');
  } finally {
    await entry.close();
    await target.close();
  }
});

test('a same-origin relative redirect keeps the credentials, including those from the URL', async () => {
  const hop = await startHop((path) => (path === '/old' ? '/new' : null));
  try {
    const url = new URL(`${hop.url}/old`);
    url.username = 'u';
    url.password = 'p';
    await openAndEcho(connect(url, { followRedirects: true, headers: { Cookie: 'session=abc' }, proxy: false }));
    assert.deepEqual(hop.paths, ['/old', '/new']);
    assert.equal(hop.requests[1].cookie, 'session=abc');
    assert.equal(hop.requests[1].authorization, `Basic ${Buffer.from('u:p').toString('base64')}`);
  } finally {
    await hop.close();
  }
});

test('without followRedirects a 302 fails with its status and Location; the WHATWG class never follows', async () => {
  const target = await startHop(() => null);
  const entry = await startHop(() => `${target.url}/x`);
  try {
    const socket = connect(entry.url, { proxy: false });
    const errorEvent = nextEvent(socket, 'error');
    const [code] = (await nextEvent(socket, 'close')) as [number];
    const [error] = (await errorEvent) as [UnexpectedResponseError];
    assert.equal(code, 1006);
    assert.ok(error instanceof UnexpectedResponseError);
    assert.equal(error.status, 302);
    assert.equal(error.headers.location, `${target.url}/x`);

    const web = new WebWebSocket(entry.url, { followRedirects: true, proxy: false });
    const events: string[] = [];
    await new Promise<void>((resolve) => {
      web.onerror = () => events.push('error');
      web.onclose = (event) => {
        events.push(`close ${event.code}`);
        resolve();
      };
    });
    assert.deepEqual(events, ['error', 'close 1006']);
    assert.equal(target.requests.length, 0);
  } finally {
    await entry.close();
    await target.close();
  }
});

test('a redirect loop stops after maxRedirects with a HandshakeError; bad maxRedirects throw', async () => {
  const hop = await startHop((path) => `/${Number(path.slice(1) || 0) + 1}`);
  try {
    const socket = connect(`${hop.url}/0`, { followRedirects: true, maxRedirects: 3, proxy: false });
    const errorEvent = nextEvent(socket, 'error');
    await nextEvent(socket, 'close');
    const [error] = (await errorEvent) as [HandshakeError];
    assert.ok(error instanceof HandshakeError);
    assert.equal(error.message, 'too many redirects: more than maxRedirects (3)');
    assert.deepEqual(hop.paths, ['/0', '/1', '/2', '/3']);
  } finally {
    await hop.close();
  }
  for (const bad of [-1, 1.5, Number.NaN, '3']) {
    assert.throws(() => connect('ws://127.0.0.1:9/', { maxRedirects: bad as number }), /option maxRedirects must be a non-negative integer/);
  }
});

test('a Location that is not a WebSocket URL fails with a clear HandshakeError', async () => {
  const hop = await startHop(() => 'ftp://example.com/file');
  try {
    const socket = connect(hop.url, { followRedirects: true, proxy: false });
    const errorEvent = nextEvent(socket, 'error');
    await nextEvent(socket, 'close');
    const [error] = (await errorEvent) as [HandshakeError];
    assert.match(error.message, /^server redirected to an unusable Location "ftp:\/\/example.com\/file"$/);
  } finally {
    await hop.close();
  }
});
