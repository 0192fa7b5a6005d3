#!/usr/bin/env node
// RSS of a sockwave echo server around bursts of large messages, with and
// without ownReadBuffers (which raises glibc's mmap threshold, so freed
// message buffers stay in the heap for reuse instead of going back to the
// kernel). Server in a child process (its own malloc state), clients here.
//   node bench/large-rss.mjs [--dist DIR] [--conns 8] [--burst 16] [--bursts 5] [--bytes 1048576]
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath, pathToFileURL } from 'node:url';
import WS from 'ws';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : args[i + 1];
};

if (process.env.LARGE_RSS_SERVER) {
  const dist = process.env.LARGE_RSS_SERVER;
  const { WebSocketServer } = await import(pathToFileURL(`${dist}/index.js`).href);
  const own = process.env.LARGE_RSS_OWN === '1';
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', maxMessageBytes: 64 << 20, ownReadBuffers: own });
  await once(wss, 'listening');
  wss.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
  process.send({ port: wss.address().port });
  process.on('message', () => {
    globalThis.gc?.();
    process.send({ rssMiB: Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024 });
  });
} else {
  const dist = opt('dist', fileURLToPath(new URL('../dist', import.meta.url)));
  const conns = Number(opt('conns', 8));
  const burst = Number(opt('burst', 16));
  const bursts = Number(opt('bursts', 5));
  const bytes = Number(opt('bytes', 1 << 20));
  const payload = Buffer.alloc(bytes, 0x5a);
  for (const own of [false, true]) {
    const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, LARGE_RSS_SERVER: dist, LARGE_RSS_OWN: own ? '1' : '0' }, execArgv: ['--expose-gc'] });
    const [{ port }] = await once(child, 'message');
    const rss = async () => {
      child.send('rss');
      const [{ rssMiB }] = await once(child, 'message');
      return rssMiB.toFixed(1);
    };
    const before = await rss();
    const clients = await Promise.all(Array.from({ length: conns }, async () => {
      const c = new WS(`ws://127.0.0.1:${port}`, { maxPayload: 64 << 20 });
      await once(c, 'open');
      return c;
    }));
    const after = [];
    for (let b = 0; b < bursts; b++) {
      await Promise.all(clients.map((c) => new Promise((resolve) => {
        let n = 0;
        const on = () => { if (++n === burst) { c.off('message', on); resolve(); } };
        c.on('message', on);
        for (let i = 0; i < burst; i++) c.send(payload);
      })));
      after.push(await rss());
    }
    await new Promise((r) => setTimeout(r, 1500));
    const idle = await rss();
    for (const c of clients) c.terminate();
    child.kill();
    console.log(`ownReadBuffers ${own}: RSS MiB before ${before}, after each burst of ${conns}x${burst} x ${bytes} B: ${after.join(' ')}, 1.5 s idle + gc: ${idle}`);
  }
}
