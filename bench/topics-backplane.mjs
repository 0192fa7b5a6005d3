#!/usr/bin/env node
// Socket-free numbers for the topic layer (loaded from dist/: run `npm run build` first):
// - publish -> deliver throughput through the embedded backplane and through Redis
//   (two backplanes = two "processes" sharing one redis-server), with the Redis
//   figure as a fraction of the embedded one;
// - heap bytes per subscription held by a TopicHub (100k subscriptions on 1k topics).
// Starts its own redis-server on a free port (REDIS_SERVER to override the binary).
// Usage: node bench/topics-backplane.mjs [--messages 20000] [--size 64]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { TopicHub, EmbeddedBackplane } from '../dist/index.js';
import { RedisBackplane } from '../dist/redis.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const MESSAGES = arg('messages', 20_000);
const SIZE = arg('size', 64);

async function throughput(publisherBackplane, subscriberBackplane) {
  let received = 0;
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  const subscriberHub = new TopicHub({
    backplane: subscriberBackplane,
    deliver: (_topic, _message, subscribers) => {
      for (const _ of subscribers) received++;
      if (received === MESSAGES) done();
    },
  });
  const publisherHub = publisherBackplane === subscriberBackplane ? subscriberHub : new TopicHub({ backplane: publisherBackplane, deliver() {} });
  await subscriberHub.subscribe({}, 'bench');
  const payload = Buffer.alloc(SIZE, 7);
  const start = process.hrtime.bigint();
  // Batches of 1000 in flight: well under maxQueuedPublishes, and enough to keep the pipeline full.
  for (let i = 0; i < MESSAGES; i += 1000) {
    const batch = [];
    for (let k = i; k < Math.min(MESSAGES, i + 1000); k++) batch.push(publisherHub.publish('bench', payload));
    await Promise.all(batch);
  }
  await finished;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await subscriberHub.close();
  if (publisherHub !== subscriberHub) await publisherHub.close();
  return MESSAGES / seconds;
}

async function bytesPerSubscription() {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  const hub = new TopicHub({ deliver() {} });
  const subscribers = Array.from({ length: 25_000 }, () => ({}));
  const topics = Array.from({ length: 1_000 }, (_, i) => `room/${i}`);
  gc();
  const before = process.memoryUsage().heapUsed;
  let n = 0;
  for (const s of subscribers) for (let k = 0; k < 4; k++) hub.subscribe(s, topics[n++ % topics.length]);
  // Let the subscribe promises settle: only what the hub keeps should count.
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  const bytes = (process.memoryUsage().heapUsed - before) / (subscribers.length * 4);
  void hub.close();
  return bytes;
}

async function startRedis() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  const dir = mkdtempSync(join(tmpdir(), 'sockwave-bench-redis-'));
  const child = spawn(process.env.REDIS_SERVER ?? '/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.end(() => resolve(true)));
      socket.on('error', () => resolve(false));
    });
    if (ok) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const stop = () => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  // Also on a crash: never leave a redis-server behind.
  process.once('exit', stop);
  return { url: `redis://127.0.0.1:${port}`, stop };
}

// Each figure is the best of three runs (the first warms the JIT up).
const best = async (run) => Math.max(await run(), await run(), await run());
const embedded = await best(() => {
  const backplane = new EmbeddedBackplane();
  return throughput(backplane, backplane);
});
const redis = await startRedis();
let viaRedis;
try {
  let round = 0;
  viaRedis = await best(() => {
    const keyPrefix = `bench${++round}:`;
    return throughput(new RedisBackplane({ url: redis.url, keyPrefix }), new RedisBackplane({ url: redis.url, keyPrefix }));
  });
} finally {
  redis.stop();
}
const perSubscription = await bytesPerSubscription();
console.log(`messages ${MESSAGES} x ${SIZE} B, one topic, one subscriber per hub`);
console.log(`embedded backplane: ${Math.round(embedded).toLocaleString('en')} msg/s`);
console.log(`redis backplane (publisher and subscriber on separate connections): ${Math.round(viaRedis).toLocaleString('en')} msg/s = ${(viaRedis / embedded).toFixed(3)} of embedded`);
console.log(`TopicHub memory: ${perSubscription.toFixed(1)} bytes per subscription (100k subscriptions, 1k topics)`);
