// Paired A/B of two sockwave builds (and optionally the hand-written server):
// all servers stay up, pinned to core 0, and the load generator (core 1)
// alternates between them, so a burst of load from other processes hits
// both builds alike. Prints CPU µs per operation per run, and the ratios of
// the paired runs (this build / the other build).
//
// Usage: node bench/ab.mjs --compare-dist /tmp/main-dist [--workload handshake-close|handshake-close-c|small-echo|echo-64k|echo-1m|echo-64k-c|echo-1m-c]
//                          [--rounds 8] [--duration 1500] [--handwritten] [--server NAME=FILE ...] [--fresh [--warmup 1000]]
// --server adds any server file (bench/servers/FILE, or a path) to the rotation; it may be
// repeated, and with it --compare-dist is optional. Ratios are to the first server listed.
import path from 'node:path';
import { warnIfFormatGuessed } from './lib/dist-format.mjs';
import { resultOf, runPinnedLoad, startPinnedServer } from './lib/pinned.mjs';
import { LOADS } from './lib/loads.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const rounds = Number(opt('--rounds', 8));
const durationMs = Number(opt('--duration', 1500));
const workload = opt('--workload', 'handshake-close');
const otherDist = opt('--compare-dist', undefined);
const extra = argv.flatMap((a, i) => (a === '--server' ? [argv[i + 1].split('=')] : []));
if (otherDist === undefined && extra.length === 0) throw new Error('--compare-dist DIR (another build of dist/) or --server NAME=FILE is required');
if (otherDist !== undefined) warnIfFormatGuessed(otherDist);
const servers = [
  ...(otherDist === undefined
    ? []
    : [
        ['other', 'sockwave.mjs', { SOCKWAVE_DIST: path.join(path.resolve(otherDist), 'index.js') }],
        ['this', 'sockwave.mjs', {}],
      ]),
  ...(argv.includes('--handwritten') ? [['handwritten', 'handwritten.mjs', {}]] : []),
  ...extra.map(([name, file]) => [name, file, {}]),
];
// --fresh: new server processes every round (and no uncounted round 0), for workloads where a
// process settles into one of several states for its whole life (1 MiB echo: glibc's heap), so
// keeping one process per build would compare two states rather than two builds.
const fresh = argv.includes('--fresh');
const warmupMs = Number(opt('--warmup', fresh ? 1000 : 300));
const us = new Map(servers.map(([name]) => [name, []]));
async function startAll() {
  const procs = [];
  for (const [name, file, env] of servers) {
    const { proc: p, port } = await startPinnedServer(file, { env });
    procs.push({ name, p, port });
  }
  return procs;
}
async function stopAll(procs) {
  await Promise.all(procs.map((s) => new Promise((resolve) => {
    s.p.on('exit', resolve);
    s.p.stdin.end();
  })));
}
let procs = await startAll();
// Without --fresh, round 0 warms every server up and is not counted; the order alternates per round.
for (let r = fresh ? 1 : 0; r <= rounds; r++) {
  if (fresh && r > 1) procs = await startAll();
  for (const s of r % 2 ? procs : [...procs].reverse()) {
    const cfg = { ...LOADS[workload], port: s.port, serverPid: s.p.pid, warmupMs, durationMs, timeoutMs: durationMs + 30_000 };
    const res = resultOf(await runPinnedLoad(cfg));
    if (r > 0) us.get(s.name).push((res.serverCpu * res.seconds * 1e6) / res.count);
  }
  if (fresh || r === rounds) await stopAll(procs);
}
const median = (list) => [...list].sort((a, b) => a - b)[list.length >> 1];
const names = servers.map(([name]) => name);
for (const name of names) {
  const list = us.get(name);
  console.log(`${name.padEnd(12)} median ${median(list).toFixed(2)} µs/op  runs ${list.map((x) => x.toFixed(1)).join(' ')}`);
}
for (const name of names.slice(1)) {
  const base = us.get(names[0]);
  const ratios = base.map((x, i) => us.get(name)[i] / x);
  console.log(`${name}/${names[0]} per paired run: ${ratios.map((x) => x.toFixed(3)).join(' ')}  median ${median(ratios).toFixed(3)}`);
}
