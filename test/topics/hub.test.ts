import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EmbeddedBackplane } from '../../src/node/topics/embedded-backplane.js';
import { TopicHub } from '../../src/node/topics/hub.js';
import { hubBehaviour, makeHub, sub } from './hub-behaviour.js';

hubBehaviour('embedded', () => new EmbeddedBackplane(), { isShared: false });

test('the hub defaults to the embedded backplane and needs a deliver callback', async () => {
  const hub = new TopicHub<object>({ deliver: () => {} });
  assert.ok(hub.backplane instanceof EmbeddedBackplane);
  assert.throws(() => new TopicHub<object>({} as never), { name: 'TypeError', message: /deliver/ });
  await hub.close();
});

test('the last unsubscribe releases the backplane topic', async () => {
  const backplane = new EmbeddedBackplane();
  const hub = makeHub(backplane);
  const a = sub('a');
  await hub.subscribe(a, 't');
  assert.equal(hub.unsubscribe(a, 't'), true);
  assert.equal(hub.unsubscribe(a, 't'), false);
  await new Promise((resolve) => setImmediate(resolve));
  await hub.publish('t', 'nobody');
  assert.deepEqual(a.got, []);
  assert.equal(hub.isSubscribed(a, 't'), false);
  await hub.close();
});

test('a recovery buffer past its bound answers recovered: false and joins live', async () => {
  const backplane = new EmbeddedBackplane();
  let releaseHistory!: () => void;
  const gate = new Promise<void>((resolve) => (releaseHistory = resolve));
  const history = backplane.history.bind(backplane);
  // Hold the history read so live messages pile up in the recovery buffer.
  backplane.history = async (...args) => {
    await gate;
    return history(...args);
  };
  const hub = new TopicHub<ReturnType<typeof sub>>({
    backplane,
    maxRecoveryBufferMessages: 3,
    deliver: (_t, m, subs) => {
      for (const s of subs) s.got.push(m.payload.toString());
    },
  });
  const first = await hub.publish('t', 'm1');
  const s = sub('s');
  const pending = hub.subscribe(s, 't', { since: { ...first, offset: 0 } });
  await new Promise((resolve) => setImmediate(resolve));
  for (let i = 2; i <= 6; i++) await hub.publish('t', `m${i}`);
  releaseHistory();
  const result = await pending;
  assert.equal(result.recovered, false);
  assert.equal(result.position.offset, 6);
  await hub.publish('t', 'm7');
  assert.deepEqual(s.got, ['m7']);
  await hub.close();
});
