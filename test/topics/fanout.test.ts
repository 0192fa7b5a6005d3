/**
 * Topics on real sockets, one process (the embedded backplane): subscribe,
 * publish, the sender excluded, framed once, compressed once per parameter
 * set, one order for every subscriber, a slow subscriber on its own, bad
 * input. Subscribers are `ws` clients and sockwave's own client.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import WS from 'ws';
import { NodeWebSocket } from '../../src/node/socket/websocket.js';
import type { WebSocketServer } from '../../src/node/server/server.js';
import { delay, openClient, startServer, upgradeRequest, within } from '../node/server/helpers.js';

type Client = WS | NodeWebSocket;

/** Opens a client, waits for its server-side socket, subscribes it to `topics`. */
async function join(wss: WebSocketServer, url: string, topics: string[], client: 'ws' | 'sockwave' = 'ws', options: WS.ClientOptions = {}) {
  const accepted = once(wss, 'connection');
  let peer: Client;
  if (client === 'ws') peer = await openClient(url, options);
  else {
    peer = new NodeWebSocket(url);
    await within(once(peer, 'open'), 5000, 'sockwave client open');
  }
  const [socket] = (await accepted) as [NodeWebSocket];
  for (const topic of topics) await socket.subscribe(topic);
  const received: string[] = [];
  peer.on('message', (data: Buffer) => received.push(data.toString()));
  return { peer, socket, received };
}

type Joined = Awaited<ReturnType<typeof join>>;

async function until(check: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${ms} ms`);
    await delay(5);
  }
}

test('subscribe, publish, unsubscribe, and the socket leaves its topics when it closes', async () => {
  const { wss, url } = await startServer();
  try {
    const a = await join(wss, url, ['news', 'sport'], 'ws');
    const b = await join(wss, url, ['news'], 'sockwave');
    assert.deepEqual(a.socket.topics.sort(), ['news', 'sport']);
    assert.equal(a.socket.isSubscribed('sport'), true);
    assert.equal(b.socket.isSubscribed('sport'), false);
    assert.equal(wss.subscriberCount('news'), 2);
    const first = await wss.publish('news', 'hello');
    const second = await wss.publish('sport', Buffer.from('goal'));
    assert.equal(second.epoch === first.epoch, false, 'each topic has its own epoch in the embedded backplane');
    assert.equal(first.offset, 1);
    await until(() => a.received.length === 2 && b.received.length === 1);
    assert.deepEqual(a.received, ['hello', 'goal']);
    assert.deepEqual(b.received, ['hello']);
    assert.equal(b.socket.unsubscribe('news'), true);
    assert.equal(b.socket.unsubscribe('news'), false);
    assert.equal((await wss.publish('news', 'again')).offset, 2);
    await until(() => a.received.length === 3);
    await delay(30);
    assert.deepEqual(b.received, ['hello']);
    a.peer.close();
    await until(() => wss.subscriberCount('news') === 0, 5000, 'closed socket removed');
    assert.equal(wss.subscriberCount('sport'), 0);
    assert.equal(wss.topicStats().subscriptions, 0);
    b.peer.close();
  } finally {
    await wss.close({ timeoutMs: 1000 });
  }
});

test('socket.publish leaves the sender out unless self: true, and resolves with the position', async () => {
  const { wss, url } = await startServer();
  try {
    const a = await join(wss, url, ['room']);
    const b = await join(wss, url, ['room']);
    const p1 = await a.socket.publish('room', 'from a');
    const p2 = await a.socket.publish('room', 'echo too', { self: true });
    assert.deepEqual([p1.offset, p2.offset], [1, 2]);
    await until(() => b.received.length === 2 && a.received.length === 1);
    assert.deepEqual(b.received, ['from a', 'echo too']);
    assert.deepEqual(a.received, ['echo too']);
    a.peer.close();
    b.peer.close();
  } finally {
    await wss.close({ timeoutMs: 1000 });
  }
});

test('a message is framed once for all its subscribers', async () => {
  const { wss, url } = await startServer();
  try {
    const clients: Joined[] = [];
    for (let i = 0; i < 40; i++) clients.push(await join(wss, url, ['t'], i % 2 === 0 ? 'ws' : 'sockwave'));
    const before = wss.topicStats();
    for (let i = 0; i < 10; i++) await wss.publish('t', `m${i}`);
    await until(() => clients.every((c) => c.received.length === 10));
    const after = wss.topicStats();
    assert.equal(after.messages - before.messages, 10);
    assert.equal(after.framesEncoded - before.framesEncoded, 10, 'one frame per message, not per subscriber');
    assert.equal(after.deliveries - before.deliveries, 400);
    for (const c of clients) assert.deepEqual(c.received, Array.from({ length: 10 }, (_, i) => `m${i}`));
    for (const c of clients) c.peer.close();
  } finally {
    await wss.close({ timeoutMs: 1000 });
  }
});

test('compressed once per negotiated parameter set; context takeover gets the plain frame (or its own compression)', async () => {
  for (const contextTakeover of ['uncompressed', 'compress'] as const) {
    const { wss, url } = await startServer({ perMessageDeflate: { threshold: 0 }, topics: { contextTakeover } });
    try {
      const shared10 = { perMessageDeflate: { serverNoContextTakeover: true, serverMaxWindowBits: 10 } };
      const shared15 = { perMessageDeflate: { serverNoContextTakeover: true } };
      const takeover = { perMessageDeflate: {} };
      const plain = { perMessageDeflate: false };
      const kinds = [shared10, shared10, shared15, shared15, takeover, takeover, plain];
      const clients: Joined[] = [];
      for (const options of kinds) clients.push(await join(wss, url, ['c'], 'ws', options));
      assert.match(clients[0].socket.extensions, /server_no_context_takeover/);
      assert.match(clients[0].socket.extensions, /server_max_window_bits=10/);
      assert.doesNotMatch(clients[4].socket.extensions, /server_no_context_takeover/);
      assert.equal(clients[6].socket.extensions, '');
      const text = 'all work and no play makes jack a dull boy. '.repeat(100);
      const before = wss.stats().bytesOut;
      for (let i = 0; i < 3; i++) await wss.publish('c', `${i}:${text}`);
      await until(() => clients.every((c) => c.received.length === 3));
      for (const c of clients) assert.deepEqual(c.received, [0, 1, 2].map((i) => `${i}:${text}`));
      const stats = wss.topicStats();
      assert.equal(stats.sharedCompressions, 6, 'two window sizes x three messages');
      if (contextTakeover === 'uncompressed') {
        assert.equal(stats.framesEncoded, 9, 'one plain and two compressed frames per message');
        assert.equal(stats.perSocketCompressions, 0);
      } else {
        assert.equal(stats.framesEncoded, 9);
        assert.equal(stats.perSocketCompressions, 6, 'two takeover subscribers x three messages');
      }
      // Compression happened on the wire: far fewer bytes than 7 x 3 x 4.4 KB.
      const sent = wss.stats().bytesOut - before;
      const plainShare = contextTakeover === 'uncompressed' ? 3 : 1;
      assert.ok(sent < plainShare * 3 * text.length + 3 * 1000 * (7 - plainShare), `bytes out ${sent}`);
      for (const c of clients) c.peer.close();
    } finally {
      await wss.close({ timeoutMs: 1000 });
    }
  }
});

test('every subscriber sees one order; each publisher’s messages in its publish order', async () => {
  const { wss, url } = await startServer();
  try {
    const subscribers: Joined[] = [];
    for (let i = 0; i < 4; i++) subscribers.push(await join(wss, url, ['order'], i % 2 ? 'ws' : 'sockwave'));
    // Three publishers: their clients send numbered messages, the server publishes each as it arrives.
    wss.on('connection', (socket: NodeWebSocket) => {
      socket.on('message', (data: Buffer) => void socket.publish('order', data.toString(), { self: true }));
    });
    const publishers: WS[] = [];
    for (let p = 0; p < 3; p++) publishers.push(await openClient(url));
    const N = 300;
    for (let i = 0; i < N; i++) for (let p = 0; p < 3; p++) publishers[p].send(`p${p}:${i}`);
    await until(() => subscribers.every((s) => s.received.length === 3 * N), 10_000, 'all messages');
    for (const s of subscribers) assert.deepEqual(s.received, subscribers[0].received, 'same order everywhere');
    for (let p = 0; p < 3; p++) {
      const mine: number[] = subscribers[0].received.filter((m) => m.startsWith(`p${p}:`)).map((m) => Number(m.split(':')[1]));
      assert.deepEqual(mine, Array.from({ length: N }, (_, i) => i));
    }
    for (const c of [...subscribers.map((s) => s.peer), ...publishers]) c.close();
  } finally {
    await wss.close({ timeoutMs: 1000 });
  }
});

test('direct send() and topic messages on one socket keep their order (compression pending)', async () => {
  const { wss, url } = await startServer({ perMessageDeflate: { threshold: 0 } });
  try {
    const a = await join(wss, url, ['mix'], 'ws', { perMessageDeflate: {} });
    const big = 'x'.repeat(200_000);
    const expected: string[] = [];
    for (let i = 0; i < 20; i++) {
      // The direct message waits for the thread-pool compressor; the topic frame must queue behind it.
      a.socket.send(`d${i}:${big}`);
      expected.push(`d${i}`);
      await wss.publish('mix', `t${i}`);
      expected.push(`t${i}`);
    }
    await until(() => a.received.length === 40, 10_000);
    assert.deepEqual(a.received.map((m) => m.split(':')[0]), expected);
    a.peer.close();
  } finally {
    await wss.close({ timeoutMs: 1000 });
  }
});

/** A peer that completes the handshake and then never reads. */
async function stalledPeer(port: number): Promise<net.Socket> {
  const raw = net.connect(port, '127.0.0.1');
  raw.on('error', () => {});
  await once(raw, 'connect');
  raw.write(upgradeRequest());
  await once(raw, 'data');
  raw.pause();
  return raw;
}

for (const policy of ['drop', 'close'] as const) {
  test(`a subscriber that stops reading does not slow the others (policy ${policy})`, async () => {
    const hwm = 256 * 1024;
    // closeTimeoutMs: the stalled peer never answers the close; 'close' follows the timeout.
    const { wss, url, port } = await startServer({ highWaterMarkBytes: hwm, backpressurePolicy: policy, closeTimeoutMs: 300 });
    try {
      const fast: Joined[] = [];
      for (let i = 0; i < 3; i++) fast.push(await join(wss, url, ['load']));
      const accepted = once(wss, 'connection');
      const raw = await stalledPeer(port);
      const [slow] = (await accepted) as [NodeWebSocket];
      await slow.subscribe('load');
      let dropped = 0;
      slow.on('dropped', () => dropped++);
      const errors: Error[] = [];
      slow.on('error', (error: Error) => errors.push(error));
      const closed = new Promise((resolve) => slow.once('close', resolve));
      // Enough to fill the stalled peer's kernel buffers (several MB on loopback) and its high-water mark.
      const N = 1000;
      const chunk = Buffer.alloc(16 * 1024, 7);
      const started = Date.now();
      for (let i = 0; i < N; i++) {
        chunk.writeUInt32BE(i, 0);
        await wss.publish('load', Buffer.from(chunk));
        // Let the readers (in this process) read, as a server's event loop would.
        await new Promise((resolve) => setImmediate(resolve));
      }
      await until(() => fast.every((c) => c.received.length === N), 20_000, 'fast subscribers got everything');
      const elapsed = Date.now() - started;
      for (const c of fast) assert.equal(c.received.length, N);
      if (policy === 'drop') {
        assert.ok(dropped > 0, 'the slow subscriber had messages dropped');
        assert.ok(slow.bufferedAmount <= hwm + chunk.length, `slow buffered ${slow.bufferedAmount}`);
      } else {
        await within(closed, 5000, 'slow subscriber closed');
        assert.equal(wss.subscriberCount('load'), 3, 'the closed socket left the topic');
      }
      // 16 MB to three local readers: well under the time a blocked loop would take (which would be forever).
      assert.ok(elapsed < 15_000, `took ${elapsed} ms`);
      raw.destroy();
      for (const c of fast) c.peer.close();
    } finally {
      await wss.close({ timeoutMs: 1000 });
    }
  });
}

test('resubscribing with since gets the missed messages in order, then live ones', async () => {
  const { wss, url } = await startServer();
  try {
    const a = await join(wss, url, ['log']);
    const positions = [];
    for (let i = 1; i <= 3; i++) positions.push(await wss.publish('log', `m${i}`));
    await until(() => a.received.length === 3);
    a.peer.close();
    for (let i = 4; i <= 6; i++) await wss.publish('log', `m${i}`);
    const accepted = once(wss, 'connection');
    const again = await openClient(url);
    const received: string[] = [];
    again.on('message', (data: Buffer) => received.push(data.toString()));
    const [socket] = (await accepted) as [NodeWebSocket];
    const result = await socket.subscribe('log', { since: positions[2] });
    assert.equal(result.recovered, true);
    assert.equal(result.position.offset, 6);
    await wss.publish('log', 'm7');
    await until(() => received.length === 4);
    assert.deepEqual(received, ['m4', 'm5', 'm6', 'm7']);
    // From another epoch: not recovered, joined from now on.
    const other = await socket.subscribe('other', { since: { offset: 3, epoch: 'not-this-one' } });
    assert.equal(other.recovered, false);
    again.close();
  } finally {
    await wss.close({ timeoutMs: 1000 });
  }
});

test('bad input gets a clear error', async () => {
  const { wss, url } = await startServer({ topics: { maxTopicBytes: 16 } });
  try {
    const a = await join(wss, url, []);
    assert.throws(() => a.socket.subscribe(''), RangeError);
    assert.throws(() => a.socket.subscribe('x'.repeat(17)), /16/);
    assert.throws(() => a.socket.subscribe(42 as unknown as string), TypeError);
    assert.throws(() => a.socket.subscribe('t', { since: { offset: -1, epoch: 'e' } }), TypeError);
    assert.throws(() => a.socket.subscribe('t', { since: 'yesterday' as never }), TypeError);
    assert.throws(() => wss.publish('', 'x'), RangeError);
    assert.throws(() => wss.publish('t', 42 as never), /publish data must be/);
    assert.throws(() => a.socket.publish('t', { a: 1 } as never), TypeError);
    assert.throws(() => a.socket.publish('t', 'x', { self: 'yes' as never }), TypeError);
    assert.throws(() => new (wss.constructor as typeof WebSocketServer)({ noServer: true, topics: { contextTakeover: 'maybe' as never } }), RangeError);
    // Typed arrays other than Uint8Array are bytes too.
    assert.equal((await wss.publish('t', new Uint16Array([1, 2]))).offset, 1);
    // A client socket has no server topics.
    const client = new NodeWebSocket(url);
    await once(client, 'open');
    assert.throws(() => client.subscribe('t'), /server feature/);
    assert.equal(client.isSubscribed('t'), false);
    client.close();
    // A closed socket cannot join a topic (it would never leave it).
    a.peer.close();
    await once(a.socket, 'close');
    await assert.rejects(a.socket.subscribe('t'), /closed/);
    assert.equal(wss.subscriberCount('t'), 0);
  } finally {
    await wss.close({ timeoutMs: 1000 });
  }
});

test('topics.format frames an envelope once per message (positions for the client)', async () => {
  const { wss, url } = await startServer({
    topics: { format: (m) => JSON.stringify({ topic: m.topic, offset: m.offset, data: m.payload.toString() }) },
  });
  try {
    const a = await join(wss, url, ['f']);
    const b = await join(wss, url, ['f']);
    await wss.publish('f', 'one');
    await until(() => a.received.length === 1 && b.received.length === 1);
    assert.deepEqual(JSON.parse(a.received[0]), { topic: 'f', offset: 1, data: 'one' });
    assert.equal(wss.topicStats().framesEncoded, 1);
    a.peer.close();
    b.peer.close();
  } finally {
    await wss.close({ timeoutMs: 1000 });
  }
});
