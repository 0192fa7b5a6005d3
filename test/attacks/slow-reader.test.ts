/**
 * Issue 6, backpressure: a peer that stops reading while the server sends.
 * Per policy, the server's memory stays bounded and nothing accepted by
 * send() is silently lost:
 *   queue (app honours send() === false / 'drain'): bounded, all delivered in order
 *   queue (app ignores it): memory grows by what was accepted, all delivered in order, memory released
 *   drop: bounded near highWaterMarkBytes, exactly the accepted messages delivered in order, 'dropped' for the rest
 *   close: bounded, connection closed with 1008 (or 1013)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { closeFrame, Op, rawWebSocket, type RawConnection } from './support/raw-client.js';
import { mb, memoryLine, MiB, sleep, startServerProcess, within, type ServerHandle } from './support/server-handle.js';
import { note } from './support/report.js';

const HWM = 1 * MiB;
const COUNT = 1500;
const SIZE = 32 * 1024; // 1500 x 32 KiB = 47 MiB, far beyond the kernel's socket buffers

interface BlastResult {
  accepted: number;
  dropped: number;
  droppedSeqs: number[];
  refusedWhileClosed: number;
  maxBuffered: number;
  trueCount: number;
  maxBufferedAfterTrue: number;
  readyState: number;
}

async function withServer(policy: 'queue' | 'drop' | 'close', fn: (server: ServerHandle) => Promise<void>) {
  const server = await startServerProcess({
    server: { heartbeat: false, highWaterMarkBytes: HWM, backpressurePolicy: policy, closeTimeoutMs: 2000 },
    mode: 'sink',
  });
  try {
    await fn(server);
  } finally {
    await server.stop();
  }
}

/** Connects and stops reading at once (TCP flow control then pushes back on the server). */
async function stalledReader(server: ServerHandle): Promise<RawConnection> {
  const connection = await rawWebSocket(server.port);
  connection.socket.pause();
  await sleep(50);
  return connection;
}

async function collect(connection: RawConnection, expected: number, timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const data = connection.frames.filter((f) => f.opcode === Op.binary);
    if (data.length >= expected || Date.now() > deadline || connection.frames.some((f) => f.opcode === Op.close)) {
      return data.map((f) => {
        assert.equal(f.payload.length, SIZE, 'message size intact');
        return f.payload.readUInt32BE(0);
      });
    }
    await sleep(20);
  }
}

function assertInOrder(seqs: number[]) {
  for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], `message ${seqs[i]} after ${seqs[i - 1]}: order kept`);
}

describe('a peer that stops reading while the server sends 1,500 x 32 KiB', { timeout: 55_000 }, () => {
  test("policy 'queue', app honours send() === false: memory bounded, every message delivered in order", async (t) => {
    await withServer('queue', async (server) => {
      const before = await server.resetPeak();
      const connection = await stalledReader(server);
      const blast = server.call<BlastResult[]>({ cmd: 'blast', count: COUNT, size: SIZE, honorBackpressure: true }, 45_000);
      blast.catch(() => undefined);
      await sleep(1500);
      const stalled = await server.memory();
      const { stats } = await server.stats();
      note(t, `while stalled: queuedBytes ${mb(stats.queuedBytes)}; ${memoryLine('server memory', before, stalled)}`);
      // The app stops at the first false, so the queue is what one burst of sends put there.
      assert.ok(stalled.external - before.external < 16 * MiB, 'buffer memory bounded while the reader is stalled');
      connection.socket.resume();
      const [result] = await blast;
      const seqs = await collect(connection, COUNT, 20_000);
      note(t, `accepted ${result.accepted}, delivered ${seqs.length}, max bufferedAmount ${mb(result.maxBuffered)}`);
      assert.equal(result.accepted, COUNT);
      assert.equal(seqs.length, COUNT, 'every accepted message delivered');
      assertInOrder(seqs);
      connection.socket.destroy();
    });
  });

  test(
    'send() does not return true while bufferedAmount is over highWaterMarkBytes (a stalled peer, 64 sends per tick)',
    // Regression (fixed in 6231c81): send() returned true for every send of a synchronous burst (the
    // cork baseline was taken at the first send of the tick), 2 MiB over a 1 MiB mark.
    async (t) => {
      await withServer('queue', async (server) => {
        const connection = await stalledReader(server);
        const blast = server.call<BlastResult[]>({ cmd: 'blast', count: 640, size: SIZE, honorBackpressure: false }, 45_000);
        const [result] = await blast;
        note(t, `send() returned true ${result.trueCount} times; bufferedAmount right after a true: up to ${mb(result.maxBufferedAfterTrue)} (highWaterMarkBytes ${mb(HWM)})`);
        connection.socket.destroy();
        assert.ok(result.maxBufferedAfterTrue <= HWM + SIZE, `send() returned true with ${mb(result.maxBufferedAfterTrue)} buffered`);
      });
    },
  );

  test("policy 'queue', app ignores send() === false: every accepted message still delivered in order, memory released", async (t) => {
    await withServer('queue', async (server) => {
      const before = await server.resetPeak();
      const connection = await stalledReader(server);
      const [result] = await server.call<BlastResult[]>({ cmd: 'blast', count: COUNT, size: SIZE, honorBackpressure: false });
      const { stats } = await server.stats();
      const stalled = await server.memory();
      note(t, `accepted ${result.accepted} while stalled, queuedBytes ${mb(stats.queuedBytes)}, bufferedAmount max ${mb(result.maxBuffered)}; ${memoryLine('server memory', before, stalled)}`);
      assert.equal(result.accepted, COUNT, "'queue' accepts everything");
      connection.socket.resume();
      const seqs = await collect(connection, COUNT, 20_000);
      assert.equal(seqs.length, COUNT, 'nothing accepted is lost');
      assertInOrder(seqs);
      connection.socket.write(closeFrame(1000));
      await within(connection.closeCode, 5000, -1);
      connection.socket.destroy();
      await sleep(200);
      const afterwards = await server.memory();
      note(t, memoryLine('server memory after delivery', before, afterwards));
      assert.ok(afterwards.external - before.external < 8 * MiB, `buffers released (external ${mb(before.external)} -> ${mb(afterwards.external)})`);
    });
  });

  test("policy 'drop': memory bounded near highWaterMarkBytes, exactly the accepted messages delivered in order", async (t) => {
    await withServer('drop', async (server) => {
      const before = await server.resetPeak();
      const connection = await stalledReader(server);
      const [result] = await server.call<BlastResult[]>({ cmd: 'blast', count: COUNT, size: SIZE, honorBackpressure: false });
      const stalled = await server.memory();
      const { stats, counters } = await server.stats();
      note(t, `accepted ${result.accepted}, dropped ${result.dropped} ('dropped' events ${counters.dropped}), queuedBytes ${mb(stats.queuedBytes)}; ${memoryLine('server memory', before, stalled)}`);
      assert.ok(result.dropped > 0, 'some messages were dropped');
      assert.equal(result.accepted + result.dropped, COUNT);
      assert.ok(stats.queuedBytes <= HWM + SIZE, 'queue bounded by highWaterMarkBytes');
      // After GC: the blast itself allocated every message (dropped ones included), so peaks count garbage.
      assert.ok(stalled.external - before.external < 16 * MiB, 'buffer memory bounded');
      connection.socket.resume();
      const seqs = await collect(connection, result.accepted, 20_000);
      await sleep(300);
      const all = connection.frames.filter((f) => f.opcode === Op.binary).length;
      assert.equal(all, result.accepted, 'exactly the accepted messages arrive');
      assertInOrder(seqs);
      for (const seq of result.droppedSeqs) assert.ok(!seqs.includes(seq), `dropped message ${seq} not delivered`);
      connection.socket.destroy();
    });
  });

  test("policy 'close': memory bounded, the slow peer is closed with 1008 (or 1013)", async (t) => {
    await withServer('close', async (server) => {
      const before = await server.resetPeak();
      const connection = await stalledReader(server);
      const [result] = await server.call<BlastResult[]>({ cmd: 'blast', count: COUNT, size: SIZE, honorBackpressure: false });
      const stalled = await server.memory();
      note(t, `accepted ${result.accepted} before closing, refused afterwards ${result.refusedWhileClosed}, socket readyState ${result.readyState}; ${memoryLine('server memory', before, stalled)}`);
      assert.ok(result.readyState >= 2, 'the socket is closing');
      assert.ok(stalled.external - before.external < 16 * MiB, 'buffer memory bounded');
      connection.socket.resume();
      const code = await within(connection.closeCode, 15_000, -1);
      note(t, `peer saw close code ${code}`);
      assert.ok(code === 1008 || code === 1013, `closed with ${code}`);
      connection.socket.destroy();
    });
  });
});
