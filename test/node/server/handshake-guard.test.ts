/**
 * The HandshakeGuard's timeouts with one wheel entry per guard (the oldest
 * pending handshake): each silent connection is dropped at its own deadline,
 * not earlier and not at an older one's, and a connection that upgrades in
 * between is left alone. Raw TCP clients against a real server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { delay, openClient, startServer, within } from './helpers.js';
import { HandshakeGuard } from '../../../src/node/server/handshake-guard.js';

const TIMEOUT_MS = 300;

async function silentClient(port: number): Promise<{ openedAt: number; closedAt: Promise<number> }> {
  const raw = net.connect(port, '127.0.0.1');
  raw.on('error', () => {});
  await once(raw, 'connect');
  const openedAt = performance.now();
  const closedAt = new Promise<number>((resolve) => raw.on('close', () => resolve(performance.now())));
  return { openedAt, closedAt };
}

test('staggered silent connections are each dropped at their own handshake deadline', async () => {
  const { wss, port, url } = await startServer({ handshakeTimeoutMs: TIMEOUT_MS, heartbeat: false });
  const a = await silentClient(port);
  await delay(150);
  const b = await silentClient(port);
  const ws = await openClient(url); // upgrades while a and b are pending
  await delay(100);
  const c = await silentClient(port);
  const [aClosed, bClosed, cClosed] = await within(Promise.all([a.closedAt, b.closedAt, c.closedAt]), 5000);
  for (const [name, x, closed] of [['a', a, aClosed], ['b', b, bClosed], ['c', c, cClosed]] as const) {
    const waited = closed - x.openedAt;
    // Never early; at most the wheel's 25 ms granularity (plus scheduling slack) late.
    assert.ok(waited >= TIMEOUT_MS - 5, `${name} dropped after ${waited.toFixed(0)} ms`);
    assert.ok(waited < TIMEOUT_MS + 200, `${name} dropped after ${waited.toFixed(0)} ms`);
  }
  assert.ok(bClosed - aClosed >= 100, 'b was not dropped with a');
  assert.equal(ws.readyState, ws.OPEN, 'the upgraded client stays');
  ws.close();
  await wss.close({ timeoutMs: 1000 });
});

test('the guard times out the handshakes still pending in the order they were tracked, whichever left in between', async () => {
  const timedOut: net.Socket[] = [];
  const guard = new HandshakeGuard(60, 3, (socket) => timedOut.push(socket));
  const [a, b, c, d, e] = Array.from({ length: 5 }, () => new net.Socket());
  for (const socket of [a, b, c, d]) guard.track(socket);
  assert.equal(guard.track(b), guard.track(b), 'tracking twice gives the same entry');
  assert.equal(guard.size, 3, 'd came over maxPending: not counted');
  assert.equal(guard.track(d).isOverCapacity, true);
  guard.untrack(b); // from the middle
  a.emit('close'); // the oldest goes away by itself
  guard.untrack(b); // twice: nothing happens
  assert.equal(guard.size, 1);
  assert.equal(a.listenerCount('close'), 0);
  guard.track(e);
  assert.equal(guard.size, 2);
  await delay(200);
  assert.deepEqual(timedOut, [c, d, e]);
  assert.equal(guard.size, 0);
  // A socket can be tracked again once it left, and shutdown destroys what is pending.
  guard.track(a);
  guard.destroyAll();
  assert.ok(a.destroyed);
  assert.equal(guard.size, 0);
  await delay(100);
  assert.deepEqual(timedOut, [c, d, e]);
});
