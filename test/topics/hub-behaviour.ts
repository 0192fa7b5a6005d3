/**
 * One behaviour suite for TopicHub, run against each backplane: the embedded
 * one (hub.test.ts) and Redis (redis-hub.test.ts). Subscribers are plain
 * objects that record what they receive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backplane, BackplaneMessage, BackplaneState, GapInfo, Position } from '../../src/node/topics/backplane.js';
import { TopicHub } from '../../src/node/topics/hub.js';

export interface Sub {
  readonly name: string;
  readonly got: string[];
  readonly recovered: string[];
  readonly gaps: GapInfo[];
  last?: Position;
}

export function sub(name: string): Sub {
  return { name, got: [], recovered: [], gaps: [] };
}

export function makeHub(backplane: Backplane, onStateChange?: (state: BackplaneState) => void): TopicHub<Sub> {
  return new TopicHub<Sub>({
    backplane,
    onStateChange,
    deliver(_topic, message: BackplaneMessage, subscribers) {
      for (const s of subscribers) {
        s.got.push(message.payload.toString());
        s.last = message;
      }
    },
    deliverTo(s, message) {
      s.recovered.push(message.payload.toString());
      s.got.push(message.payload.toString());
      s.last = message;
    },
    onGap(s, gap) {
      s.gaps.push(gap);
    },
  });
}

/** Resolves once `predicate` holds, polling briefly; fails after `ms`. */
export async function until(predicate: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface BackplaneFactory {
  /** A fresh backplane for a "process"; calls within one test share a store (Redis) or not (embedded). */
  (): Backplane | Promise<Backplane>;
}

export function hubBehaviour(label: string, make: BackplaneFactory, options: { isShared: boolean }): void {
  test(`${label}: publish reaches every subscriber of the topic once, in publish order`, async () => {
    const hub = makeHub(await make());
    const a = sub('a');
    const b = sub('b');
    const c = sub('c');
    await hub.subscribe(a, 'room');
    await hub.subscribe(b, 'room');
    await hub.subscribe(c, 'elsewhere');
    assert.equal(hub.subscriberCount('room'), 2);
    const positions: Position[] = [];
    for (let i = 1; i <= 20; i++) positions.push(await hub.publish('room', `m${i}`));
    const expected = Array.from({ length: 20 }, (_, i) => `m${i + 1}`);
    await until(() => a.got.length === 20 && b.got.length === 20);
    assert.deepEqual(a.got, expected);
    assert.deepEqual(b.got, expected);
    assert.deepEqual(c.got, []);
    for (let i = 1; i < positions.length; i++) assert.equal(positions[i].offset, positions[i - 1].offset + 1);
    await hub.close();
  });

  test(`${label}: the sender is excluded when asked, and only then`, async () => {
    const hub = makeHub(await make());
    const sender = sub('sender');
    const other = sub('other');
    await hub.subscribe(sender, 't');
    await hub.subscribe(other, 't');
    await hub.publish('t', 'excluded', { exclude: sender });
    await hub.publish('t', 'included');
    await until(() => other.got.length === 2 && sender.got.length === 1);
    assert.deepEqual(sender.got, ['included']);
    assert.deepEqual(other.got, ['excluded', 'included']);
    await hub.close();
  });

  test(`${label}: text and binary publishes keep their kind`, async () => {
    const hub = makeHub(await make());
    const kinds: boolean[] = [];
    const h2 = new TopicHub<Sub>({ backplane: hub.backplane, deliver: (_t, m) => kinds.push(m.isBinary) });
    const s = sub('s');
    await h2.subscribe(s, 'k');
    await h2.publish('k', 'text');
    await h2.publish('k', Buffer.from('bytes'));
    await h2.publish('k', new Uint8Array([1, 2]));
    await h2.publish('k', 'forced', { binary: true });
    await until(() => kinds.length === 4);
    assert.deepEqual(kinds, [false, true, true, true]);
    await h2.close();
  });

  test(`${label}: a subscriber that comes back with since gets exactly what it missed, then live`, async () => {
    const hub = makeHub(await make());
    const first = sub('first');
    await hub.subscribe(first, 'r');
    for (let i = 1; i <= 5; i++) await hub.publish('r', `m${i}`);
    await until(() => first.got.length === 5);
    const since = first.last!;
    hub.removeSubscriber(first);
    assert.equal(hub.subscriberCount('r'), 0);
    for (let i = 6; i <= 9; i++) await hub.publish('r', `m${i}`);
    const back = sub('back');
    // Publishes race the recovery: none may be lost or doubled.
    const racing = (async () => {
      for (let i = 10; i <= 14; i++) await hub.publish('r', `m${i}`);
    })();
    const keep = sub('keep');
    await hub.subscribe(keep, 'r');
    const result = await hub.subscribe(back, 'r', { since });
    await racing;
    await until(() => back.got.length >= 9, 3000, 'recovered and live messages');
    assert.equal(result.recovered, true);
    assert.deepEqual(back.got, ['m6', 'm7', 'm8', 'm9', 'm10', 'm11', 'm12', 'm13', 'm14']);
    assert.ok(back.recovered.length >= 4);
    await hub.publish('r', 'm15');
    await until(() => back.got.length === 10);
    assert.equal(back.got[9], 'm15');
    await hub.close();
  });

  test(`${label}: since from another epoch, from the future, or past the history answers recovered: false`, async () => {
    const hub = makeHub(await make());
    const s = sub('s');
    await hub.subscribe(s, 'e');
    const at = await hub.publish('e', 'one');
    hub.removeSubscriber(s);
    const stranger = sub('stranger');
    const other = await hub.subscribe(stranger, 'e', { since: { epoch: 'not-this-one', offset: 1 } });
    assert.equal(other.recovered, false);
    assert.deepEqual(other.position, at);
    const future = sub('future');
    assert.equal((await hub.subscribe(future, 'e', { since: { epoch: at.epoch, offset: at.offset + 10 } })).recovered, false);
    await hub.publish('e', 'two');
    await until(() => stranger.got.length === 1 && future.got.length === 1);
    assert.deepEqual(stranger.got, ['two'], 'not recovered still joins live from the returned position');
    assert.deepEqual(stranger.recovered, []);
    await hub.close();
  });

  test(`${label}: bad input gets a clear error`, async () => {
    const hub = makeHub(await make());
    const s = sub('s');
    assert.throws(() => hub.subscribe(s, ''), { name: 'RangeError' });
    assert.throws(() => hub.subscribe(s, 'x'.repeat(257)), { name: 'RangeError', message: /257 bytes/ });
    assert.throws(() => hub.publish('t', 42 as never), { name: 'TypeError', message: /publish data/ });
    assert.throws(() => hub.publish('t', { length: 1 } as never), { name: 'TypeError' });
    assert.throws(() => hub.subscribe(s, 't', { since: { offset: 1.5, epoch: 'e' } }), { name: 'TypeError', message: /since.offset/ });
    assert.throws(() => hub.subscribe(s, 't', { since: 'yesterday' as never }), { name: 'TypeError' });
    assert.equal(hub.subscriberCount('t'), 0);
    await hub.close();
  });

  if (options.isShared) {
    test(`${label}: two hubs on one store form one topic, one order for everyone`, async () => {
      const one = makeHub(await make());
      const two = makeHub(await make());
      const a = sub('a');
      const b = sub('b');
      await one.subscribe(a, 'shared');
      await two.subscribe(b, 'shared');
      const sends: Promise<Position>[] = [];
      for (let i = 0; i < 50; i++) sends.push((i % 2 ? one : two).publish('shared', `${i % 2 ? 'one' : 'two'}-${i}`));
      await Promise.all(sends);
      await until(() => a.got.length === 50 && b.got.length === 50);
      assert.deepEqual(a.got, b.got, 'both processes see the same order');
      for (const origin of ['one', 'two']) {
        const mine = a.got.filter((m) => m.startsWith(origin)).map((m) => Number(m.split('-')[1]));
        assert.deepEqual(mine, [...mine].sort((x, y) => x - y), `${origin}'s messages stay in publish order`);
      }
      await one.close();
      await two.close();
    });
  }
}
