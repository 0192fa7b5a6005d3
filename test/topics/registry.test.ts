import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { TopicRegistry } from '../../src/node/topics/registry.js';

interface Sub {
  readonly name: string;
}

test('subscribe, isSubscribed, topicsOf and subscribers agree', () => {
  const registry = new TopicRegistry<Sub>();
  const a = { name: 'a' };
  const b = { name: 'b' };
  assert.equal(registry.subscribe(a, 'chat'), true);
  assert.equal(registry.subscribe(a, 'chat'), false, 'a second subscribe is a no-op');
  registry.subscribe(b, 'chat');
  registry.subscribe(a, 'news');
  assert.equal(registry.isSubscribed(a, 'chat'), true);
  assert.equal(registry.isSubscribed(b, 'news'), false);
  assert.deepEqual(registry.topicsOf(a).sort(), ['chat', 'news']);
  assert.deepEqual([...registry.subscribers('chat')], [a, b], 'fan-out order is subscription order');
  assert.equal(registry.subscriberCount('chat'), 2);
  assert.equal(registry.subscriberCount('nobody'), 0);
  assert.equal(registry.subscriptionCount, 3);
});

test('unsubscribe and removeSubscriber leave no empty topic or subscriber behind', () => {
  const registry = new TopicRegistry<Sub>();
  const a = { name: 'a' };
  const b = { name: 'b' };
  for (const topic of ['t1', 't2', 't3']) registry.subscribe(a, topic);
  registry.subscribe(b, 't2');
  assert.equal(registry.unsubscribe(a, 't2'), true);
  assert.equal(registry.unsubscribe(a, 't2'), false);
  assert.deepEqual(registry.topicsOf(a).sort(), ['t1', 't3']);
  assert.deepEqual(registry.removeSubscriber(a).sort(), ['t1', 't3']);
  assert.equal(registry.topicCount, 1, 'only t2 (held by b) remains');
  assert.equal(registry.subscriberTotal, 1);
  assert.equal(registry.subscriptionCount, 1);
  assert.deepEqual(registry.removeSubscriber(a), []);
  registry.unsubscribe(b, 't2');
  assert.equal(registry.topicCount, 0);
  assert.equal(registry.subscriptionCount, 0);
});

test('bad topic names get a TypeError or a RangeError that says why', () => {
  const registry = new TopicRegistry<Sub>({ maxTopicBytes: 8 });
  const a = { name: 'a' };
  assert.throws(() => registry.subscribe(a, ''), { name: 'RangeError', message: /empty/ });
  assert.throws(() => registry.subscribe(a, 'x'.repeat(9)), { name: 'RangeError', message: /9 bytes.*maxTopicBytes \(8\)/ });
  assert.throws(() => registry.subscribe(a, 'ééééé'), { name: 'RangeError', message: /10 bytes/ }, 'the limit counts UTF-8 bytes');
  assert.throws(() => registry.subscribe(a, 42 as unknown as string), { name: 'TypeError', message: /string/ });
  assert.throws(() => registry.subscribe(a, 'a\ud800'), { name: 'TypeError', message: /surrogate/ });
  assert.equal(registry.subscribe(a, 'x'.repeat(8)), true, 'exactly at the limit is fine');
  assert.throws(() => new TopicRegistry({ maxTopicBytes: 0 }), { name: 'RangeError', message: /maxTopicBytes/ });
  assert.equal(new TopicRegistry({ maxTopicBytes: Infinity }).maxTopicBytes, Infinity);
  assert.equal(new TopicRegistry().maxTopicBytes, 256);
});

test('subscriptions cost little memory (100k subscriptions measured)', () => {
  const gc = exposeGc();
  const registry = new TopicRegistry<object>();
  const subscribers = Array.from({ length: 25_000 }, () => ({}));
  const topics = Array.from({ length: 1_000 }, (_, i) => `room/${i}`);
  gc();
  const before = process.memoryUsage().heapUsed;
  let n = 0;
  for (const subscriber of subscribers) for (let k = 0; k < 4; k++) registry.subscribe(subscriber, topics[n++ % topics.length]);
  gc();
  const perSubscription = (process.memoryUsage().heapUsed - before) / registry.subscriptionCount;
  console.log(`# registry: ${perSubscription.toFixed(1)} bytes per subscription (100k subscriptions, 4 per subscriber)`);
  assert.equal(registry.subscriptionCount, 100_000);
  assert.ok(perSubscription < 120, `${perSubscription} bytes per subscription`);
});

/** A gc() without needing --expose-gc on the command line (the flag applies to new contexts). */
function exposeGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}
