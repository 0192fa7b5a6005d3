// Client-side benchmark: a WebSocket client library drives small-message echo
// against a fixed server (uWebSockets.js, pinned to the other core). Each
// connection keeps `inflight` messages outstanding, sends the next one per
// echo, and checks every echo byte for byte.
//
// Usage: node bench/client-load.mjs '<json config>'   (config.lib picks the client)
import { randomBytes } from 'node:crypto';
import { coreBusy, coreTimes, cpuOf, selfCpu } from './lib/cpu.mjs';
import { die, emit } from './lib/result.mjs';

const cfg = JSON.parse(process.argv[2]);
const url = `ws://127.0.0.1:${cfg.port}/`;
const root = new URL('..', import.meta.url);


/** Adapters: open(url) -> Promise<{ send(buf), onMessage(fn(Buffer)), onBroken(fn(reason)), close() }> */
const adapters = {
  async ws() {
    const { default: WebSocket } = await import('ws');
    return (u) => nodeStyle(new WebSocket(u, { perMessageDeflate: false }));
  },
  async sockwave() {
    const mod = await import(new URL('dist/index.js', root).href);
    return (u) => nodeStyle(mod.connect(u, { perMessageDeflate: false }));
  },
  async 'sockwave-web'() {
    const mod = await import(new URL('dist/index.js', root).href);
    return (u) => webStyle(new mod.WebSocket(u));
  },
  async undici() {
    const { WebSocket } = await import('undici');
    return (u) => webStyle(new WebSocket(u));
  },
};

function nodeStyle(socket) {
  return new Promise((resolve, reject) => {
    let onMessage = null;
    let onBroken = null;
    socket.on('error', (err) => (onBroken ? onBroken(`client error: ${err.message}`) : reject(err)));
    socket.on('close', (code) => onBroken?.(`closed with ${code}`));
    socket.on('message', (data, isBinary) => onMessage(data, isBinary));
    socket.on('open', () =>
      resolve({
        send: (buf) => socket.send(buf, { binary: true }),
        onMessage: (fn) => (onMessage = fn),
        onBroken: (fn) => (onBroken = fn),
        close: () => socket.terminate?.() ?? socket.close(),
      }),
    );
  });
}

function webStyle(socket) {
  socket.binaryType = 'arraybuffer';
  return new Promise((resolve, reject) => {
    let onMessage = null;
    let onBroken = null;
    socket.onerror = (ev) => (onBroken ? onBroken(`client error: ${ev.message ?? 'error'}`) : reject(new Error('connect failed')));
    socket.onclose = (ev) => onBroken?.(`closed with ${ev.code}`);
    socket.onmessage = (ev) => onMessage(ev.data, typeof ev.data !== 'string');
    socket.onopen = () =>
      resolve({
        send: (buf) => socket.send(buf),
        onMessage: (fn) => (onMessage = fn),
        onBroken: (fn) => (onBroken = fn),
        close: () => socket.close(),
      });
  });
}


async function main() {
  const open = await adapters[cfg.lib]?.();
  if (!open) throw new Error(`unknown client ${cfg.lib}`);
  const POOL = 1024;
  const payloads = Array.from({ length: POOL }, () => randomBytes(cfg.size));
  const conns = [];
  for (let i = 0; i < cfg.conns; i += 20) {
    conns.push(...(await Promise.all(Array.from({ length: Math.min(20, cfg.conns - i) }, () => open(url)))));
  }
  let total = 0;
  let failure = null;
  conns.forEach((c, n) => {
    let sendIdx = (n * 31) % POOL;
    let recvIdx = sendIdx;
    c.onBroken((reason) => (failure ??= new Error(reason)));
    c.onMessage((data, isBinary) => {
      const got = Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (!isBinary || !got.equals(payloads[recvIdx])) failure ??= new Error(`echo ${total} differs from what was sent`);
      recvIdx = (recvIdx + 1) % POOL;
      total++;
      c.send(payloads[sendIdx]);
      sendIdx = (sendIdx + 1) % POOL;
    });
    for (let k = 0; k < cfg.inflight; k++) {
      c.send(payloads[sendIdx]);
      sendIdx = (sendIdx + 1) % POOL;
    }
  });
  await new Promise((r) => setTimeout(r, cfg.warmupMs));
  if (failure) throw failure;
  const c0 = total;
  const t0 = performance.now();
  const s0 = cpuOf(cfg.serverPid);
  const l0 = selfCpu();
  const k0 = coreTimes();
  await new Promise((r) => setTimeout(r, cfg.durationMs));
  if (failure) throw failure;
  const dt = (performance.now() - t0) / 1000;
  const r = { value: (total - c0) / dt, count: total - c0, seconds: dt, serverCpu: (cpuOf(cfg.serverPid) - s0) / dt, loadgenCpu: (selfCpu() - l0) / dt, coreBusy: coreBusy(k0, coreTimes()) };
  if (r.count === 0) throw new Error('no progress in the measured window');
  for (const c of conns) c.close();
  return r;
}

const hard = setTimeout(() => die('client benchmark timed out'), cfg.timeoutMs ?? 60_000);
hard.unref();
main().then(
  (r) => {
    emit(r);
    process.exit(0);
  },
  (err) => die(err),
);
