// sockwave benchmarks: `npm run bench` (see bench/README.md).
//
// Every workload runs against every server in alternating rounds
// (A B C, B C A, C A B ...), each server a fresh process pinned to core 0 with
// `taskset -c 0`, the load generator pinned to core 1. Prints a table with
// the median, min..max and the ratio to `ws` measured in the same run.
//
// Options:
//   --quick             2 rounds, short windows (~2 min)
//   --rounds N          rounds per workload (default 3)
//   --duration MS       measured window per run (default 2000)
//   --warmup MS         unmeasured warm-up per run (default 700)
//   --only a,b          workloads to run (ids below)
//   --servers a,b       servers/clients to run (the ws baseline is always kept)
//   --json PATH         also write all samples as JSON
//   --md PATH           also write the printed report (markdown) to PATH
//   --node-flags "..."  extra node flags for the server processes (e.g. "--max-semi-space-size=1")
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { warnIfFormatGuessed } from './lib/dist-format.mjs';
import { fmt, formatTable, pct, summarize } from './lib/table.mjs';
import { LOADS } from './lib/loads.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);
const SOCKWAVE_DIST = path.join(root, 'dist', 'index.js');

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const quick = argv.includes('--quick');
const ROUNDS = Number(opt('--rounds', quick ? 2 : 3));
const DURATION = Number(opt('--duration', quick ? 700 : 2000));
const WARMUP = Number(opt('--warmup', quick ? 300 : 700));
const ONLY = opt('--only', '')?.split(',').filter(Boolean) ?? [];
const SERVER_FILTER = opt('--servers', '')?.split(',').filter(Boolean) ?? [];
const JSON_OUT = opt('--json', path.join(here, 'results', 'last-run.json'));
const MD_OUT = opt('--md', '');
const NODE_FLAGS = opt('--node-flags', '').split(' ').filter(Boolean);
// --compare-dist DIR: a second sockwave build (e.g. main's, built in a temp
// dir) run as 'sockwave (other)' right after 'sockwave' in the same rounds,
// so a refactor is measured against its base under the same load.
const COMPARE_DIST = opt('--compare-dist', '');
if (COMPARE_DIST) warnIfFormatGuessed(COMPARE_DIST);
const BASELINE = 'ws';
const report = [];
/** Prints a report line and keeps it for --md. */
function log(line) {
  console.log(line);
  report.push(line);
}

// ---------------------------------------------------------------- servers
const SERVERS = {
  'raw-net': { file: 'servers/raw-net.mjs', note: 'upper bound: echoes bytes, no framing' },
  handwritten: { file: 'servers/handwritten.mjs', note: 'minimal hand-written Node echo' },
  uws: { file: 'servers/uws.mjs', note: 'uWebSockets.js 3.0.6 (native)' },
  ws: { file: 'servers/ws.mjs', env: { WS_NO_BUFFER_UTIL: '1' }, note: 'ws, pure JS' },
  'ws+bufferutil': { file: 'servers/ws.mjs', note: 'ws with bufferutil' },
  'ws level 1': { file: 'servers/ws.mjs', env: { WS_NO_BUFFER_UTIL: '1', DEFLATE_LEVEL: '1' }, note: 'ws, zlib level 1 (sockwave\'s default)' },
  'sockwave level 6': {
    file: 'servers/sockwave.mjs',
    env: { DEFLATE_LEVEL: '6' },
    note: 'sockwave, zlib level 6 (ws\'s default)',
    unavailable: () => (fs.existsSync(SOCKWAVE_DIST) ? null : 'dist/index.js missing: run `npm run build`'),
  },
  'sockwave own-reads': {
    file: 'servers/sockwave.mjs',
    env: { OWN_READ_BUFFERS: '1' },
    note: 'sockwave with the opt-in ownReadBuffers (large payloads read into message buffers, glibc reuse)',
    unavailable: () => (fs.existsSync(SOCKWAVE_DIST) ? null : 'dist/index.js missing: run `npm run build`'),
  },
  sockwave: {
    file: 'servers/sockwave.mjs',
    note: 'sockwave (dist/)',
    unavailable: () => (fs.existsSync(SOCKWAVE_DIST) ? null : 'dist/index.js missing: run `npm run build`'),
  },
};
// Prototypes (bench/prototypes/, not shipped) and measuring sticks: run only when named in --servers, in the workloads they support.
const PROTOTYPES = {
  'sockwave http': {
    file: 'servers/sockwave.mjs',
    env: { HTTP_SERVER: '1' },
    note: 'sockwave attached to a node:http server ({ server }), as most apps deploy it',
    workloads: ['small-echo', 'echo-64k', 'echo-1m', 'echo-64k-c', 'echo-1m-c', 'handshake-close-c', 'idle-memory'],
    unavailable: () => (fs.existsSync(SOCKWAVE_DIST) ? null : 'dist/index.js missing: run `npm run build`'),
  },
  'proto-handle': {
    file: 'prototypes/handle-server.mjs',
    note: 'prototype: sockwave core on bare tcp_wrap handles, no net.Socket',
    workloads: ['small-echo', 'handshakes', 'handshake-close', 'handshake-close-c', 'idle-memory'],
    unavailable: () => (fs.existsSync(SOCKWAVE_DIST) ? null : 'dist/index.js missing: run `npm run build`'),
  },
  // Not a prototype of ours but a measuring stick, run only when named likewise.
  'net-floor': {
    file: 'servers/net-floor.mjs',
    note: 'the floor of a net.Socket server: regex for the key, fixed 101, fixed close reply; no validation',
    workloads: ['handshake-close', 'handshake-close-c'],
  },
  'net-floor-scratch': {
    file: 'servers/net-floor-scratch.mjs',
    note: 'net-floor with user-buffer reads into one shared buffer (as sockwave reads since session 9)',
    workloads: ['handshake-close', 'handshake-close-c'],
  },
};
Object.assign(SERVERS, PROTOTYPES);
if (COMPARE_DIST) {
  const index = path.resolve(COMPARE_DIST, 'index.js');
  SERVERS['sockwave (other)'] = {
    file: 'servers/sockwave.mjs',
    env: { SOCKWAVE_DIST: index },
    note: `sockwave from ${index}`,
    unavailable: () => (fs.existsSync(index) ? null : `${index} missing`),
  };
}
/** Variants that only matter for the compressed echo. */
const DEFLATE_VARIANTS = ['ws level 1', 'sockwave level 6'];
/** Variants that only matter for large messages. */
const LARGE_VARIANTS = ['sockwave own-reads'];
const ALL = Object.keys(SERVERS).filter((s) => !DEFLATE_VARIANTS.includes(s) && !LARGE_VARIANTS.includes(s) && s !== 'sockwave (other)' && !(s in PROTOTYPES));
const FRAMED = ALL.filter((s) => s !== 'raw-net');

// ---------------------------------------------------------------- workloads
const WORKLOADS = [
  { id: 'small-echo', title: 'small echo: 32 B, 100 conns x 16 in flight', unit: 'msg/s', servers: ALL,
    load: LOADS['small-echo'] },
  { id: 'echo-64k', title: '64 KiB echo: 16 conns x 2 in flight', unit: 'msg/s', servers: [...ALL, ...LARGE_VARIANTS], bytes: 65536,
    load: LOADS['echo-64k'] },
  { id: 'echo-1m', title: '1 MiB echo: 8 conns x 2 in flight', unit: 'msg/s', servers: [...ALL, ...LARGE_VARIANTS], bytes: 1048576,
    load: LOADS['echo-1m'] },
  // The same two sizes as issue 16 measured them: a C generator (bench/native/echo-large.c), 10 connections, one message each in flight.
  { id: 'echo-64k-c', title: '64 KiB echo, C load generator: 10 conns x 1 in flight', unit: 'msg/s', servers: [...ALL, ...LARGE_VARIANTS], bytes: 65536,
    load: LOADS['echo-64k-c'] },
  { id: 'echo-1m-c', title: '1 MiB echo, C load generator: 10 conns x 1 in flight', unit: 'msg/s', servers: [...ALL, ...LARGE_VARIANTS], bytes: 1048576,
    load: LOADS['echo-1m-c'] },
  { id: 'handshakes', title: 'handshakes: open + close cycles, 64 concurrent', unit: 'cycles/s', servers: ALL,
    load: LOADS.handshakes },
  // Issue 16's cycle: 32 at once, and the server must close TCP first (RFC 6455 §7.1.1), so the
  // close path (close frame, events, timers, half-close, teardown) is inside what is measured.
  { id: 'handshake-close', title: 'handshake cycle with the closing handshake, server closes TCP first, 32 concurrent', unit: 'cycles/s',
    servers: FRAMED, load: LOADS['handshake-close'] },
  // The same cycle from a C load generator (bench/native/handshake-cycle.c, built with `cc` on first use), as
  // issue 16 measured it: the Node generator costs ~200 µs per cycle and caps the fast servers' rates.
  { id: 'handshake-close-c', title: 'handshake cycle with the closing handshake, C load generator, 32 concurrent', unit: 'cycles/s',
    servers: FRAMED, load: LOADS['handshake-close-c'] },
  // RSS per connection varies by ~2% between rounds: fewer rounds, as it is the slowest workload.
  { id: 'idle-memory', title: 'idle memory: server RSS delta / 10,000 connections', unit: 'KiB/conn', lowerIsBetter: true, servers: ALL,
    rounds: quick ? 1 : 2,
    load: { kind: 'memory', conns: 10000, warm: 500 } },
  { id: 'broadcast', title: 'broadcast: 32 B to 1,000 conns, 128 broadcasts in flight', unit: 'deliveries/s', servers: FRAMED,
    serverFlags: ['--broadcast'], load: LOADS.broadcast },
  { id: 'deflate-echo', title: 'compressed echo: 2 KiB JSON text, permessage-deflate (server context takeover), 50 conns x 4', unit: 'msg/s',
    servers: ['ws', 'ws+bufferutil', 'ws level 1', 'sockwave level 6', 'sockwave'], serverFlags: ['--deflate'],
    load: LOADS['deflate-echo'] },
  { id: 'deflate-echo-nct', title: 'compressed echo: as above with server_no_context_takeover', unit: 'msg/s',
    servers: ['ws', 'ws+bufferutil', 'ws level 1', 'sockwave level 6', 'sockwave'], serverFlags: ['--deflate'],
    load: { kind: 'echo', size: 2048, text: true, deflate: true, noContextTakeover: true, conns: 50, inflight: 4, poolCount: 256 } },
  { id: 'client-echo', title: 'client side: 32 B echo, 100 conns x 16, against uWebSockets.js', unit: 'msg/s', client: true,
    servers: ['sockwave', 'sockwave-web', 'ws', 'undici'], load: { size: 32, conns: 100, inflight: 16 } },
];

// ---------------------------------------------------------------- processes
/** Spawns `node file args` pinned to `cpu`, with a raised fd limit (we are root). */
function pinned(cpu, file, args, env = {}) {
  const child = spawn(
    'sh',
    ['-c', 'ulimit -n 65536 2>/dev/null; exec "$@"', 'sh', 'taskset', '-c', String(cpu), process.execPath, ...args],
    { cwd: root, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  child.stderrTail = '';
  child.stderr.on('data', (d) => (child.stderrTail = (child.stderrTail + d).slice(-600)));
  child.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  child.lines = lineReader(child.stdout);
  return child;
}

function lineReader(stream) {
  const queue = [];
  const waiters = [];
  let buf = '';
  let ended = false;
  stream.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const w = waiters.shift();
      if (w) w.resolve(line);
      else queue.push(line);
    }
  });
  stream.on('end', () => {
    ended = true;
    for (const w of waiters.splice(0)) w.resolve(null);
  });
  /** Next line matching `re`, or null on end/timeout. */
  return async function next(re, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let line;
      if (queue.length) line = queue.shift();
      else if (ended) return null;
      else {
        line = await new Promise((resolve) => {
          const timer = setTimeout(() => {
            const i = waiters.indexOf(w);
            if (i >= 0) waiters.splice(i, 1);
            resolve(undefined);
          }, Math.max(0, deadline - Date.now()));
          const w = {
            resolve: (l) => {
              clearTimeout(timer);
              resolve(l);
            },
          };
          waiters.push(w);
        });
        if (line === undefined) return null;
      }
      if (line === null) return null;
      const m = re.exec(line);
      if (m) return m;
    }
  };
}

async function stop(child) {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await child.exited;
}

async function startServer(name, flags) {
  const s = SERVERS[name];
  const child = pinned(0, s.file, ['--expose-gc', ...NODE_FLAGS, path.join(here, s.file), ...flags], s.env);
  const m = await child.lines(/^READY (\d+) ?(.*)$/, 15_000);
  if (!m) {
    await stop(child);
    const { code } = await child.exited;
    throw new Error(`server did not start (exit ${code}): ${child.stderrTail.trim().split('\n').slice(-3).join(' | ')}`);
  }
  child.port = Number(m[1]);
  child.note = m[2];
  return child;
}

async function rssOf(server) {
  server.stdin.write('rss\n');
  const m = await server.lines(/^RSS (\d+) (\d+)$/, 10_000);
  if (!m) throw new Error('server did not report RSS');
  return { rss: Number(m[1]), heap: Number(m[2]) };
}

function serverDied(server) {
  if (server.exitCode === null && server.signalCode === null) return null;
  return `server crashed (exit ${server.exitCode ?? server.signalCode}): ${server.stderrTail.trim().split('\n').slice(-3).join(' | ')}`;
}

async function runLoad(script, config, timeoutMs) {
  const lg = pinned(1, script, [path.join(here, script), JSON.stringify({ ...config, timeoutMs })]);
  const m = await lg.lines(/^RESULT (.*)$/, timeoutMs + 5000);
  await stop(lg);
  if (!m) return { error: `load generator gave no result: ${lg.stderrTail.trim().split('\n').slice(-2).join(' | ') || 'timeout'}` };
  return JSON.parse(m[1]);
}

/** One sample: fresh server, one load run. Never throws: failures are results. */
async function sample(w, name) {
  const timeoutMs = WARMUP + DURATION + 30_000;
  let server;
  try {
    if (w.client) {
      const unavailable = name.startsWith('sockwave') ? SERVERS.sockwave.unavailable() : null;
      if (unavailable) return { skipped: unavailable };
      server = await startServer('uws', []);
      const r = await runLoad('client-load.mjs', { ...w.load, lib: name, port: server.port, serverPid: server.pid, warmupMs: WARMUP, durationMs: DURATION }, timeoutMs);
      return r;
    }
    const unavailable = SERVERS[name].unavailable?.();
    if (unavailable) return { skipped: unavailable };
    server = await startServer(name, w.serverFlags ?? []);
    if (w.load.kind === 'memory') return await memorySample(w, server);
    const r = await runLoad('loadgen.mjs', { ...w.load, port: server.port, serverPid: server.pid, raw: name === 'raw-net', warmupMs: WARMUP, durationMs: DURATION }, timeoutMs);
    const died = serverDied(server);
    if (r.error && died) r.error = `${died} (load generator: ${r.error})`;
    if (server.note) r.note = server.note;
    return r;
  } catch (err) {
    return { error: err.message };
  } finally {
    if (server) await stop(server);
  }
}

async function memorySample(w, server) {
  const lg = pinned(1, 'loadgen.mjs', [path.join(here, 'loadgen.mjs'), JSON.stringify({ ...w.load, port: server.port, timeoutMs: 120_000 })]);
  try {
    const w1 = await lg.lines(/^(WARM|RESULT) ?(.*)$/, 60_000);
    if (!w1 || w1[1] === 'RESULT') throw new Error(serverDied(server) ?? `warm-up connections failed: ${failureOf(w1, lg)}`);
    const before = await rssOf(server);
    lg.stdin.write('next\n');
    const m = await lg.lines(/^(CONNECTED|RESULT) ?(.*)$/, 100_000);
    if (!m || m[1] === 'RESULT') throw new Error(serverDied(server) ?? `connecting failed: ${failureOf(m, lg)}`);
    const [n, ms] = m[2].split(' ').map(Number);
    await new Promise((r) => setTimeout(r, 500));
    const after = await rssOf(server);
    lg.stdin.write('done\n');
    return {
      value: (after.rss - before.rss) / n / 1024,
      heapPerConnKiB: (after.heap - before.heap) / n / 1024,
      rssBeforeMiB: before.rss / 2 ** 20,
      rssAfterMiB: after.rss / 2 ** 20,
      connectMs: ms,
    };
  } catch (err) {
    return { error: err.message };
  } finally {
    await stop(lg);
  }
}

function failureOf(m, lg) {
  if (m) {
    try {
      return JSON.parse(m[2]).error;
    } catch {}
  }
  return lg.stderrTail.trim().split('\n').pop() || 'no output (timeout)';
}

// ---------------------------------------------------------------- main
async function main() {
  const cpuModel = (fs.readFileSync('/proc/cpuinfo', 'latin1').match(/model name\s*:\s*(.*)/) ?? [])[1];
  log(`# sockwave bench ${new Date().toISOString()}`);
  log(`node ${process.version}, nproc ${os.cpus().length}, ${cpuModel}, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  log(`rounds ${ROUNDS}, warm-up ${WARMUP} ms, window ${DURATION} ms; servers on core 0, load generator on core 1${NODE_FLAGS.length ? `; server node flags ${NODE_FLAGS.join(' ')}` : ''}`);
  log(`command: node bench/run.mjs ${argv.join(' ')}`);
  const workloads = WORKLOADS.filter((w) => !ONLY.length || ONLY.includes(w.id));
  const all = { date: new Date().toISOString(), node: process.version, cpuModel, rounds: ROUNDS, durationMs: DURATION, warmupMs: WARMUP, workloads: {} };
  const t0 = Date.now();
  for (const w of workloads) {
    let names = w.servers;
    if (COMPARE_DIST && !w.client && names.includes('sockwave')) names = names.flatMap((n) => (n === 'sockwave' ? [n, 'sockwave (other)'] : [n]));
    if (SERVER_FILTER.length) names = names.filter((n) => n === BASELINE || n === 'sockwave (other)' || SERVER_FILTER.includes(n));
    for (const [name, proto] of Object.entries(PROTOTYPES)) if (SERVER_FILTER.includes(name) && proto.workloads.includes(w.id)) names = [...names, name];
    const samples = Object.fromEntries(names.map((n) => [n, []]));
    // A workload's own round count (idle-memory: 2) is its default; an explicit --rounds wins.
    const rounds = argv.includes('--rounds') ? ROUNDS : Math.min(ROUNDS, w.rounds ?? ROUNDS);
    for (let round = 0; round < rounds; round++) {
      // Each round starts one server later (A B C, B C A, C A B, ...), so no server keeps the
      // same position or the same predecessor in every round (what a server leaves behind in
      // the kernel, e.g. sockets in TIME_WAIT, then weighs on every server alike).
      const order = names.map((_, i) => names[(i + round) % names.length]);
      for (const name of order) {
        // A permanent skip (sockwave not built) or a failure is not retried in later rounds.
        const prev = samples[name];
        if (prev.some((s) => s.skipped || s.error)) continue;
        const started = Date.now();
        const s = await sample(w, name);
        s.wallMs = Date.now() - started;
        prev.push(s);
        const shown = s.error
          ? `FAILED ${s.error}`
          : s.skipped
            ? `skipped (${s.skipped})`
            : `${fmt(s.value)} ${w.unit} cpu ${pct(s.serverCpu)}/${pct(s.loadgenCpu)} cores ${pct(s.coreBusy?.[0])}/${pct(s.coreBusy?.[1])}`;
        process.stderr.write(`  [${w.id} r${round + 1}] ${name}: ${shown} (${(s.wallMs / 1000).toFixed(1)} s)\n`);
      }
    }
    const rows = summarize(w, samples, BASELINE);
    log(formatTable(w, rows, BASELINE));
    all.workloads[w.id] = { title: w.title, unit: w.unit, rows, samples };
  }
  log(`\ntotal ${((Date.now() - t0) / 1000).toFixed(0)} s, load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}. cpu srv/gen = CPU used by the server / load generator (or client) process during the window, 100% = one core; core0/1 busy = whole-system use of the two cores (above cpu srv/gen = other processes competed); cpu µs/op = CPU time of the measured process per message/cycle/delivery, and x ws by cpu = ws's cost / this cost (robust to competing load); of it kernel µs = the part of the server's CPU per operation spent in the kernel (stime); srv minflt/op = minor page faults of the server process per operation in the window (/proc/PID/stat field 10).`);
  if (MD_OUT) fs.writeFileSync(MD_OUT, report.join('\n') + '\n');
  if (JSON_OUT) {
    fs.mkdirSync(path.dirname(JSON_OUT), { recursive: true });
    fs.writeFileSync(JSON_OUT, JSON.stringify(all, null, 2));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
