/**
 * `npm run soak [-- --seconds N --connections C --seed S --deflate]`
 *
 * Holds thousands of connections against a sockwave echo server (a child
 * process, so its memory is measured alone) for minutes (default 180 s,
 * 2000 concurrent connections, replaced as they end): random message sizes
 * (bytes to 1 MiB), random slow readers (reading paused for 0.5-5 s), random
 * abrupt disconnects. Every message carries its sequence number; the server
 * checks per-connection order on the way in, the client checks every echo
 * on the way back. At the end it checks that every message accepted on a
 * connection that closed cleanly came back, in order, before the server's
 * close frame; that the server saw no order violation and holds no
 * connection; and that its memory returned to the baseline. Prints a JSON
 * summary; exits 1 on any violation. With --deflate the clients negotiate
 * permessage-deflate with no context takeover both ways (so each compressed
 * echo inflates on its own) and the server compresses its echoes while
 * connections come and go: the ws#1617 situation (zlib work in flight when
 * thousands of sockets close).
 */
import type net from 'node:net';
import { constants as zlibConstants, inflateRawSync } from 'node:zlib';
import { clientFrame, closeFrame, Op, rawWebSocket, type ServerFrame } from '../test/attacks/support/raw-client.js';
import { mb, memorySummary, MiB, sleep, startServerProcess, within } from '../test/attacks/support/server-handle.js';
import { prng } from '../test/attacks/support/seeded-random.js';

function argument(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`usage: soak.ts [--seconds N] [--connections C] [--seed S] [--deflate]  (bad --${name})`);
    process.exit(2);
  }
  return value;
}
const SECONDS = argument('seconds', 180);
const CONNECTIONS = argument('connections', 2000);
const DEFLATE = process.argv.includes('--deflate');
const DEFLATE_OFFER: Array<[string, string]> = [
  ['Sec-WebSocket-Extensions', 'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
];
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** RFC 7692 §7.2.2: append the trailer the sender removed, then inflate (no context takeover: on its own). */
function payloadOf(frame: ServerFrame): Buffer {
  if (!frame.rsv1) return frame.payload;
  totals.compressedEchoes++;
  return inflateRawSync(Buffer.concat([frame.payload, TRAILER]), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
}
const seed = argument('seed', Date.now() % 2 ** 31) >>> 0;
const random = prng(seed);
const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));

function messageSize(): number {
  const r = random();
  if (r < 0.7) return between(16, 1024);
  if (r < 0.97) return between(1024, 64 * 1024);
  if (r < 0.995) return between(64 * 1024, 256 * 1024);
  return between(256 * 1024, 1 * MiB);
}

/** seq (8 bytes) + connection id (4 bytes) + a fill derived from both (sizes are >= 16, so there is fill). */
function message(id: number, seq: number, size: number): Buffer {
  const b = Buffer.alloc(size, (seq * 31 + id) & 0xff);
  b.writeBigUInt64BE(BigInt(seq), 0);
  b.writeUInt32BE(id, 8);
  return b;
}

function isEcho(p: Buffer, id: number, seq: number, size: number): boolean {
  return (
    p.length === size &&
    p.readBigUInt64BE(0) === BigInt(seq) &&
    p.readUInt32BE(8) === id &&
    p[size - 1] === ((seq * 31 + id) & 0xff) &&
    p[12 + ((seq * 7) % Math.max(1, size - 12))] === ((seq * 31 + id) & 0xff)
  );
}

type Ending = 'clean' | 'abrupt' | 'rude-close';

const totals = {
  started: 0,
  connectFailed: 0,
  clean: 0,
  cleanVerified: 0,
  abrupt: 0,
  rudeClose: 0,
  slowReaders: 0,
  messagesSent: 0,
  messagesEchoed: 0,
  bytesSent: 0,
  compressedEchoes: 0,
  acceptedOnClean: 0,
  deliveredOnClean: 0,
  violations: [] as string[],
  closeCodes: {} as Record<string, number>,
};

function violation(text: string) {
  if (totals.violations.length < 50) totals.violations.push(text);
}

let stopping = false;

async function writeOrWait(socket: net.Socket, data: Buffer): Promise<void> {
  if (socket.write(data)) return;
  await within(
    new Promise<void>((resolve) => {
      socket.once('drain', resolve);
      socket.once('close', resolve);
    }),
    60_000,
    undefined,
  );
}

async function oneConnection(port: number, id: number): Promise<void> {
  totals.started++;
  const ending: Ending = random() < 0.7 ? 'clean' : random() < 0.67 ? 'abrupt' : 'rude-close';
  const isSlowReader = random() < 0.3;
  const plannedMessages = between(5, 100);
  const intervalMs = between(10, 200);
  const abruptAfter = between(0, plannedMessages);
  const expected: Array<{ seq: number; size: number }> = [];
  let echoed = 0;
  let brokenAt: string | undefined;
  let closeCode: number | undefined;
  let echoedBeforeClose = -1;
  let connection: Awaited<ReturnType<typeof rawWebSocket>> | undefined;
  try {
    connection = await rawWebSocket(port, {
      timeoutMs: 15_000,
      headers: DEFLATE ? DEFLATE_OFFER : [],
      onFrame(frame) {
        if (frame.opcode === Op.binary) {
          const next = expected[echoed];
          const p = payloadOf(frame);
          if (!brokenAt && (!next || !isEcho(p, id, next.seq, next.size))) {
            brokenAt = `echo #${echoed}: expected seq ${next?.seq} (${next?.size} bytes), got ${p.length >= 8 ? p.readBigUInt64BE(0) : '?'} (${p.length} bytes)`;
          }
          echoed++;
        } else if (frame.opcode === Op.ping) {
          connection?.socket.write(clientFrame(Op.pong, frame.payload));
        } else if (frame.opcode === Op.close && closeCode === undefined) {
          closeCode = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
          echoedBeforeClose = echoed;
        }
      },
    });
  } catch {
    totals.connectFailed++;
    return;
  }
  const { socket } = connection;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  let slowTimer: NodeJS.Timeout | undefined;
  if (isSlowReader) {
    totals.slowReaders++;
    const stall = () => {
      if (socket.destroyed) return;
      socket.pause();
      slowTimer = setTimeout(() => {
        socket.resume();
        slowTimer = setTimeout(stall, between(200, 3000));
      }, between(500, 5000));
    };
    slowTimer = setTimeout(stall, between(0, 2000));
  }
  try {
    for (let seq = 0; seq < plannedMessages && !stopping && !socket.destroyed; seq++) {
      if (ending !== 'clean' && seq === abruptAfter) break;
      const size = messageSize();
      expected.push({ seq, size });
      await writeOrWait(socket, clientFrame(Op.binary, message(id, seq, size)));
      totals.messagesSent++;
      totals.bytesSent += size;
      await sleep(intervalMs);
    }
    if (ending === 'abrupt') {
      totals.abrupt++;
      socket.destroy();
      return;
    }
    if (ending === 'rude-close') {
      totals.rudeClose++;
      socket.write(closeFrame(1000));
      socket.destroy();
      return;
    }
    // Clean: close, keep reading (a slow reader resumes for good), wait for the server's close and TCP close.
    clearTimeout(slowTimer);
    slowTimer = undefined;
    socket.resume();
    socket.write(closeFrame(1000, 'done'));
    await within(closed, 60_000, undefined);
    totals.clean++;
    totals.closeCodes[String(closeCode)] = (totals.closeCodes[String(closeCode)] ?? 0) + 1;
    totals.acceptedOnClean += expected.length;
    totals.deliveredOnClean += echoedBeforeClose;
    if (brokenAt) violation(`connection ${id}: ${brokenAt}`);
    else if (closeCode !== 1000) violation(`connection ${id}: clean close answered with ${closeCode}`);
    else if (echoedBeforeClose !== expected.length) violation(`connection ${id}: ${expected.length} sent, ${echoedBeforeClose} echoed before the close frame`);
    else totals.cleanVerified++;
  } finally {
    clearTimeout(slowTimer);
    totals.messagesEchoed += echoed;
    if (!socket.destroyed) socket.destroy();
  }
}

async function main() {
  const server = await startServerProcess({
    server: { backpressurePolicy: 'queue', perMessageDeflate: DEFLATE },
    mode: 'seq',
  });
  const baseline = await server.memory();
  console.error(`soak: ${server.url}, ${SECONDS} s, ${CONNECTIONS} concurrent connections, deflate ${DEFLATE}, seed ${seed}`);
  const deadline = Date.now() + SECONDS * 1000;
  let nextId = 1;
  let maxRss = baseline.rss;
  let maxHeap = baseline.heapUsed;
  let maxConnections = 0;
  let serverDied = false;
  void server.exited.then(() => (serverDied = true));

  const lanes = Array.from({ length: CONNECTIONS }, async (_, lane) => {
    await sleep((lane * 5000) / CONNECTIONS); // ramp up over 5 s
    while (Date.now() < deadline && !serverDied) await oneConnection(server.port, nextId++);
  });
  const watcher = (async () => {
    while (Date.now() < deadline && !serverDied) {
      await sleep(5000);
      const memory = await server.memory().catch(() => undefined);
      const stats = await server.stats().catch(() => undefined);
      if (memory) {
        maxRss = Math.max(maxRss, memory.peakRss);
        maxHeap = Math.max(maxHeap, memory.peakHeapUsed);
      }
      if (stats) maxConnections = Math.max(maxConnections, stats.stats.connections);
      process.stderr.write(
        `\r${Math.round((deadline - Date.now()) / 1000)} s left: ${totals.started} connections, ${stats?.stats.connections ?? '?'} open, ` +
          `${totals.messagesSent} messages, max rss ${mb(maxRss)}, violations ${totals.violations.length}   `,
      );
    }
  })();
  await watcher;
  stopping = true; // lanes finish their current connection with its planned ending
  await Promise.all(lanes);
  process.stderr.write('\n');

  await sleep(3000); // close timers of abrupt peers
  let after = serverDied ? undefined : await server.memory();
  const stats = serverDied ? undefined : await server.stats();
  // Memory can lag the last frees by a collection or two.
  for (let i = 0; i < 3 && after && after.heapUsed - baseline.heapUsed > 16 * MiB; i++) {
    await sleep(1000);
    after = await server.memory();
  }
  if (after) {
    maxRss = Math.max(maxRss, after.peakRss);
    maxHeap = Math.max(maxHeap, after.peakHeapUsed);
  }
  const memory = memorySummary(baseline, after, maxRss, maxHeap, 16 * MiB);
  const memoryBack = memory.returnedToBaseline;
  const ok =
    !serverDied &&
    totals.violations.length === 0 &&
    totals.acceptedOnClean === totals.deliveredOnClean &&
    stats?.counters.sequenceViolations === 0 &&
    stats?.stats.connections === 0 &&
    memoryBack;
  const summary = {
    ok,
    seconds: SECONDS,
    deflate: DEFLATE,
    concurrentTarget: CONNECTIONS,
    maxOpenSeenByServer: maxConnections,
    connections: {
      total: totals.started,
      connectFailed: totals.connectFailed,
      clean: totals.clean,
      cleanVerified: totals.cleanVerified,
      abrupt: totals.abrupt,
      rudeClose: totals.rudeClose,
      slowReaders: totals.slowReaders,
    },
    messages: {
      sent: totals.messagesSent,
      echoed: totals.messagesEchoed,
      bytesSent: mb(totals.bytesSent),
      compressedEchoes: totals.compressedEchoes,
      acceptedOnCleanConnections: totals.acceptedOnClean,
      deliveredInOrderOnCleanConnections: totals.deliveredOnClean,
    },
    closeCodesOnClean: totals.closeCodes,
    server: {
      stillUp: !serverDied,
      openConnectionsAtEnd: stats?.stats.connections,
      pendingHandshakesAtEnd: stats?.stats.pendingHandshakes,
      sequenceViolations: stats?.counters.sequenceViolations,
      errors: stats?.counters.errors,
      errorKinds: stats?.errorKinds,
      closeCodes: stats?.closeCodes,
      messagesIn: stats?.stats.messagesIn,
      messagesOut: stats?.stats.messagesOut,
    },
    memory: memory.report,
    violations: totals.violations,
  };
  console.log(JSON.stringify(summary, null, 2));
  await server.stop();
  process.exit(ok ? 0 : 1);
}

await main();
