#!/usr/bin/env node
// Issue 13 benchmarks: publishing to many subscribers (run `npm run build` first).
//
//   fanout-*   one message to 1,000 or 10,000 subscribers, 64 B or 4 KiB:
//              ws (a loop of client.send over wss.clients), uWebSockets.js
//              (app.publish), sockwave (wss.publish on the embedded backplane),
//              and sockwave through a real redis-server: one process, two
//              processes with the subscribers split between them ('split'), and
//              every subscriber on the second process ('remote'). Same run,
//              alternating rounds; the server side (all its processes,
//              redis-server included) pinned to core 0, the load generator
//              (loadgen.mjs broadcast: raw sockets, every byte checked) to core 1.
//   memory     bytes per subscription: 10,000 connected sockets, RSS and JS
//              heap+external before and after subscribing each to 1, then 10 topics.
//   deflate    compressed topics: 200 `ws` clients with permessage-deflate,
//              contextTakeover 'uncompressed' (default) vs 'compress', and
//              clients that negotiate server_no_context_takeover (shared compression).
//
// Options: --rounds N (3) --duration MS (1500) --warmup MS (500) --only fanout,memory,deflate
//          --sizes 1000,10000 --servers ws,uws,sockwave,redis-1,redis-split,redis-remote
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const ROUNDS = Number(opt('--rounds', 3));
const DURATION = Number(opt('--duration', 1500));
const WARMUP = Number(opt('--warmup', 500));
const ONLY = opt('--only', 'fanout,memory,deflate').split(',');
const SIZES = opt('--sizes', '1000,10000').split(',').map(Number);
const SERVER_FILTER = opt('--servers', '').split(',').filter(Boolean);
const REDIS = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

function pinned(cpu, command, args, env = {}) {
  const child = spawn('sh', ['-c', 'ulimit -n 65536 2>/dev/null; exec "$@"', 'sh', 'taskset', '-c', String(cpu), command, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.out = '';
  child.err = '';
  child.stdout.on('data', (d) => (child.out += d));
  child.stderr.on('data', (d) => (child.err = (child.err + d).slice(-800)));
  child.exited = new Promise((resolve) => child.on('exit', resolve));
  return child;
}

async function waitFor(child, re, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const m = re.exec(child.out);
    if (m) {
      child.out = child.out.slice(m.index + m[0].length);
      return m;
    }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no ${re} (exit ${child.exitCode}): ${child.err.trim().split('\n').slice(-3).join(' | ')}`);
}

async function stop(child) {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (child) await child.exited;
}

async function freePort() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

async function startServer(file, flags = [], env = {}) {
  const child = pinned(0, process.execPath, ['--expose-gc', path.join(here, 'servers', file), ...flags], env);
  child.port = Number((await waitFor(child, /READY (\d+)/, 15_000))[1]);
  return child;
}

async function runLoad(script, config) {
  const lg = pinned(1, process.execPath, [path.join(here, script), JSON.stringify({ ...config, timeoutMs: 90_000 })]);
  try {
    const m = await waitFor(lg, /RESULT (.*)\n/, 100_000);
    return JSON.parse(m[1]);
  } catch (error) {
    return { error: error.message };
  } finally {
    await stop(lg);
  }
}

let redis;
let redisUrl;
let prefixCounter = 0;
async function ensureRedis() {
  if (redis) return;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sockwave-bench-redis-'));
  const port = await freePort();
  redis = pinned(0, REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning']);
  redis.dir = dir;
  redisUrl = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(true) || s.destroy());
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('redis-server did not start');
}

// ------------------------------------------------------------------ fan-out
const ROWS = {
  ws: { start: async () => [await startServer('ws.mjs', ['--broadcast'], { WS_NO_BUFFER_UTIL: '1' })] },
  uws: { start: async () => [await startServer('uws.mjs', ['--broadcast'])] },
  sockwave: { start: async () => [await startServer('sockwave-topics.mjs')] },
  'redis-1': {
    redis: true,
    start: async () => [await startServer('sockwave-topics.mjs', [], { REDIS_URL: redisUrl, BENCH_PREFIX: String(prefixCounter++) })],
  },
  'redis-split': { redis: true, placement: 'split' },
  'redis-remote': { redis: true, placement: 'remote' },
};
for (const row of Object.values(ROWS)) {
  if (row.placement) {
    row.start = async () => {
      const env = { REDIS_URL: redisUrl, BENCH_PREFIX: String(prefixCounter++) };
      return [await startServer('sockwave-topics.mjs', [], env), await startServer('sockwave-topics.mjs', [], env)];
    };
  }
}

const windowFor = (conns, size) => Math.max(2, Math.round((conns >= 10_000 ? 16 : 128) / (size > 1024 ? 8 : 1)));

async function fanoutSample(rowName, conns, size) {
  const row = ROWS[rowName];
  if (row.redis) await ensureRedis();
  let servers = [];
  try {
    servers = await row.start();
    const pids = servers.map((s) => s.pid);
    if (row.redis) pids.push(redis.pid);
    const r = await runLoad('loadgen.mjs', {
      kind: 'broadcast',
      conns,
      size,
      window: windowFor(conns, size),
      port: servers[0].port,
      port2: servers[1]?.port,
      placement: row.placement,
      serverPid: servers[0].pid,
      serverPids: pids,
      warmupMs: WARMUP,
      durationMs: DURATION,
    });
    for (const s of servers) if (s.exitCode !== null) r.error ??= `server exited: ${s.err}`;
    return r;
  } catch (error) {
    return { error: error.message };
  } finally {
    for (const s of servers) await stop(s);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};
const fmt = (x) => (!Number.isFinite(x) ? '-' : x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e4 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(x >= 100 ? 0 : 2));

async function fanout() {
  const names = Object.keys(ROWS).filter((n) => !SERVER_FILTER.length || n === 'ws' || SERVER_FILTER.includes(n));
  for (const size of [64, 4096]) {
    for (const conns of SIZES) {
      const samples = Object.fromEntries(names.map((n) => [n, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const name of names) {
          if (samples[name].some((s) => s.error)) continue;
          const s = await fanoutSample(name, conns, size);
          samples[name].push(s);
          process.stderr.write(`  [${conns} x ${size} B r${round + 1}] ${name}: ${s.error ? `FAILED ${s.error}` : `${fmt(s.value)}/s cpu ${Math.round(s.serverCpu * 100)}%/${Math.round(s.loadgenCpu * 100)}%`}\n`);
        }
      }
      const stats = {};
      for (const [name, list] of Object.entries(samples)) {
        const ok = list.filter((s) => Number.isFinite(s.value));
        if (!ok.length) continue;
        stats[name] = {
          median: median(ok.map((s) => s.value)),
          min: Math.min(...ok.map((s) => s.value)),
          max: Math.max(...ok.map((s) => s.value)),
          usPerPublish: median(ok.map((s) => (s.serverCpu / s.value) * conns * 1e6)),
          cpu: `${Math.round(median(ok.map((s) => s.serverCpu)) * 100)}%/${Math.round(median(ok.map((s) => s.loadgenCpu)) * 100)}%`,
        };
      }
      console.log(`\n### publish ${size} B to ${conns.toLocaleString('en')} subscribers (window ${windowFor(conns, size)} publishes)\n`);
      console.log('| server | deliveries/s median | min..max | x ws | x sockwave | server CPU µs per publish | cpu srv/gen |');
      console.log('|---|---|---|---|---|---|---|');
      for (const [name, st] of Object.entries(stats)) {
        const failed = samples[name].find((s) => s.error);
        console.log(`| ${name} | ${fmt(st.median)} | ${fmt(st.min)}..${fmt(st.max)} | ${(st.median / stats.ws?.median).toFixed(2)} | ${(st.median / stats.sockwave?.median).toFixed(2)} | ${st.usPerPublish.toFixed(0)} | ${st.cpu} |${failed ? ` FAILED: ${failed.error}` : ''}`);
      }
      for (const name of names) if (!stats[name]) console.log(`| ${name} | FAILED: ${samples[name][0]?.error} |`);
    }
  }
}

// ------------------------------------------------------------------ memory
async function memory() {
  const N = 10_000;
  const server = await startServer('sockwave-topics.mjs', [], { SUBSCRIBE: 'manual' });
  const lg = pinned(1, process.execPath, [path.join(here, 'loadgen.mjs'), JSON.stringify({ kind: 'memory', warm: N, conns: 0, port: server.port, timeoutMs: 120_000 })]);
  const rss = async () => {
    server.stdin.write('rss\n');
    const m = await waitFor(server, /RSS (\d+) (\d+)/, 10_000);
    return { rss: Number(m[1]), heap: Number(m[2]) };
  };
  try {
    await waitFor(lg, /WARM (\d+)/, 100_000);
    await new Promise((r) => setTimeout(r, 500));
    const before = await rss();
    server.stdin.write('subscribe 1\n');
    await waitFor(server, /SUBSCRIBED (\d+)/, 60_000);
    const one = await rss();
    server.stdin.write('subscribe 10\n');
    await waitFor(server, /SUBSCRIBED (\d+)/, 60_000);
    const ten = await rss();
    const per = (a, b, subs) => `${((b.rss - a.rss) / subs).toFixed(0)} B RSS, ${((b.heap - a.heap) / subs).toFixed(0)} B heap+external`;
    console.log(`\n### memory per subscription (${N.toLocaleString('en')} connected sockets; sockets alone: RSS ${(before.rss / 2 ** 20).toFixed(0)} MiB)\n`);
    console.log(`- ${N} sockets x 1 topic (one topic, ${N} subscribers): ${per(before, one, N)} per subscription`);
    console.log(`- then 9 more topics each (10 topics of ${N} subscribers): ${per(one, ten, 9 * N)} per subscription`);
  } finally {
    lg.stdin.write('next\n');
    await stop(lg);
    await stop(server);
  }
}

// ------------------------------------------------------------------ deflate
async function deflate() {
  const variants = {
    'context takeover, uncompressed (default)': { env: { CONTEXT_TAKEOVER: 'uncompressed' } },
    'context takeover, compress per subscriber': { env: { CONTEXT_TAKEOVER: 'compress' } },
    'server_no_context_takeover (shared compression)': { env: {}, noContextTakeover: true },
  };
  const conns = 200;
  const samples = Object.fromEntries(Object.keys(variants).map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, v] of Object.entries(variants)) {
      const server = await startServer('sockwave-topics.mjs', ['--deflate'], v.env);
      try {
        const r = await runLoad('topics-deflate-load.mjs', { conns, window: 16, port: server.port, serverPid: server.pid, noContextTakeover: !!v.noContextTakeover, warmupMs: WARMUP, durationMs: DURATION });
        samples[name].push(r);
        process.stderr.write(`  [deflate r${round + 1}] ${name}: ${r.error ?? `${fmt(r.value)}/s`}\n`);
      } finally {
        await stop(server);
      }
    }
  }
  console.log(`\n### compressed topics: 2 KiB JSON text to ${conns} ws clients with permessage-deflate\n`);
  console.log('| subscribers | deliveries/s median | min..max | server CPU µs per delivery | wire bytes per delivery | cpu srv/gen |');
  console.log('|---|---|---|---|---|---|');
  for (const [name, list] of Object.entries(samples)) {
    const ok = list.filter((s) => Number.isFinite(s.value));
    if (!ok.length) {
      console.log(`| ${name} | FAILED: ${list[0]?.error} |`);
      continue;
    }
    const vals = ok.map((s) => s.value);
    console.log(`| ${name} | ${fmt(median(vals))} | ${fmt(Math.min(...vals))}..${fmt(Math.max(...vals))} | ${median(ok.map((s) => (s.serverCpu / s.value) * 1e6)).toFixed(2)} | ${median(ok.map((s) => s.wireBytesPerDelivery)).toFixed(0)} | ${Math.round(median(ok.map((s) => s.serverCpu)) * 100)}%/${Math.round(median(ok.map((s) => s.loadgenCpu)) * 100)}% |`);
  }
}

try {
  console.log(`# topics fan-out bench ${new Date().toISOString()}, node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`command: node bench/topics-fanout.mjs ${argv.join(' ')} (rounds ${ROUNDS}, warm-up ${WARMUP} ms, window ${DURATION} ms)`);
  if (ONLY.includes('fanout')) await fanout();
  if (ONLY.includes('memory')) await memory();
  if (ONLY.includes('deflate')) await deflate();
} finally {
  if (redis) {
    await stop(redis);
    rmSync(redis.dir, { recursive: true, force: true });
  }
}
