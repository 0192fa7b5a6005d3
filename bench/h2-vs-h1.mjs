#!/usr/bin/env node
/**
 * WebSockets over HTTP/2 (RFC 8441) against HTTP/1.1, both over TLS, same
 * server code (sockwave's WebSocketServer on a node:http2 secure server with
 * allowHTTP1), same client (sockwave's connect() with http2 'require' or
 * 'never'), alternating rounds in one run so drift hits both alike.
 *
 *   handshakes/s   C concurrent loops of connect -> open -> close for D ms
 *                  (h2: a stream on a pooled session; h1: a TLS connection each)
 *   memory/socket  N idle sockets held open; (after - before) / N of the
 *                  server process and of the client process, heap + external
 *                  + array buffers after a full GC, and RSS
 *
 * Needs `npm run build` (loads dist/). The server runs in a child process
 * pinned to core 0 when taskset exists; the client is this process.
 *   node --expose-gc bench/h2-vs-h1.mjs [--rounds 3] [--duration 2000] [--concurrency 32] [--sockets 1000]
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'dist', 'index.js');

if (process.argv[2] === '--serve') await serve(process.argv[3], process.argv[4]);
else await main();

/** The server child: listens on port 0, prints the port, answers 'mem' with a JSON line. */
async function serve(certFile, keyFile) {
  const { WebSocketServer } = await import(dist);
  const http2 = await import('node:http2');
  const server = http2.createSecureServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), allowHTTP1: true });
  const wss = new WebSocketServer({ server, maxPendingHandshakes: 100_000, maxConnections: 1_000_000 });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line === 'mem') console.log(JSON.stringify({ ...measure(), clients: wss.clients.size }));
    if (line === 'exit') process.exit(0);
  });
}

function measure() {
  globalThis.gc?.();
  globalThis.gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.external + m.arrayBuffers, rss: m.rss };
}

async function main() {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      duration: { type: 'string', default: '2000' },
      concurrency: { type: 'string', default: '32' },
      sockets: { type: 'string', default: '1000' },
    },
  });
  if (!existsSync(dist)) throw new Error('run `npm run build` first (the bench loads dist/)');
  if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
  const rounds = Number(values.rounds);
  const duration = Number(values.duration);
  const concurrency = Number(values.concurrency);
  const sockets = Number(values.sockets);
  const { connect } = await import(dist);
  const dir = mkdtempSync(join(tmpdir(), 'sockwave-h2-bench-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost', '-days', '1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  const ca = readFileSync(certFile);
  const results = { h2: { hs: [], serverMem: [], clientMem: [], serverRss: [], clientRss: [] }, h1: { hs: [], serverMem: [], clientMem: [], serverRss: [], clientRss: [] } };
  try {
    for (let round = 0; round < rounds; round++) {
      for (const proto of round % 2 === 0 ? ['h2', 'h1'] : ['h1', 'h2']) {
        const server = await startServer(certFile, keyFile);
        const url = `wss://localhost:${server.port}/`;
        const options = { tls: { ca }, http2: proto === 'h2' ? 'require' : 'never', perMessageDeflate: false };
        const open = () => new Promise((resolve, reject) => {
          const ws = connect(url, options);
          ws.once('open', () => resolve(ws));
          ws.once('error', reject);
        });
        const closeOne = (ws) => new Promise((resolve) => {
          ws.once('close', resolve);
          ws.close(1000);
        });
        // Warm-up, then handshakes per second.
        await Promise.all(Array.from({ length: concurrency }, () => open().then(closeOne)));
        let count = 0;
        const end = Date.now() + duration;
        const started = process.hrtime.bigint();
        await Promise.all(Array.from({ length: concurrency }, async () => {
          while (Date.now() < end) {
            await closeOne(await open());
            count++;
          }
        }));
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        results[proto].hs.push(count / seconds);
        // Idle memory per socket, server and client.
        const serverBefore = await server.mem();
        const clientBefore = measure();
        const held = [];
        for (let i = 0; i < sockets; i += 50) {
          held.push(...(await Promise.all(Array.from({ length: Math.min(50, sockets - i) }, open))));
        }
        const serverAfter = await server.mem();
        const clientAfter = measure();
        if (serverAfter.clients !== sockets) throw new Error(`server holds ${serverAfter.clients} sockets, expected ${sockets}`);
        results[proto].serverMem.push((serverAfter.heap - serverBefore.heap) / sockets);
        results[proto].serverRss.push((serverAfter.rss - serverBefore.rss) / sockets);
        results[proto].clientMem.push((clientAfter.heap - clientBefore.heap) / sockets);
        results[proto].clientRss.push((clientAfter.rss - clientBefore.rss) / sockets);
        await Promise.all(held.map(closeOne));
        await server.stop();
        process.stderr.write(`round ${round + 1} ${proto}: ${Math.round(count / seconds)} handshakes/s\n`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
  const rows = [
    ['handshakes/s (higher is better)', 'hs', (v) => v.toFixed(0)],
    ['server heap+external bytes per idle socket', 'serverMem', (v) => v.toFixed(0)],
    ['server RSS bytes per idle socket', 'serverRss', (v) => v.toFixed(0)],
    ['client heap+external bytes per idle socket', 'clientMem', (v) => v.toFixed(0)],
    ['client RSS bytes per idle socket', 'clientRss', (v) => v.toFixed(0)],
  ];
  console.log(`\nWebSockets over TLS, ${rounds} rounds, medians; ${concurrency} concurrent handshake loops for ${duration} ms; ${sockets} idle sockets\n`);
  console.log('| measure | HTTP/2 (one session) | HTTP/1.1 (a connection each) | h2 / h1 |');
  console.log('|---|---:|---:|---:|');
  for (const [name, key, format] of rows) {
    const h2 = median(results.h2[key]);
    const h1 = median(results.h1[key]);
    console.log(`| ${name} | ${format(h2)} | ${format(h1)} | ${(h2 / h1).toFixed(2)} |`);
  }
}

async function startServer(certFile, keyFile) {
  const args = ['--expose-gc', fileURLToPath(import.meta.url), '--serve', certFile, keyFile];
  const hasTaskset = existsSync('/usr/bin/taskset');
  const child = hasTaskset ? spawn('taskset', ['-c', '0', process.execPath, ...args]) : spawn(process.execPath, args);
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  lines.on('line', (line) => waiting.shift()?.(JSON.parse(line)));
  const next = () => new Promise((resolve) => waiting.push(resolve));
  const { port } = await next();
  return {
    port,
    mem() {
      child.stdin.write('mem\n');
      return next();
    },
    async stop() {
      child.stdin.write('exit\n');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}
