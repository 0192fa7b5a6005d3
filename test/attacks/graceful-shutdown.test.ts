/**
 * Issue 6, graceful shutdown: server.close({ code, reason, timeoutMs }) sends
 * the close frame to every client, waits for the closing handshakes up to the
 * timeout, terminates the rest, and leaves nothing behind: the server runs in
 * a child process that must then exit by itself (no kill, no process.exit).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WebSocket as WsClient } from 'ws';
import { rawWebSocket } from './support/raw-client.js';
import { startServerProcess, within } from './support/server-handle.js';
import { note } from './support/report.js';

test('close({ code, reason, timeoutMs }) closes every client, terminates unresponsive ones, and the process exits by itself', { timeout: 30_000 }, async (t) => {
  const server = await startServerProcess({ server: { heartbeat: { intervalMs: 60_000, timeoutMs: 10_000 } }, mode: 'echo' });
  try {
    // Well-behaved clients (ws answers the close frame) ...
    const clients = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const ws = new WsClient(server.url);
        const closed = new Promise<{ code: number; reason: string }>((resolve) =>
          ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
        );
        await new Promise<void>((resolve, reject) => {
          ws.once('open', () => resolve());
          ws.once('error', reject);
        });
        return { ws, closed };
      }),
    );
    // ... and two that never answer it (raw sockets that read but do not reply).
    const mute = await Promise.all([1, 2].map(() => rawWebSocket(server.port)));
    const muteClosed = mute.map(
      (m) => new Promise<number>((resolve) => m.socket.once('close', () => resolve(performance.now()))),
    );

    const started = performance.now();
    const result = await server.call<{ ms: number; closeCodes: Record<string, number>; activeHandles: string[] }>({
      cmd: 'shutdown',
      code: 1001,
      reason: 'maintenance',
      timeoutMs: 1000,
    });
    note(t, `close() resolved after ${result.ms.toFixed(0)} ms; close codes seen by the server ${JSON.stringify(result.closeCodes)}; active resources after: ${result.activeHandles.join(', ') || 'none'}`);
    const seen = await Promise.all(clients.map((c) => c.closed));
    for (const s of seen) assert.deepEqual(s, { code: 1001, reason: 'maintenance' });
    for (const m of mute) assert.equal(await within(m.closeCode, 1000, -1), 1001, 'the mute clients got the close frame too');
    const muteEnds = await Promise.all(muteClosed);
    for (const end of muteEnds) {
      const after = end - started;
      assert.ok(after >= 900 && after < 3000, `unresponsive client terminated after ${after.toFixed(0)} ms (timeout 1000 ms)`);
    }
    assert.ok(result.ms >= 900 && result.ms < 3000, 'close() resolved once the unresponsive clients were terminated');

    const exitCode = await within(server.exited, 5000, 'still running' as unknown as number);
    note(t, `child exit: ${exitCode} ${(performance.now() - started).toFixed(0)} ms after close() was called`);
    assert.equal(exitCode, 0, 'the server process exited by itself: no socket or timer left behind');
  } finally {
    await server.stop();
  }
});

test('close() with no clients resolves at once and the process exits by itself', { timeout: 15_000 }, async () => {
  const server = await startServerProcess({ server: {}, mode: 'echo' });
  try {
    const result = await server.call<{ ms: number }>({ cmd: 'shutdown', timeoutMs: 5000 });
    assert.ok(result.ms < 500, `resolved after ${result.ms.toFixed(0)} ms`);
    assert.equal(await within(server.exited, 5000, -1), 0);
  } finally {
    await server.stop();
  }
});
