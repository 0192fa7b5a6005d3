/**
 * Issue #12, section 4 (first contact, CLI): the messages a newcomer meets,
 * against real servers on loopback (`sockwave listen` itself and `ws` clients).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import WebSocket from 'ws';
import { runCli, startListen, type CliProcess } from './run-cli.js';

const running: CliProcess[] = [];
const temp = mkdtempSync(join(tmpdir(), 'sockwave-cli-12-'));
after(() => {
  for (const cli of running) cli.child.kill('SIGKILL');
  rmSync(temp, { recursive: true, force: true });
});

async function listen(args: string[]) {
  const cli = await startListen(args);
  running.push(cli);
  return cli;
}

function selfSignedCert(): { cert: string; key: string } | undefined {
  const cert = join(temp, 'cert.pem');
  const key = join(temp, 'key.pem');
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    return { cert, key };
  } catch {
    return undefined;
  }
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('issue 12: an unknown command prints one error line and a hint, not the whole help', async () => {
  const r = await runCli(['conect', 'ws://x']);
  assert.equal(r.code, 2);
  assert.deepEqual(r.stderr.trimEnd().split('\n'), ["error: unknown command 'conect'", "Run 'sockwave --help' for the list of commands."]);
});

const cert = selfSignedCert();
test('issue 12: a self-signed certificate error suggests --no-check', { skip: cert ? false : 'openssl is not available' }, async () => {
  const server = await listen(['--echo', '--tls-cert', cert!.cert, '--tls-key', cert!.key]);
  const r = await runCli(['connect', server.url, '-x', 'hi']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^error: could not connect to wss:\/\/127\.0\.0\.1:\d+\/: .*--no-check/m);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  // And the hint is right: with --no-check it connects.
  const ok = await runCli(['connect', server.url, '--no-check', '-x', 'hi', '--wait', '300']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout.trim(), 'hi');
});

test('issue 12: wss:// against a plain port is a plain-English error, not an OpenSSL dump', async () => {
  const server = await listen(['--echo']);
  const r = await runCli(['connect', server.url.replace('ws://', 'wss://'), '-x', 'hi']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /did not answer in TLS.*try ws:\/\//);
  assert.doesNotMatch(r.stderr, /SSL routines|ssl3_|wrong version number/i);
});

test('issue 12: listen -s chat.v2 refuses clients that offer other or no subprotocols', async () => {
  const server = await listen(['--echo', '-s', 'chat.v2']);
  for (const offered of [['chat.v1'], []]) {
    const ws = new WebSocket(server.url, offered);
    ws.on('error', () => {}); // terminate() below reports "closed before the connection was established"
    const [, response] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }];
    assert.equal(response.statusCode, 400, `offering [${offered.join(', ')}]`);
    ws.terminate();
  }
  await server.waitForStderr(/refused 127\.0\.0\.1: offered chat\.v1; this server requires chat\.v2/);
  await server.waitForStderr(/refused 127\.0\.0\.1: offered no subprotocol/);
  const ws = new WebSocket(server.url, ['chat.v1', 'chat.v2']);
  await once(ws, 'open');
  assert.equal(ws.protocol, 'chat.v2');
  ws.close();
  await once(ws, 'close');
});

test('issue 12: the listen log reports the close code the server sent (1009), not 1006', async () => {
  const server = await listen(['--echo', '--max-message', '10']);
  const ws = new WebSocket(server.url);
  await once(ws, 'open');
  ws.send('x'.repeat(100));
  const [code] = await once(ws, 'close');
  assert.equal(code, 1009);
  await server.waitForStderr(/\[#1\] closed: 1009/);
  assert.doesNotMatch(server.stderr(), /closed: 1006/);
});

test('issue 12: --proxy failures name the proxy (without its password)', async () => {
  const port = await closedPort();
  const r = await runCli(['connect', 'ws://127.0.0.1:9/', '--proxy', `http://user:secret@127.0.0.1:${port}`, '-x', 'hi']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`through proxy http://user:\\*\\*\\*@127\\.0\\.0\\.1:${port}`));
  assert.doesNotMatch(r.stderr, /secret/);
});
