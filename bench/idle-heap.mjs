// What an idle connection holds on a server's JS heap, by object kind.
//
//   node bench/idle-heap.mjs [--server sockwave] [--conns 2000] [--top 30] [--heartbeat-ms N]
//
// Starts a bench server (bench/servers/<name>.mjs, with --expose-gc), takes a
// heap snapshot after a full GC, opens `--conns` WebSocket connections from
// this process (raw net sockets: upgrade, check the 101, then stay silent),
// takes a second snapshot, and prints the difference per connection: the
// total of the snapshot's self sizes, then the object kinds (type:name) that
// grew by at least 4 bytes per connection, largest first.
//
// --heartbeat-ms N (sockwave only) runs the server heartbeat every N ms and
// waits two intervals before the second snapshot; the clients answer each
// ping with a pong, so it shows what a socket holds after heartbeat round trips.
// --holders type:name lists who holds the new objects of that kind (edges from
// any object to them, by holder name and edge name), e.g. --holders object:Array.
// SOCKWAVE_DIST=/path/to/other/dist/index.js measures another build.
// Self sizes leave out malloc'd memory (the kernel socket, libuv handles,
// OpenSSL): RSS (bench/run.mjs --only idle-memory) is the number the issue
// sets; this tells what makes up the JS part of it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    server: { type: 'string', default: 'sockwave' },
    conns: { type: 'string', default: '2000' },
    top: { type: 'string', default: '30' },
    'heartbeat-ms': { type: 'string' },
    holders: { type: 'string' },
  },
});
const N = Number(values.conns);
const heartbeatMs = values['heartbeat-ms'] === undefined ? 0 : Number(values['heartbeat-ms']);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'idle-heap-'));

const env = { ...process.env };
if (heartbeatMs > 0) env.HEARTBEAT_MS = String(heartbeatMs);
const server = spawn(process.execPath, ['--expose-gc', path.join(here, 'servers', `${values.server}.mjs`)], {
  env,
  stdio: ['pipe', 'pipe', 'inherit'],
});
let pending = '';
const waiters = [];
server.stdout.on('data', (d) => {
  pending += d;
  let i;
  while ((i = pending.indexOf('\n')) >= 0) {
    const line = pending.slice(0, i);
    pending = pending.slice(i + 1);
    waiters.shift()?.(line);
  }
});
const nextLine = () => new Promise((resolve) => waiters.push(resolve));
const fail = (message) => {
  console.error(message);
  server.kill();
  process.exit(1);
};
const timeout = setTimeout(() => fail('timed out'), 300_000);

const port = Number((await nextLine()).split(' ')[1]);
if (!(port > 0)) fail('the server did not start');

/** Object kinds (type:name) -> [count, self bytes], from a snapshot the server wrote. */
async function snapshot(name, beforeIds) {
  const file = path.join(tmp, name);
  server.stdin.write(`heap ${file}\n`);
  await nextLine();
  const s = JSON.parse(fs.readFileSync(file, 'utf8'));
  fs.unlinkSync(file);
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const ti = fields.indexOf('type');
  const ni = fields.indexOf('name');
  const si = fields.indexOf('self_size');
  const kinds = new Map();
  for (let i = 0; i < s.nodes.length; i += fields.length) {
    const key = `${types[s.nodes[i + ti]]}:${s.strings[s.nodes[i + ni]].slice(0, 50)}`;
    const entry = kinds.get(key) ?? [0, 0];
    entry[0]++;
    entry[1] += s.nodes[i + si];
    kinds.set(key, entry);
  }
  if (beforeIds === undefined) return { kinds, ids: nodeIds(s) };
  if (values.holders !== undefined) printHolders(s, beforeIds, values.holders);
  return { kinds };
}

function nodeIds(s) {
  const fields = s.snapshot.meta.node_fields;
  const idi = fields.indexOf('id');
  const ids = new Set();
  for (let i = 0; i < s.nodes.length; i += fields.length) ids.add(s.nodes[i + idi]);
  return ids;
}

/** Who holds the objects of kind `wanted` that are new since the first snapshot (object ids are stable between snapshots). */
function printHolders(s, beforeIds, wanted) {
  const nf = s.snapshot.meta.node_fields;
  const ef = s.snapshot.meta.edge_fields;
  const types = s.snapshot.meta.node_types[0];
  const edgeTypes = s.snapshot.meta.edge_types[0];
  const [idi, ti, ni, eci] = ['id', 'type', 'name', 'edge_count'].map((f) => nf.indexOf(f));
  const [eti, eni, etoi] = ['type', 'name_or_index', 'to_node'].map((f) => ef.indexOf(f));
  const kindOf = (n) => `${types[s.nodes[n + ti]]}:${s.strings[s.nodes[n + ni]].slice(0, 50)}`;
  const counts = new Map();
  let e = 0;
  for (let n = 0; n < s.nodes.length; n += nf.length) {
    const edges = s.nodes[n + eci];
    for (let k = 0; k < edges; k++, e += ef.length) {
      const to = s.edges[e + etoi];
      if (beforeIds.has(s.nodes[to + idi]) || kindOf(to) !== wanted) continue;
      const type = edgeTypes[s.edges[e + eti]];
      if (type === 'weak') continue;
      const name = type === 'element' || type === 'hidden' ? `[${s.edges[e + eni]}]` : s.strings[s.edges[e + eni]];
      const key = `${kindOf(n)} .${name}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  console.log(`holders of new ${wanted} (per connection):`);
  for (const [key, count] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${(count / N).toFixed(2)}  ${key}`);
}

const REQUEST =
  'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
let pings = 0;

/** Answers a ping (server frames are unmasked, payload <= 125) with a masked pong of the same payload. */
function answerPings(socket, chunk) {
  for (let at = 0; at + 2 <= chunk.length; ) {
    const length = chunk[at + 1] & 0x7f;
    if ((chunk[at] & 0x0f) === 0x9) {
      const pong = Buffer.alloc(6 + length); // mask key 0: the payload goes out as it is
      pong[0] = 0x8a;
      pong[1] = 0x80 | length;
      chunk.copy(pong, 6, at + 2, at + 2 + length);
      socket.write(pong);
      pings++;
    }
    at += 2 + length;
  }
}

function connect() {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(REQUEST));
    let head = '';
    const onHead = (chunk) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(`not upgraded: ${head.split('\r\n')[0]}`));
      socket.off('data', onHead);
      socket.on('data', (c) => answerPings(socket, c));
      resolve(socket);
    };
    socket.on('data', onHead);
    socket.on('error', reject);
  });
}

const { kinds: before, ids: beforeIds } = await snapshot('before.heapsnapshot');
const sockets = [];
try {
  for (let i = 0; i < N; i += 50) sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, N - i) }, connect))));
} catch (error) {
  fail(String(error));
}
await new Promise((r) => setTimeout(r, heartbeatMs > 0 ? 2 * heartbeatMs + 500 : 300));
const { kinds: after } = await snapshot('after.heapsnapshot', beforeIds);

let total = 0;
const rows = [];
for (const [key, [count, bytes]] of after) {
  const [count0, bytes0] = before.get(key) ?? [0, 0];
  total += bytes - bytes0;
  if (Math.abs(bytes - bytes0) / N >= 4) rows.push([key, (count - count0) / N, (bytes - bytes0) / N]);
}
rows.sort((a, b) => b[2] - a[2]);
console.log(`${values.server}${process.env.SOCKWAVE_DIST ? ` (${process.env.SOCKWAVE_DIST})` : ''}: ${N} idle connections` +
  `${heartbeatMs > 0 ? `, heartbeat every ${heartbeatMs} ms (${pings} pings answered)` : ''}`);
console.log(`JS heap per connection (snapshot self sizes): ${(total / N).toFixed(0)} B`);
console.log('   B/conn  objs/conn  type:name');
for (const [key, count, bytes] of rows.slice(0, Number(values.top))) {
  console.log(`${bytes.toFixed(0).padStart(9)}  ${count.toFixed(2).padStart(9)}  ${key}`);
}
clearTimeout(timeout);
for (const socket of sockets) socket.destroy();
server.kill();
fs.rmSync(tmp, { recursive: true, force: true });
