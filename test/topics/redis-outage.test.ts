/**
 * No silent loss when Redis goes away: two real processes (a publisher and a
 * subscriber with three clients) exchange numbered messages through a real
 * redis-server that is stopped or killed mid-stream, and a subscriber process
 * that restarts and recovers its clients from their last positions.
 * Each test prints its numbers (published, delivered, reported missing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { RedisServer, redisSkipReason } from '../support/redis.js';
import { accountFor, checkPublishOrder, HubProcess, type ProcessReport } from './fixtures/hub-process-driver.js';

const skip = redisSkipReason();
if (skip !== undefined) console.log(`# skipping Redis outage tests: ${skip}`);

const CLIENTS = ['c1', 'c2', 'c3'];
const COUNT = 600;
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Polls the subscriber until every client has the last number (or a gap covers it), or gives up. */
async function settle(subscriber: HubProcess, last: number, ms = 10_000): Promise<ProcessReport> {
  const deadline = Date.now() + ms;
  for (;;) {
    const report = await subscriber.report();
    const done = report.clients.every((c) => c.log.includes(last));
    if (done || Date.now() > deadline) return report;
    await delay(100);
  }
}

async function outage(kind: 'graceful' | 'sigkill', t: { diagnostic(message: string): void }): Promise<void> {
  const redis = await RedisServer.start({ isPersistent: kind === 'graceful' });
  const env = { REDIS_URL: redis.url, KEY_PREFIX: `outage-${kind}:` };
  const [publisher, subscriber] = await Promise.all([HubProcess.start(env), HubProcess.start(env)]);
  try {
    await subscriber.subscribe('numbers', CLIENTS);
    publisher.send({ type: 'publish', topic: 'numbers', from: 1, to: COUNT, intervalMs: 2 });
    await publisher.next('publishing');
    await delay(400);
    if (kind === 'graceful') await redis.stop();
    else await redis.kill();
    await delay(300);
    await redis.restart();
    await publisher.next('published', 30_000);
    const sent = await publisher.report();
    assert.equal(sent.failed.length, 0, `no publish may fail within the queue bound: ${JSON.stringify(sent.failed.slice(0, 3))}`);
    assert.equal(sent.published.length, COUNT);
    checkPublishOrder(sent.published);
    const report = await settle(subscriber, COUNT);
    const lines: string[] = [];
    for (const client of report.clients) {
      const account = accountFor(client.log, range(1, COUNT));
      lines.push(`${client.name}: delivered ${account.delivered}, reported missing ${account.missing.length}, gap events ${account.gaps}`);
      assert.deepEqual(account.silentlyMissing, [], `${client.name} lost messages without a gap event`);
      if (kind === 'graceful') {
        assert.equal(account.delivered, COUNT, `${client.name}: with AOF and a graceful stop nothing is lost`);
        assert.equal(account.gaps, 0);
      } else {
        assert.ok(account.gaps >= 1, `${client.name}: a restart without persistence must be reported`);
        assert.equal(client.gaps[0].reason, 'epoch');
      }
    }
    const epochs = new Set(sent.published.map((p) => p.epoch));
    const summary = `outage (${kind === 'graceful' ? 'SIGTERM, AOF on' : 'SIGKILL, no persistence'}): published ${COUNT}, epochs ${epochs.size}, publisher states ${sent.states.join('>')}; ${lines.join('; ')}`;
    t.diagnostic(summary);

    if (kind === 'graceful') assert.equal(epochs.size, 1, 'AOF keeps the epoch');
    else assert.equal(epochs.size, 2, 'losing the data starts a new epoch');
  } finally {
    await Promise.all([publisher.kill(), subscriber.kill()]);
    await redis.dispose();
  }
}

test('Redis stopped gracefully with AOF and restarted: every client gets every message, in order, once', { skip }, async (t) => {
  await outage('graceful', t);
});

test('Redis SIGKILLed without persistence and restarted: in order, no duplicates, and a gap reported for what is missing', { skip }, async (t) => {
  await outage('sigkill', t);
});

test('a subscriber process restarts and its clients recover from their last positions', { skip }, async (t) => {
  const redis = await RedisServer.start();
  const env = { REDIS_URL: redis.url, KEY_PREFIX: 'restart:' };
  const [publisher, first] = await Promise.all([HubProcess.start(env), HubProcess.start(env)]);
  let second: HubProcess | undefined;
  try {
    await first.subscribe('numbers', CLIENTS);
    publisher.send({ type: 'publish', topic: 'numbers', from: 1, to: COUNT, intervalMs: 2 });
    await publisher.next('publishing');
    await delay(500);
    // What each browser last saw, then the server process dies.
    const before = await first.report();
    await first.kill();
    second = await HubProcess.start(env);
    const since = Object.fromEntries(before.clients.map((c) => [c.name, c.last]));
    const results = await second.subscribe('numbers', CLIENTS, since);
    assert.ok(results.every((r) => r.recovered), 'the history covers the restart');
    await publisher.next('published', 30_000);
    const after = await settle(second, COUNT);
    const lines: string[] = [];
    for (const client of after.clients) {
      const earlier = before.clients.find((c) => c.name === client.name)!;
      const log = [...earlier.log, ...client.log];
      const account = accountFor(log, range(1, COUNT));
      assert.equal(account.delivered, COUNT, `${client.name} has every message exactly once`);
      lines.push(`${client.name}: ${earlier.log.length} before the restart + ${client.log.length} after`);
    }
    const summary = `subscriber restart: published ${COUNT}; ${lines.join('; ')}; missing 0`;
    t.diagnostic(summary);

  } finally {
    await Promise.all([publisher.kill(), first.kill(), second?.kill()]);
    await redis.dispose();
  }
});
