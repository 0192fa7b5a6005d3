/**
 * `sockwave listen --broadcast --redis URL`: two CLI processes on one real
 * redis-server form one room per request path. `ws` clients on either
 * server get every other client's messages on their path, never their own,
 * and never another path's.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { RedisServer, redisSkipReason } from '../support/redis.js';
import { runCli, startListen, type CliProcess } from './run-cli.js';

const skip = redisSkipReason();
if (skip !== undefined) console.log(`# skipping listen --redis: ${skip}`);
const running: CliProcess[] = [];
let redis: RedisServer;

before(async () => {
  if (skip === undefined) redis = await RedisServer.start();
});
after(async () => {
  for (const cli of running) cli.child.kill('SIGKILL');
  await redis?.dispose();
});

async function open(url: string): Promise<{ ws: WebSocket; got: string[] }> {
  const ws = new WebSocket(url);
  const got: string[] = [];
  ws.on('message', (data: Buffer) => got.push(data.toString()));
  await once(ws, 'open');
  return { ws, got };
}

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('two listen --broadcast --redis servers form one room per path', { skip, timeout: 60_000 }, async () => {
  const one = await startListen(['--port', '0', '--broadcast', '--redis', redis.url]);
  running.push(one);
  const two = await startListen(['--port', '0', '--broadcast', '--redis', redis.url]);
  running.push(two);
  const a = await open(`${one.url}/chat?name=a`);
  const b = await open(`${two.url}/chat`);
  const c = await open(`${two.url}/chat`);
  const other = await open(`${one.url}/other`);
  // Subscriptions are live when the server accepted; give the Redis SUBSCRIBE a moment to land.
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (let i = 0; i < 20; i++) a.ws.send(`a${i}`);
  b.ws.send('from b');
  const fromA = Array.from({ length: 20 }, (_, i) => `a${i}`);
  await until(() => b.got.length >= 20 && c.got.length === 21 && a.got.length === 1, 'room messages');
  assert.deepEqual(c.got.filter((m) => m.startsWith('a')), fromA, 'in order, across servers');
  assert.deepEqual(b.got, fromA, 'not its own message');
  assert.deepEqual(a.got, ['from b']);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(other.got, [], 'another path is another room');
  for (const x of [a, b, c, other]) x.ws.close();
});

test('--redis without --broadcast, or with a bad URL, is a usage error', async () => {
  const alone = await runCli(['listen', '--redis', 'redis://127.0.0.1:1']);
  assert.equal(alone.code, 2);
  assert.match(alone.stderr, /--redis needs --broadcast/);
  const bad = await runCli(['listen', '--broadcast', '--redis', 'http://x']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /redis:\/\//);
});
