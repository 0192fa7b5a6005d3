/**
 * Errors that explain (issue #14 item 3): each failure on the way to the
 * server is a typed error with a stable code, the Node error as `cause`
 * where there is one, and a message a CLI user can act on. Real loopback
 * servers produce each failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { connect } from '../../../src/node/socket/connect.js';
import { WebSocket as WebWebSocket } from '../../../src/web/websocket.js';
import { WebSocket as WsWebSocket } from '../../../src/ws.js';
import { NetworkError } from '../../../src/node/client/errors.js';
import { BODY_EXCERPT_BYTES, UnexpectedResponseError } from '../../../src/node/client/unexpected-response.js';
import { HandshakeError, SockwaveError, TimeoutError } from '../../../src/core/errors.js';
import { makeSelfSignedCertificate, nextEvent, requestKey, startRawServer, startWsServer } from './peers.js';
import { computeAcceptKey } from '../../../src/core/handshake/rules.js';

type Failure = { error: Error & { code?: string }; code: number; events: string[] };

async function failure(socket: ReturnType<typeof connect>): Promise<Failure> {
  const events: string[] = [];
  const errors: Error[] = [];
  socket.on('open', () => events.push('open'));
  socket.on('error', (error: Error) => {
    events.push('error');
    errors.push(error);
  });
  const [code] = (await nextEvent(socket, 'close')) as [number];
  events.push('close');
  assert.equal(errors.length, 1);
  return { error: errors[0], code, events };
}

async function withRaw(onSocket: (socket: net.Socket, request: string) => void, run: (url: string) => Promise<void>): Promise<void> {
  const server = await startRawServer(onSocket);
  try {
    await run(server.url);
  } finally {
    await server.close();
  }
}

test('an unknown host name is SW_DNS with the resolver error as cause', async () => {
  const { error, code } = await failure(connect('ws://no-such-host.invalid/', { proxy: false }));
  assert.equal(code, 1006);
  assert.ok(error instanceof NetworkError && error instanceof SockwaveError);
  assert.equal(error.code, 'SW_DNS');
  assert.match(error.message, /^cannot resolve no-such-host\.invalid \((ENOTFOUND|EAI_AGAIN)\)$/);
  assert.match((error.cause as NodeJS.ErrnoException).code ?? '', /ENOTFOUND|EAI_AGAIN/);
});

test('wss:// against a plain port is SW_TLS with the plain-port hint', async () => {
  const peer = await startWsServer();
  try {
    const { error } = await failure(connect(peer.url.replace('ws:', 'wss:'), { proxy: false }));
    assert.equal(error.code, 'SW_TLS');
    assert.match((error as NetworkError).hint, /plain ws:\/\/ port/);
    assert.match(error.message, /plain ws:\/\/ port/);
    assert.ok(error.cause instanceof Error);
  } finally {
    await peer.close();
  }
});

test('ws:// against a TLS port that hangs up says to try wss://', async (t) => {
  const certificate = makeSelfSignedCertificate();
  if ('skip' in certificate) return t.skip(certificate.skip);
  const server = tls.createServer(certificate, (socket) => socket.on('error', () => {}));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as net.AddressInfo;
    const { error } = await failure(connect(`ws://127.0.0.1:${port}/`, { proxy: false }));
    assert.equal(error.code, 'SW_HANDSHAKE');
    assert.equal(error.message, 'connection closed before the handshake response was complete (no byte received: if the port speaks TLS, use wss://)');
  } finally {
    server.close();
  }
});

test('a handshake timeout says what it was waiting for', async () => {
  await withRaw(
    () => {},
    async (url) => {
      const { error, code } = await failure(connect(url, { proxy: false, handshakeTimeoutMs: 150 }));
      assert.equal(code, 1006);
      assert.ok(error instanceof TimeoutError);
      assert.equal(error.code, 'SW_TIMEOUT');
      assert.equal(error.message, 'handshake timed out after 150 ms while waiting for the handshake response');
    },
  );
  // A proxy that accepts and never answers is named.
  const held = new Set<net.Socket>();
  const silent = net.createServer((socket) => {
    held.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = silent.address() as net.AddressInfo;
    const { error } = await failure(connect('ws://127.0.0.1:9/', { proxy: `socks5h://127.0.0.1:${port}`, handshakeTimeoutMs: 150 }));
    assert.equal(error.message, `handshake timed out after 150 ms while waiting for the proxy 127.0.0.1:${port}`);
  } finally {
    for (const socket of held) socket.destroy();
    silent.close();
  }
});

test('a 401 carries status, headers and the body excerpt; the message quotes the body', async () => {
  const body = '{"error":"token expired"}';
  await withRaw(
    (socket) =>
      socket.end(
        `HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nX-Request-Id: r1\r\nX-Request-Id: r2\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      ),
    async (url) => {
      const { error, code, events } = await failure(connect(url, { proxy: false }));
      assert.deepEqual(events, ['error', 'close']);
      assert.equal(code, 1006);
      assert.ok(error instanceof UnexpectedResponseError && error instanceof HandshakeError);
      assert.equal(error.code, 'SW_HANDSHAKE');
      assert.equal(error.status, 401);
      assert.equal(error.statusText, 'Unauthorized');
      assert.equal(error.headers['www-authenticate'], 'Bearer');
      assert.equal(error.headers['x-request-id'], 'r1, r2');
      assert.equal(error.body.toString(), body);
      assert.equal(error.message, `server answered 401 Unauthorized: ${body}`);
    },
  );
});

test('a chunked body is decoded; a long body is cut at the excerpt size; a server that keeps the connection open does not stall', async () => {
  await withRaw(
    (socket) => socket.write('HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'),
    async (url) => {
      const { error } = await failure(connect(url, { proxy: false }));
      assert.equal((error as UnexpectedResponseError).body.toString(), 'hello world');
    },
  );
  await withRaw(
    (socket) => socket.write(`HTTP/1.1 500 Oops\r\n\r\n${'x'.repeat(5000)}`),
    async (url) => {
      const started = Date.now();
      const { error } = await failure(connect(url, { proxy: false }));
      assert.equal((error as UnexpectedResponseError).body.length, BODY_EXCERPT_BYTES);
      assert.ok(error.message.length < 200, 'the message stays short');
      assert.ok(Date.now() - started < 2000);
    },
  );
  await withRaw(
    (socket) => socket.write('HTTP/1.1 404 Not Found\r\nContent-Length: 100\r\n\r\npartial'),
    async (url) => {
      const started = Date.now();
      const { error } = await failure(connect(url, { proxy: false }));
      assert.equal((error as UnexpectedResponseError).body.toString(), 'partial');
      assert.ok(Date.now() - started < 2000, 'bounded by the body wait, not the handshake timeout');
    },
  );
});

test('a bad Sec-WebSocket-Accept and a subprotocol we did not offer are HandshakeErrors that say so', async () => {
  await withRaw(
    (socket) => socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n'),
    async (url) => {
      const { error } = await failure(connect(url, { proxy: false }));
      assert.ok(error instanceof HandshakeError);
      assert.equal(error.code, 'SW_HANDSHAKE');
      assert.match(error.message, /Sec-WebSocket-Accept does not match the key sent/);
    },
  );
  await withRaw(
    (socket, request) =>
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAcceptKey(requestKey(request))}\r\nSec-WebSocket-Protocol: other\r\n\r\n`,
      ),
    async (url) => {
      const { error } = await failure(connect(url, { proxy: false, protocols: ['chat'] }));
      assert.ok(error instanceof HandshakeError);
      assert.match(error.message, /other/);
    },
  );
});

test('the WHATWG WebSocket fires error then close 1006 on a 401; the ws class reports the raw Node error', async () => {
  await withRaw(
    (socket) => socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n'),
    async (url) => {
      const web = new WebWebSocket(url, { proxy: false });
      const events: string[] = [];
      await new Promise<void>((resolve) => {
        web.onerror = () => events.push('error');
        web.onclose = (event) => {
          events.push(`close ${event.code} ${event.wasClean}`);
          resolve();
        };
      });
      assert.deepEqual(events, ['error', 'close 1006 false']);
    },
  );
  const closed = await startRawServer(() => {});
  const url = closed.url;
  await closed.close();
  const compat = new WsWebSocket(url);
  const errorEvent = nextEvent(compat as never, 'error');
  await nextEvent(compat as never, 'close');
  const [error] = (await errorEvent) as [NodeJS.ErrnoException];
  assert.equal(error.code, 'ECONNREFUSED', 'ws apps test error.code === "ECONNREFUSED"');
});
