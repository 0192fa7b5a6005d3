/**
 * The hub behaviour suite on the Redis backplane (a real redis-server), plus
 * what only Redis has: one channel subscription per topic per process,
 * publishes that wait out an outage, the queue bound, and a restart of Redis.
 */
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { RedisBackplane } from '../../src/node/topics/redis-backplane.js';
import { RedisServer, redisSkipReason } from '../support/redis.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { hubBehaviour, makeHub, sub, until } from './hub-behaviour.js';

const skip = redisSkipReason();
if (skip !== undefined) console.log(`# skipping Redis topic tests: ${skip}`);

let redis: RedisServer;
let prefixCounter = 0;
const open: RedisBackplane[] = [];

before(async () => {
  if (skip === undefined) redis = await RedisServer.start();
});
beforeEach(() => {
  currentPrefix = `t${++prefixCounter}:`;
});
after(async () => {
  for (const backplane of open) await backplane.close();
  await redis?.dispose();
});

/** Backplanes made within one test share a key prefix (one "deployment"); tests do not see each other. */
let currentPrefix = '';
function backplane(options: Partial<ConstructorParameters<typeof RedisBackplane>[0]> = {}): RedisBackplane {
  const created = new RedisBackplane({ url: redis.url, keyPrefix: currentPrefix, ...options });
  open.push(created);
  return created;
}

if (skip === undefined) {
  hubBehaviour(
    'redis',
    () => {
      return backplane();
    },
    { isShared: true },
  );
}

test('one channel subscription per topic per process, however many subscribers', { skip }, async () => {
  const one = makeHub(backplane());
  const two = makeHub(backplane());
  const subscribers = Array.from({ length: 100 }, (_, i) => sub(`s${i}`));
  for (const s of subscribers) {
    await one.subscribe(s, 'busy');
    await one.subscribe(s, 'quiet');
  }
  await two.subscribe(sub('x'), 'busy');
  const channels = ['busy', 'quiet'].map((t) => `${currentPrefix}{${t}}:c`);
  const numsub = redis.cli('pubsub', 'numsub', ...channels).trim().split('\n');
  assert.deepEqual(numsub, [channels[0], '2', channels[1], '1']);
  for (const s of subscribers) one.removeSubscriber(s);
  await until(() => redis.cli('pubsub', 'numsub', channels[1]).trim().endsWith('\n0'), 3000, 'the last unsubscribe to close the channel');
  await one.close();
  await two.close();
});

test('publishes wait for Redis in order, and past the bound they are refused with a code', { skip }, async () => {
  const own = await RedisServer.start();
  try {
    await own.stop();
    const waiting = new RedisBackplane({ url: own.url, maxQueuedPublishes: 5, maxQueuedBytes: 1000 });
    open.push(waiting);
    const states: string[] = [];
    const hub = makeHub(waiting, (state) => states.push(state));
    assert.equal(hub.state, 'down');
    // Unreachable from the start: said once (not once per retry), not kept silent.
    await until(() => states.length > 0, 5000, "the first 'down'");
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(states, ['down']);
    const queued = [1, 2, 3, 4, 5].map((i) => hub.publish('q', `m${i}`));
    await assert.rejects(hub.publish('q', 'm6'), { code: 'SW_BACKPLANE_QUEUE_FULL', name: 'BackplaneQueueFullError', message: /maxQueuedPublishes \(5\)/ });
    assert.equal(waiting.queuedPublishes, 5);
    const bytes = new RedisBackplane({ url: own.url, maxQueuedBytes: 10 });
    open.push(bytes);
    const first = bytes.publish('bytes', Buffer.alloc(8), { isBinary: true, id: 1 });
    await assert.rejects(bytes.publish('bytes', Buffer.alloc(8), { isBinary: true, id: 2 }), { code: 'SW_BACKPLANE_QUEUE_FULL', message: /maxQueuedBytes \(10\)/ });
    await own.restart();
    const positions = await Promise.all(queued);
    assert.deepEqual(positions.map((p) => p.offset), [1, 2, 3, 4, 5], 'stored in publish order once Redis is back');
    assert.equal((await first).offset, 1);
    await waiting.ready();
    assert.equal(hub.state, 'up');
    assert.deepEqual(states, ['down', 'up']);
    await hub.close();
    await bytes.close();
    await assert.rejects(bytes.publish('bytes', Buffer.alloc(1), { isBinary: true, id: 3 }), { code: 'SW_BACKPLANE_CLOSED' });
  } finally {
    await own.dispose();
  }
});

test('a subscriber cut off longer than the history gets the rest and a gap with the exact missing offsets', { skip }, async () => {
  const proxy = await TcpProxy.start(redis.port);
  try {
    const far = new RedisBackplane({ url: proxy.url, keyPrefix: currentPrefix, historySize: 5 });
    open.push(far);
    const farHub = makeHub(far);
    const near = makeHub(backplane({ historySize: 5 }));
    const s = sub('s');
    await farHub.subscribe(s, 'feed');
    for (let i = 1; i <= 3; i++) await near.publish('feed', `m${i}`);
    await until(() => s.got.length === 3);
    proxy.cut();
    await until(() => far.state === 'down', 3000, 'the far backplane to notice');
    for (let i = 4; i <= 20; i++) await near.publish('feed', `m${i}`);
    proxy.restore();
    await until(() => s.got.includes('m20'), 5000, 'catch-up after the cut');
    assert.equal(s.gaps.length, 1);
    assert.deepEqual(
      { reason: s.gaps[0].reason, fromOffset: s.gaps[0].fromOffset, toOffset: s.gaps[0].toOffset },
      { reason: 'missed', fromOffset: 4, toOffset: 15 },
      'offsets 4..15 are past the 5 messages the subscriber may read back',
    );
    assert.deepEqual(s.got, ['m1', 'm2', 'm3', 'm16', 'm17', 'm18', 'm19', 'm20']);
    await near.publish('feed', 'm21');
    await until(() => s.got.at(-1) === 'm21');
    await farHub.close();
    await near.close();
  } finally {
    await proxy.close();
  }
});

test('history older than historyMaxAgeMs is not offered for recovery', { skip }, async () => {
  const aging = backplane({ historyMaxAgeMs: 300, metaTtlMs: 60_000 });
  const first = await aging.publish('aging', Buffer.from('old'), { isBinary: false, id: 1 });
  await new Promise((resolve) => setTimeout(resolve, 400));
  await aging.publish('aging', Buffer.from('new'), { isBinary: false, id: 2 });
  const result = await aging.history('aging', { epoch: first.epoch, offset: 0 });
  assert.equal(result.recovered, false);
  assert.deepEqual(result.messages.map((m) => m.payload.toString()), ['new']);
  const recent = await aging.history('aging', first);
  assert.equal(recent.recovered, true);
  assert.deepEqual(recent.messages.map((m) => m.payload.toString()), ['new']);
  assert.throws(() => new RedisBackplane({ url: redis.url, historyMaxAgeMs: 10_000, metaTtlMs: 1000 }), { name: 'RangeError', message: /metaTtlMs/ });
  assert.throws(() => new RedisBackplane({ url: redis.url, keyPrefix: 'a{b}' }), { name: 'RangeError', message: /keyPrefix/ });
  assert.throws(() => new RedisBackplane({} as never), { name: 'TypeError', message: /url or rootNodes/ });
});
