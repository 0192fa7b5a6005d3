/**
 * Graceful shutdown: close frames to every client, wait for the closing
 * handshakes up to the deadline, terminate the rest, then nothing is left:
 * the child process exits by itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import WS from 'ws';
import { closeEvent, openClient, startServer, within } from './helpers.js';

const child = fileURLToPath(new URL('./fixtures/shutdown-child.ts', import.meta.url));

test('close({ code, reason, timeoutMs }) closes every client, terminates the stuck ones, and the process exits by itself', async () => {
  const proc = spawn(process.execPath, ['--import', 'tsx', child], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (chunk) => (stdout += chunk));
  proc.stderr.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
  const [exitCode, signal] = (await once(proc, 'exit')) as [number | null, string | null];
  clearTimeout(timer);
  assert.equal(signal, null, `the child had to be killed: it did not exit by itself\n${stdout}\n${stderr}`);
  assert.equal(exitCode, 0, stderr);
  const report = JSON.parse(stdout.trim().split('\n').pop() as string);
  assert.deepEqual(report.codes.sort(), ['1001:restart', '1001:restart']);
  assert.deepEqual(report.polite, [3, 3]);
  assert.equal(report.rudeDestroyed, true);
  assert.equal(report.stats.connections, 0);
  assert.equal(report.stats.pendingHandshakes, 0);
  assert.ok(report.elapsed >= 250 && report.elapsed < 3000, `shutdown took ${report.elapsed} ms`);
});

test('graceful close resolves quickly when every client answers, and later handshakes are refused', async () => {
  const { wss, url } = await startServer();
  const clients = await Promise.all(Array.from({ length: 5 }, () => openClient(url)));
  const closed = clients.map((client) => closeEvent(client as never));
  const started = performance.now();
  await within(wss.close({ code: 4000, reason: 'bye', timeoutMs: 5000 }), 3000, 'graceful close');
  assert.ok(performance.now() - started < 2000);
  for (const [code, reason] of await Promise.all(closed)) {
    assert.equal(code, 4000);
    assert.equal(reason.toString(), 'bye');
  }
  const late = new WS(url);
  const failed = await within(new Promise<boolean>((resolve) => {
    late.on('error', () => resolve(true));
    late.on('open', () => resolve(false));
  }));
  assert.equal(failed, true);
  assert.equal(wss.close({ timeoutMs: 10 }), wss.close({ timeoutMs: 10 }), 'repeated calls share one shutdown');
});

test('graceful close validates its code', async () => {
  const { wss } = await startServer();
  await assert.rejects(wss.close({ code: 1006 }), RangeError);
  await wss.close({ timeoutMs: 100 });
});
