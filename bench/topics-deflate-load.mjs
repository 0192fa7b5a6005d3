// Load for the compressed-topics comparison (bench/topics-fanout.mjs --only deflate):
// N `ws` clients with permessage-deflate (context takeover unless
// NCT=1 asks for server_no_context_takeover) subscribed through the server's
// topic; client 0 sends 2 KiB JSON texts, the server publishes each to all;
// W publishes in flight. Prints `RESULT {value, serverCpu, wireBytesPerDelivery, ...}`.
import WebSocket from 'ws';
import { cpuOf, selfCpu } from './lib/cpu.mjs';

const cfg = JSON.parse(process.argv[2]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const perMessageDeflate = cfg.noContextTakeover ? { serverNoContextTakeover: true } : true;
const clients = [];
for (let i = 0; i < cfg.conns; i++) {
  const ws = new WebSocket(`ws://127.0.0.1:${cfg.port}/`, { perMessageDeflate });
  clients.push(ws);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
}
await sleep(300); // subscriptions are asynchronous
const texts = Array.from({ length: 64 }, (_, i) =>
  JSON.stringify({ type: 'quote', seq: i, rows: Array.from({ length: 40 }, (_, k) => ({ symbol: `SYM${(i * 7 + k) % 97}`, bid: 100 + k * 0.25, ask: 100.5 + k * 0.25, size: 1000 + k })) }).slice(0, 2048),
);
let sent = 0;
let delivered = 0;
const counts = new Uint32Array(1024);
const sendOne = () => clients[0].send(texts[sent++ % texts.length]);
for (const ws of clients) {
  let got = 0;
  ws.on('message', (data) => {
    if (data.length < 100) {
      console.error(`bad message ${data.length} B`);
      process.exit(1);
    }
    delivered++;
    const slot = got++ % counts.length;
    if (++counts[slot] === cfg.conns) {
      counts[slot] = 0;
      sendOne();
    }
  });
}
const wire = () => clients.reduce((sum, ws) => sum + ws._socket.bytesRead, 0);
for (let i = 0; i < cfg.window; i++) sendOne();
await sleep(cfg.warmupMs);
const [d0, b0, s0, l0, t0] = [delivered, wire(), cpuOf(cfg.serverPid), selfCpu(), performance.now()];
await sleep(cfg.durationMs);
const dt = (performance.now() - t0) / 1000;
const count = delivered - d0;
const result = {
  value: count / dt,
  serverCpu: (cpuOf(cfg.serverPid) - s0) / dt,
  loadgenCpu: (selfCpu() - l0) / dt,
  wireBytesPerDelivery: (wire() - b0) / count,
};
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
process.exit(0);
