/**
 * `sockwave connect --reconnect` against a `ws` echo server on loopback that
 * is killed and restarted on the same port, with stdin piped.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { WebSocketServer } from 'ws';
import { runCli, startCli } from './run-cli.js';

async function startEcho(port: number): Promise<WebSocketServer> {
  const wss = new WebSocketServer({ port, host: '127.0.0.1' });
  await once(wss, 'listening');
  wss.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
  return wss;
}

async function kill(wss: WebSocketServer): Promise<void> {
  for (const client of wss.clients) client.terminate();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
}

test('--reconnect survives a server restart; a line typed while disconnected is sent after it', { timeout: 30_000 }, async () => {
  let wss = await startEcho(0);
  const port = (wss.address() as AddressInfo).port;
  const cli = startCli(['connect', `ws://127.0.0.1:${port}/`, '--reconnect', '--reconnect-delay', '50', '--reconnect-max-delay', '200']);
  try {
    await cli.waitForStderr(/connected to/);
    cli.child.stdin.write('one\n');
    await cli.waitForStdout(/one\n/);
    await kill(wss);
    await cli.waitForStderr(/disconnected: .*reconnecting in \d+ ms \(attempt 1\)/);
    cli.child.stdin.write('two\n');
    // Let an attempt or two fail against the closed port first.
    await cli.waitForStderr(/could not connect: .*reconnecting in/);
    wss = await startEcho(port);
    await cli.waitForStderr(/reconnected to/);
    await cli.waitForStdout(/one\ntwo\n/);
    cli.child.stdin.end();
    const result = await cli.done;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'one\ntwo\n');
  } finally {
    cli.child.kill('SIGKILL');
    await kill(wss);
  }
});

test('--reconnect --max-retries gives up against a closed port and exits 1', { timeout: 30_000 }, async () => {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const result = await runCli(['connect', `ws://127.0.0.1:${port}/`, '--reconnect', '--reconnect-delay', '10', '--reconnect-max-delay', '20', '--max-retries', '2']);
  assert.equal(result.code, 1, result.stderr);
  assert.equal(result.stderr.match(/could not connect: .*reconnecting in/g)?.length, 2, result.stderr);
  assert.match(result.stderr, /giving up/);
  assert.match(result.stderr, /error: could not connect to ws:\/\/127\.0\.0\.1/);
});

test('reconnect bounds without --reconnect, or max below min, are usage errors (exit 2)', async () => {
  const lone = await runCli(['connect', 'ws://127.0.0.1:1/', '--max-retries', '3']);
  assert.equal(lone.code, 2);
  assert.match(lone.stderr, /--max-retries need --reconnect|need --reconnect/);
  const inverted = await runCli(['connect', 'ws://127.0.0.1:1/', '--reconnect', '--reconnect-delay', '500', '--reconnect-max-delay', '100']);
  assert.equal(inverted.code, 2);
  assert.match(inverted.stderr, /--reconnect-max-delay \(100\) must be >= --reconnect-delay \(500\)/);
  const negative = await runCli(['connect', 'ws://127.0.0.1:1/', '--reconnect', '--reconnect-delay', '-5']);
  assert.equal(negative.code, 2);
});
