// The core's hot paths, two builds side by side in one process, no sockets:
// `node bench/core-compare.mjs --base /path/to/other/dist [--rounds 9] [--ms 400]`
// compares dist/ (this tree) with another build. Rounds alternate between
// the builds (A B A B ...) and each reports CPU time per operation
// (process.cpuUsage), which competing load on a shared machine changes far
// less than wall-clock rates. Workloads mirror bench/run.mjs's, at the
// Connection level (a server Connection, frames fed as a socket would feed
// them, every message echoed back through send()):
//   small-echo  chunks of 16 masked 32-byte binary frames
//   text-echo   chunks of 16 masked 32-byte text frames (UTF-8 validated)
//   echo-1m     one masked 1 MiB frame arriving in 64 KiB chunks
//   broadcast   one 32-byte message received, then sendEncoded() to 1,000 connections
// Masking keys are zero, so the in-place unmasking leaves the reused input intact.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const BASE = opt('--base', '');
const ROUNDS = Number(opt('--rounds', 9));
const MS = Number(opt('--ms', 400));
if (!BASE) {
  console.error('usage: node bench/core-compare.mjs --base /path/to/other/dist [--rounds N] [--ms MS]');
  process.exit(2);
}

async function load(dist) {
  const url = (file) => pathToFileURL(path.join(dist, 'core', file)).href;
  const { Connection } = await import(url('connection.js'));
  const { encodeFrame } = await import(url('frame.js'));
  return { Connection, encodeFrame };
}

const builds = {
  new: await load(path.join(here, '..', 'dist')),
  base: await load(path.resolve(BASE)),
};

/** A client frame with a zero masking key (valid, and unmasking leaves it unchanged). */
function maskedFrame(opcode, payload) {
  const length = payload.length;
  const head = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const out = Buffer.alloc(head + 4 + length);
  out[0] = 0x80 | opcode;
  if (length < 126) out[1] = 0x80 | length;
  else if (length < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(length, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(length), 2);
  }
  payload.copy(out, head + 4);
  return out;
}

function echoConnection({ Connection }) {
  let written = 0;
  const sink = {
    write(data) {
      written += data.length;
    },
    event() {},
    message(data, isBinary) {
      conn.send(data, { isBinary });
    },
  };
  const conn = new Connection({ role: 'server' }, sink);
  return { conn, written: () => written };
}

const WORKLOADS = {
  'small-echo': (build) => {
    const { conn } = echoConnection(build);
    const chunk = Buffer.concat(Array.from({ length: 16 }, () => maskedFrame(2, Buffer.alloc(32, 7))));
    return { opsPerCall: 16, call: () => conn.receive(chunk) };
  },
  'text-echo': (build) => {
    const { conn } = echoConnection(build);
    const chunk = Buffer.concat(Array.from({ length: 16 }, () => maskedFrame(1, Buffer.from('{"event":"tick","n":1234567890}!'))));
    return { opsPerCall: 16, call: () => conn.receive(chunk) };
  },
  'echo-1m': (build) => {
    const { conn } = echoConnection(build);
    const frame = maskedFrame(2, Buffer.alloc(1024 * 1024, 3));
    const chunks = [];
    for (let o = 0; o < frame.length; o += 65536) chunks.push(frame.subarray(o, Math.min(frame.length, o + 65536)));
    return {
      opsPerCall: 1,
      call: () => {
        for (let i = 0; i < chunks.length; i++) conn.receive(chunks[i]);
      },
    };
  },
  broadcast: (build) => {
    const receivers = Array.from({ length: 1000 }, () => echoConnection(build).conn);
    const sink = {
      write() {},
      event() {},
      message(data) {
        const encoded = build.encodeFrame(2, data);
        for (let i = 0; i < receivers.length; i++) receivers[i].sendEncoded(encoded);
      },
    };
    const conn = new build.Connection({ role: 'server' }, sink);
    const chunk = maskedFrame(2, Buffer.alloc(32, 9));
    return { opsPerCall: 1000, call: () => conn.receive(chunk) };
  },
};

/** Runs `call` for about MS milliseconds; returns CPU nanoseconds per operation. */
function measure({ opsPerCall, call }) {
  for (let i = 0; i < 200; i++) call(); // warm this round's instance
  const start = process.cpuUsage();
  const deadline = performance.now() + MS;
  let ops = 0;
  while (performance.now() < deadline) {
    for (let i = 0; i < 50; i++) call();
    ops += 50 * opsPerCall;
  }
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / ops;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

console.log(`core-compare: dist/ (new) vs ${BASE} (base), ${ROUNDS} alternating rounds of ${MS} ms, CPU ns per op`);
console.log('| workload | new ns/op | base ns/op | new / base (time) | rounds new faster |');
console.log('|---|---|---|---|---|');
for (const [id, make] of Object.entries(WORKLOADS)) {
  const samples = { new: [], base: [] };
  const instances = { new: make(builds.new), base: make(builds.base) };
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which build goes first, so neither always gets the warmer cache.
    const order = round % 2 === 0 ? ['base', 'new'] : ['new', 'base'];
    for (const name of order) samples[name].push(measure(instances[name]));
  }
  const wins = samples.new.filter((value, i) => value < samples.base[i]).length;
  const n = median(samples.new);
  const b = median(samples.base);
  console.log(`| ${id} | ${n.toFixed(1)} | ${b.toFixed(1)} | ${(n / b).toFixed(3)} | ${wins}/${ROUNDS} |`);
}
