/**
 * Issue 6, reading backpressure: one client floods the server (and never
 * reads its echoes) while many normal clients do request/response. The echo
 * server pauses a socket whose send queue is backed up and resumes it on
 * 'drain', so the flooder is throttled by TCP flow control, the normal
 * clients' latency stays bounded and the server's memory does not follow
 * the flood.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { clientFrame, Op, rawWebSocket, type RawConnection } from './support/raw-client.js';
import { mb, memoryLine, MiB, sleep, startServerProcess, type ServerHandle } from './support/server-handle.js';
import { note, percentile } from './support/report.js';

const NORMAL_CLIENTS = 20;
const FLOOD_MS = 4000;

let server: ServerHandle;
before(async () => {
  server = await startServerProcess({ server: { heartbeat: false, highWaterMarkBytes: 1 * MiB }, mode: 'echo' });
});
after(async () => server?.stop());

async function roundTrips(connection: RawConnection, until: number, latencies: number[]): Promise<void> {
  let i = 0;
  while (performance.now() < until) {
    const text = `hello ${i++}`;
    const started = performance.now();
    connection.socket.write(clientFrame(Op.text, text));
    for (;;) {
      const frame = connection.frames.shift();
      if (frame) {
        assert.equal(frame.payload.toString(), text, 'echo in order');
        break;
      }
      if (performance.now() - started > 5000) throw new Error('no echo within 5 s');
      await new Promise((r) => setImmediate(r));
    }
    latencies.push(performance.now() - started);
    await sleep(5);
  }
}

for (const flooderReads of [false, true]) {
test(`one flooding client (${flooderReads ? 'reading its echoes: pure CPU pressure' : 'never reading: throttled by pause/resume'}) does not starve 20 normal clients, and server memory stays bounded`, { timeout: 40_000 }, async (t) => {
  const beforeMemory = await server.resetPeak();
  const normal = await Promise.all(Array.from({ length: NORMAL_CLIENTS }, () => rawWebSocket(server.port)));
  const baseline: number[] = [];
  await Promise.all(normal.map((c) => roundTrips(c, performance.now() + 500, baseline)));

  // The flooder: 64 KiB binary frames as fast as its socket accepts them.
  const flooder = await rawWebSocket(server.port, { onFrame: () => undefined });
  if (!flooderReads) flooder.socket.pause();
  const frame = clientFrame(Op.binary, Buffer.alloc(64 * 1024, 7));
  let flooded = 0;
  const floodUntil = performance.now() + FLOOD_MS;
  const flooding = (async () => {
    while (performance.now() < floodUntil && !flooder.socket.destroyed) {
      if (!flooder.socket.write(frame)) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, 50);
          function done() {
            clearTimeout(timer);
            flooder.socket.removeListener('drain', done);
            resolve();
          }
          flooder.socket.once('drain', done);
        });
      }
      flooded += frame.length;
    }
  })();

  await sleep(300);
  const perClient = normal.map(() => [] as number[]);
  await Promise.all(normal.map((c, i) => roundTrips(c, floodUntil - 200, perClient[i])));
  const during = perClient.flat();
  await flooding;
  const { stats } = await server.stats();
  const memory = await server.memory();
  note(t, `baseline latency p50 ${percentile(baseline, 50).toFixed(1)} ms; during flood p50 ${percentile(during, 50).toFixed(1)} ms, p99 ${percentile(during, 99).toFixed(1)} ms, max ${Math.max(...during).toFixed(1)} ms over ${during.length} round trips`);
  note(t, `flooder wrote ${mb(flooded)} in ${FLOOD_MS} ms; server read ${mb(stats.bytesIn)} and queued ${mb(stats.queuedBytes)}`);
  note(t, memoryLine('server memory (flood + 20 clients)', beforeMemory, memory));
  // Starvation, not speed (latencies are reported above, performance lives in bench/): every normal
  // client keeps completing round trips during the ~3.5 s flood window; a starved one would manage 0 or 1.
  const fewest = Math.min(...perClient.map((rtts) => rtts.length));
  assert.ok(fewest >= 3, `every normal client completed >= 3 round trips during the flood (fewest: ${fewest})`);
  assert.ok(memory.peakRss - beforeMemory.rss < 150 * MiB, `server peak rss growth ${mb(memory.peakRss - beforeMemory.rss)} < 150 MiB`);
  flooder.socket.destroy();
  for (const c of normal) c.socket.destroy();
});
}
