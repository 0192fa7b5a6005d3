/**
 * The Redis backplane on a Redis Cluster: three masters started on loopback,
 * sharded pub/sub (SSUBSCRIBE/SPUBLISH), topics spread over the slots, the
 * hub behaviour suite, and a master restart with the same accounting as the
 * single-server outage tests.
 */
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { RedisBackplane } from '../../src/node/topics/redis-backplane.js';
import { RedisCluster, redisSkipReason } from '../support/redis.js';
import { setTimeout as delay } from 'node:timers/promises';
import { accountFor, checkPublishOrder, HubProcess } from './fixtures/hub-process-driver.js';
import { hubBehaviour, makeHub, sub, until } from './hub-behaviour.js';

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

const skip = redisSkipReason();
if (skip !== undefined) console.log(`# skipping Redis Cluster tests: ${skip}`);

let cluster: RedisCluster;
let prefixCounter = 0;
let currentPrefix = '';
const open: RedisBackplane[] = [];

before(async () => {
  if (skip === undefined) cluster = await RedisCluster.start(3);
});
beforeEach(() => {
  currentPrefix = `c${++prefixCounter}:`;
});
after(async () => {
  for (const backplane of open) await backplane.close();
  await cluster?.dispose();
});

function backplane(): RedisBackplane {
  const created = new RedisBackplane({ rootNodes: cluster.rootNodes, keyPrefix: currentPrefix });
  open.push(created);
  return created;
}

if (skip === undefined) hubBehaviour('redis cluster', () => backplane(), { isShared: true });

test('topics spread over the slots of all three masters, each delivered through sharded pub/sub', { skip }, async () => {
  const hub = makeHub(backplane());
  const topics = Array.from({ length: 12 }, (_, i) => `room-${i}`);
  const subscribers = topics.map((t) => sub(t));
  for (let i = 0; i < topics.length; i++) await hub.subscribe(subscribers[i], topics[i]);
  for (const topic of topics) await hub.publish(topic, `hello ${topic}`);
  await until(() => subscribers.every((s) => s.got.length === 1));
  for (let i = 0; i < topics.length; i++) assert.deepEqual(subscribers[i].got, [`hello ${topics[i]}`]);
  const owners = new Set(topics.map((t) => cluster.nodeFor(`${currentPrefix}{${t}}:m`).port));
  assert.equal(owners.size, 3, 'the topics live on every master');
  for (const node of cluster.nodes) {
    const channels = node.cli('pubsub', 'shardchannels').trim().split('\n').filter(Boolean);
    assert.ok(channels.length > 0, `master ${node.port} serves sharded channels`);
  }
  await hub.close();
});

/**
 * Three topics, one per master, published to by one process and received by
 * another while the master of the first topic restarts.
 */
async function masterRestart(target: RedisCluster, kind: 'sigkill' | 'graceful', t: { diagnostic(message: string): void }): Promise<void> {
  const prefix = `restart-${kind}${prefixCounter}:`;
  // One topic per master, so the restart hits exactly one of them.
  const topics: string[] = [];
  const owners = new Set<number>();
  for (let i = 0; topics.length < 3; i++) {
    const port = target.nodeFor(`${prefix}{feed-${i}}:m`).port;
    if (!owners.has(port)) {
      owners.add(port);
      topics.push(`feed-${i}`);
    }
  }
  const victim = target.nodeFor(`${prefix}{${topics[0]}}:m`);
  const env = { REDIS_ROOT_NODES: JSON.stringify(target.rootNodes), KEY_PREFIX: prefix };
  const [publisher, subscriber] = await Promise.all([HubProcess.start(env), HubProcess.start(env)]);
  const count = 300;
  try {
    for (const topic of topics) await subscriber.subscribe(topic, [`${topic}/c1`, `${topic}/c2`]);
    publisher.send({ type: 'publish', topics, from: 1, to: count, intervalMs: 3 });
    await publisher.next('publishing');
    await delay(300);
    if (kind === 'sigkill') await victim.kill();
    else await victim.stop();
    await delay(300);
    await victim.restart();
    await target.waitForOk();
    await publisher.next('published', 40_000);
    const sent = await publisher.report();
    assert.deepEqual(sent.failed, []);
    checkPublishOrder(sent.published);
    const deadline = Date.now() + 15_000;
    let report = await subscriber.report();
    while (!report.clients.every((c) => c.log.includes(count)) && Date.now() < deadline) {
      await delay(100);
      report = await subscriber.report();
    }
    const lines: string[] = [];
    for (const client of report.clients) {
      const account = accountFor(client.log, range(1, count));
      lines.push(`${client.name}: delivered ${account.delivered}/${count}, missing ${account.missing.length}, gap events ${account.gaps}`);
      assert.deepEqual(account.silentlyMissing, [], `${client.name} lost messages without a gap event`);
      if (client.topic !== topics[0] || kind === 'graceful') {
        assert.equal(account.delivered, count, `${client.name}: nothing is lost`);
        assert.equal(account.gaps, 0);
      } else {
        assert.ok(account.gaps >= 1, `${client.name}: the restarted master lost its data, which must be reported`);
      }
    }
    const how = kind === 'sigkill' ? 'SIGKILL, no persistence' : 'SIGTERM, AOF on';
    t.diagnostic(`cluster master restart (${how}, ${topics[0]} on the restarted master): published ${count} per topic; ${lines.join('; ')}`);
  } finally {
    await Promise.all([publisher.kill(), subscriber.kill()]);
  }
}

test('a cluster master SIGKILLed and restarted: every client in order without duplicates, gaps reported only where data was lost', { skip }, async (t) => {
  await masterRestart(cluster, 'sigkill', t);
});

test('a cluster master stopped gracefully with AOF and restarted: every client gets every message, in order, once', { skip }, async (t) => {
  const persistent = await RedisCluster.start(3, { isPersistent: true });
  try {
    await masterRestart(persistent, 'graceful', t);
  } finally {
    await persistent.dispose();
  }
});
