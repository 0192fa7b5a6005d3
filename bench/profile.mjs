// Profiles one server under one load with `node --cpu-prof` and prints where
// the server's time goes (self time by function and by file).
//
// Usage: node bench/profile.mjs [--server sockwave | --client sockwave-web]
//                               [--workload small-echo|echo-64k|echo-1m|echo-64k-c|echo-1m-c|broadcast|handshakes|handshake-close|handshake-close-c|deflate-echo]
//                               [--seconds 5] [--top 30] [--interval-us 1000]
// The .cpuprofile is kept in bench/results/profiles/ (open it in Chrome DevTools).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPinnedLoad, startPinnedServer } from './lib/pinned.mjs';
import { LOADS } from './lib/loads.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
// --client NAME profiles a client library (sockwave, sockwave-web, ws, undici) against uWS instead.
const client = opt('--client', '');
const server = client ? 'uws' : opt('--server', 'sockwave');
const workload = opt('--workload', 'small-echo');
const seconds = Number(opt('--seconds', 5));
const top = Number(opt('--top', 30));

const files = { sockwave: 'sockwave.mjs', ws: 'ws.mjs', handwritten: 'handwritten.mjs', 'net-floor': 'net-floor.mjs', 'net-floor-scratch': 'net-floor-scratch.mjs', uws: 'uws.mjs' };
const dir = path.join(here, 'results', 'profiles');
fs.mkdirSync(dir, { recursive: true });
const stamp = client ? `client-${client}-${Date.now()}` : `${server}-${workload}-${Date.now()}`;

const flags = workload === 'broadcast' ? ['--broadcast'] : workload === 'deflate-echo' ? ['--deflate'] : [];
const interval = opt('--interval-us', '');
const prof = ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', `${stamp}.cpuprofile`, ...(interval ? ['--cpu-prof-interval', interval] : [])];
const { proc: srv, port } = await startPinnedServer(files[server], { nodeArgs: client ? [] : prof, args: flags, cwd: root });
const cfg = { ...LOADS[workload], port, serverPid: srv.pid, warmupMs: 500, durationMs: seconds * 1000, timeoutMs: seconds * 1000 + 30_000 };
const result = client
  ? await runPinnedLoad({ ...cfg, lib: client }, { script: 'client-load.mjs', nodeArgs: prof })
  : await runPinnedLoad(cfg);
console.log(result.trim());
srv.stdin.end(); // the server exits cleanly, which writes the profile
await new Promise((r) => srv.on('exit', r));

const file = path.join(dir, `${stamp}.cpuprofile`);
const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0));
}
// Percentages are of busy time: '(idle)' (waiting for I/O) is left out.
const idleIds = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
const total = [...self].reduce((a, [id, us]) => (idleIds.has(id) ? a : a + us), 0);
const idle = [...self].reduce((a, [id, us]) => (idleIds.has(id) ? a + us : a), 0);
const byFn = new Map();
const byFile = new Map();
for (const [id, us] of self) {
  if (idleIds.has(id)) continue;
  const cf = byId.get(id).callFrame;
  const f = cf.url ? cf.url.replace(/^file:\/\//, '').replace(root + '/', '') : '(native/builtin)';
  const key = `${cf.functionName || '(anonymous)'}  ${f}:${cf.lineNumber + 1}`;
  byFn.set(key, (byFn.get(key) ?? 0) + us);
  byFile.set(f, (byFile.get(f) ?? 0) + us);
}
const show = (m, n) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, us]) => `${((us / total) * 100).toFixed(1).padStart(5)}%  ${k}`)
    .join('\n');
console.log(`\nprofile: ${path.relative(root, file)}  (${(total / 1e6).toFixed(1)} s busy, ${(idle / 1e6).toFixed(1)} s idle; % of busy time)`);
console.log(`\nself time by function (top ${top}):\n${show(byFn, top)}`);
console.log(`\nself time by file:\n${show(byFile, 15)}`);
