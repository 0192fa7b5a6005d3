/**
 * ReconnectingWebSocket against a real `ws` server on loopback that is
 * killed and restarted on the same port: backoff, the bounded queue, the
 * events, the close codes that end the client, and option validation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { WebSocketServer as WsServer, type WebSocket as WsSocket } from 'ws';
import { ReconnectingWebSocket, type DisconnectEventInfo } from '../../../src/node/reconnect/reconnecting-websocket.js';
import { backoffDelayMs, resolveReconnectOptions } from '../../../src/node/reconnect/options.js';
import { ConnectionClosedError } from '../../../src/core/errors.js';

/** A `ws` echo-and-record server that can be killed (every connection dropped, port freed) and restarted on its port. */
class RestartableServer {
  received: string[] = [];
  connections = 0;
  wss: WsServer | undefined;
  port = 0;
  onConnection: (socket: WsSocket, url: string) => void = () => {};

  async start(): Promise<void> {
    const wss = new WsServer({ port: this.port, host: '127.0.0.1' });
    await once(wss, 'listening');
    this.port = (wss.address() as AddressInfo).port;
    wss.on('connection', (socket, request) => {
      this.connections++;
      socket.on('message', (data) => this.received.push(data.toString()));
      this.onConnection(socket, request.url ?? '');
    });
    this.wss = wss;
  }

  /** Drops every connection without a close frame (1006 on the client) and stops listening. */
  async kill(): Promise<void> {
    const wss = this.wss;
    if (wss === undefined) return;
    this.wss = undefined;
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/`;
  }
}

/** A port with nothing listening (bound then released). */
async function closedPort(): Promise<number> {
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const FAST = { minDelayMs: 20, maxDelayMs: 80, minUptimeMs: 50 };

async function until(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('reconnects to a server that was killed and restarted; the queue bound is hit while it is down ("reject")', async () => {
  const server = new RestartableServer();
  await server.start();
  const client = new ReconnectingWebSocket(server.url, { ...FAST, maxQueuedMessages: 3 });
  const events: string[] = [];
  const dropped: string[] = [];
  const disconnects: DisconnectEventInfo[] = [];
  client.on('connecting', (info: { attempt: number }) => events.push(`connecting ${info.attempt}`));
  client.on('open', (_socket, info: { isReconnect: boolean }) => events.push(`open ${info.isReconnect}`));
  client.on('reconnect', () => events.push('reconnect'));
  client.on('disconnect', (info: DisconnectEventInfo) => disconnects.push(info));
  client.on('dropped', (data: string, reason: string) => dropped.push(`${data}:${reason}`));
  try {
    await once(client, 'open');
    assert.equal(client.send('before'), true);
    await until(() => server.received.length === 1, 'the first message');

    await server.kill();
    await until(() => disconnects.length >= 1, 'the disconnect');
    assert.equal(disconnects[0].code, 1006);
    assert.equal(disconnects[0].wasOpen, true);
    assert.equal(disconnects[0].willReconnect, true);
    assert.equal(client.readyState, 0);
    // Four messages into a queue of three: the fourth is refused and reported.
    assert.equal(client.send('q1'), true);
    assert.equal(client.send(Buffer.from('q2')), true);
    assert.equal(client.send('q3'), true);
    assert.equal(client.send('q4'), false);
    assert.deepEqual(dropped, ['q4:queue-full']);
    assert.equal(client.queuedMessages, 3);
    // Let a few attempts fail against the closed port before the restart.
    await until(() => disconnects.length >= 3, 'failed attempts');
    assert.ok(disconnects.slice(1).every((d) => !d.wasOpen && d.willReconnect));

    await server.start();
    await once(client, 'reconnect');
    await until(() => server.received.length === 4, 'the queued messages');
    assert.deepEqual(server.received, ['before', 'q1', 'q2', 'q3']);
    assert.equal(client.queuedMessages, 0);
    assert.equal(server.connections, 2);
    assert.equal(events[0], 'connecting 0');
    assert.equal(events[1], 'open false');
    assert.deepEqual(events.slice(-2), ['open true', 'reconnect']);
    assert.ok(events.filter((e) => e.startsWith('connecting')).length >= 4, events.join(', '));
  } finally {
    client.close();
    await server.kill();
  }
});

test('"drop-oldest" keeps the newest messages and reports the ones it discards', async () => {
  const port = await closedPort();
  const client = new ReconnectingWebSocket(`ws://127.0.0.1:${port}/`, { ...FAST, maxQueuedMessages: 2, queueOverflow: 'drop-oldest' });
  const dropped: string[] = [];
  client.on('dropped', (data: string, reason: string) => dropped.push(`${data}:${reason}`));
  for (const text of ['a', 'b', 'c', 'd']) assert.equal(client.send(text), true);
  assert.deepEqual(dropped, ['a:queue-full', 'b:queue-full']);
  // The byte bound counts too: a message larger than the whole bound is refused.
  const small = new ReconnectingWebSocket(`ws://127.0.0.1:${port}/`, { ...FAST, maxQueuedBytes: 4 });
  const smallDropped: string[] = [];
  small.on('dropped', (data: string) => smallDropped.push(data));
  assert.equal(small.send('12345'), false);
  assert.equal(small.send('1234'), true);
  assert.deepEqual(smallDropped, ['12345']);
  client.close();
  small.close();
  // close() reports what was still queued.
  await once(client, 'close');
  assert.deepEqual(dropped.slice(2), ['c:closed', 'd:closed']);
  assert.throws(() => client.send('late'), ConnectionClosedError);
});

test('no reconnect after a deliberate close(): one connection, then close with our code', async () => {
  const server = new RestartableServer();
  await server.start();
  const client = new ReconnectingWebSocket(server.url, FAST);
  try {
    await once(client, 'open');
    client.close(4000, 'bye');
    const [code, reason] = await once(client, 'close');
    assert.equal(code, 4000);
    assert.equal(reason, 'bye');
    assert.equal(client.readyState, 3);
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(server.connections, 1);
  } finally {
    await server.kill();
  }
});

for (const code of [1008, 1003, 4401]) {
  test(`a server close with ${code} ends the client instead of reconnecting`, async () => {
    const server = new RestartableServer();
    await server.start();
    server.onConnection = (socket) => socket.close(code, 'go away');
    const client = new ReconnectingWebSocket(server.url, FAST);
    const disconnects: DisconnectEventInfo[] = [];
    client.on('disconnect', (info: DisconnectEventInfo) => disconnects.push(info));
    try {
      const [closeCode, reason] = await once(client, 'close');
      assert.equal(closeCode, code);
      assert.equal(reason, 'go away');
      assert.equal(disconnects.length, 1);
      assert.equal(disconnects[0].willReconnect, false);
      await new Promise((resolve) => setTimeout(resolve, 150));
      assert.equal(server.connections, 1);
    } finally {
      client.close();
      await server.kill();
    }
  });
}

test('shouldReconnect can allow an application close code; a connection that drops before minUptimeMs grows the backoff', async () => {
  const server = new RestartableServer();
  await server.start();
  server.onConnection = (socket) => socket.close(4001, 'token expired');
  const client = new ReconnectingWebSocket(server.url, {
    ...FAST,
    minUptimeMs: 10_000,
    shouldReconnect: (info) => info.code === 4001,
    random: () => 1,
  });
  const disconnects: DisconnectEventInfo[] = [];
  client.on('disconnect', (info: DisconnectEventInfo) => disconnects.push(info));
  try {
    await until(() => disconnects.length >= 3, 'three disconnects');
    assert.ok(disconnects.every((d) => d.code === 4001 && d.wasOpen && d.willReconnect));
    // random() = 1 takes the top of each window: 40, 80 (capped), 80.
    assert.deepEqual(
      disconnects.slice(0, 3).map((d) => d.delayMs),
      [40, 80, 80],
    );
    assert.deepEqual(
      disconnects.slice(0, 3).map((d) => d.attempt),
      [1, 2, 3],
    );
  } finally {
    client.close();
    await server.kill();
  }
});

test('a connection that stayed up minUptimeMs resets the backoff: every retry is a first retry', async () => {
  const server = new RestartableServer();
  await server.start();
  server.onConnection = (socket) => setTimeout(() => socket.terminate(), 120);
  const client = new ReconnectingWebSocket(server.url, { ...FAST, minUptimeMs: 50, random: () => 1 });
  const disconnects: DisconnectEventInfo[] = [];
  client.on('disconnect', (info: DisconnectEventInfo) => disconnects.push(info));
  try {
    await until(() => disconnects.length >= 3, 'three disconnects');
    assert.deepEqual(
      disconnects.slice(0, 3).map((d) => [d.attempt, d.delayMs]),
      [
        [1, 40],
        [1, 40],
        [1, 40],
      ],
    );
  } finally {
    client.close();
    await server.kill();
  }
});

test('a URL function is called before every attempt (fresh tokens); a rejected one is a failed attempt', async () => {
  const server = new RestartableServer();
  await server.start();
  const urls: string[] = [];
  server.onConnection = (socket, url) => {
    urls.push(url);
    if (urls.length === 1) socket.terminate();
  };
  let calls = 0;
  const client = new ReconnectingWebSocket(
    async () => {
      calls++;
      if (calls === 2) throw new Error('token service down');
      return `${server.url}?token=${calls}`;
    },
    FAST,
  );
  const errors: string[] = [];
  client.on('disconnect', (info: DisconnectEventInfo) => errors.push(info.error?.message ?? ''));
  try {
    await once(client, 'reconnect');
    assert.deepEqual(urls, ['/?token=1', '/?token=3']);
    assert.ok(errors.includes('token service down'), errors.join(' | '));
  } finally {
    client.close();
    await server.kill();
  }
});

test('maxAttempts gives up against a closed port with close 1006 and the last error', async () => {
  const port = await closedPort();
  const client = new ReconnectingWebSocket(`ws://127.0.0.1:${port}/`, { minDelayMs: 5, maxDelayMs: 10, maxAttempts: 2 });
  const disconnects: DisconnectEventInfo[] = [];
  client.on('disconnect', (info: DisconnectEventInfo) => disconnects.push(info));
  const [code] = await once(client, 'close');
  assert.equal(code, 1006);
  // The first connection and two retries; the last one says nothing follows.
  assert.equal(disconnects.length, 3);
  assert.deepEqual(
    disconnects.map((d) => d.willReconnect),
    [true, true, false],
  );
  assert.match(disconnects[2].error?.message ?? '', /ECONNREFUSED|refused/i);
});

test('the backoff stays within [min, min(max, min * factor^(n+1))] (full jitter)', () => {
  const draws = [0, 0.5, 0.999];
  for (const r of draws) {
    const { reconnect } = resolveReconnectOptions({ minDelayMs: 100, maxDelayMs: 1000, random: () => r });
    for (let n = 0; n < 12; n++) {
      const delay = backoffDelayMs(reconnect, n);
      const ceiling = Math.min(1000, 100 * 2 ** (n + 1));
      assert.ok(delay >= 100 && delay <= ceiling, `n=${n} r=${r}: ${delay}`);
    }
  }
  const { reconnect } = resolveReconnectOptions({ minDelayMs: 100, maxDelayMs: 1000, random: () => 0.5 });
  assert.equal(backoffDelayMs(reconnect, 2000), 550, 'a huge attempt count stays capped (no Infinity/NaN)');
});

test('bad options get a clear error naming the option, before any connection', () => {
  const url = 'ws://127.0.0.1:1/';
  assert.throws(() => new ReconnectingWebSocket(url, { minDelayMs: -1 }), /option minDelayMs must be a number >= 0/);
  assert.throws(() => new ReconnectingWebSocket(url, { maxDelayMs: -5 }), /option maxDelayMs/);
  assert.throws(() => new ReconnectingWebSocket(url, { minDelayMs: 500, maxDelayMs: 100 }), /maxDelayMs \(100\) must be >= minDelayMs \(500\)/);
  assert.throws(() => new ReconnectingWebSocket(url, { maxAttempts: 1.5 }), /maxAttempts must be an integer/);
  assert.throws(() => new ReconnectingWebSocket(url, { factor: 0.5 }), /factor must be >= 1/);
  assert.throws(() => new ReconnectingWebSocket(url, { minUptimeMs: Number.NaN }), /minUptimeMs/);
  assert.throws(() => new ReconnectingWebSocket(url, { queueOverflow: 'fifo' as never }), /queueOverflow must be 'reject' or 'drop-oldest'/);
  assert.throws(() => new ReconnectingWebSocket(url, { protocols: ['bad token'] }), /option protocols/);
  assert.throws(() => new ReconnectingWebSocket('ftp://example/'), /URL scheme must be ws:, wss:, http: or https:, got ftp:/);
  assert.throws(() => new ReconnectingWebSocket(url, { maxQueuedMessages: -1 }), RangeError);
});

test('an AbortSignal ends the client like close()', async () => {
  const server = new RestartableServer();
  await server.start();
  const controller = new AbortController();
  const client = new ReconnectingWebSocket(server.url, { ...FAST, signal: controller.signal });
  try {
    await once(client, 'open');
    controller.abort();
    const [code] = await once(client, 'close');
    assert.equal(code, 1000);
    assert.equal(server.connections, 1);
  } finally {
    await server.kill();
  }
});
