/**
 * Issue 6: capacity caps (maxConnections, maxPendingHandshakes -> 503 with
 * Retry-After), the Origin allowlist (cross-site WebSocket hijacking -> 403),
 * the heartbeat terminating a peer that stops answering pings, the idle
 * timeout, and the close-handshake timeout against a peer that never answers.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientFrame, closeFrame, connectTcp, Op, rawWebSocket, readHead, upgradeRequest, whenClosed, type RawConnection } from './support/raw-client.js';
import { sleep, startServerProcess, type ServerHandle } from './support/server-handle.js';
import { note } from './support/report.js';

async function withServer(options: Record<string, unknown>, fn: (server: ServerHandle) => Promise<void>) {
  const server = await startServerProcess({ server: { heartbeat: false, ...options }, mode: 'echo' });
  try {
    await fn(server);
  } finally {
    await server.stop();
  }
}

async function handshake(port: number, headers: Array<[string, string]> = []) {
  const socket = await connectTcp(port);
  socket.on('error', () => undefined);
  socket.write(upgradeRequest({ headers }));
  const head = await readHead(socket);
  return { socket, head };
}

describe('capacity', () => {
  test('over maxConnections the handshake gets 503 with Retry-After; a freed slot is reusable', async (t) => {
    await withServer({ maxConnections: 3 }, async (server) => {
      const open = await Promise.all([1, 2, 3].map(() => rawWebSocket(server.port)));
      const refused = await handshake(server.port);
      note(t, `4th handshake: ${refused.head.raw.split('\r\n')[0]}, Retry-After ${refused.head.headers.get('retry-after')}`);
      assert.equal(refused.head.status, 503);
      assert.match(refused.head.headers.get('retry-after') ?? '', /^\d+$/);
      await whenClosed(refused.socket, 3000);
      // Close one cleanly; its slot must become free.
      open[0].socket.write(closeFrame(1000));
      await whenClosed(open[0].socket, 3000);
      await sleep(100);
      const again = await rawWebSocket(server.port);
      const { stats, rejectedStatuses } = await server.stats();
      note(t, `stats: connections ${stats.connections}; rejected by status ${JSON.stringify(rejectedStatuses)}`);
      assert.equal(stats.connections, 3);
      for (const c of [...open, again]) c.socket.destroy();
    });
  });

  test('over maxPendingHandshakes a new handshake gets 503 with Retry-After while the pending ones are not disturbed', async (t) => {
    await withServer({ maxPendingHandshakes: 2, handshakeTimeoutMs: 5000 }, async (server) => {
      // Two handshakes that stay pending: the request line and half the headers.
      const pending = await Promise.all(
        [1, 2].map(async () => {
          const socket = await connectTcp(server.port);
          socket.on('error', () => undefined);
          const request = upgradeRequest();
          socket.write(request.slice(0, 40));
          return { socket, rest: request.slice(40) };
        }),
      );
      await sleep(100);
      const refused = await handshake(server.port);
      note(t, `3rd handshake while 2 pending: ${refused.head.raw.split('\r\n')[0]}, Retry-After ${refused.head.headers.get('retry-after')}`);
      assert.equal(refused.head.status, 503);
      assert.match(refused.head.headers.get('retry-after') ?? '', /^\d+$/);
      refused.socket.destroy();
      // The pending ones finish and are accepted.
      for (const p of pending) p.socket.write(p.rest);
      const heads = await Promise.all(pending.map((p) => readHead(p.socket)));
      assert.deepEqual(heads.map((h) => h.status), [101, 101]);
      for (const p of pending) p.socket.destroy();
      await sleep(100);
      const { stats } = await server.stats();
      assert.equal(stats.pendingHandshakes, 0);
    });
  });
});

describe('origin policy (allowedOrigins)', () => {
  const allowedOrigins = ['https://app.example', '/^https:\\/\\/[a-z0-9-]+\\.trusted\\.example$/'];

  test('a foreign origin gets 403; listed and pattern-matched origins, and requests without Origin, get 101', async (t) => {
    await withServer({ allowedOrigins }, async (server) => {
      const cases: Array<[string | undefined, number]> = [
        ['https://evil.example', 403],
        ['https://app.example.evil.example', 403],
        ['http://app.example', 403],
        ['null', 403],
        ['https://app.example', 101],
        ['https://chat.trusted.example', 101],
        ['https://x.trusted.example.evil', 403],
        [undefined, 101],
      ];
      for (const [origin, expected] of cases) {
        const { socket, head } = await handshake(server.port, origin === undefined ? [] : [['Origin', origin]]);
        note(t, `Origin ${origin ?? '(none)'} -> ${head.status}`);
        assert.equal(head.status, expected, `Origin ${origin}`);
        socket.destroy();
      }
      const { rejectedStatuses } = await server.stats();
      assert.equal(rejectedStatuses['403'], 5, 'each 403 published on sockwave:handshake-rejected');
    });
  });

  test('allowMissingOrigin: false refuses requests without Origin with 403', async () => {
    await withServer({ allowedOrigins, allowMissingOrigin: false }, async (server) => {
      const { socket, head } = await handshake(server.port);
      assert.equal(head.status, 403);
      socket.destroy();
    });
  });
});

describe('heartbeat', () => {
  test('a peer that stops answering pings is terminated after intervalMs + timeoutMs', async (t) => {
    await withServer({ heartbeat: { intervalMs: 300, timeoutMs: 300 } }, async (server) => {
      // The raw client never answers pings (no automatic pong); the lively one does.
      const silent = await rawWebSocket(server.port);
      let lively: RawConnection | undefined;
      lively = await rawWebSocket(server.port, {
        onFrame: (frame) => {
          if (frame.opcode === Op.ping) lively?.socket.write(clientFrame(Op.pong, frame.payload));
        },
      });
      const closedAfter = await whenClosed(silent.socket, 5000);
      note(t, `silent peer dropped after ${closedAfter.toFixed(0)} ms (interval 300 ms + timeout 300 ms)`);
      assert.ok(closedAfter <= 2000);
      await sleep(500);
      assert.equal(lively.socket.destroyed, false, 'a peer that answers pings stays connected');
      lively.socket.destroy();
    });
  });
});


describe('timeouts', () => {
  test('idleTimeoutMs closes a connection that sends no data messages with 1001', async (t) => {
    await withServer({ idleTimeoutMs: 400 }, async (server) => {
      const idle = await rawWebSocket(server.port);
      const busy = await rawWebSocket(server.port, { onFrame: () => undefined });
      const keepBusy = setInterval(() => busy.socket.write(clientFrame(Op.text, 'tick')), 100);
      const started = performance.now();
      const code = await idle.closeCode;
      const after = performance.now() - started;
      note(t, `idle connection closed with ${code} after ${after.toFixed(0)} ms (idleTimeoutMs 400)`);
      assert.equal(code, 1001);
      assert.ok(after < 2000);
      assert.equal(busy.socket.destroyed, false, 'a connection exchanging messages stays open');
      clearInterval(keepBusy);
      idle.socket.destroy();
      busy.socket.destroy();
    });
  });

  test('a peer that never answers the close frame is disconnected after closeTimeoutMs', async (t) => {
    await withServer({ closeTimeoutMs: 500 }, async (server) => {
      const mute = await rawWebSocket(server.port);
      const closed = new Promise<number>((resolve) => mute.socket.once('close', () => resolve(performance.now())));
      const started = performance.now();
      const result = await server.call<{ ms: number; codes: number[] }>({ cmd: 'close-all', code: 4000, reason: 'bye' });
      const tcpClosedAfter = (await closed) - started;
      note(t, `close frame ${await mute.closeCode}; TCP closed after ${tcpClosedAfter.toFixed(0)} ms; server 'close' (${result.codes.join(',')}) after ${result.ms.toFixed(0)} ms (closeTimeoutMs 500)`);
      assert.equal(await mute.closeCode, 4000);
      assert.ok(tcpClosedAfter >= 400 && tcpClosedAfter < 2000, `closed after ${tcpClosedAfter.toFixed(0)} ms`);
      assert.deepEqual(result.codes, [1006], 'no close frame came back: 1006');
    });
  });
});
