/**
 * The sequencer's merge of live messages and history, with the history read
 * answered by the test (the Redis-backed runs are in redis-*.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BackplaneMessage, GapInfo, Position } from '../../src/node/topics/backplane.js';
import { TopicSequencer, type SequencerHistory } from '../../src/node/topics/topic-sequencer.js';

function msg(epoch: string, offset: number, id = offset, origin = 'p'): BackplaneMessage {
  return { topic: 't', epoch, offset, id, origin, isBinary: false, payload: Buffer.from(`${epoch}:${offset}`) };
}

function harness() {
  const out: string[] = [];
  const gaps: GapInfo[] = [];
  const reads: Position[] = [];
  let answer: ((history: SequencerHistory) => void) | undefined;
  const sequencer = new TopicSequencer('t', {
    emit: (m) => out.push(`${m.epoch}:${m.offset}`),
    gap: (g) => {
      gaps.push(g);
      out.push(`GAP ${g.reason} ${g.fromOffset}-${g.toOffset ?? '?'}`);
    },
    readHistory: (since) => {
      reads.push(since);
      return new Promise((resolve) => (answer = resolve));
    },
  });
  const respond = async (history: SequencerHistory): Promise<void> => {
    assert.ok(answer, 'a history read is pending');
    const resolve = answer;
    answer = undefined;
    resolve(history);
    await new Promise((r) => setImmediate(r));
  };
  return { sequencer, out, gaps, reads, respond, isReading: () => answer !== undefined };
}

test('messages in offset order pass straight through; repeats are dropped', () => {
  const h = harness();
  h.sequencer.setBaseline({ epoch: 'E', offset: 3 });
  for (const offset of [3, 4, 5, 5, 4, 6]) h.sequencer.accept(msg('E', offset));
  assert.deepEqual(h.out, ['E:4', 'E:5', 'E:6']);
  assert.equal(h.isReading(), false);
});

test('messages before the baseline is known wait for it', () => {
  const h = harness();
  h.sequencer.accept(msg('E', 5));
  h.sequencer.accept(msg('E', 6));
  h.sequencer.setBaseline({ epoch: 'E', offset: 5 });
  assert.deepEqual(h.out, ['E:6']);
});

test('a hole is filled from the history, and live messages that arrive meanwhile follow without duplicates', async () => {
  const h = harness();
  h.sequencer.setBaseline({ epoch: 'E', offset: 2 });
  h.sequencer.accept(msg('E', 5));
  assert.deepEqual(h.reads, [{ epoch: 'E', offset: 2 }]);
  h.sequencer.accept(msg('E', 6));
  h.sequencer.accept(msg('E', 7));
  await h.respond({ position: { epoch: 'E', offset: 6 }, messages: [msg('E', 3), msg('E', 4), msg('E', 5), msg('E', 6)] });
  assert.deepEqual(h.out, ['E:3', 'E:4', 'E:5', 'E:6', 'E:7']);
  assert.deepEqual(h.gaps, []);
});

test('what the history no longer holds is reported as a gap with exact offsets, before what follows', async () => {
  const h = harness();
  h.sequencer.setBaseline({ epoch: 'E', offset: 2 });
  h.sequencer.sync();
  await h.respond({ position: { epoch: 'E', offset: 10 }, messages: [msg('E', 8), msg('E', 9), msg('E', 10)] });
  assert.deepEqual(h.out, ['GAP missed 3-7', 'E:8', 'E:9', 'E:10']);
  assert.deepEqual(h.gaps[0], { topic: 't', reason: 'missed', epoch: 'E', fromOffset: 3, toOffset: 7 });
  h.sequencer.accept(msg('E', 11));
  assert.equal(h.out.at(-1), 'E:11');
});

test('an empty history past the last offset is a gap up to the position', async () => {
  const h = harness();
  h.sequencer.setBaseline({ epoch: 'E', offset: 2 });
  h.sequencer.sync();
  await h.respond({ position: { epoch: 'E', offset: 4 }, messages: [] });
  assert.deepEqual(h.out, ['GAP missed 3-4']);
  h.sequencer.accept(msg('E', 5));
  assert.deepEqual(h.out, ['GAP missed 3-4', 'E:5']);
});

test('a new epoch is reported once, then its messages flow; retried publishes seen in the old epoch are not repeated', async () => {
  const h = harness();
  h.sequencer.setBaseline({ epoch: 'E1', offset: 0 });
  for (let i = 1; i <= 3; i++) h.sequencer.accept(msg('E1', i, i));
  // Redis lost everything; the publisher re-sent id 3 (its reply was lost) and then 4.
  h.sequencer.accept(msg('E2', 2, 4));
  await h.respond({ position: { epoch: 'E2', offset: 2 }, messages: [msg('E2', 1, 3), msg('E2', 2, 4)] });
  assert.deepEqual(h.out, ['E1:1', 'E1:2', 'E1:3', 'GAP epoch 4-?', 'E2:2']);
  assert.equal(h.gaps[0].nextEpoch, 'E2');
  h.sequencer.accept(msg('E2', 3, 5));
  assert.equal(h.out.at(-1), 'E2:3');
});

test('a topic with no epoch yet takes the first epoch it sees without a gap', async () => {
  const h = harness();
  h.sequencer.setBaseline({ epoch: '', offset: 0 });
  h.sequencer.accept(msg('E', 1));
  h.sequencer.accept(msg('E', 2));
  assert.deepEqual(h.out, ['E:1', 'E:2']);
  assert.deepEqual(h.gaps, []);
});

test('a sync requested during a sync runs again after it', async () => {
  const h = harness();
  h.sequencer.setBaseline({ epoch: 'E', offset: 0 });
  h.sequencer.sync();
  h.sequencer.sync();
  await h.respond({ position: { epoch: 'E', offset: 1 }, messages: [msg('E', 1)] });
  assert.equal(h.reads.length, 2);
  assert.deepEqual(h.reads[1], { epoch: 'E', offset: 1 });
  await h.respond({ position: { epoch: 'E', offset: 2 }, messages: [msg('E', 2)] });
  assert.deepEqual(h.out, ['E:1', 'E:2']);
});

test('a store that went back within the same epoch (failover to a stale replica) is reported, and the reused offsets are delivered', async () => {
  const h = harness();
  h.sequencer.setBaseline({ epoch: 'E', offset: 0 });
  for (let i = 1; i <= 5; i++) h.sequencer.accept(msg('E', i, i));
  h.sequencer.sync();
  // The promoted replica only had offsets 1..3; a new publish got offset 4 again.
  await h.respond({ position: { epoch: 'E', offset: 4 }, messages: [] });
  assert.deepEqual(h.out, ['E:1', 'E:2', 'E:3', 'E:4', 'E:5', 'GAP epoch 5-?']);
  assert.deepEqual(h.reads.at(-1), { epoch: 'E', offset: 0 }, 'reads the stream again from its start');
  await h.respond({ position: { epoch: 'E', offset: 4 }, messages: [msg('E', 1, 1), msg('E', 2, 2), msg('E', 3, 3), msg('E', 4, 9)] });
  assert.deepEqual(h.out.slice(6), ['E:4'], 'only the message that took offset 4 is new');
  h.sequencer.accept(msg('E', 5, 10));
  assert.equal(h.out.at(-1), 'E:5');
});
