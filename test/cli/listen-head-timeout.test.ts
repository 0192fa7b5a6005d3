/**
 * Issue #12, section 3: `sockwave listen` serves on a Node http.Server, whose
 * parser reads the request head under Node's 60 s headersTimeout; the CLI now
 * holds the head to --handshake-timeout like the rest of the handshake.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, test } from 'node:test';
import WebSocket from 'ws';
import { startListen, type CliProcess } from './run-cli.js';
import { dribbleHead, halfHead, silentConnection } from '../support/slow-clients.js';

const running: CliProcess[] = [];
after(() => {
  for (const cli of running) cli.child.kill('SIGKILL');
});

test('issue 12: listen drops slow, half-sent and silent request heads within --handshake-timeout', { timeout: 30_000 }, async () => {
  const server = await startListen(['--echo', '--handshake-timeout', '800']);
  running.push(server);
  // A client that completed its handshake is not affected by the head deadline.
  const early = new WebSocket(server.url);
  await once(early, 'open');
  const [dribbled, half, silent] = await Promise.all([
    dribbleHead(server.port, 100, 5_000),
    halfHead(server.port, 5_000),
    silentConnection(server.port, 5_000),
  ]);
  console.log(`# dropped after: dribbling ${dribbled?.toFixed(0)} ms, half-sent ${half?.toFixed(0)} ms, silent ${silent?.toFixed(0)} ms`);
  for (const [name, ms] of [['dribbling', dribbled], ['half-sent', half], ['silent', silent]] as const) {
    assert.notEqual(ms, null, `${name} client still connected after 5 s`);
    assert.ok(ms! >= 700 && ms! < 2_500, `${name} client dropped after ${ms!.toFixed(0)} ms (timeout 800)`);
  }
  assert.equal(early.readyState, WebSocket.OPEN, 'an open connection outlives the head deadline');
  early.send('still here');
  const [reply] = await once(early, 'message');
  assert.equal(String(reply), 'still here');
  early.close();
  await once(early, 'close');
});

test('issue 12: listen rejects a --handshake-timeout that is not a positive integer', async () => {
  const { runCli } = await import('./run-cli.js');
  const result = await runCli(['listen', '--handshake-timeout', '0']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--handshake-timeout/);
});
