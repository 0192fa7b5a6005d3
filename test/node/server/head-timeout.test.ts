/**
 * Issue #12, section 3: a WebSocketServer attached to the app's own HTTP
 * server (plain node:http, Express, Fastify) sees a connection only once Node
 * parsed its request head; `limitRequestHeadTime(server, ms)` is the one line
 * that puts the head phase under a deadline too.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import Fastify from 'fastify';
import WebSocket from 'ws';
import { WebSocketServer } from '../../../src/node/server/server.js';
import { limitRequestHeadTime } from '../../../src/node/server/head-timeout.js';
import { dribbleHead, halfHead, silentConnection } from '../../support/slow-clients.js';

const TIMEOUT_MS = 600;

async function expectDropped(port: number): Promise<void> {
  const [dribbled, half, silent] = await Promise.all([
    dribbleHead(port, 100, 4_000),
    halfHead(port, 4_000),
    silentConnection(port, 4_000),
  ]);
  console.log(`# dropped after: dribbling ${dribbled?.toFixed(0)} ms, half-sent ${half?.toFixed(0)} ms, silent ${silent?.toFixed(0)} ms`);
  for (const [name, ms] of [['dribbling', dribbled], ['half-sent', half], ['silent', silent]] as const) {
    assert.notEqual(ms, null, `${name} client still connected after 4 s`);
    assert.ok(ms! >= TIMEOUT_MS - 100 && ms! < TIMEOUT_MS + 1_500, `${name} client dropped after ${ms!.toFixed(0)} ms`);
  }
}

/** An echo WebSocket client that stays open past the head deadline. */
async function expectUpgradeOutlivesDeadline(port: number): Promise<void> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  await once(ws, 'open');
  await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS + 300));
  assert.equal(ws.readyState, WebSocket.OPEN);
  ws.close();
  await once(ws, 'close');
}

test('issue 12: limitRequestHeadTime on a node:http server drops slow heads; upgrades and keep-alive requests stay', async () => {
  const server = http.createServer((_req, res) => res.end('ok'));
  const wss = new WebSocketServer({ server, handshakeTimeoutMs: TIMEOUT_MS });
  limitRequestHeadTime(server, TIMEOUT_MS);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await expectDropped(port);
    await expectUpgradeOutlivesDeadline(port);
    // A plain request on a kept-alive connection, then another one after the deadline passed.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<string>((resolve, reject) => {
        http.get({ port, host: '127.0.0.1', agent }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d)).on('end', () => resolve(body));
        }).on('error', reject);
      });
    assert.equal(await get(), 'ok');
    await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS + 100));
    assert.equal(await get(), 'ok');
    agent.destroy();
  } finally {
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('issue 12: the same one line covers an Express app', async () => {
  // express ships no types and this repository installs none: type the little used here.
  type Express = http.RequestListener & { get(path: string, handler: (req: unknown, res: { send(body: string): void }) => void): void };
  const { default: express } = (await import('express' as string)) as { default: () => Express };
  const app = express();
  app.get('/', (_req, res) => {
    res.send('ok');
  });
  const server = http.createServer(app);
  limitRequestHeadTime(server, TIMEOUT_MS);
  const wss = new WebSocketServer({ server, handshakeTimeoutMs: TIMEOUT_MS });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await expectDropped(port);
    await expectUpgradeOutlivesDeadline(port);
  } finally {
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('issue 12: and a Fastify app, through fastify.server', async () => {
  const app = Fastify();
  app.get('/', async () => 'ok');
  limitRequestHeadTime(app.server, TIMEOUT_MS);
  const wss = new WebSocketServer({ server: app.server, handshakeTimeoutMs: TIMEOUT_MS });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  try {
    await expectDropped(port);
    await expectUpgradeOutlivesDeadline(port);
  } finally {
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    app.server.closeAllConnections();
    await app.close();
  }
});

test('limitRequestHeadTime validates its timeout and accepts Infinity as off', () => {
  const server = http.createServer();
  assert.throws(() => limitRequestHeadTime(server, 0), RangeError);
  assert.throws(() => limitRequestHeadTime(server, -1), RangeError);
  const before = server.listenerCount('connection');
  const undo = limitRequestHeadTime(server, Infinity);
  assert.equal(server.listenerCount('connection'), before);
  undo();
});
