// The load generator: one process (pinned by run.mjs with `taskset -c 1`),
// raw net sockets, its own handshake (Sec-WebSocket-Accept checked),
// pre-masked frames written in batches, every echo checked byte for byte.
//
// Usage: node bench/loadgen.mjs '<json config>'
// Prints progress lines and, last, `RESULT <json>`; exits 1 on failure.
import net from 'node:net';
import readline from 'node:readline';
import { coreBusy, coreTimes, cpuOf, minfltOf, selfCpu, sysCpuOf } from './lib/cpu.mjs';
import { EchoReader, RawStreamReader } from './lib/reader.mjs';
import { READ_BUFFER, buildRequest, closeFrame, contextInflater, makeKeyPool, makeMessagePool, openWebSocket } from './lib/wire.mjs';
import { die, emit } from './lib/result.mjs';
import { startHandshakeCycle, startLargeEcho } from './lib/native.mjs';

const cfg = JSON.parse(process.argv[2]);
const HOST = '127.0.0.1';
const keys = makeKeyPool(256);
// Spread source addresses over 127.0.0.0/8 so many short connections do not
// exhaust one address's ephemeral ports (TIME_WAIT).
// Many source addresses (all of 127/8 is loopback): with an explicit local
// address Linux picks the source port at bind time, where ports still in
// TIME_WAIT count as taken. Tens of thousands of handshake cycles per round
// used up 8 addresses' ports and every server then measured ~300 cycles/s
// until the TIME_WAITs expired; 1,000 addresses keep the search short.
const localAddresses = Array.from({ length: 1000 }, (_, i) => `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`);


/**
 * Runs `getCount` over warmup then a measured window; resolves with the rate
 * and the CPU use of server and load generator in the window.
 */
function measure(getCount, isFailed, loadCpu = selfCpu) {
  return new Promise((resolve) => {
    setTimeout(() => {
      const c0 = getCount();
      const t0 = performance.now();
      // Several server-side processes (topics through Redis: two servers and redis-server) count together.
      const serverCpu = () => (cfg.serverPids ?? [cfg.serverPid]).reduce((sum, pid) => sum + cpuOf(pid), 0);
      const s0 = serverCpu();
      const f0 = minfltOf(cfg.serverPid);
      const y0 = sysCpuOf(cfg.serverPid);
      const l0 = loadCpu();
      const k0 = coreTimes();
      setTimeout(() => {
        const c1 = getCount();
        const dt = (performance.now() - t0) / 1000;
        resolve({
          value: (c1 - c0) / dt,
          count: c1 - c0,
          seconds: dt,
          serverCpu: (serverCpu() - s0) / dt,
          serverMinflt: minfltOf(cfg.serverPid) - f0,
          // The kernel's share (syscalls, page faults, TCP): what no JS change can remove.
          serverSysCpu: (sysCpuOf(cfg.serverPid) - y0) / dt,
          loadgenCpu: (loadCpu() - l0) / dt,
          coreBusy: coreBusy(k0, coreTimes()),
        });
      }, cfg.durationMs);
    }, cfg.warmupMs);
    const poll = setInterval(() => {
      if (isFailed()) clearInterval(poll);
    }, 50);
    poll.unref();
  });
}

/**
 * Connection i's server: cfg.port, or with cfg.port2 (a second server process
 * on the same topics backplane) every odd connection ('split') or every one but
 * connection 0, the publisher ('remote').
 */
function portFor(i) {
  if (!cfg.port2) return cfg.port;
  if (cfg.placement === 'remote') return i === 0 ? cfg.port : cfg.port2;
  return i % 2 === 0 ? cfg.port : cfg.port2;
}

async function openMany(n, concurrency, extensions) {
  const out = new Array(n);
  let next = 0;
  async function worker() {
    while (next < n) {
      const i = next++;
      out[i] = await openWebSocket({
        host: HOST,
        port: portFor(i),
        localAddress: localAddresses[i % localAddresses.length],
        keyEntry: keys[i % keys.length],
        extensions,
      });
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return out;
}

// --- echo: N connections x K in flight, each echo checked ------------------
async function echo() {
  const pool = makeMessagePool({ count: cfg.poolCount, size: cfg.size, text: !!cfg.text, deflate: !!cfg.deflate });
  // Our frames are compressed ahead of time, so we never keep a context
  // (client_no_context_takeover); the server keeps its own unless `noContextTakeover`.
  const ext = cfg.deflate
    ? 'permessage-deflate; client_no_context_takeover' + (cfg.noContextTakeover ? '; server_no_context_takeover' : '')
    : undefined;
  const opened = await openMany(cfg.conns, 50, ext);
  if (cfg.deflate && !(opened[0].extensions || '').includes('permessage-deflate')) {
    for (const o of opened) o.socket.destroy();
    emit({ skipped: 'server did not negotiate permessage-deflate' });
    process.exit(0);
  }
  let total = 0;
  let failure = null;
  const { frames, starts, count } = pool;
  opened.forEach(({ socket, rest, setOnData }, c) => {
    const start = (c * 131) % count;
    let sendIdx = start;
    const send = (k) => {
      const end = sendIdx + k;
      if (end <= count) socket.write(frames.subarray(starts[sendIdx], starts[end]));
      else {
        socket.cork();
        socket.write(frames.subarray(starts[sendIdx], starts[count]));
        socket.write(frames.subarray(0, starts[end - count]));
        socket.uncork();
      }
      sendIdx = end % count;
    };
    const onMessages = (k) => {
      total += k;
      send(k);
    };
    const onError = (err) => {
      failure ??= err;
    };
    const reader = cfg.raw
      ? new RawStreamReader({ pool, start, onMessages, onError })
      : new EchoReader({
          payloads: pool.payloads,
          start,
          opcode: pool.opcode,
          allowDeflate: !!cfg.deflate,
          inflateWithContext: cfg.deflate && !cfg.noContextTakeover ? contextInflater() : undefined,
          onMessages,
          onError,
        });
    setOnData((chunk) => reader.push(chunk));
    socket.on('error', (err) => (failure ??= new Error(`socket error ${err.code || err.message}`)));
    socket.on('close', () => (failure ??= new Error('server closed the connection')));
    if (rest.length) reader.push(rest);
    send(cfg.inflight);
  });
  const r = await measureOrFail(() => total, () => failure);
  for (const o of opened) o.socket.destroy();
  r.bytesPerSec = r.value * cfg.size;
  return r;
}

async function measureOrFail(getCount, getFailure, loadCpu = selfCpu) {
  const r = await Promise.race([
    measure(getCount, () => !!getFailure(), loadCpu),
    new Promise((resolve) => {
      const t = setInterval(() => {
        if (getFailure()) {
          clearInterval(t);
          resolve(null);
        }
      }, 20);
      t.unref();
    }),
  ]);
  if (getFailure()) throw getFailure();
  if (r.count === 0) throw new Error('no progress in the measured window');
  return r;
}

// --- handshakes: full open + close cycles ------------------------------------
async function handshakes() {
  const close = closeFrame();
  let total = 0;
  let failure = null;
  let stop = false;
  let seq = 0;
  const requests = keys.map((k) => Buffer.from(buildRequest({ host: HOST, port: cfg.port, key: k.key })));
  const CRLFCRLF = Buffer.from('\r\n\r\n');

  function cycle() {
    return new Promise((resolve) => {
      const i = seq++;
      const k = i % keys.length;
      const socket = net.connect({
        host: HOST,
        port: cfg.port,
        localAddress: localAddresses[i % localAddresses.length],
        noDelay: true,
        onread: { buffer: READ_BUFFER, callback: (n, buf) => void onData(buf.subarray(0, n)) },
      });
      let acc = null;
      let opened = false;
      let gotClose = false;
      let settled = false;
      const done = (err) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) failure ??= err;
        else total++;
        resolve();
      };
      const timer = setTimeout(() => {
        socket.destroy();
        done(new Error(`handshake cycle timed out (${opened ? 'no close frame' : 'no 101'})`));
      }, 5000);
      socket.on('connect', () => socket.write(requests[k]));
      const onData = (chunk) => {
        acc = acc ? Buffer.concat([acc, chunk]) : Buffer.from(chunk); // the read buffer is shared: copy
        if (!opened) {
          const end = acc.indexOf(CRLFCRLF);
          if (end < 0) return;
          const head = acc.subarray(0, end + 2).toString('latin1');
          // Case-insensitive header check without a full parse.
          if (!head.startsWith('HTTP/1.1 101')) return socket.destroy(), done(new Error(`expected 101, got ${head.split('\r\n')[0]}`));
          const at = head.toLowerCase().indexOf('\r\nsec-websocket-accept:');
          const value = at < 0 ? '' : head.slice(at + 23, head.indexOf('\r\n', at + 2)).trim();
          if (value !== keys[k].accept) return socket.destroy(), done(new Error(`bad Sec-WebSocket-Accept "${value}"`));
          opened = true;
          acc = acc.subarray(end + 4);
          socket.write(close);
        }
        // Expect the server's close frame: 0x88, len 2 (code 1000) or more.
        if (cfg.raw && acc.length >= close.length && !gotClose) {
          // The raw echo server returns our own masked close frame.
          if (!acc.subarray(0, close.length).equals(close)) return socket.destroy(), done(new Error('raw echo of the close frame differs'));
          gotClose = true;
          socket.end();
        } else if (acc.length >= 2 && !gotClose && !cfg.raw) {
          if (acc[0] !== 0x88 || acc[1] & 0x80) return socket.destroy(), done(new Error(`expected a close frame, got 0x${acc[0].toString(16)}`));
          const len = acc[1] & 0x7f;
          if (acc.length < 2 + len) return;
          if (len >= 2 && acc.readUInt16BE(2) !== 1000) return socket.destroy(), done(new Error(`close code ${acc.readUInt16BE(2)}`));
          gotClose = true;
          // serverClosesFirst: the RFC 6455 §7.1.1 order, as browsers do it: the
          // client waits for the server to close TCP (the socket, not
          // allowHalfOpen, answers the server's FIN with its own).
          if (!cfg.serverClosesFirst) socket.end();
        }
      };
      socket.on('error', (err) => {
        if (gotClose) return; // a reset after the closing handshake is harmless
        done(new Error(`socket error ${err.code}`));
      });
      socket.on('close', () => {
        if (gotClose) done();
        else done(new Error(opened ? 'closed before the close frame' : 'closed before 101'));
      });
    });
  }
  async function loop() {
    while (!stop && !failure) await cycle();
  }
  const loops = Array.from({ length: cfg.concurrency }, loop);
  const r = await measureOrFail(() => total, () => failure);
  stop = true;
  await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 3000))]);
  return r;
}

// --- memory: idle connections, server RSS sampled by run.mjs -----------------
async function memory() {
  const lines = readline.createInterface({ input: process.stdin });
  const it = lines[Symbol.asyncIterator]();
  const all = [];
  const watch = (list) => {
    for (const o of list) {
      o.socket.on('error', () => {});
      o.socket.on('close', () => {
        if (!stopping) die('server closed an idle connection');
      });
    }
  };
  let stopping = false;
  const warm = await openMany(cfg.warm, 100);
  watch(warm);
  all.push(...warm);
  process.stdout.write(`WARM ${warm.length}\n`);
  await it.next();
  const t0 = performance.now();
  const more = await openMany(cfg.conns, 100);
  watch(more);
  all.push(...more);
  process.stdout.write(`CONNECTED ${more.length} ${Math.round(performance.now() - t0)}\n`);
  await it.next();
  stopping = true;
  for (const o of all) o.socket.destroy();
  return { value: 0, opened: more.length };
}

// --- broadcast: conn 0 triggers, the server fans out to every connection -----
async function broadcast() {
  const pool = makeMessagePool({ count: 1024, size: cfg.size });
  const opened = await openMany(cfg.conns, 100);
  const N = opened.length;
  const R = 1024;
  const counts = new Uint32Array(R);
  let delivered = 0;
  let failure = null;
  let sent = 0;
  const sender = opened[0].socket;
  const { frames, starts, count } = pool;
  const sendOne = () => {
    const idx = sent % count;
    sender.write(frames.subarray(starts[idx], starts[idx + 1]));
    sent++;
  };
  opened.forEach(({ socket, rest, setOnData }) => {
    let got = 0;
    const reader = new EchoReader({
      payloads: pool.payloads,
      start: 0,
      opcode: 2,
      onMessages: (k) => {
        delivered += k;
        for (let j = got; j < got + k; j++) {
          const slot = j % R;
          if (++counts[slot] === N) {
            counts[slot] = 0;
            sendOne(); // one broadcast fully delivered: keep the window full
          }
        }
        got += k;
      },
      onError: (err) => (failure ??= err),
    });
    setOnData((chunk) => reader.push(chunk));
    socket.on('error', (err) => (failure ??= new Error(`socket error ${err.code || err.message}`)));
    socket.on('close', () => (failure ??= new Error('server closed the connection')));
    if (rest.length) reader.push(rest);
  });
  for (let i = 0; i < cfg.window; i++) sendOne();
  const r = await measureOrFail(() => delivered, () => failure);
  for (const o of opened) o.socket.destroy();
  return r;
}

// --- handshakes-c: the same cycle driven by bench/native/handshake-cycle.c ---
// (a few µs of generator CPU per cycle instead of ~200, so fast servers are
// the bottleneck; the C side checks the same bytes as handshakes() above).
async function handshakesNative() {
  const gen = startHandshakeCycle({ port: cfg.port, concurrency: cfg.concurrency, keys: keys.slice(0, 64) });
  try {
    return await measureOrFail(() => gen.count(), gen.failure, () => cpuOf(gen.pid));
  } finally {
    gen.stop();
  }
}

// --- echo-c: large-message echo driven by bench/native/echo-large.c ---
// (memcmp instead of a JavaScript byte check, so at 1 MiB the generator is not
// what limits the server; the issue's own numbers came from a C generator).
async function echoNative() {
  const gen = startLargeEcho({ port: cfg.port, conns: cfg.conns, inflight: cfg.inflight, size: cfg.size, key: keys[0], raw: !!cfg.raw });
  try {
    const r = await measureOrFail(() => gen.count(), gen.failure, () => cpuOf(gen.pid));
    r.bytesPerSec = r.value * cfg.size;
    return r;
  } finally {
    gen.stop();
  }
}

const workloads = { echo, 'echo-c': echoNative, handshakes, 'handshakes-c': handshakesNative, memory, broadcast };
const fn = workloads[cfg.kind];
if (!fn) die(`unknown workload kind ${cfg.kind}`);
const hard = setTimeout(() => die('load generator timed out'), cfg.timeoutMs ?? 60_000);
hard.unref();
fn().then(
  (r) => {
    emit(r);
    process.exit(0);
  },
  (err) => die(err),
);
