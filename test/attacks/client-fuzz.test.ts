/**
 * Fuzzing sockwave's client (connect()) from a hostile server for a bounded
 * time: random bytes instead of a response, mutated 101 responses, random
 * bytes or mutated frame sequences after a valid 101. Every connection must
 * end with 'close' within a bound, nothing may throw into the process (half
 * the sockets have no 'error' listener at all), and memory must come back.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { constants, deflateRawSync } from 'node:zlib';
import { test } from 'node:test';
import { GUID } from './support/raw-client.js';
import { mb, MiB, within } from './support/server-handle.js';
import { note } from './support/report.js';
import { prng, int, pick, type Rand } from './support/seeded-random.js';

const SECONDS = Number(process.env.SOCKWAVE_CLIENT_FUZZ_SECONDS ?? 8);
const SEED = Number(process.env.SOCKWAVE_CLIENT_FUZZ_SEED ?? Date.now() % 2 ** 31);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const bytes = (r: Rand, n: number) => Buffer.from(Array.from({ length: n }, () => int(r, 256)));

function mutate(r: Rand, input: Buffer): Buffer {
  let b = Buffer.from(input);
  for (let e = 0, edits = 1 + int(r, 5); e < edits && b.length > 0; e++) {
    const at = int(r, b.length);
    const kind = int(r, 5);
    if (kind === 0) b[at] ^= 1 << int(r, 8);
    else if (kind === 1) b[at] = pick(r, [0, 0x7f, 0x80, 0xff, 0x0d, 0x0a, 0x3a, 0x2c, 0x3b, 0x22]);
    else if (kind === 2) b = Buffer.concat([b.subarray(0, at), bytes(r, 1 + int(r, 8)), b.subarray(at)]);
    else if (kind === 3) b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(r, 16)))]);
    else b = b.subarray(0, at);
  }
  return b;
}

function frame(opcode: number, payload: Buffer, o: { fin?: boolean; rsv1?: boolean } = {}): Buffer {
  const length = payload.length;
  const extended = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + extended);
  header[0] = ((o.fin ?? true) ? 0x80 : 0) | (o.rsv1 ? 0x40 : 0) | opcode;
  header[1] = extended === 0 ? length : extended === 2 ? 126 : 127;
  if (extended === 2) header.writeUInt16BE(length, 2);
  if (extended === 8) header.writeBigUInt64BE(BigInt(length), 2);
  return Buffer.concat([header, payload]);
}

const EXTENSIONS = [
  '',
  'permessage-deflate',
  'permessage-deflate; server_no_context_takeover',
  'permessage-deflate; client_max_window_bits=9',
  'permessage-deflate; server_max_window_bits=8',
  'permessage-deflate; server_max_window_bits=16',
  'permessage-deflate; permessage-deflate',
  'permessage-deflate, permessage-deflate',
  'x-unknown',
  'permessage-deflate; client_max_window_bits',
];

function frames(r: Rand, isDeflate: boolean): Buffer {
  const out: Buffer[] = [];
  for (let i = 0, n = 1 + int(r, 6); i < n; i++) {
    const size = pick(r, [0, 1, 125, 126, 1000, 70000]);
    const payload = int(r, 2) ? Buffer.from('héllo ✓'.repeat(size / 8 + 1)).subarray(0, size) : bytes(r, Math.min(size, 2048));
    const kind = int(r, 7);
    if (kind === 0) out.push(frame(1, payload));
    else if (kind === 1) out.push(frame(2, payload));
    else if (kind === 2) out.push(frame(2, payload.subarray(0, 20), { fin: false }), frame(0, payload.subarray(20, 40)));
    else if (kind === 3) out.push(frame(9, payload.subarray(0, int(r, 130))));
    else if (kind === 4 && isDeflate) out.push(frame(1, deflateRawSync(payload, { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, -4), { rsv1: true }));
    else if (kind === 5) out.push(frame(8, Buffer.from([0x03, 0xe8, ...Buffer.from('bye')])));
    else out.push(frame(pick(r, [3, 7, 11, 15]), payload.subarray(0, 5)));
  }
  return Buffer.concat(out);
}

/** What the hostile server writes for connection `index` (after reading the request). */
function response(index: number, key: string): Buffer {
  const r = prng(SEED * 7919 + index);
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  const extensions = pick(r, EXTENSIONS);
  const head = Buffer.from(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\n` +
      (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') +
      (r() < 0.2 ? `Sec-WebSocket-Protocol: ${pick(r, ['chat', 'other', ''])}\r\n` : '') +
      '\r\n',
  );
  const isDeflate = extensions.startsWith('permessage-deflate') && !extensions.includes(',');
  switch (int(r, 4)) {
    case 0:
      return bytes(r, 1 + int(r, 512));
    case 1:
      return mutate(r, head);
    case 2:
      return Buffer.concat([head, bytes(r, 1 + int(r, 4096))]);
    default:
      return Buffer.concat([head, r() < 0.5 ? frames(r, isDeflate) : mutate(r, frames(r, isDeflate))]);
  }
}

test(`hostile servers never crash, hang or leak sockwave's client (${SECONDS} s, seed ${SEED})`, { timeout: SECONDS * 1000 + 30_000 }, async (t) => {
  const specifier = '../../src/node/socket/connect.js';
  const { connect } = (await import(specifier)) as { connect: (url: string, o?: object) => import('node:events').EventEmitter & { terminate(): void } };
  let index = 0;
  const server = net.createServer((socket) => {
    const mine = index++;
    socket.on('error', () => undefined);
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      if (head.includes('\r\n\r\n')) return; // later bytes (frames from the client) are ignored
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? '';
      socket.write(response(mine, key));
      setTimeout(() => socket.end(), 50 + (mine % 5) * 50);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  process.on('uncaughtException', onUncaught);
  const outcomes = new Map<string, number>();
  const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
  gc();
  const before = process.memoryUsage();
  let peakRss = before.rss;
  let hung = 0;
  let tried = 0;
  try {
    const deadline = Date.now() + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: 16 }, async (_, worker) => {
        while (Date.now() < deadline) {
          const socket = connect(url, { handshakeTimeoutMs: 1000, closeTimeoutMs: 300, maxMessageBytes: 1 * MiB });
          const hasErrorListener = (tried + worker) % 2 === 0;
          let firstError = 'none';
          if (hasErrorListener) socket.on('error', (e: { code?: string }) => (firstError = e.code ?? 'no code'));
          socket.on('message', () => count('message delivered'));
          const code = await within(new Promise<number>((resolve) => socket.once('close', (c: number) => resolve(c))), 4000, -1);
          if (code === -1) {
            hung++;
            socket.terminate();
          }
          count(`close ${code}${hasErrorListener ? `, error ${firstError}` : ''}`);
          tried++;
          if (tried % 100 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
        }
      }),
    );
  } finally {
    process.removeListener('uncaughtException', onUncaught);
    await new Promise((r) => server.close(r));
  }
  await new Promise((r) => setTimeout(r, 500));
  gc();
  const after = process.memoryUsage();
  note(t, `${tried} hostile responses; hung ${hung}; uncaught ${uncaught.length}; rss ${mb(before.rss)} -> peak ${mb(peakRss)} -> ${mb(after.rss)}; heap ${mb(before.heapUsed)} -> ${mb(after.heapUsed)}`);
  note(t, `outcomes: ${JSON.stringify(Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1]).slice(0, 14)))}`);
  assert.deepEqual(uncaught.map(String), [], 'nothing thrown into the process');
  assert.equal(hung, 0, 'every connection closed within 4 s');
  assert.ok(after.heapUsed - before.heapUsed < 32 * MiB, 'heap back near where it started');
});
