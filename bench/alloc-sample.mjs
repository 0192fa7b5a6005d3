// Bytes a server allocates per handshake-close cycle, by allocating
// function: V8's sampling heap profiler (every ~256 bytes, objects already
// collected included) in the server, under the usual load generator.
// Counts are approximate (sampling, and the sampled window starts slightly
// before the measured one); compare servers measured the same way.
//
// Usage: node bench/alloc-sample.mjs [--server sockwave|handwritten|ws] [--seconds 4] [--top 40]
//        SOCKWAVE_DIST=/tmp/main-dist/index.js node bench/alloc-sample.mjs   (another build)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resultOf, runPinnedLoad, startPinnedServer } from './lib/pinned.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const server = opt('--server', 'sockwave');
const seconds = Number(opt('--seconds', 4));
const top = Number(opt('--top', 40));
const out = path.join(os.tmpdir(), `alloc-${server}-${process.pid}.json`);
// Loaded into the server with --import: starts sampling once the server is up, writes the profile at exit.
const preload = `data:text/javascript,${encodeURIComponent(`
import inspector from 'node:inspector';
import fs from 'node:fs';
const session = new inspector.Session();
session.connect();
setTimeout(() => session.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }), 700).unref();
process.on('exit', () => session.post('HeapProfiler.stopSampling', (error, result) => { if (!error) fs.writeFileSync(${JSON.stringify(out)}, JSON.stringify(result.profile)); }));
`)}`;
const { proc: srv, port } = await startPinnedServer(`${server}.mjs`, { nodeArgs: ['--import', preload] });
const cfg = { kind: 'handshakes', concurrency: 32, serverClosesFirst: true, port, serverPid: srv.pid, warmupMs: 700, durationMs: seconds * 1000, timeoutMs: seconds * 1000 + 30_000 };
const res = resultOf(await runPinnedLoad(cfg));
srv.stdin.end();
await new Promise((resolve) => srv.on('exit', resolve));
const profile = JSON.parse(fs.readFileSync(out, 'utf8'));
fs.rmSync(out);
const bySite = new Map();
let total = 0;
const walk = (node) => {
  const cf = node.callFrame;
  const key = `${cf.functionName || '(anonymous)'} ${cf.url.replace(/^file:\/\//, '')}:${cf.lineNumber + 1}`;
  total += node.selfSize;
  bySite.set(key, (bySite.get(key) ?? 0) + node.selfSize);
  for (const child of node.children) walk(child);
};
walk(profile.head);
console.log(`${res.count} cycles (${res.value.toFixed(0)}/s); about ${(total / res.count).toFixed(0)} B allocated per cycle`);
for (const [key, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${(bytes / res.count).toFixed(0).padStart(7)}  ${key}`);
}
