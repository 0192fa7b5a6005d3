/**
 * The other direction: a hostile server against sockwave's client
 * (connect()). A response head that never ends or never comes, a huge head,
 * a decompression bomb, a flood of empty fragments and masked frames must
 * each end in a prompt, precise failure; never a hang, a throw into the app
 * or unbounded memory.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { constants, deflateRawSync } from 'node:zlib';
import { test } from 'node:test';
import { GUID } from './support/raw-client.js';
import { mb, MiB, within } from './support/server-handle.js';
import { note } from './support/report.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type NodeSocket = any;

async function loadConnect(): Promise<(url: string, options?: object) => NodeSocket> {
  const specifier = '../../src/node/socket/connect.js';
  return ((await import(specifier)) as { connect: (url: string, options?: object) => NodeSocket }).connect;
}

/** A raw TCP server; `behave` gets each socket with the client's Sec-WebSocket-Key once the request head is in. */
async function hostileServer(behave: (socket: net.Socket, key: string, request: string) => void): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.removeListener('data', onData);
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? '';
      behave(socket, key, head.slice(0, end));
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

const accept = (key: string) => createHash('sha1').update(key + GUID).digest('base64');
const switching = (key: string, extra = '') =>
  `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept(key)}\r\n${extra}\r\n`;

function serverFrame(opcode: number, payload: Buffer, o: { fin?: boolean; rsv1?: boolean; mask?: boolean } = {}): Buffer {
  const length = payload.length;
  const extended = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + extended + (o.mask ? 4 : 0));
  header[0] = ((o.fin ?? true) ? 0x80 : 0) | (o.rsv1 ? 0x40 : 0) | opcode;
  header[1] = (o.mask ? 0x80 : 0) | (extended === 0 ? length : extended === 2 ? 126 : 127);
  if (extended === 2) header.writeUInt16BE(length, 2);
  if (extended === 8) header.writeBigUInt64BE(BigInt(length), 2);
  return Buffer.concat([header, payload]); // a zero mask key leaves the payload as is
}

interface Outcome {
  opened: boolean;
  error: string | undefined;
  code: number;
  ms: number;
}

/** Connects and resolves with what the app saw: open?, the first error, the close code. */
async function outcome(url: string, options: object, timeoutMs = 10_000): Promise<Outcome> {
  const connect = await loadConnect();
  const started = performance.now();
  const socket = connect(url, options);
  let opened = false;
  let error: string | undefined;
  socket.on('open', () => (opened = true));
  socket.on('error', (e: Error) => (error ??= `${(e as { code?: string }).code ?? ''} ${e.message}`));
  const code = await within(new Promise<number>((resolve) => socket.once('close', (c: number) => resolve(c))), timeoutMs, -1);
  if (code === -1) socket.terminate();
  return { opened, error, code, ms: performance.now() - started };
}

test('a server that never answers the upgrade is dropped after handshakeTimeoutMs', async (t) => {
  const server = await hostileServer(() => undefined);
  try {
    const result = await outcome(server.url, { handshakeTimeoutMs: 500 });
    note(t, `no answer: error "${result.error}", close ${result.code} after ${result.ms.toFixed(0)} ms`);
    assert.equal(result.opened, false);
    assert.equal(result.code, 1006);
    assert.ok(result.ms >= 400 && result.ms < 2000);
  } finally {
    await server.close();
  }
});

test('a server that drips its response head byte by byte is dropped after handshakeTimeoutMs', async (t) => {
  const server = await hostileServer((socket, key) => {
    const head = switching(key, `X-Slow: ${'a'.repeat(1000)}\r\n`);
    let i = 0;
    const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write(head[i++] ?? '')), 20);
    socket.on('close', () => clearInterval(timer));
  });
  try {
    const result = await outcome(server.url, { handshakeTimeoutMs: 500 });
    note(t, `dripping head: error "${result.error}", close ${result.code} after ${result.ms.toFixed(0)} ms`);
    assert.equal(result.opened, false);
    assert.ok(result.ms < 2000);
  } finally {
    await server.close();
  }
});

test('a 1 MiB response head is refused without waiting for the timeout', async (t) => {
  const server = await hostileServer((socket, key) => {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nX-Big: ${'b'.repeat(1 * MiB)}\r\n`);
    socket.write(switching(key).slice('HTTP/1.1 101 Switching Protocols\r\n'.length));
  });
  try {
    const result = await outcome(server.url, { handshakeTimeoutMs: 5000 });
    note(t, `huge head: error "${result.error}", close ${result.code} after ${result.ms.toFixed(0)} ms`);
    assert.equal(result.opened, false);
    assert.ok(result.ms < 3000, 'failed on the size limit, not the timeout');
  } finally {
    await server.close();
  }
});

test('a wrong Sec-WebSocket-Accept fails the handshake with a precise error', async (t) => {
  const server = await hostileServer((socket) => socket.write(switching('not-the-key')));
  try {
    const result = await outcome(server.url, {});
    note(t, `bad accept: error "${result.error}"`);
    assert.equal(result.opened, false);
    assert.match(result.error ?? '', /accept/i);
  } finally {
    await server.close();
  }
});

test('a masked frame from the server fails the connection with 1002', async () => {
  const server = await hostileServer((socket, key) => {
    socket.write(switching(key));
    socket.write(serverFrame(1, Buffer.from('hi'), { mask: true }));
  });
  try {
    const result = await outcome(server.url, { closeTimeoutMs: 500 });
    assert.equal(result.opened, true);
    assert.match(result.error ?? '', /mask/i);
    assert.equal(result.code, 1006, 'the server never answered our 1002 close frame');
  } finally {
    await server.close();
  }
});

test('a decompression bomb from the server (256 KiB -> 256 MiB) is failed with 1009 while inflating', async (t) => {
  const zeros = Buffer.alloc(256 * MiB);
  const bomb = deflateRawSync(zeros, { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, -4);
  const server = await hostileServer((socket, key) => {
    socket.write(switching(key, 'Sec-WebSocket-Extensions: permessage-deflate\r\n'));
    socket.write(serverFrame(2, bomb, { rsv1: true }));
    socket.on('data', () => undefined);
  });
  try {
    const before = process.memoryUsage();
    let peak = before.rss;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    const result = await outcome(server.url, { closeTimeoutMs: 500 });
    clearInterval(sampler);
    note(t, `bomb of ${mb(bomb.length)}: error "${result.error}", close ${result.code}; client rss ${mb(before.rss)} -> peak ${mb(peak)}`);
    assert.equal(result.opened, true);
    assert.match(result.error ?? '', /SW_MESSAGE_TOO_LARGE|too large|exceeds/i);
    assert.ok(peak - before.rss < 128 * MiB, 'the 256 MiB were never materialised');
  } finally {
    await server.close();
  }
});

test('a flood of empty fragments from the server is failed with 1009', async (t) => {
  const server = await hostileServer((socket, key) => {
    socket.write(switching(key));
    socket.write(serverFrame(1, Buffer.alloc(0), { fin: false }));
    const empty = Buffer.concat(Array.from({ length: 100_000 }, () => serverFrame(0, Buffer.alloc(0), { fin: false })));
    let sent = 0;
    const pump = () => {
      while (!socket.destroyed && sent < 5_000_000) {
        sent += 100_000;
        if (!socket.write(empty)) return void socket.once('drain', pump);
      }
    };
    pump();
    socket.on('data', () => undefined);
  });
  try {
    const result = await outcome(server.url, { closeTimeoutMs: 500 }, 20_000);
    note(t, `fragment flood: error "${result.error}", close ${result.code} after ${result.ms.toFixed(0)} ms`);
    assert.equal(result.opened, true);
    assert.match(result.error ?? '', /SW_MESSAGE_TOO_LARGE|too large|exceeds|fragments/i);
  } finally {
    await server.close();
  }
});
