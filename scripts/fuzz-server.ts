/**
 * `npm run fuzz [-- --seconds N --concurrency C --seed S --no-deflate]`
 *
 * Throws random and mutated bytes at a live sockwave server (a child
 * process, test/attacks/support/server-process.ts) for a set time (default
 * 60 s): garbage before the handshake, mutated upgrade requests, and after a
 * valid handshake random bytes or mutated sequences of valid frames (text,
 * binary, fragments, ping/pong/close, compressed frames and the odd
 * decompression bomb; permessage-deflate is on unless --no-deflate),
 * delivered in random chunk sizes. Every 2 s a canary client must still
 * complete a handshake and an echo. At the end it prints a JSON summary
 * (inputs tried, connections, how each ended: HTTP status, close code, FIN
 * or reset; server memory at start, peak and end after a forced GC; the
 * server's own counters) and exits 1 if
 * the server died, a canary failed or memory did not come back down. The
 * last inputs are saved to a file when something went wrong, for replay.
 */
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type net from 'node:net';
import { constants as zlibConstants, deflateRawSync } from 'node:zlib';
import { clientFrame, closeFrame, connectTcp, FrameReader, Op, rawWebSocket, readHead, upgradeRequest } from '../test/attacks/support/raw-client.js';
import { mb, memorySummary, MiB, sleep, startServerProcess, within } from '../test/attacks/support/server-handle.js';
import { prng, int, pick, type Rand } from '../test/attacks/support/seeded-random.js';

// ---- arguments ----------------------------------------------------------------------------

function argument(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`usage: fuzz-server.ts [--seconds N] [--concurrency C] [--seed S] [--no-deflate]  (bad --${name})`);
    process.exit(2);
  }
  return value;
}
const SECONDS = argument('seconds', 60);
const CONCURRENCY = argument('concurrency', 16);
const SEED = argument('seed', Date.now() % 2 ** 31);
const DEFLATE = !process.argv.includes('--no-deflate');

// ---- deterministic randomness (mulberry32), so a seed replays the same input stream -------

function bytes(r: Rand, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = int(r, 256);
  return b;
}

// ---- input generators -----------------------------------------------------------------------

const PROTOCOLS = ['chat', 'chat, superchat', '', ',,,', 'a b', 'x'.repeat(300), 'chat,chat'];
const EXTENSIONS = [
  'permessage-deflate',
  'permessage-deflate; client_max_window_bits',
  'permessage-deflate; server_max_window_bits=8',
  'permessage-deflate; server_max_window_bits=16',
  'permessage-deflate; client_no_context_takeover; server_no_context_takeover',
  'permessage-deflate; server_max_window_bits=10, permessage-deflate',
  'permessage-deflate; x="a\\"b"',
  'permessage-deflate; client_max_window_bits=0',
  'foo, permessage-deflate;;',
];

function handshakeRequest(r: Rand): string {
  const headers: Array<[string, string]> = [];
  if (r() < 0.5) headers.push(['Sec-WebSocket-Protocol', pick(r, PROTOCOLS)]);
  if (r() < 0.7) headers.push(['Sec-WebSocket-Extensions', pick(r, EXTENSIONS)]);
  if (r() < 0.2) headers.push(['Origin', pick(r, ['null', 'https://x.example', ''])]);
  return upgradeRequest({ headers, path: r() < 0.9 ? '/' : pick(r, ['/x?y', '*', '//', '/%00']) });
}

/** Bit flips, byte edits, splices, truncation, duplication. */
function mutate(r: Rand, input: Buffer): Buffer {
  let b = Buffer.from(input);
  const edits = 1 + int(r, 6);
  for (let e = 0; e < edits && b.length > 0; e++) {
    const at = int(r, b.length);
    switch (int(r, 7)) {
      case 0:
        b[at] ^= 1 << int(r, 8);
        break;
      case 1:
        b[at] = pick(r, [0, 0x7f, 0x80, 0xff, 0x0d, 0x0a, 0x3a, 0x2c, 0x3b, 0x22, 0x7e, 0x7d]);
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, at), bytes(r, 1 + int(r, 8)), b.subarray(at)]);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(r, 16)))]);
        break;
      case 4:
        b = b.subarray(0, at);
        break;
      case 5: {
        const len = Math.min(b.length - at, 1 + int(r, 64));
        b = Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]);
        break;
      }
      case 6:
        b = Buffer.concat([b, b.subarray(at, at + int(r, 32))]);
        break;
    }
  }
  return b;
}

/** RFC 7692 §7.2.1: deflate with a sync flush, then drop the trailing 00 00 ff ff. */
function compressed(payload: Buffer): Buffer {
  const raw = deflateRawSync(payload, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  return raw.subarray(0, raw.length - 4);
}
let bomb: Buffer | undefined;

/** A sequence of valid client frames (then mutated by the caller, or not). */
function frameSequence(r: Rand, isDeflate: boolean): Buffer {
  const frames: Buffer[] = [];
  const count = 1 + int(r, 8);
  for (let i = 0; i < count; i++) {
    const size = pick(r, [0, 1, 2, 125, 126, 127, 200, 65535, 65536, 70000]);
    const payload = int(r, 2) ? Buffer.from('é✓'.repeat(size).slice(0, size)) : bytes(r, Math.min(size, 4096));
    switch (int(r, 7)) {
      case 0:
        frames.push(clientFrame(Op.text, payload));
        break;
      case 1:
        frames.push(clientFrame(Op.binary, payload));
        break;
      case 2: {
        const n = 1 + int(r, 5);
        for (let f = 0; f < n; f++) frames.push(clientFrame(f === 0 ? Op.binary : Op.continuation, payload.subarray(0, 30), { fin: f === n - 1 }));
        break;
      }
      case 3:
        frames.push(clientFrame(Op.ping, payload.subarray(0, int(r, 130))));
        break;
      case 4:
        frames.push(clientFrame(Op.pong, payload.subarray(0, 10)));
        break;
      case 5:
        if (isDeflate) frames.push(clientFrame(Op.binary, compressed(payload), { rsv1: true }));
        else frames.push(clientFrame(pick(r, [3, 4, 5, 6, 7, 11, 15]), payload.subarray(0, 10)));
        break;
      case 6:
        frames.push(r() < 0.5 ? closeFrame(pick(r, [1000, 1001, 999, 1004, 1005, 1006, 2999, 3000, 4999, 5000]), 'bye') : clientFrame(Op.close, bytes(r, int(r, 4))));
        break;
    }
  }
  // A decompression bomb now and then: 1 KiB that inflates to 64 MiB.
  if (isDeflate && r() < 0.02) frames.push(clientFrame(Op.binary, (bomb ??= compressed(Buffer.alloc(64 * MiB))), { rsv1: true }));
  return Buffer.concat(frames);
}

type Kind = 'garbage-before-handshake' | 'mutated-handshake' | 'garbage-after-handshake' | 'valid-frames' | 'mutated-frames';
const KINDS: Kind[] = ['garbage-before-handshake', 'mutated-handshake', 'garbage-after-handshake', 'valid-frames', 'mutated-frames'];

interface Input {
  index: number;
  kind: Kind;
  /** What goes on the wire first (the request head for post-handshake kinds). */
  head?: string;
  body: Buffer;
  chunking: number;
}

function makeInput(index: number): Input {
  const r = prng(SEED * 7919 + index);
  const kind = pick(r, KINDS);
  const chunking = pick(r, [0, 1, 7, 64, 1500]);
  switch (kind) {
    case 'garbage-before-handshake':
      return { index, kind, body: r() < 0.5 ? bytes(r, 1 + int(r, 4096)) : mutate(r, Buffer.from('GET / HTTP/1.1\r\n\r\n')), chunking };
    case 'mutated-handshake':
      return { index, kind, body: mutate(r, Buffer.from(handshakeRequest(r))), chunking };
    case 'garbage-after-handshake':
      return { index, kind, head: handshakeRequest(r), body: bytes(r, 1 + int(r, 8192)), chunking };
    case 'valid-frames':
      return { index, kind, head: handshakeRequest(r), body: frameSequence(r, DEFLATE), chunking };
    case 'mutated-frames':
      return { index, kind, head: handshakeRequest(r), body: mutate(r, frameSequence(r, DEFLATE)), chunking };
  }
}

// ---- running inputs -------------------------------------------------------------------------

const outcomes = new Map<string, number>();
const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
const recent: Input[] = [];

async function writeChunked(socket: net.Socket, data: Buffer, chunking: number): Promise<void> {
  if (chunking === 0 || data.length <= chunking) {
    socket.write(data);
    return;
  }
  for (let i = 0; i < data.length && !socket.destroyed; i += chunking) {
    if (!socket.write(data.subarray(i, i + chunking))) await within(new Promise((r) => socket.once('drain', r)), 200, undefined);
    if (chunking < 8 && i % 64 === 0) await new Promise((r) => setImmediate(r));
  }
}

async function run(input: Input, port: number): Promise<void> {
  const socket = await connectTcp(port).catch(() => undefined);
  if (!socket) {
    count('tcp-connect-failed');
    return;
  }
  // How the connection ended, seen from the TCP side: a reset, the server's FIN, or still open when we gave up.
  let errorCode: string | undefined;
  let sawFin = false;
  socket.on('error', (error: NodeJS.ErrnoException) => (errorCode ??= error.code ?? 'error'));
  socket.on('end', () => (sawFin = true));
  const transport = () =>
    errorCode ? `reset/error (${errorCode})` : sawFin ? 'server FIN' : socket.destroyed ? 'closed' : 'still open (we destroyed it)';
  try {
    if (input.head) {
      socket.write(input.head);
      const head = await readHead(socket, 2000).catch(() => undefined);
      if (!head) {
        count('handshake: no answer');
        count(`transport: ${transport()}`);
        return;
      }
      count(`handshake: ${head.status}`);
      if (head.status !== 101) {
        await within(new Promise((r) => socket.once('close', r)), 150, undefined);
        count(`transport: ${transport()}`);
        return;
      }
      const reader = new FrameReader();
      let closeCode: number | undefined;
      const onData = (chunk: Buffer) => {
        try {
          for (const frame of reader.push(chunk)) {
            if (frame.opcode === Op.close && closeCode === undefined) closeCode = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
          }
        } catch {
          count('server sent an invalid frame');
        }
      };
      if (head.rest.length) onData(head.rest);
      socket.on('data', onData);
      socket.resume();
      await writeChunked(socket, input.body, input.chunking);
      await within(new Promise((r) => socket.once('close', r)), 150, undefined);
      count(`close code: ${closeCode ?? 'none (still open or TCP only)'}`);
      count(`transport: ${transport()}`);
    } else {
      socket.resume();
      await writeChunked(socket, input.body, input.chunking);
      const answer = await within(
        new Promise<string>((resolve) => {
          let first = '';
          socket.on('data', (d: Buffer) => {
            first ||= d.toString('latin1').split('\r\n')[0];
          });
          socket.once('close', () => resolve(first || 'closed without answer'));
        }),
        150,
        'no answer within 150 ms',
      );
      count(`pre-handshake: ${answer.slice(0, 40)}`);
      count(`transport: ${transport()}`);
    }
  } finally {
    socket.destroy();
  }
}

async function canary(port: number): Promise<boolean> {
  try {
    const connection = await rawWebSocket(port, { timeoutMs: 3000 });
    const text = `canary ${cryptoRandomBytes(4).toString('hex')}`;
    connection.socket.write(clientFrame(Op.text, text));
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && connection.frames.length === 0) await sleep(10);
    connection.socket.destroy();
    return connection.frames[0]?.payload.toString() === text;
  } catch {
    return false;
  }
}

async function main() {
  const server = await startServerProcess({
    server: {
      heartbeat: false,
      perMessageDeflate: DEFLATE,
      maxMessageBytes: 1 * MiB,
      handshakeTimeoutMs: 2000,
      closeTimeoutMs: 1000,
    },
    mode: 'echo',
  });
  const baseline = await server.memory();
  console.error(`fuzzing ${server.url} for ${SECONDS} s, concurrency ${CONCURRENCY}, seed ${SEED}, deflate ${DEFLATE}`);
  const deadline = Date.now() + SECONDS * 1000;
  let next = 0;
  let tried = 0;
  let canaries = 0;
  let canaryFailures = 0;
  let maxRss = baseline.rss;
  let maxHeap = baseline.heapUsed;
  let serverDied = false;
  void server.exited.then(() => (serverDied = true));

  const workers = Array.from({ length: CONCURRENCY }, async () => {
    while (Date.now() < deadline && !serverDied) {
      const input = makeInput(next++);
      recent.push(input);
      if (recent.length > 64) recent.shift();
      await run(input, server.port);
      tried++;
    }
  });
  const watcher = (async () => {
    while (Date.now() < deadline && !serverDied) {
      await sleep(2000);
      if (serverDied) break;
      const memory = await server.memory().catch(() => undefined);
      if (memory) {
        maxRss = Math.max(maxRss, memory.peakRss);
        maxHeap = Math.max(maxHeap, memory.peakHeapUsed);
      }
      canaries++;
      if (!(await canary(server.port))) canaryFailures++;
      process.stderr.write(`\r${tried} inputs, max rss ${mb(maxRss)}, canary failures ${canaryFailures}   `);
    }
  })();
  await Promise.all([...workers, watcher]);
  process.stderr.write('\n');

  await sleep(1500); // let the server's close timers for the last inputs run out
  const alive = !serverDied && (await canary(server.port));
  const after = serverDied ? undefined : await server.memory();
  const stats = serverDied ? undefined : await server.stats();
  if (after) {
    maxRss = Math.max(maxRss, after.peakRss);
    maxHeap = Math.max(maxHeap, after.peakHeapUsed);
  }
  const memory = memorySummary(baseline, after, maxRss, maxHeap, 32 * MiB);
  const memoryBack = memory.returnedToBaseline;
  const summary = {
    seconds: SECONDS,
    seed: SEED,
    deflate: DEFLATE,
    inputsTried: tried,
    inputsPerSecond: Math.round(tried / SECONDS),
    // One TCP connection per input, plus the canaries and the final liveness check.
    connections: tried + canaries + 1,
    serverStillUp: alive,
    canaries,
    canaryFailures,
    memory: memory.report,
    serverStats: stats?.stats,
    serverDiagnostics: stats?.diagnostics,
    serverRejectedStatuses: stats?.rejectedStatuses,
    serverCloseCodes: stats?.closeCodes,
    serverErrorKinds: stats?.errorKinds,
    outcomes: Object.fromEntries([...outcomes.entries()].sort((a, b) => b[1] - a[1])),
  };
  console.log(JSON.stringify(summary, null, 2));
  await server.stop();
  const ok = alive && canaryFailures === 0 && memoryBack;
  if (!ok) {
    const file = `/tmp/sockwave-fuzz-${SEED}.json`;
    writeFileSync(file, JSON.stringify(recent.map((i) => ({ ...i, body: i.body.toString('base64') })), null, 1));
    console.error(`FAILED; the last ${recent.length} inputs are in ${file} (replay with --seed ${SEED})`);
  }
  process.exit(ok ? 0 : 1);
}

await main();
