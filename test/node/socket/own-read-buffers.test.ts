/**
 * ownReadBuffers (src/node/socket/receive.ts): a server socket switched to
 * reading large payloads straight into message buffers, against real peers
 * (ws and sockwave clients) on loopback. Every message must arrive intact,
 * and no buffer the application was handed may change afterwards (the
 * kernel must never read into a buffer the app holds).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect } from '../../../src/index.js';
import type { NodeWebSocket } from '../../../src/node/socket/websocket.js';
import { openClient, startServer, within } from '../server/helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Sizes around the 16 KiB read-target threshold, Node's 64 KiB reads and the 1 MiB block size. */
const SIZES = [
  MiB, 10, 70 * KiB, 16 * KiB - 1, 16 * KiB + 1, MiB + 1, MiB - 1, 3, 2 * MiB + 5, 65_536, 125, 126, 300 * KiB, MiB,
  3 * MiB + 17, 0, 1,
];

interface Kept {
  data: Buffer;
  digest: string;
  isBinary: boolean;
}

const digest = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** The server's socket's read mode: true once its reads target payloads (own read buffers), null/undefined otherwise. */
function ownReadsOf(socket: NodeWebSocket): unknown {
  const transport = (socket as unknown as { _socket: object })._socket;
  const symbol = Object.getOwnPropertySymbols(transport).find((s) => s.description === 'sockwave.ownReads');
  return symbol === undefined ? undefined : (transport as Record<symbol, unknown>)[symbol];
}

/** A server that keeps every message (with its digest at arrival) and echoes it; `ownReadBuffers` undefined: the default. */
async function keepingServer(ownReadBuffers: boolean | undefined, options: { perMessageDeflate?: boolean } = {}) {
  const server = await startServer(ownReadBuffers === undefined ? options : { ...options, ownReadBuffers });
  const kept: Kept[] = [];
  const sockets: NodeWebSocket[] = [];
  server.wss.on('connection', (socket: NodeWebSocket) => {
    sockets.push(socket);
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      kept.push({ data, digest: digest(data), isBinary });
      socket.send(data, { binary: isBinary });
    });
  });
  return { ...server, kept, sockets };
}

/** The messages: binary at every size, a multi-byte UTF-8 text, and messages sent in fragments. */
function messages(): { data: Buffer; isBinary: boolean; fragments?: number }[] {
  const list: { data: Buffer; isBinary: boolean; fragments?: number }[] = SIZES.map((size) => ({ data: randomBytes(size), isBinary: true }));
  list.splice(3, 0, { data: Buffer.from('é€😀'.repeat(40_000)), isBinary: false });
  list.push({ data: randomBytes(1_500_000), isBinary: true, fragments: 3 });
  list.push({ data: Buffer.from('ü'.repeat(200_000)), isBinary: false, fragments: 4 });
  return list;
}

/** Sends everything without waiting (so reads mix payloads and headers), collects the echoes. */
async function exchange(client: { send(data: Buffer, options: object): void; on(event: 'message', fn: (data: Buffer) => void): unknown }, list: ReturnType<typeof messages>) {
  const echoes: Buffer[] = [];
  const done = new Promise<void>((resolve) => {
    client.on('message', (data: Buffer) => {
      echoes.push(Buffer.from(data));
      if (echoes.length === list.length) resolve();
    });
  });
  for (const { data, isBinary, fragments } of list) {
    if (fragments === undefined) {
      client.send(data, { binary: isBinary });
      continue;
    }
    const step = Math.ceil(data.length / fragments);
    for (let at = 0; at < data.length; at += step) {
      client.send(data.subarray(at, at + step), { binary: isBinary, fin: at + step >= data.length });
    }
  }
  await within(done, 20_000, 'echoes');
  return echoes;
}

function checkIntact(kept: Kept[], list: ReturnType<typeof messages>, echoes: Buffer[]): void {
  assert.equal(kept.length, list.length);
  for (let i = 0; i < list.length; i++) {
    assert.equal(kept[i].isBinary, list[i].isBinary, `message ${i} type`);
    assert.ok(kept[i].data.equals(list[i].data), `message ${i} (${list[i].data.length} bytes) arrived intact`);
    assert.equal(digest(kept[i].data), kept[i].digest, `message ${i} (${list[i].data.length} bytes) unchanged after delivery`);
    assert.ok(echoes[i].equals(list[i].data), `echo ${i} intact`);
  }
}

test('a server with ownReadBuffers gets large, small, text and fragmented messages from ws intact, and never changes a delivered buffer', async () => {
  const { wss, url, kept, sockets } = await keepingServer(true);
  const client = await openClient(url, { maxPayload: 64 * MiB });
  const list = messages();
  const echoes = await exchange(client, list);
  // A second burst after the switch: reads land in targets and the shared buffer in turn.
  const again = messages();
  const echoesAgain = await exchange(client, again);
  assert.ok(ownReadsOf(sockets[0]) === true, 'the socket switched to its own read buffers');
  checkIntact(kept, [...list, ...again], [...echoes, ...echoesAgain.slice(list.length)]);
  client.close();
  await once(client, 'close');
  await new Promise((resolve) => wss.close(resolve));
});

test('a server with ownReadBuffers gets every message from four concurrent sockwave clients intact', async () => {
  const { wss, url, kept, sockets } = await keepingServer(true);
  const clients = await Promise.all(
    [0, 1, 2, 3].map(async () => {
      const client = connect(url, { maxMessageBytes: 64 * MiB });
      await within(once(client, 'open'), 5000, 'open');
      return client;
    }),
  );
  const lists = clients.map(() => messages());
  const echoes = await Promise.all(clients.map((client, i) => exchange(client as never, lists[i])));
  assert.ok(sockets.every((socket) => ownReadsOf(socket) === true), 'every socket switched');
  // Messages of different connections interleave in `kept`: check each connection's own, in order.
  const byContent = new Map(kept.map((k) => [k.digest, k]));
  for (let c = 0; c < clients.length; c++) {
    for (let i = 0; i < lists[c].length; i++) {
      const k = byContent.get(digest(lists[c][i].data));
      assert.ok(k !== undefined, `client ${c} message ${i} arrived intact`);
      assert.equal(digest(k.data), k.digest, `client ${c} message ${i} unchanged after delivery`);
      assert.ok(echoes[c][i].equals(lists[c][i].data), `client ${c} echo ${i} intact`);
    }
  }
  for (const client of clients) client.close();
  await Promise.all(clients.map((client) => once(client, 'close')));
  await new Promise((resolve) => wss.close(resolve));
});

for (const option of [false, undefined]) test(`with ownReadBuffers ${option === undefined ? 'left at its default (off)' : 'false'} the server stays on Node reads and messages arrive intact`, async () => {
  const { wss, url, kept, sockets } = await keepingServer(option);
  const client = await openClient(url, { maxPayload: 64 * MiB });
  const list = messages();
  const echoes = await exchange(client, list);
  assert.equal(ownReadsOf(sockets[0]), undefined, 'not switched');
  checkIntact(kept, list, echoes);
  client.close();
  await once(client, 'close');
  await new Promise((resolve) => wss.close(resolve));
});

test('a switched socket still fails a large text message with invalid UTF-8 (1007), and closes cleanly mid-payload', async () => {
  const { wss, url, sockets } = await keepingServer(true);
  const client = await openClient(url, { maxPayload: 64 * MiB });
  client.send(randomBytes(MiB));
  await within(once(client, 'message'), 5000, 'echo');
  assert.ok(ownReadsOf(sockets[0]) === true);
  const bad = Buffer.from('a'.repeat(600 * KiB));
  bad[500 * KiB] = 0xff;
  const closed = once(client, 'close');
  client.send(bad, { binary: false });
  const [code] = (await within(closed, 5000, 'close')) as [number];
  assert.equal(code, 1007);
  await new Promise((resolve) => wss.close(resolve));
});

test('a switched socket honours pause() and resume(): nothing is delivered while paused, everything after', async () => {
  const { wss, url, kept, sockets } = await keepingServer(true);
  const client = await openClient(url, { maxPayload: 64 * MiB });
  client.send(randomBytes(MiB));
  await within(once(client, 'message'), 5000, 'first echo');
  assert.ok(ownReadsOf(sockets[0]) === true);
  sockets[0].pause();
  const later = [randomBytes(2 * MiB + 3), randomBytes(70 * KiB), randomBytes(5)];
  for (const data of later) client.send(data);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(kept.length, 1, 'nothing delivered while paused');
  const echoes: Buffer[] = [];
  const done = new Promise<void>((resolve) => client.on('message', (data: Buffer) => echoes.push(data) === later.length && resolve()));
  sockets[0].resume();
  await within(done, 10_000, 'echoes after resume');
  later.forEach((data, i) => {
    assert.ok(kept[i + 1].data.equals(data), `message ${i} intact`);
    assert.equal(digest(kept[i + 1].data), kept[i + 1].digest, `message ${i} unchanged`);
    assert.ok(echoes[i].equals(data));
  });
  client.close();
  await once(client, 'close');
  await new Promise((resolve) => wss.close(resolve));
});

test('a switched socket with permessage-deflate inflates large compressed messages intact (the parser pauses while inflating)', async () => {
  const { wss, url, kept, sockets } = await keepingServer(true, { perMessageDeflate: true });
  const client = await openClient(url, { maxPayload: 64 * MiB, perMessageDeflate: true });
  const list = [randomBytes(MiB), Buffer.alloc(3 * MiB, 1), randomBytes(200 * KiB), randomBytes(10), randomBytes(MiB + 7)];
  const echoes = await exchange(client, list.map((data) => ({ data, isBinary: true })));
  assert.ok(ownReadsOf(sockets[0]) === true, 'switched');
  checkIntact(kept, list.map((data) => ({ data, isBinary: true })), echoes);
  client.close();
  await once(client, 'close');
  await new Promise((resolve) => wss.close(resolve));
});
