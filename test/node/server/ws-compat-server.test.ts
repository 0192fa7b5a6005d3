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
