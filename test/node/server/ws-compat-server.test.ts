/**
 * Issue 12, section 1 (server items): where the server answered differently
 * from ws. Real loopback sockets: raw TCP clients for the exact bytes, `ws`
 * clients elsewhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { WebSocketServer } from '../../../src/node/server/server.js';
import { delay, rawExchange, startServer, upgradeRequest, within } from './helpers.js';

test('issue 12 (non-GET upgrade): a POST with Upgrade: websocket gets 405 with Allow: GET', async () => {
  const { wss, port } = await startServer();
  try {
    const answer = await rawExchange(port, upgradeRequest().replace(/^GET /, 'POST '));
    assert.match(answer, /^HTTP\/1\.1 405 /);
    assert.match(answer, /\r\nAllow: GET\r\n/i);
  } finally {
    await wss.close();
  }
});

test('issue 12 (verifyClient headers): a refusal with a numeric header value keeps its status and sends the header', async () => {
  const { wss, port } = await startServer({
    verifyClient: (_info, callback) => callback(false, 429, 'slow down', { 'Retry-After': 120 } as never),
  });
  try {
    const answer = await rawExchange(port, upgradeRequest());
    assert.match(answer, /^HTTP\/1\.1 429 /);
    assert.match(answer, /\r\nRetry-After: 120\r\n/i);
  } finally {
    await wss.close();
  }
});

test('issue 12 (verify headers): the verify hook may give numeric header values too', async () => {
  const { wss, port } = await startServer({
    verify: () => ({ accept: false, status: 503, headers: { 'Retry-After': 30 } }),
  });
  try {
    const answer = await rawExchange(port, upgradeRequest());
    assert.match(answer, /^HTTP\/1\.1 503 /);
    assert.match(answer, /\r\nRetry-After: 30\r\n/i);
  } finally {
    await wss.close();
  }
});

test("issue 12 (half-closed client): no 'connection' for a client whose FIN arrived while verifyClient ran", async () => {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let sawEnd!: () => void;
  const ended = new Promise<void>((resolve) => (sawEnd = resolve));
  const wss = new WebSocketServer({
    server,
    verifyClient: ({ req }, callback) => {
      // Decide only once the client's FIN is in: the socket is then half-closed.
      req.socket.once('end', () => {
        sawEnd();
        callback(true);
      });
    },
  });
  const connections: unknown[] = [];
  wss.on('connection', (socket) => connections.push(socket));
  try {
    const client = net.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
    client.on('error', () => {});
    await once(client, 'connect');
    client.end(upgradeRequest());
    client.resume();
    await within(ended, 3000, "the server seeing the client's FIN");
    await within(once(client, 'close'), 3000, 'the server dropping the half-closed client');
    await delay(20);
    assert.equal(connections.length, 0);
  } finally {
    await wss.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test("issue 12 (second close): close() on a closed server emits 'close' again (and the callback gets an error)", async () => {
  const { wss } = await startServer();
  await wss.close();
  const closed = once(wss, 'close');
  const callbackError = await new Promise<Error | undefined>((resolve) => void wss.close((error) => resolve(error)));
  await within(closed, 2000, "the second 'close' event");
  assert.ok(callbackError instanceof Error);
});

test('issue 12 (any Duplex): handleUpgrade() works over a stream that is not a net.Socket', async () => {
  const { PassThrough, Duplex } = await import('node:stream');
  const server = http.createServer();
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket: net.Socket, head: Buffer) => {
    // A plain Duplex between the TCP socket and the WebSocket: no setNoDelay, no destroySoon.
    const toServer = new PassThrough();
    const toClient = new PassThrough();
    const duplex = new Duplex({
      read() {
        toServer.resume();
      },
      write(chunk, _encoding, callback) {
        toClient.write(chunk, callback);
      },
      final(callback) {
        toClient.end();
        callback();
      },
    });
    toServer.on('data', (chunk) => duplex.push(chunk));
    toServer.on('end', () => duplex.push(null));
    socket.pipe(toServer);
    toClient.pipe(socket);
    wss.handleUpgrade(req, duplex, head, (ws) => {
      ws.send('over a duplex');
      ws.on('message', (data, isBinary) => ws.send(`${isBinary ? 'binary' : 'text'}:${(data as Buffer).length}`));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { default: WS } = await import('ws');
    const client = new WS(`ws://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    const messages: string[] = [];
    const done = new Promise<void>((resolve) =>
      client.on('message', (data) => {
        messages.push(String(data));
        if (messages.length === 1) client.send(Buffer.alloc(0));
        else resolve();
      }),
    );
    await within(done, 5000, 'two messages over the duplex');
    assert.deepEqual(messages, ['over a duplex', 'binary:0']);
    client.terminate();
  } finally {
    await wss.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('issue 12 (send with no data): send() sends an empty binary message, as in ws', async () => {
  const { wss, url } = await startServer();
  try {
    const received = new Promise<[Buffer, boolean]>((resolve) =>
      wss.on('connection', (socket) => socket.on('message', (data: Buffer, isBinary: boolean) => resolve([data, isBinary]))),
    );
    const { default: WsStyle } = await import('../../../src/ws.js');
    const client = new WsStyle(url);
    await once(client, 'open');
    (client.send as (data?: unknown) => boolean)();
    const [data, isBinary] = await within(received, 5000, 'the empty message');
    assert.equal(data.length, 0);
    assert.equal(isBinary, true);
    client.close();
  } finally {
    await wss.close({ timeoutMs: 500 });
  }
});
