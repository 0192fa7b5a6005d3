import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BackplaneMessage, GapInfo } from '../../src/node/topics/backplane.js';
import { EmbeddedBackplane } from '../../src/node/topics/embedded-backplane.js';

function collect(backplane: EmbeddedBackplane): { messages: BackplaneMessage[]; gaps: GapInfo[] } {
  const messages: BackplaneMessage[] = [];
  const gaps: GapInfo[] = [];
  backplane.setListener({ onMessage: (m) => messages.push(m), onGap: (g) => gaps.push(g) });
  return { messages, gaps };
}

test('offsets grow by one per message and topic, under one epoch per topic', async () => {
  const backplane = new EmbeddedBackplane();
  let id = 0;
  const a1 = await backplane.publish('a', Buffer.from('1'), { isBinary: false, id: ++id });
  const a2 = await backplane.publish('a', Buffer.from('2'), { isBinary: false, id: ++id });
  const b1 = await backplane.publish('b', Buffer.from('1'), { isBinary: false, id: ++id });
  assert.deepEqual([a1.offset, a2.offset, b1.offset], [1, 2, 1]);
  assert.equal(a1.epoch, a2.epoch);
  assert.notEqual(a1.epoch, b1.epoch, 'each topic record has its own epoch');
  const other = new EmbeddedBackplane();
  assert.notEqual((await other.position('a')).epoch, a1.epoch, 'a new process starts a new epoch');
  await backplane.close();
  await other.close();
});

test('only subscribed topics reach the listener, in publish order, after the baseline', async () => {
  const backplane = new EmbeddedBackplane();
  const { messages } = collect(backplane);
  await backplane.publish('t', Buffer.from('before'), { isBinary: false, id: 1 });
  const baseline = await backplane.subscribe('t');
  assert.equal(baseline.offset, 1);
  await backplane.publish('other', Buffer.from('x'), { isBinary: false, id: 2 });
  for (let i = 0; i < 5; i++) await backplane.publish('t', Buffer.from(String(i)), { isBinary: true, id: 3 + i });
  assert.deepEqual(messages.map((m) => [m.topic, m.offset, m.payload.toString(), m.isBinary, m.origin]), [
    ['t', 2, '0', true, backplane.nodeId],
    ['t', 3, '1', true, backplane.nodeId],
    ['t', 4, '2', true, backplane.nodeId],
    ['t', 5, '3', true, backplane.nodeId],
    ['t', 6, '4', true, backplane.nodeId],
  ]);
  await backplane.unsubscribe('t');
  await backplane.publish('t', Buffer.from('after'), { isBinary: false, id: 100 });
  assert.equal(messages.length, 5);
  await backplane.close();
});

test('a publish from inside onMessage is delivered after the current one, never in the middle', async () => {
  const backplane = new EmbeddedBackplane();
  const order: string[] = [];
  backplane.setListener({
    onMessage: (m) => {
      order.push(`${m.payload}:first`);
      if (m.payload.toString() === 'a') void backplane.publish('t', Buffer.from('b'), { isBinary: false, id: 2 });
      order.push(`${m.payload}:second`);
    },
    onGap: () => {},
  });
  await backplane.subscribe('t');
  await backplane.publish('t', Buffer.from('a'), { isBinary: false, id: 1 });
  assert.deepEqual(order, ['a:first', 'a:second', 'b:first', 'b:second']);
  await backplane.close();
});

test('history recovers all or nothing', async () => {
  const backplane = new EmbeddedBackplane({ historySize: 5 });
  let id = 0;
  const first = await backplane.publish('t', Buffer.from('m1'), { isBinary: false, id: ++id });
  for (let i = 2; i <= 8; i++) await backplane.publish('t', Buffer.from(`m${i}`), { isBinary: false, id: ++id });
  const { epoch } = first;
  const recent = await backplane.history('t', { epoch, offset: 5 });
  assert.equal(recent.recovered, true);
  assert.deepEqual(recent.messages.map((m) => m.payload.toString()), ['m6', 'm7', 'm8']);
  assert.deepEqual(recent.position, { epoch, offset: 8 });
  const edge = await backplane.history('t', { epoch, offset: 3 });
  assert.equal(edge.recovered, true, 'offset 4 is the oldest kept, so since=3 is covered');
  assert.equal(edge.messages.length, 5);
  const tooOld = await backplane.history('t', { epoch, offset: 2 });
  assert.equal(tooOld.recovered, false);
  assert.deepEqual(tooOld.messages.map((m) => m.offset), [4, 5, 6, 7, 8], 'what remains is still offered');
  const upToDate = await backplane.history('t', { epoch, offset: 8 });
  assert.deepEqual([upToDate.recovered, upToDate.messages.length], [true, 0]);
  const ahead = await backplane.history('t', { epoch, offset: 9 });
  assert.equal(ahead.recovered, false, 'a position the topic never reached is not recovered');
  const otherEpoch = await backplane.history('t', { epoch: 'elsewhere', offset: 7 });
  assert.equal(otherEpoch.recovered, false);
  const limited = await backplane.history('t', { epoch, offset: 5 }, 2);
  assert.equal(limited.recovered, false, 'more missing than the limit is not recovered');
  await assert.rejects(backplane.history('t', { epoch, offset: -1 }), { name: 'TypeError' });
  await assert.rejects(backplane.history('t', { offset: 1 } as never), { name: 'TypeError' });
  await backplane.close();
});

test('history ages out and idle topics are forgotten (with a new epoch next time)', async () => {
  let now = 1_000_000;
  const backplane = new EmbeddedBackplane({ historyMaxAgeMs: 1000, now: () => now });
  const p1 = await backplane.publish('t', Buffer.from('old'), { isBinary: false, id: 1 });
  now += 600;
  await backplane.publish('t', Buffer.from('new'), { isBinary: false, id: 2 });
  now += 500;
  const partial = await backplane.history('t', { epoch: p1.epoch, offset: 0 });
  assert.equal(partial.recovered, false, 'the first message is older than historyMaxAgeMs');
  assert.deepEqual(partial.messages.map((m) => m.payload.toString()), ['new']);
  now += 1000;
  backplane.sweep();
  assert.equal(backplane.topicCount, 0);
  const again = await backplane.position('t');
  assert.notEqual(again.epoch, p1.epoch);
  assert.equal(again.offset, 0);
  await backplane.close();
});

test('bad input is refused with a clear error', async () => {
  const backplane = new EmbeddedBackplane({ maxTopicBytes: 4 });
  await assert.rejects(backplane.publish('', Buffer.alloc(0), { isBinary: false, id: 1 }), { name: 'RangeError' });
  await assert.rejects(backplane.publish('12345', Buffer.alloc(0), { isBinary: false, id: 1 }), { name: 'RangeError' });
  await assert.rejects(backplane.publish('t', 'text' as never, { isBinary: false, id: 1 }), { name: 'TypeError' });
  await backplane.publish('t', Buffer.alloc(0), { isBinary: false, id: 5 });
  await assert.rejects(backplane.publish('t', Buffer.alloc(0), { isBinary: false, id: 5 }), { name: 'RangeError', message: /meta.id/ });
  assert.throws(() => new EmbeddedBackplane({ historySize: -1 }), { name: 'RangeError', message: /historySize/ });
  assert.throws(() => new EmbeddedBackplane({ historyMaxAgeMs: 0 }), { name: 'RangeError', message: /historyMaxAgeMs/ });
  await backplane.close();
  await assert.rejects(backplane.publish('t', Buffer.alloc(0), { isBinary: false, id: 9 }), { code: 'SW_BACKPLANE_CLOSED' });
});

test('a quiet topic keeps its epoch after the last unsubscribe, so a quick return still recovers', async () => {
  let now = 5_000_000;
  const backplane = new EmbeddedBackplane({ historyMaxAgeMs: 1000, now: () => now });
  const position = await backplane.subscribe('quiet');
  await backplane.unsubscribe('quiet');
  now += 500;
  backplane.sweep();
  const back = await backplane.history('quiet', position);
  assert.deepEqual([back.recovered, back.position], [true, position]);
  now += 1000;
  backplane.sweep();
  assert.equal(backplane.topicCount, 0, 'forgotten once idle for historyMaxAgeMs');
  await backplane.close();
});
