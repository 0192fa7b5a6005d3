/**
 * Server heartbeat: silent peers are pinged, dead ones terminated, live ones
 * measured; all on one shared timer, not one per socket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import type { NodeWebSocket } from '../../src/node/socket/websocket.js';
import { sharedWheel, TimerWheel } from '../../src/node/timer-wheel.js';
import { closeEvent, delay, openClient, startServer, upgradeRequest, within } from './server/helpers.js';

function activeTimeouts(): number {
  return process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
}

test('a peer that never answers pings is terminated after interval + timeout', async () => {
  const { wss, port } = await startServer({ heartbeat: { intervalMs: 100, timeoutMs: 100 } });
  const connected = once(wss, 'connection');
  const raw = net.connect(port, '127.0.0.1');
  raw.on('error', () => {});
  raw.write(upgradeRequest());
  const pings: number[] = [];
  raw.on('data', (chunk: Buffer) => {
    // After the 101, a ping frame from the server is 0x89 0x00.
    for (let i = 0; i + 1 < chunk.length; i++) if (chunk[i] === 0x89 && chunk[i + 1] === 0x00) pings.push(i);
  });
  const [socket] = (await within(connected)) as [NodeWebSocket];
  const closed = closeEvent(socket);
  const started = performance.now();
  const [code] = await within(closed, 3000);
  const elapsed = performance.now() - started;
  assert.equal(code, 1006);
  assert.ok(pings.length >= 1, 'the server pinged before giving up');
  assert.ok(elapsed >= 150 && elapsed < 1500, `terminated after ${elapsed.toFixed(0)} ms`);
  raw.destroy();
  await wss.close({ timeoutMs: 1000 });
});

test('a peer that answers pings stays connected and latencyMs is measured', async () => {
  const { wss, url } = await startServer({ heartbeat: { intervalMs: 50, timeoutMs: 100 } });
  const connected = once(wss, 'connection');
  const client = await openClient(url);
  const [socket] = (await within(connected)) as [NodeWebSocket];
  assert.equal(socket.latencyMs, undefined);
  await delay(400);
  assert.equal(client.readyState, 1);
  assert.equal(socket.readyState, 1);
  const latencyMs = (socket as { latencyMs?: number }).latencyMs;
  assert.equal(typeof latencyMs, 'number');
  assert.ok((latencyMs as number) >= 0 && (latencyMs as number) < 100, `latency ${latencyMs}`);
  client.close();
  await wss.close({ timeoutMs: 1000 });
});

test('heartbeat: false sends no pings', async () => {
  const { wss, url } = await startServer({ heartbeat: false });
  const client = await openClient(url);
  let pings = 0;
  client.on('ping', () => pings++);
  await delay(200);
  assert.equal(pings, 0);
  client.close();
  await wss.close({ timeoutMs: 1000 });
});

test('heartbeats for many sockets share one timer', async () => {
  const before = activeTimeouts();
  const { wss, url } = await startServer({ heartbeat: { intervalMs: 1000, timeoutMs: 1000 }, idleTimeoutMs: 60_000 });
  const clients = await Promise.all(Array.from({ length: 50 }, () => openClient(url)));
  assert.ok(sharedWheel.size >= 100, 'each socket has heartbeat and idle deadlines');
  assert.ok(activeTimeouts() - before <= 2, `timers grew from ${before} to ${activeTimeouts()}`);
  for (const client of clients) client.terminate();
  await wss.close({ timeoutMs: 1000 });
  assert.equal(sharedWheel.size, 0, 'every deadline was cancelled');
  assert.equal(sharedWheel.isArmed, false);
});

test('the timer wheel fires entries in deadline order, and never early', async () => {
  const wheel = new TimerWheel(10);
  const fired: Array<[string, number]> = [];
  const started = performance.now();
  const entry = (name: string) => ({ wheelPrev: undefined, wheelNext: undefined, onTimer: () => fired.push([name, performance.now() - started]) });
  const late = entry('late');
  const early = entry('early');
  const cancelled = entry('cancelled');
  wheel.schedule(late, 80);
  wheel.schedule(early, 20);
  wheel.schedule(cancelled, 40);
  wheel.cancel(cancelled);
  await delay(150);
  assert.deepEqual(fired.map(([name]) => name), ['early', 'late']);
  assert.ok(fired[0][1] >= 19, `early fired at ${fired[0][1]}`);
  assert.ok(fired[1][1] >= 79, `late fired at ${fired[1][1]}`);
  assert.equal(wheel.size, 0);
  assert.equal(wheel.isArmed, false);
});
