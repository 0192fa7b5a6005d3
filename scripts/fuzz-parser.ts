/**
 * Fuzzes the sans-I/O parser without sockets (issue 3: "what the parser does
 * with 1 GiB of random bytes fed in random chunk sizes").
 *
 *   node --import tsx scripts/fuzz-parser.ts --bytes 1073741824 [--seed 42] [--mode both|random|structured]
 *
 * Two kinds of input, alternating per connection (both roles):
 * - random: uniformly random bytes. Most connections fail within the first
 *   header; the point is that nothing throws, hangs or grows.
 * - structured: well-formed frames for the role (masked when the receiver is
 *   a server), text/binary/fragmented/control/compressed, with ~2% of frames
 *   mutated (bit flips, truncated or spliced garbage), so connections live
 *   long and reach reassembly, UTF-8 validation, limits and close handling.
 *
 * Chunk sizes are log-uniform from 1 B to 64 KiB. A connection that failed
 * or closed is replaced by a fresh one, which gets the rest of the chunk
 * (random input) or a fresh frame stream (structured input).
 * Prints connections and failures by close code, messages delivered,
 * throughput, the slowest receive() call (and the same bytes replayed alone,
 * since this machine is shared) and the maximum RSS / heap seen.
 * Exits 1 if receive() ever threw or a failure used an unexpected code.
 */
import { Connection } from '../src/core/connection.js';
import type { CoreEvent } from '../src/core/events.js';
import type { MessageCompressor } from '../src/core/deflate/compressor.js';
import { ProtocolError } from '../src/core/errors.js';

function argument(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const totalBytes = Number(argument('bytes', String(64 * 1024 * 1024)));
const seed = Number(argument('seed', String(Date.now() % 1_000_000)));
const mode = argument('mode', 'both');
if (!Number.isFinite(totalBytes) || totalBytes <= 0 || !['both', 'random', 'structured'].includes(mode)) {
  console.error('usage: fuzz-parser.ts [--bytes N] [--seed S] [--mode both|random|structured]');
  process.exit(2);
}

// xorshift32: fast and reproducible from --seed.
let state = seed >>> 0 || 0x9e3779b9;
function next(): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return state >>> 0;
}
const below = (n: number) => next() % n;
const chance = (p: number) => next() / 0x100000000 < p;
function fillRandom(target: Buffer): void {
  const words = target.length >>> 2;
  const view = new Uint32Array(target.buffer, target.byteOffset, words);
  for (let i = 0; i < words; i++) view[i] = next();
  for (let i = words << 2; i < target.length; i++) target[i] = next() & 0xff;
}
/** Log-uniform size in [1, max]. */
const logSize = (max: number) => Math.max(1, Math.floor(Math.exp((next() / 0x100000000) * Math.log(max))));

/** Streaming XOR "compression", synchronous: exercises RSV1 paths, not zlib. */
const xorCompressor = (): MessageCompressor => ({
  compress(data, done) {
    const out = Buffer.from(data);
    for (let i = 0; i < out.length; i++) out[i] ^= 0x55;
    done(null, out);
  },
  decompress(data, _isFinal, maxBytes, done) {
    if (data.length > maxBytes) return done(new ProtocolError('too large', 1009));
    const out = Buffer.from(data);
    for (let i = 0; i < out.length; i++) out[i] ^= 0x55;
    done(null, [out]);
  },
  close() {},
});

const TEXT_POOL = Buffer.from('The quick brown fox jumps over the lazy dog. κόσμε 𝄞 € '.repeat(2000));

/** Generates a stream of frames for one receiving role. */
class FrameSource {
  private queue: Buffer[] = [];
  private queued = 0;
  private inMessage = 0; // opcode of the open fragmented message, 0 = none
  private isMessageCompressed = false;
  constructor(
    private readonly isServerReceiver: boolean,
    private readonly isCompressed: boolean,
  ) {}

  take(size: number): Buffer {
    while (this.queued < size) this.generate();
    const out = Buffer.allocUnsafe(size);
    let offset = 0;
    while (offset < size) {
      const head = this.queue[0];
      const n = Math.min(head.length, size - offset);
      head.copy(out, offset, 0, n);
      offset += n;
      if (n === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(n);
    }
    this.queued -= size;
    return out;
  }

  private push(frame: Buffer): void {
    this.queue.push(frame);
    this.queued += frame.length;
  }

  private generate(): void {
    const r = below(100);
    let opcode: number;
    let fin = true;
    let payload: Buffer;
    let rsv1 = false;
    if (r < 8) {
      opcode = 9 + below(2); // ping / pong
      payload = Buffer.allocUnsafe(below(126));
      fillRandom(payload);
    } else if (r === 8 && chance(0.05)) {
      opcode = 8;
      payload = Buffer.from([0x03, 0xe8 + below(4)]);
    } else {
      const size = chance(0.02) ? logSize(4 * 1024 * 1024) : logSize(16 * 1024);
      const isText = this.inMessage !== 0 ? this.inMessage === 1 : chance(0.5);
      if (isText) {
        // Cut on code point boundaries: a continuation byte never starts or ends the slice.
        let start = below(TEXT_POOL.length - size > 0 ? TEXT_POOL.length - size : 1);
        while ((TEXT_POOL[start] & 0xc0) === 0x80) start++;
        let end = Math.min(TEXT_POOL.length, start + size);
        while (end < TEXT_POOL.length && (TEXT_POOL[end] & 0xc0) === 0x80) end--;
        payload = Buffer.from(TEXT_POOL.subarray(start, end));
      } else {
        payload = Buffer.allocUnsafe(size);
        fillRandom(payload);
      }
      let isCompressedPayload: boolean;
      if (this.inMessage !== 0) {
        opcode = 0;
        fin = chance(0.3);
        isCompressedPayload = this.isMessageCompressed;
      } else {
        opcode = isText ? 1 : 2;
        fin = !chance(0.15);
        rsv1 = this.isCompressed && chance(0.5);
        isCompressedPayload = rsv1;
        this.isMessageCompressed = rsv1;
      }
      this.inMessage = fin ? 0 : opcode === 0 ? this.inMessage : opcode;
      if (isCompressedPayload) for (let i = 0; i < payload.length; i++) payload[i] ^= 0x55;
    }
    const length = payload.length;
    const headerBytes = (length < 126 ? 2 : length < 65536 ? 4 : 10) + (this.isServerReceiver ? 4 : 0);
    const frame = Buffer.allocUnsafe(headerBytes + length);
    frame[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
    let p = 2;
    const maskBit = this.isServerReceiver ? 0x80 : 0;
    if (length < 126) frame[1] = maskBit | length;
    else if (length < 65536) {
      frame[1] = maskBit | 126;
      frame.writeUInt16BE(length, 2);
      p = 4;
    } else {
      frame[1] = maskBit | 127;
      frame.writeUInt32BE(0, 2);
      frame.writeUInt32BE(length, 6);
      p = 10;
    }
    payload.copy(frame, headerBytes);
    if (this.isServerReceiver) {
      const key = next();
      frame.writeUInt32LE(key, p);
      for (let i = 0; i < length; i++) frame[headerBytes + i] ^= (key >>> ((i & 3) << 3)) & 0xff;
    }
    if (chance(0.02)) {
      // Mutation: flip a bit (header bits most likely), or splice in garbage.
      const kind = below(3);
      if (kind === 0) frame[below(Math.min(frame.length, 14))] ^= 1 << below(8);
      else if (kind === 1) frame[below(frame.length)] ^= 1 << below(8);
      else {
        const garbage = Buffer.allocUnsafe(logSize(64));
        fillRandom(garbage);
        this.push(garbage);
      }
    }
    this.push(frame);
  }
}

interface Counters {
  connections: number;
  failures: Map<number, number>;
  cleanCloses: number;
  messages: number;
  messageBytes: number;
  threw: number;
  badCodes: number;
}
const stats: Record<'random' | 'structured', Counters> = {
  random: { connections: 0, failures: new Map(), cleanCloses: 0, messages: 0, messageBytes: 0, threw: 0, badCodes: 0 },
  structured: { connections: 0, failures: new Map(), cleanCloses: 0, messages: 0, messageBytes: 0, threw: 0, badCodes: 0 },
};
const ALLOWED_CODES = new Set([1002, 1007, 1009]);

let connection = undefined as unknown as Connection; // set by startConnection() before the loop
let connectionIsCompressed = false;
let kind: 'random' | 'structured' = 'random';
let source: FrameSource | undefined;
let isDone = false;
let roleFlip = 0;

let kindFlip = 0;
function startConnection(sameKind = false): void {
  roleFlip++;
  if (!sameKind) kindFlip++;
  kind = mode === 'both' ? (kindFlip % 2 === 0 ? 'random' : 'structured') : (mode as 'random' | 'structured');
  const role = roleFlip % 2 === 0 ? 'server' : 'client';
  const isCompressed = chance(0.3);
  const counters = stats[kind];
  counters.connections++;
  isDone = false;
  source = kind === 'structured' ? new FrameSource(role === 'server', isCompressed) : undefined;
  connectionIsCompressed = isCompressed;
  connection = new Connection(
    { role, maxMessageBytes: 1024 * 1024, compressor: isCompressed ? xorCompressor() : undefined },
    {
      write() {},
      event(event: CoreEvent) {
        if (event.type === 'message') {
          counters.messages++;
          counters.messageBytes += event.data.length;
        } else if (event.type === 'error') {
          const code = (event.error as ProtocolError).closeCode;
          counters.failures.set(code, (counters.failures.get(code) ?? 0) + 1);
          if (!ALLOWED_CODES.has(code)) {
            counters.badCodes++;
            console.error('unexpected close code', code, event.error.message);
          }
          isDone = true;
        } else if (event.type === 'close-frame') {
          counters.cleanCloses++;
          isDone = true;
        }
      },
    },
  );
}

const cpuStart = process.cpuUsage();
const started = process.hrtime.bigint();
let fed = 0;
let chunks = 0;
let slowestReceiveMs = 0;
let slowestWhat = '';
let slowest: { bytes: Buffer; role: 'client' | 'server'; compressor: boolean } | undefined;
let maxRss = 0;
let maxHeap = 0;
const baseline = process.memoryUsage();
let nextReport = 0;
startConnection();
while (fed < totalBytes) {
  const size = Math.min(logSize(64 * 1024), totalBytes - fed);
  let chunk: Buffer;
  if (source !== undefined) chunk = source.take(size);
  else {
    chunk = Buffer.allocUnsafe(size);
    fillRandom(chunk);
  }
  // A failed connection hands the rest of its chunk to the next one, so every byte gets parsed.
  let rest: Buffer | undefined = chunk;
  while (rest !== undefined && rest.length > 0) {
    const before = connection.parsedBytes;
    const original = Buffer.from(rest); // receive() unmasks in place; kept to replay the slowest call
    const t0 = process.hrtime.bigint();
    try {
      connection.receive(rest);
    } catch (error) {
      stats[kind].threw++;
      console.error('receive() threw:', error);
      isDone = true;
    }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (ms > slowestReceiveMs) {
      slowestReceiveMs = ms;
      slowestWhat = `${kind} ${connection.role}, ${rest.length} B chunk`;
      slowest = { bytes: original, role: connection.role, compressor: connectionIsCompressed };
    }
    const consumed = connection.parsedBytes - before;
    rest = isDone && consumed > 0 && consumed < rest.length ? rest.subarray(consumed) : undefined;
    if (isDone) {
      connection.transportClosed();
      // The rest of a random chunk goes to another random connection; a
      // structured connection starts its own fresh frame stream instead.
      const isRandom = source === undefined;
      startConnection(isRandom && rest !== undefined);
      if (!isRandom) rest = undefined;
    }
  }
  fed += size;
  chunks++;
  if ((chunks & 1023) === 0) {
    const m = process.memoryUsage();
    if (m.rss > maxRss) maxRss = m.rss;
    if (m.heapUsed > maxHeap) maxHeap = m.heapUsed;
    if (fed >= nextReport) {
      const s = Number(process.hrtime.bigint() - started) / 1e9;
      console.error(`  ${(fed / 2 ** 20).toFixed(0)} MiB fed, ${s.toFixed(0)} s, rss ${(m.rss / 2 ** 20).toFixed(0)} MiB`);
      nextReport += Math.max(totalBytes / 8, 64 * 2 ** 20);
    }
  }
}
const end = process.memoryUsage();
maxRss = Math.max(maxRss, end.rss);
maxHeap = Math.max(maxHeap, end.heapUsed);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const MiB = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

console.log(`fuzz-parser: ${MiB(fed)} in ${chunks} chunks (1 B..64 KiB, log-uniform), seed ${seed}, mode ${mode}`);
const cpu = process.cpuUsage(cpuStart);
/**
 * Replays the slowest chunk into a fresh connection of the same role, one
 * receive() call like the timed one, to tell slow parsing from time the
 * process was descheduled on this shared machine.
 */
function replayMs(): number {
  if (slowest === undefined) return 0;
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const c = new Connection(
      { role: slowest.role, maxMessageBytes: 1024 * 1024, compressor: slowest.compressor ? xorCompressor() : undefined },
      { write() {}, event() {} },
    );
    const bytes = Buffer.from(slowest.bytes);
    const t0 = process.hrtime.bigint();
    c.receive(bytes);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return best;
}
const replay = replayMs();
console.log(
  `time ${seconds.toFixed(1)} s, cpu ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s (${(fed / 2 ** 20 / seconds).toFixed(1)} MiB/s); ` +
    `slowest receive() ${slowestReceiveMs.toFixed(1)} ms wall (${slowestWhat}; replayed alone: ${replay.toFixed(2)} ms)`,
);
for (const [name, c] of Object.entries(stats)) {
  if (c.connections === 0) continue;
  const failures = [...c.failures.entries()].sort((a, b) => a[0] - b[0]).map(([code, n]) => `${code}: ${n}`).join(', ');
  console.log(
    `${name}: ${c.connections} connections, failures {${failures}}, peer closes ${c.cleanCloses}, ` +
      `messages ${c.messages} (${MiB(c.messageBytes)}), threw ${c.threw}, unexpected codes ${c.badCodes}`,
  );
}
console.log(
  `memory: baseline rss ${MiB(baseline.rss)} heap ${MiB(baseline.heapUsed)}; max rss ${MiB(maxRss)} heap ${MiB(maxHeap)}; end rss ${MiB(end.rss)} heap ${MiB(end.heapUsed)}`,
);
const isBroken = stats.random.threw + stats.structured.threw + stats.random.badCodes + stats.structured.badCodes > 0;
process.exit(isBroken ? 1 : 0);
