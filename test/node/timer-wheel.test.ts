/**
 * The shared timer wheel's buckets are intrusive lists through their entries
 * (no Set per bucket): what a list can get wrong is order, removal while a
 * bucket fires, moving an entry, and emptying a bucket. Real timers, a small
 * granularity; each deadline is checked for "never early".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isScheduled, TimerWheel, type TimerEntry } from '../../src/node/timer-wheel.js';
import { delay } from './server/helpers.js';

interface Probe extends TimerEntry {
  readonly name: string;
  fired: number[];
}

function probe(name: string, log: string[], onFire?: () => void): Probe {
  const p: Probe = {
    name,
    fired: [],
    wheelPrev: undefined,
    wheelNext: undefined,
    onTimer() {
      p.fired.push(performance.now());
      log.push(name);
      onFire?.();
    },
  };
  return p;
}

test('entries of one bucket fire once each, in scheduling order', async () => {
  const wheel = new TimerWheel(20);
  const log: string[] = [];
  const entries = ['a', 'b', 'c', 'd'].map((name) => probe(name, log));
  for (const e of entries) wheel.schedule(e, 5);
  assert.equal(wheel.size, 4);
  assert.ok(entries.every(isScheduled));
  await delay(80);
  assert.deepEqual(log, ['a', 'b', 'c', 'd']);
  assert.ok(entries.every((e) => e.fired.length === 1 && !isScheduled(e)));
  assert.equal(wheel.size, 0);
  assert.equal(wheel.isArmed, false);
});

test('a callback that cancels or moves a later entry of the bucket being fired', async () => {
  const wheel = new TimerWheel(20);
  const log: string[] = [];
  const started = performance.now();
  const cancelled = probe('cancelled', log);
  const moved = probe('moved', log);
  const first = probe('first', log, () => {
    wheel.cancel(cancelled);
    wheel.schedule(moved, 60);
  });
  const last = probe('last', log);
  for (const e of [first, cancelled, moved, last]) wheel.schedule(e, 5);
  await delay(50);
  assert.deepEqual(log, ['first', 'last'], 'the cancelled entry never fires, the moved one not yet');
  assert.equal(isScheduled(cancelled), false);
  assert.equal(isScheduled(moved), true);
  assert.equal(wheel.size, 1);
  await delay(100);
  assert.deepEqual(log, ['first', 'last', 'moved']);
  assert.equal(moved.fired.length, 1);
  assert.ok(moved.fired[0] - first.fired[0] >= 59, `moved fired ${moved.fired[0] - first.fired[0]} ms after the move`);
  assert.ok(first.fired[0] - started >= 4);
  assert.equal(wheel.isArmed, false);
});

test('a callback that schedules itself again fires again, once per schedule', async () => {
  const wheel = new TimerWheel(10);
  const log: string[] = [];
  let rounds = 0;
  const again: Probe = probe('again', log, () => {
    if (++rounds < 3) wheel.schedule(again, 15);
  });
  wheel.schedule(again, 15);
  await delay(150);
  assert.deepEqual(log, ['again', 'again', 'again']);
  for (let i = 1; i < again.fired.length; i++) assert.ok(again.fired[i] - again.fired[i - 1] >= 14);
  assert.equal(wheel.size, 0);
});

test('cancelling every entry empties the wheel and disarms it; cancel and reschedule are idempotent', () => {
  const wheel = new TimerWheel(25);
  const log: string[] = [];
  const entries = Array.from({ length: 10 }, (_, i) => probe(String(i), log));
  entries.forEach((e, i) => wheel.schedule(e, 1000 + i * 100));
  wheel.schedule(entries[0], 5000); // moved, not added twice
  assert.equal(wheel.size, 10);
  wheel.cancel(entries[3]);
  wheel.cancel(entries[3]);
  assert.equal(wheel.size, 9);
  for (const e of entries) wheel.cancel(e);
  assert.equal(wheel.size, 0);
  assert.equal(wheel.isArmed, false);
  wheel.schedule(entries[1], Infinity); // Infinity: not scheduled
  assert.equal(isScheduled(entries[1]), false);
  assert.equal(wheel.isArmed, false);
});

test('1,000 entries over many buckets with random cancels and moves: the others fire once each, never early', async () => {
  const wheel = new TimerWheel(5);
  const log: string[] = [];
  let seed = 12345;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const due = new Map<Probe, number>();
  const entries: Probe[] = [];
  for (let i = 0; i < 1000; i++) {
    const e = probe(String(i), log);
    entries.push(e);
    const ms = Math.floor(random() * 80);
    wheel.schedule(e, ms);
    due.set(e, performance.now() + ms);
  }
  for (const e of entries) {
    const r = random();
    if (r < 0.3) {
      wheel.cancel(e);
      due.delete(e);
    } else if (r < 0.5) {
      const ms = Math.floor(random() * 80);
      wheel.schedule(e, ms);
      due.set(e, performance.now() + ms);
    }
  }
  assert.equal(wheel.size, due.size);
  await delay(200);
  for (const e of entries) {
    const deadline = due.get(e);
    if (deadline === undefined) {
      assert.equal(e.fired.length, 0, `${e.name} was cancelled`);
    } else {
      assert.equal(e.fired.length, 1, `${e.name} fires once`);
      assert.ok(e.fired[0] >= deadline - 1, `${e.name} fired ${deadline - e.fired[0]} ms early`);
    }
  }
  assert.equal(log.length, due.size);
  assert.equal(wheel.size, 0);
  assert.equal(wheel.isArmed, false);
});
