/**
 * Issue 6, slowloris: hundreds of clients that send their handshake byte by
 * byte or not at all must be dropped after handshakeTimeoutMs, while normal
 * clients keep connecting quickly, and the server's memory returns to its
 * baseline afterwards.
 */
import assert from 'node:assert/strict';
import type net from 'node:net';
import { after, before, test } from 'node:test';
import { clientFrame, connectTcp, Op, rawWebSocket, readHead, upgradeRequest, whenClosed } from './support/raw-client.js';
import { memoryLine, MiB, sleep, startServerProcess, type ServerHandle } from './support/server-handle.js';
import { note, percentile } from './support/report.js';

const HANDSHAKE_TIMEOUT_MS = 1000;
const SLOW_CLIENTS = 300;
const SILENT_CLIENTS = 100;
const NORMAL_CLIENTS = 20;

let server: ServerHandle;
before(async () => {
  server = await startServerProcess({
    server: { handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS, heartbeat: false },
    mode: 'echo',
    hooks: { verifyHangsOnPath: '/hang' },
  });
});
after(async () => server?.stop());

test('slow and silent handshakes are dropped after handshakeTimeoutMs while normal clients connect quickly', async (t) => {
  const before = await server.resetPeak();
  const slow: Array<{ socket: net.Socket; openedAt: number; closedAt?: number; bytesSent: number }> = [];
  const request = `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Slow: ${'a'.repeat(4000)}`;
  const drips: NodeJS.Timeout[] = [];
  try {
    for (let i = 0; i < SLOW_CLIENTS + SILENT_CLIENTS; i++) {
      const socket = await connectTcp(server.port);
      const entry = { socket, openedAt: performance.now(), closedAt: undefined as number | undefined, bytesSent: 0 };
      socket.on('error', () => undefined);
      socket.on('close', () => (entry.closedAt = performance.now()));
      socket.resume();
      slow.push(entry);
      if (i < SLOW_CLIENTS) {
        // One byte every 50 ms: far too slow to ever finish within the timeout.
        const drip = setInterval(() => {
          if (socket.destroyed || entry.bytesSent >= request.length) return;
          socket.write(request[entry.bytesSent++]);
        }, 50);
        drips.push(drip);
      }
    }

    // Normal clients, while the slow ones hold their connections.
    const handshakeMs: number[] = [];
    const normal = [];
    for (let i = 0; i < NORMAL_CLIENTS; i++) {
      const started = performance.now();
      const connection = await rawWebSocket(server.port);
      handshakeMs.push(performance.now() - started);
      normal.push(connection);
    }
    note(t, `normal handshakes during the attack: p50 ${percentile(handshakeMs, 50).toFixed(1)} ms, max ${Math.max(...handshakeMs).toFixed(1)} ms`);
    // Not a speed check: a normal client must not wait for the slow ones to time out (the failure mode is >= the timeout).
    assert.ok(Math.max(...handshakeMs) < HANDSHAKE_TIMEOUT_MS / 2, `no normal handshake waited for the slow ones' timeout (max ${Math.max(...handshakeMs).toFixed(0)} ms)`);

    // Every slow/silent client must be gone shortly after the timeout.
    const deadline = HANDSHAKE_TIMEOUT_MS + 1500;
    await sleep(deadline);
    const stillOpen = slow.filter((s) => s.closedAt === undefined).length;
    assert.equal(stillOpen, 0, `${stillOpen} of ${slow.length} slow clients still connected ${deadline} ms after connecting`);
    const lifetimes = slow.map((s) => s.closedAt! - s.openedAt);
    note(t, `slow clients dropped after ${Math.min(...lifetimes).toFixed(0)}..${Math.max(...lifetimes).toFixed(0)} ms (timeout ${HANDSHAKE_TIMEOUT_MS} ms)`);
    assert.ok(Math.min(...lifetimes) >= HANDSHAKE_TIMEOUT_MS * 0.8, 'not dropped before the timeout');

    // Established connections are not affected by the handshake timer.
    for (const [i, connection] of normal.entries()) {
      connection.socket.write(clientFrame(Op.text, `still here ${i}`));
    }
    await sleep(300);
    for (const [i, connection] of normal.entries()) {
      const echo = connection.frames.find((f) => f.opcode === Op.text);
      assert.equal(echo?.payload.toString(), `still here ${i}`, `normal client ${i} still echoes after the timeout`);
      connection.socket.destroy();
    }

    const { stats, diagnostics } = await server.stats();
    note(t, `stats after: pendingHandshakes ${stats.pendingHandshakes}, diagnostics ${JSON.stringify(diagnostics)}`);
    assert.equal(stats.pendingHandshakes, 0);
    await sleep(200);
    const afterAttack = await server.memory();
    note(t, memoryLine(`server memory (${slow.length} slow clients)`, before, afterAttack));
    assert.ok(afterAttack.rss - before.rss < 40 * MiB, 'rss back within 40 MiB of the baseline');
  } finally {
    for (const drip of drips) clearInterval(drip);
    for (const s of slow) s.socket.destroy();
  }
});

test('handshakes whose async verify hook never settles are dropped after handshakeTimeoutMs', async (t) => {
  const sockets = await Promise.all(
    Array.from({ length: 50 }, async () => {
      const socket = await connectTcp(server.port);
      socket.on('error', () => undefined);
      socket.write(upgradeRequest({ path: '/hang' }));
      return socket;
    }),
  );
  const started = performance.now();
  const lifetimes = await Promise.all(sockets.map((s) => whenClosed(s, HANDSHAKE_TIMEOUT_MS + 2000)));
  note(t, `50 hanging verify() calls: connections dropped after ${Math.min(...lifetimes).toFixed(0)}..${Math.max(...lifetimes).toFixed(0)} ms`);
  assert.ok(performance.now() - started < HANDSHAKE_TIMEOUT_MS + 2000);
  const { stats } = await server.stats();
  assert.equal(stats.pendingHandshakes, 0, 'no pending handshake left behind');
  // A normal client still gets in.
  const normal = await rawWebSocket(server.port);
  normal.socket.destroy();
});

test('500 connections each holding an almost full 15 KiB head stay within bounded memory and are dropped on time', async (t) => {
  const before = await server.resetPeak();
  const sockets = [];
  const head = `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Fill: ${'f'.repeat(15 * 1024)}\r\n`; // never the final CRLF
  for (let i = 0; i < 500; i++) {
    const socket = await connectTcp(server.port);
    socket.on('error', () => undefined);
    socket.write(head);
    sockets.push(socket);
  }
  const held = await server.memory();
  const lifetimes = await Promise.all(sockets.map((s) => whenClosed(s, HANDSHAKE_TIMEOUT_MS + 3000)));
  const after = await server.memory();
  note(t, `500 x 15 KiB pending heads: dropped after ${Math.min(...lifetimes).toFixed(0)}..${Math.max(...lifetimes).toFixed(0)} ms; rss ${(before.rss / 2 ** 20).toFixed(1)} -> held ${(held.rss / 2 ** 20).toFixed(1)} (peak ${(after.peakRss / 2 ** 20).toFixed(1)}) -> ${(after.rss / 2 ** 20).toFixed(1)} MiB`);
  assert.ok(after.peakRss - before.rss < 100 * MiB, 'peak rss growth < 100 MiB for 7.5 MiB of pending heads');
});

test('more slow clients than maxPendingHandshakes: a normal client gets a fast 503 with Retry-After, then gets in once the slow ones time out', async (t) => {
  const capped = await startServerProcess({ server: { handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS, heartbeat: false, maxPendingHandshakes: 50 }, mode: 'echo' });
  const slow = [];
  try {
    for (let i = 0; i < 80; i++) {
      const socket = await connectTcp(capped.port);
      socket.on('error', () => undefined);
      socket.write('GET / HTTP/1.1\r\n');
      slow.push(socket);
    }
    const started = performance.now();
    const refused = await connectTcp(capped.port);
    refused.on('error', () => undefined);
    refused.write(upgradeRequest());
    const { status, headers } = await readHead(refused, 3000);
    const answeredMs = performance.now() - started;
    refused.destroy();
    note(t, `with 80 slow clients and maxPendingHandshakes 50: normal client answered ${status} (Retry-After ${headers.get('retry-after')}) in ${answeredMs.toFixed(0)} ms`);
    assert.equal(status, 503);
    assert.ok(answeredMs < HANDSHAKE_TIMEOUT_MS / 2, `answered at once, not after the slow ones' timeout (${answeredMs.toFixed(0)} ms)`);
    await Promise.all(slow.map((s) => whenClosed(s, HANDSHAKE_TIMEOUT_MS + 3000)));
    const normal = await rawWebSocket(capped.port);
    normal.socket.destroy();
  } finally {
    for (const s of slow) s.destroy();
    await capped.stop();
  }
});
