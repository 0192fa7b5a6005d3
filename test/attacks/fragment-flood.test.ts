/**
 * Issue 6, tiny-fragment flood: millions of empty continuation frames must not
 * grow server memory without bound; the byte-accounted limit (payload plus a
 * per-fragment overhead, and maxFragments) fails the connection with 1009.
 * A legitimate message of 65,536 fragments still passes.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { clientFrame, Op, rawWebSocket } from './support/raw-client.js';
import { memoryLine, MiB, startServerProcess, within, type ServerHandle } from './support/server-handle.js';
import { note } from './support/report.js';

let server: ServerHandle;
before(async () => {
  server = await startServerProcess({ server: { heartbeat: false }, mode: 'echo' });
});
after(async () => server?.stop());

/** Writes `count` copies of `frame` in batches, honouring 'drain'; stops early once the socket is gone. */
async function writeRepeated(socket: import('node:net').Socket, frame: Buffer, count: number): Promise<number> {
  const perBatch = 100_000;
  const batch = Buffer.concat(Array.from({ length: perBatch }, () => frame));
  let written = 0;
  while (written < count && !socket.destroyed && socket.writable) {
    const ok = socket.write(batch);
    written += perBatch;
    if (!ok) {
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.removeListener('drain', done);
          socket.removeListener('close', done);
          resolve();
        };
        socket.on('drain', done);
        socket.on('close', done);
      });
    }
  }
  return written;
}

test('a flood of millions of empty fragments is failed with 1009 and server memory stays bounded', { timeout: 45_000 }, async (t) => {
  const before = await server.resetPeak();
  const connection = await rawWebSocket(server.port);
  connection.socket.write(clientFrame(Op.text, '', { fin: false }));
  // The same masked empty continuation frame over and over (6 bytes each).
  const empty = clientFrame(Op.continuation, '', { fin: false, maskingKey: Buffer.from([1, 2, 3, 4]) });
  const started = performance.now();
  const flood = writeRepeated(connection.socket, empty, 4_000_000);
  const code = await within(connection.closeCode, 30_000, -1);
  // The server now waits (closeTimeoutMs) for our close frame; we hang up instead.
  connection.socket.destroy();
  const written = await flood;
  const ms = performance.now() - started;
  const afterFlood = await server.memory();
  note(t, `server answered after ~${written.toLocaleString()} fragments written (${ms.toFixed(0)} ms) with close code ${code}`);
  note(t, memoryLine('server memory (empty-fragment flood)', before, afterFlood));
  assert.equal(code, 1009, 'the connection is failed with 1009 (message too big)');
  assert.ok(afterFlood.peakRss - before.rss < 200 * MiB, `peak rss growth ${((afterFlood.peakRss - before.rss) / MiB).toFixed(1)} MiB < 200 MiB`);
  assert.ok(afterFlood.rss - before.rss < 64 * MiB, 'rss returns near the baseline');
});

test('a flood of 1-byte fragments is failed with 1009 before maxMessageBytes worth of overhead is held', { timeout: 45_000 }, async (t) => {
  const before = await server.resetPeak();
  const connection = await rawWebSocket(server.port);
  connection.socket.write(clientFrame(Op.binary, 'x', { fin: false }));
  const tiny = clientFrame(Op.continuation, 'y', { fin: false, maskingKey: Buffer.from([9, 8, 7, 6]) });
  const flood = writeRepeated(connection.socket, tiny, 4_000_000);
  const code = await within(connection.closeCode, 30_000, -1);
  connection.socket.destroy();
  const written = await flood;
  const afterFlood = await server.memory();
  note(t, `closed with ${code} after ~${written.toLocaleString()} fragments; ${memoryLine('server memory (1-byte fragment flood)', before, afterFlood)}`);
  assert.equal(code, 1009);
  assert.ok(afterFlood.peakRss - before.rss < 200 * MiB);
});

test('a legitimate 1 MiB message in 65,536 fragments of 16 bytes is delivered intact', { timeout: 30_000 }, async () => {
  const connection = await rawWebSocket(server.port);
  const chunks: Buffer[] = [];
  for (let i = 0; i < 65_536; i++) {
    const payload = Buffer.alloc(16, i & 0xff);
    chunks.push(clientFrame(i === 0 ? Op.binary : Op.continuation, payload, { fin: i === 65_535 }));
  }
  connection.socket.write(Buffer.concat(chunks));
  const deadline = Date.now() + 20_000;
  let message: Buffer | undefined;
  const parts: Buffer[] = [];
  while (Date.now() < deadline && message === undefined) {
    for (const frame of connection.frames.splice(0)) {
      parts.push(frame.payload);
      if (frame.fin) message = Buffer.concat(parts);
    }
    if (message === undefined) await new Promise((r) => setTimeout(r, 20));
  }
  connection.socket.destroy();
  assert.ok(message, 'echo received');
  assert.equal(message.length, 65_536 * 16);
  for (let i = 0; i < 65_536; i += 4099) assert.equal(message[i * 16], i & 0xff, `fragment ${i} in place`);
});

test('the server is still up after the floods', async () => {
  const connection = await rawWebSocket(server.port);
  connection.socket.write(clientFrame(Op.text, 'ping?'));
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && connection.frames.length === 0) await new Promise((r) => setTimeout(r, 10));
  assert.equal(connection.frames[0]?.payload.toString(), 'ping?');
  connection.socket.destroy();
});
