/**
 * Issue 6: a ping flood from a peer that never reads its pongs must not grow
 * the server's output (RFC 6455 §5.5.3 lets a pong answer only the latest
 * ping), and thousands of idle connections cost a bounded, measured amount
 * of server memory that is given back when they close.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { clientFrame, Op, rawWebSocket, type RawConnection } from './support/raw-client.js';
import { mb, memoryLine, MiB, sleep, startServerProcess, within, type ServerHandle } from './support/server-handle.js';
import { note } from './support/report.js';

let server: ServerHandle;
before(async () => {
  server = await startServerProcess({ server: { heartbeat: false }, mode: 'echo' });
});
after(async () => server?.stop());

test('a flood of 1,000,000 pings from a peer that does not read does not grow server memory', { timeout: 40_000 }, async (t) => {
  const before = await server.resetPeak();
  const connection = await rawWebSocket(server.port, { onFrame: () => undefined });
  connection.socket.pause(); // never read the pongs
  const ping = clientFrame(Op.ping, Buffer.alloc(125, 1), { maskingKey: Buffer.from([1, 2, 3, 4]) });
  const batch = Buffer.concat(Array.from({ length: 10_000 }, () => ping));
  let sent = 0;
  const started = performance.now();
  while (sent < 1_000_000 && performance.now() - started < 20_000 && !connection.socket.destroyed) {
    if (!connection.socket.write(batch)) await within(new Promise((r) => connection.socket.once('drain', r)), 2000, undefined);
    sent += 10_000;
  }
  const during = await server.memory();
  const { stats } = await server.stats();
  note(t, `${sent.toLocaleString()} pings (${mb(sent * ping.length)}) written in ${(performance.now() - started).toFixed(0)} ms; server read ${mb(stats.bytesIn)}, queued ${mb(stats.queuedBytes)}; ${memoryLine('server memory', before, during)}`);
  assert.ok(stats.queuedBytes < 1 * MiB, `pongs queued for the non-reader: ${stats.queuedBytes} bytes`);
  assert.ok(during.peakRss - before.rss < 100 * MiB, 'rss bounded');
  connection.socket.destroy();
});

test('5,000 idle connections: server memory per connection measured, and given back when they close', { timeout: 50_000 }, async (t) => {
  const before = await server.resetPeak();
  const connections: RawConnection[] = [];
  for (let i = 0; i < 5000; i += 100) {
    connections.push(...(await Promise.all(Array.from({ length: 100 }, () => rawWebSocket(server.port, { onFrame: () => undefined })))));
  }
  const held = await server.memory();
  const { stats } = await server.stats();
  assert.equal(stats.connections, 5000);
  for (const c of connections) c.socket.destroy();
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && (await server.stats()).stats.connections > 0) await sleep(100);
  const released = await server.memory();
  const perConnection = (x: number, y: number) => `${((y - x) / 5000 / 1024).toFixed(1)} KiB`;
  note(t, `5,000 idle connections: rss ${perConnection(before.rss, held.rss)} and heap ${perConnection(before.heapUsed, held.heapUsed)} per connection; ${memoryLine('server memory after closing all', before, released)}`);
  assert.equal((await server.stats()).stats.connections, 0);
  assert.ok(released.heapUsed - before.heapUsed < 8 * MiB, 'heap given back');
});
