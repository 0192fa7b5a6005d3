/**
 * Every example in examples/ runs here the way a reader would use it: the
 * example imports 'sockwave' (the built package in dist/, via the package's
 * self-reference) and is driven by a `ws` client or sockwave's own client.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import WebSocket from 'ws';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const skip = existsSync(`${ROOT}dist/index.js`) ? undefined : 'dist/ is not built (npm test builds it; or run npm run build)';
if (skip) console.log(`# skipping examples: ${skip}`);

/** Examples are plain JavaScript, loaded by URL (so untyped, as a reader's code would be). */
function loadExample(name: string): Promise<any> {
  return import(new URL(`../../examples/${name}`, import.meta.url).href);
}

/** Messages are queued from the start: the first one may arrive in the same chunk as the 101. */
const inboxes = new WeakMap<WebSocket, { queue: string[]; wake?: () => void }>();

async function openWs(url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, options);
  const inbox: { queue: string[]; wake?: () => void } = { queue: [] };
  inboxes.set(ws, inbox);
  ws.on('message', (data: Buffer) => {
    inbox.queue.push(data.toString());
    inbox.wake?.();
  });
  await once(ws, 'open');
  return ws;
}

async function messages(ws: WebSocket, count: number): Promise<string[]> {
  const inbox = inboxes.get(ws)!;
  while (inbox.queue.length < count) await new Promise<void>((resolve) => (inbox.wake = resolve));
  return inbox.queue.splice(0, count);
}

/** Resolves with the HTTP status of a refused upgrade. */
function refusedStatus(url: string, options: WebSocket.ClientOptions = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => reject(new Error('upgrade was accepted')));
    ws.on('error', () => {});
  });
}

describe('examples', { skip, timeout: 55_000 }, () => {
  test('auth-verify: a known token gets its session, unknown tokens 401, foreign origins 403', async () => {
    const { startAuthServer } = await loadExample('auth-verify.mjs');
    const server = await startAuthServer({ port: 0 });
    try {
      const alice = await openWs(server.url, { headers: { Authorization: 'Bearer alice-token' } });
      const [welcome] = await messages(alice, 1);
      assert.deepEqual(JSON.parse(welcome), { type: 'welcome', user: 'alice', role: 'admin' });
      alice.send('echo me');
      assert.deepEqual(await messages(alice, 1), ['echo me']);
      alice.close();

      const bob = await openWs(`${server.url}/?token=bob-token`, { origin: 'https://app.example.com' });
      await messages(bob, 1);
      bob.send('may I?');
      const [code, reason] = await once(bob, 'close');
      assert.equal(code, 1008);
      assert.equal(String(reason), 'read-only user');

      assert.equal(await refusedStatus(server.url, { headers: { Authorization: 'Bearer nope' } }), 401);
      assert.equal(await refusedStatus(`${server.url}/?token=alice-token`, { origin: 'https://evil.test' }), 403);
    } finally {
      await server.close();
    }
  });

  test('chat-room: messages reach the members of the same room only, with joins announced', async () => {
    const { startChatRoom } = await loadExample('chat-room.mjs');
    const server = await startChatRoom({ port: 0 });
    try {
      const ann = await openWs(`${server.url}/room/lobby?name=ann`);
      assert.deepEqual(JSON.parse((await messages(ann, 1))[0]), { type: 'joined', room: 'lobby', members: ['ann'] });
      const bob = await openWs(`${server.url}/room/lobby?name=bob`);
      await messages(bob, 1);
      assert.deepEqual(JSON.parse((await messages(ann, 1))[0]), { type: 'join', name: 'bob' });
      const eve = await openWs(`${server.url}/room/other?name=eve`);
      await messages(eve, 1);

      bob.send('hi ann');
      const expected = { type: 'text', from: 'bob', text: 'hi ann' };
      assert.deepEqual(JSON.parse((await messages(ann, 1))[0]), expected);
      assert.deepEqual(JSON.parse((await messages(bob, 1))[0]), expected);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(inboxes.get(eve)!.queue.length, 0, 'another room hears nothing');
      assert.equal(await refusedStatus(`${server.url}/nowhere`), 404);
      for (const ws of [ann, bob, eve]) ws.terminate();
    } finally {
      await server.close();
    }
  });

  test('express: HTTP routes and WebSocket upgrades share one port', async () => {
    const { startExpressApp } = await loadExample('express.mjs');
    const app = await startExpressApp({ port: 0 });
    try {
      const ws = await openWs(app.url);
      const health = await (await fetch(`${app.httpUrl}/health`)).json();
      assert.deepEqual(health, { ok: true, sockets: 1 });
      const echo = once(ws, 'message');
      ws.send(Buffer.from([1, 2, 3]));
      const [data, isBinary] = await echo;
      assert.deepEqual([...data], [1, 2, 3]);
      assert.equal(isBinary, true);
      ws.terminate();
    } finally {
      await app.close();
    }
  });

  test('fastify: handleUpgrade takes /ws with a token, other upgrades get 401', async () => {
    const { startFastifyApp } = await loadExample('fastify.mjs');
    const app = await startFastifyApp({ port: 0 });
    try {
      const ws = await openWs(app.url);
      assert.deepEqual(await messages(ws, 1), ['hello from fastify, you asked for /ws?token=demo']);
      ws.send('round trip');
      assert.deepEqual(await messages(ws, 1), ['round trip']);
      assert.deepEqual(await (await fetch(`${app.httpUrl}/health`)).json(), { ok: true, sockets: 1 });
      assert.equal(await refusedStatus(app.url.replace('token=demo', 'token=x')), 401);
      ws.terminate();
    } finally {
      await app.close();
    }
  });

  test('node-client: connect() and the WebSocket class talk to an echo server', async () => {
    const { startExpressApp } = await loadExample('express.mjs');
    const { exchange, firstReply } = await loadExample('node-client.mjs');
    const app = await startExpressApp({ port: 0 });
    try {
      assert.deepEqual(await exchange(app.url, ['one', 'two', 'three']), ['one', 'two', 'three']);
      assert.equal(await firstReply(app.url, 'standard'), 'standard');
    } finally {
      await app.close();
    }
  });

  test('node-client runs as a script and prints the replies', async () => {
    const { startExpressApp } = await loadExample('express.mjs');
    const app = await startExpressApp({ port: 0 });
    try {
      const child = spawn(process.execPath, [`${ROOT}examples/node-client.mjs`, app.url, 'from the command line'], { cwd: ROOT });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      const [code] = await once(child, 'close');
      assert.equal(code, 0);
      assert.equal(out, 'from the command line\nWebSocket class: one more\n');
    } finally {
      await app.close();
    }
  });

  test('issue 12: node-client without a server prints one error line and exits 1, no stack trace', async () => {
    const { createServer } = await import('node:net');
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const child = spawn(process.execPath, [`${ROOT}examples/node-client.mjs`, `ws://127.0.0.1:${port}`], { cwd: ROOT });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const [code] = await once(child, 'close');
    assert.equal(code, 1);
    assert.match(err, new RegExp(`^error: could not talk to ws://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
    assert.equal(err.trimEnd().split('\n').length, 1, err);
  });
});
