// Paired A/B of two sockwave builds (and optionally the hand-written server):
// all servers stay up, pinned to core 0, and the load generator (core 1)
// alternates between them, so a burst of load from other processes hits
// both builds alike. Prints CPU µs per operation per run, and the ratios of
// the paired runs (this build / the other build).
//
// Usage: node bench/ab.mjs --compare-dist /tmp/main-dist [--workload handshake-close|handshake-close-c|small-echo|echo-64k|echo-1m|echo-64k-c|echo-1m-c]
//                          [--rounds 8] [--duration 1500] [--handwritten] [--server NAME=FILE ...]
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
const procs = [];
for (const [name, file, env] of servers) {
  const { proc: p, port } = await startPinnedServer(file, { env });
  procs.push({ name, p, port, us: [] });
}
// Round 0 warms every server up and is not counted; the order alternates per round.
for (let r = 0; r <= rounds; r++) {
  for (const s of r % 2 ? procs : [...procs].reverse()) {
    const cfg = { ...LOADS[workload], port: s.port, serverPid: s.p.pid, warmupMs: 300, durationMs, timeoutMs: durationMs + 30_000 };
    const res = resultOf(await runPinnedLoad(cfg));
    if (r > 0) s.us.push((res.serverCpu * res.seconds * 1e6) / res.count);
  }
}
const median = (list) => [...list].sort((a, b) => a - b)[list.length >> 1];
for (const s of procs) {
  console.log(`${s.name.padEnd(12)} median ${median(s.us).toFixed(2)} µs/op  runs ${s.us.map((x) => x.toFixed(1)).join(' ')}`);
  s.p.stdin.end();
}
for (const s of procs.slice(1)) {
  const ratios = procs[0].us.map((x, i) => s.us[i] / x);
  console.log(`${s.name}/${procs[0].name} per paired run: ${ratios.map((x) => x.toFixed(3)).join(' ')}  median ${median(ratios).toFixed(3)}`);
}
