/**
 * WebSocketServer over real loopback sockets, with the `ws` client (and raw
 * TCP for malformed handshakes) as the peer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import WS from 'ws';
import { WebSocketServer } from '../../../src/node/server/server.js';
import type { NodeWebSocket } from '../../../src/node/socket/websocket.js';
import { closeEvent, openClient, rawExchange, startServer, upgradeRequest, within } from './helpers.js';

test('server echoes text and binary messages to a ws client and reports isBinary', async () => {
  const { wss, url } = await startServer();
  const seen: Array<[string, boolean]> = [];
  wss.on('connection', (socket: NodeWebSocket, request: http.IncomingMessage) => {
    assert.equal(request.headers.upgrade, 'websocket');
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      seen.push([data.toString('hex'), isBinary]);
      socket.send(data, { binary: isBinary });
    });
  });
  const client = await openClient(url);
  const replies: Array<[string, boolean]> = [];
  const done = new Promise<void>((resolve) =>
    client.on('message', (data: Buffer, isBinary: boolean) => {
      replies.push([data.toString('hex'), isBinary]);
      if (replies.length === 2) resolve();
    }),
  );
  client.send('héllo');
  client.send(Buffer.from([0, 1, 2, 255]));
  await within(done);
  const expected: Array<[string, boolean]> = [
    [Buffer.from('héllo').toString('hex'), false],
    ['000102ff', true],
  ];
  assert.deepEqual(seen, expected);
  assert.deepEqual(replies, expected);
  client.close();
  await wss.close({ timeoutMs: 1000 });
});

test('clients holds open sockets and forgets them after close', async () => {
  const { wss, url } = await startServer();
  const a = await openClient(url);
  const b = await openClient(url);
  assert.equal(wss.clients.size, 2);
  const [server] = [...wss.clients];
  const closed = closeEvent(server);
  a.close(1000);
  await within(closed);
  assert.equal(wss.clients.size, 1);
  b.terminate();
  await within(once(b, 'close'));
  await wss.close({ timeoutMs: 1000 });
  assert.equal(wss.clients.size, 0);
});

test('clientTracking false leaves clients undefined like ws', async () => {
  const { wss, url } = await startServer({ clientTracking: false });
  assert.equal(wss.clients, undefined);
  const client = await openClient(url);
  assert.equal(wss.stats().connections, 1);
  client.close();
  await wss.close({ timeoutMs: 1000 });
});

test('server rejects a request for another path with 400', async () => {
  const { wss, port, url } = await startServer({ path: '/chat' });
  const answer = await rawExchange(port, upgradeRequest({}, '/other'));
  assert.match(answer, /^HTTP\/1\.1 400 /);
  const client = await openClient(`${url}/chat?room=1`);
  client.close();
  await wss.close({ timeoutMs: 1000 });
});

test('server answers a handshake without Sec-WebSocket-Key with 400 and closes the socket', async () => {
  const { wss, port } = await startServer();
  const answer = await rawExchange(port, upgradeRequest({ 'Sec-WebSocket-Key': '' }));
  assert.match(answer, /^HTTP\/1\.1 400 /);
  assert.match(answer, /Connection: close/i);
  assert.equal(wss.stats().pendingHandshakes, 0);
  await wss.close({ timeoutMs: 1000 });
});

test('server answers another protocol version with 426 and Sec-WebSocket-Version: 13', async () => {
  const { wss, port } = await startServer();
  const answer = await rawExchange(port, upgradeRequest({ 'Sec-WebSocket-Version': '8' }));
  assert.match(answer, /^HTTP\/1\.1 426 /);
  assert.match(answer, /\r\nSec-WebSocket-Version: 13\r\n/i);
  await wss.close({ timeoutMs: 1000 });
});

test('no socket is left open after a burst of malformed handshakes', async () => {
  const { wss, port } = await startServer();
  const server = (wss as unknown as { options: { server?: http.Server } }).options.server;
  assert.equal(server, undefined);
  await Promise.all(
    Array.from({ length: 20 }, (_, i) => rawExchange(port, upgradeRequest({ 'Sec-WebSocket-Version': String(i + 14) }))),
  );
  assert.equal(wss.stats().pendingHandshakes, 0);
  assert.equal(wss.stats().connections, 0);
  await within(wss.close({ timeoutMs: 1000 }), 3000, 'server close');
});

test('a plain HTTP request gets 426 Upgrade Required', async () => {
  const { wss, port } = await startServer();
  const answer = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
  assert.match(answer, /^HTTP\/1\.1 426 /);
  await wss.close({ timeoutMs: 1000 });
});

test('the standalone server presents the upgrade request as an http.IncomingMessage (method, url, headers, rawHeaders, socket)', async () => {
  const { wss, url } = await startServer();
  const seen = new Promise<[NodeWebSocket, http.IncomingMessage]>((resolve) => wss.once('connection', (s, r) => resolve([s, r])));
  const client = await openClient(`${url}/room/7?user=a`, { headers: { 'X-Token': 'abc', Cookie: 'a=1' } });
  const [socket, request] = await within(seen);
  assert.ok(request instanceof http.IncomingMessage);
  assert.equal(request.method, 'GET');
  assert.equal(request.url, '/room/7?user=a');
  assert.equal(request.httpVersion, '1.1');
  assert.equal(request.headers['x-token'], 'abc');
  assert.equal(request.headers.cookie, 'a=1');
  assert.equal(request.headers.upgrade, 'websocket');
  assert.ok(request.rawHeaders.includes('X-Token'));
  assert.equal(request.socket, socket._socket);
  assert.equal(typeof request.socket.remoteAddress, 'string');
  client.close();
  await wss.close({ timeoutMs: 1000 });
});

test('a plain HTTP request with a body, and one with Upgrade but no Connection: upgrade, get 426 with Upgrade: websocket', async () => {
  const { wss, port } = await startServer();
  const post = await rawExchange(port, 'POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc');
  assert.match(post, /^HTTP\/1\.1 426 /);
  assert.match(post, /\r\nUpgrade: websocket\r\n/i);
  const half = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\r\n');
  assert.match(half, /^HTTP\/1\.1 426 /);
  assert.equal(wss.stats().pendingHandshakes, 0);
  await wss.close({ timeoutMs: 1000 });
});

test('no subprotocol is selected unless handleProtocols chooses one', async () => {
  // Documented difference from ws, which silently picks the first offer.
  const plain = await startServer();
  const socket = net.connect(plain.port, '127.0.0.1');
  socket.write(upgradeRequest({ 'Sec-WebSocket-Protocol': 'chat, superchat' }));
  const [head] = (await within(once(socket, 'data'))) as [Buffer];
  assert.match(head.toString('latin1'), /^HTTP\/1\.1 101 /);
  assert.doesNotMatch(head.toString('latin1'), /Sec-WebSocket-Protocol/i);
  socket.destroy();
  await plain.wss.close({ timeoutMs: 1000 });

  const choosing = await startServer({
    handleProtocols: (protocols, request) => {
      assert.ok(request.headers['sec-websocket-protocol']);
      return protocols.has('superchat') ? 'superchat' : false;
    },
  });
  let serverProtocol = '';
  choosing.wss.on('connection', (socket: NodeWebSocket) => {
    serverProtocol = socket.protocol;
  });
  const b = await openClient(choosing.url, {}, ['chat', 'superchat']);
  assert.equal(b.protocol, 'superchat');
  assert.equal(serverProtocol, 'superchat');
  b.close();
  await choosing.wss.close({ timeoutMs: 1000 });
});

test('async verify accepts with user data that lands in socket.data', async () => {
  const { wss, url } = await startServer({
    verify: async (info) => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(info.isSecure, false);
      assert.deepEqual(info.protocols, ['p1']);
      const token = new URL(info.request.url ?? '/', 'http://x').searchParams.get('token');
      return token === 'good' ? { accept: true, data: { user: 'ada' }, protocol: 'p1', headers: { 'X-Session': 's1' } } : false;
    },
  });
  const connected = once(wss, 'connection');
  const client = new WS(`${url}/?token=good`, ['p1']);
  const opened = once(client, 'open');
  const [response] = (await within(once(client, 'upgrade'))) as [http.IncomingMessage];
  assert.equal(response.headers['x-session'], 's1');
  const [socket] = (await within(connected)) as [NodeWebSocket];
  assert.deepEqual(socket.data, { user: 'ada' });
  assert.equal(socket.protocol, 'p1');
  await within(opened);
  client.close();
  await wss.close({ timeoutMs: 1000 });
});

test('verify rejects with its status, headers and body', async () => {
  const { wss, url } = await startServer({
    verify: () => ({ accept: false, status: 429, headers: { 'Retry-After': '7' }, body: 'slow down' }),
  });
  const client = new WS(url);
  client.on('error', () => {});
  const [, response] = (await within(once(client, 'unexpected-response'))) as [unknown, http.IncomingMessage];
  assert.equal(response.statusCode, 429);
  assert.equal(response.headers['retry-after'], '7');
  let body = '';
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => (body += chunk));
  await once(response, 'end');
  assert.equal(body, 'slow down');
  client.terminate();
  assert.equal(wss.stats().connections, 0);
  await wss.close({ timeoutMs: 1000 });
});

test('verify returning false answers 401 and a throwing verify answers 500', async () => {
  for (const [verify, status] of [
    [() => false, 401],
    [
      () => {
        throw new Error('bug in the hook');
      },
      500,
    ],
  ] as const) {
    const { wss, port } = await startServer({ verify });
    const answer = await rawExchange(port, upgradeRequest());
    assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `));
    assert.doesNotMatch(answer, /bug in the hook/);
    await wss.close({ timeoutMs: 1000 });
  }
});

test('ws-style verifyClient works in sync and callback form', async () => {
  const sync = await startServer({ verifyClient: (info: { origin: string | undefined }) => info.origin === 'https://ok.example' });
  assert.match(await rawExchange(sync.port, upgradeRequest({ Origin: 'https://evil.example' })), /^HTTP\/1\.1 401 /);
  const ok = await openClient(sync.url, { origin: 'https://ok.example' });
  ok.close();
  await sync.wss.close({ timeoutMs: 1000 });

  const withCallback = await startServer({
    verifyClient: (_info: unknown, cb: (result: boolean, code?: number, message?: string) => void) =>
      setTimeout(() => cb(false, 403, 'nope'), 5),
  });
  const answer = await rawExchange(withCallback.port, upgradeRequest());
  assert.match(answer, /^HTTP\/1\.1 403 /);
  assert.match(answer, /nope$/);
  await withCallback.wss.close({ timeoutMs: 1000 });
});

test('allowedOrigins accepts exact origins and patterns and rejects others with 403', async () => {
  const { wss, port, url } = await startServer({
    allowedOrigins: ['https://app.example', /^https:\/\/[a-z]+\.trusted\.example$/],
  });
  for (const origin of ['https://app.example', 'https://APP.example', 'https://eu.trusted.example']) {
    const client = await openClient(url, { origin });
    client.close();
  }
  for (const origin of ['https://evil.example', 'https://app.example.evil.example', 'null']) {
    const answer = await rawExchange(port, upgradeRequest({ Origin: origin }));
    assert.match(answer, /^HTTP\/1\.1 403 /, origin);
  }
  // Non-browser clients send no Origin: allowed by default.
  const bare = await openClient(url);
  bare.close();
  await wss.close({ timeoutMs: 1000 });

  const strict = await startServer({ allowedOrigins: ['https://app.example'], allowMissingOrigin: false });
  assert.match(await rawExchange(strict.port, upgradeRequest()), /^HTTP\/1\.1 403 /);
  await strict.wss.close({ timeoutMs: 1000 });
});

test('noServer mode: the app routes upgrades from its own http server with handleUpgrade', async () => {
  const wss = new WebSocketServer({ noServer: true, path: '/ws' });
  const server = http.createServer();
  server.on('upgrade', (req, socket, head) => {
    if (wss.shouldHandle(req)) {
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    } else {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    }
  });
  wss.on('connection', (ws: NodeWebSocket) => ws.send('welcome'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const client = new WS(`ws://127.0.0.1:${port}/ws`);
  const [data] = (await within(once(client, 'message'))) as [Buffer];
  assert.equal(data.toString(), 'welcome');
  assert.match(await rawExchange(port, upgradeRequest({}, '/elsewhere')), /^HTTP\/1\.1 404 /);
  client.close();
  await within(once(client, 'close'));
  await wss.close();
  server.close();
});

test('server option attaches to an existing http server and leaves plain requests to it', async () => {
  const server = http.createServer((_req, res) => res.end('plain http'));
  const wss = new WebSocketServer({ server });
  server.listen(0, '127.0.0.1');
  await once(wss, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const body = await new Promise<string>((resolve, reject) => {
    http.get(`http://127.0.0.1:${port}/`, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve(text));
    }).on('error', reject);
  });
  assert.equal(body, 'plain http');
  const client = await openClient(`ws://127.0.0.1:${port}`);
  client.close();
  await wss.close({ timeoutMs: 1000 });
  server.close();
});

test('constructor validates options with errors that name them', () => {
  assert.throws(() => new WebSocketServer({}), /exactly one of/);
  assert.throws(() => new WebSocketServer({ port: 0, noServer: true }), /exactly one of/);
  assert.throws(() => new WebSocketServer({ noServer: true, maxMessageBytes: 0 }), /maxMessageBytes/);
  assert.throws(() => new WebSocketServer({ noServer: true, closeTimeoutMs: -1 }), /closeTimeoutMs/);
  assert.throws(() => new WebSocketServer({ noServer: true, backpressurePolicy: 'maybe' as never }), /backpressurePolicy/);
  assert.throws(() => new WebSocketServer({ noServer: true, allowedOrigins: [42] as never }), /allowedOrigins/);
  assert.throws(() => new WebSocketServer({ noServer: true, perMessageDeflate: { level: 12 } }), /level/);
  assert.throws(() => new WebSocketServer({ noServer: true, heartbeat: { intervalMs: 0 } }), /heartbeat.intervalMs/);
});

test('the headers event lets the app add lines to the 101 response', async () => {
  const { wss, url } = await startServer();
  wss.on('headers', (headers: string[]) => headers.push('X-Powered-By: sockwave'));
  const client = new WS(url);
  const opened = once(client, 'open');
  const [response] = (await within(once(client, 'upgrade'))) as [http.IncomingMessage];
  assert.equal(response.headers['x-powered-by'], 'sockwave');
  await within(opened);
  client.close();
  await wss.close({ timeoutMs: 1000 });
});

test('wsClientError listeners take over answering invalid handshakes (ws semantics)', async () => {
  const { wss, port } = await startServer();
  wss.on('wsClientError', (error: Error & { status: number }, socket: net.Socket) => {
    socket.end(`HTTP/1.1 418 I'm a teapot\r\nX-Reason: ${error.status}\r\nContent-Length: 0\r\n\r\n`);
  });
  const answer = await rawExchange(port, upgradeRequest({ 'Sec-WebSocket-Version': '7' }));
  assert.match(answer, /^HTTP\/1\.1 418 /);
  assert.match(answer, /X-Reason: 426/);
  await wss.close({ timeoutMs: 1000 });
});

test('close(cb) keeps ws semantics: no new connections, callback once the server is gone', async () => {
  const { wss, port, url } = await startServer();
  const client = await openClient(url);
  let isClosed = false;
  const closed = wss.close(() => {
    isClosed = true;
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(isClosed, false, 'the server waits for open connections');
  await assert.rejects(
    new Promise((resolve, reject) => net.connect(port, '127.0.0.1').on('connect', resolve).on('error', reject)),
  );
  client.close();
  await within(closed);
  assert.equal(isClosed, true);
});

test('a rejected client that pipelined frames after its request still reads the HTTP answer', async () => {
  const { wss, port } = await startServer({ allowedOrigins: ['https://ok.example'] });
  const frames = Buffer.alloc(256 * 1024, 0x82);
  const answer = await rawExchange(port, Buffer.concat([Buffer.from(upgradeRequest({ Origin: 'https://evil.example' })), frames]));
  assert.match(answer, /^HTTP\/1\.1 403 /);
  await wss.close({ timeoutMs: 1000 });
});

test('handleUpgrade refuses a socket it already upgraded', async () => {
  const wss = new WebSocketServer({ noServer: true });
  const server = http.createServer();
  let secondCall: unknown;
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      try {
        wss.handleUpgrade(req, socket, head, () => {});
      } catch (error) {
        secondCall = error;
      }
      ws.close();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = new WS(`ws://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  await within(once(client, 'close'));
  assert.match(String(secondCall), /more than once/);
  await wss.close();
  server.close();
});
