/**
 * `sockwave listen` driven by `ws` clients (a peer nobody here wrote) over
 * real loopback sockets: echo, broadcast, print mode, static files, TLS,
 * compression and shutdown.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import WebSocket from 'ws';
import { startListen, type CliProcess } from './run-cli.js';

const running: CliProcess[] = [];
const temp = mkdtempSync(join(tmpdir(), 'sockwave-listen-'));

after(() => {
  for (const cli of running) cli.child.kill('SIGKILL');
  rmSync(temp, { recursive: true, force: true });
});

async function listen(args: string[]) {
  const cli = await startListen(args);
  running.push(cli);
  return cli;
}

async function open(url: string, protocols: string[] = [], options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols, { maxPayload: 64 * 1024 * 1024, ...options });
  await once(ws, 'open');
  return ws;
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data: Buffer, isBinary: boolean) => resolve({ data, isBinary })));
}

/** A self-signed certificate for 127.0.0.1, or undefined when openssl is missing. */
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

describe('sockwave listen', { timeout: 55_000 }, () => {
  test('--echo returns text and binary unchanged, up to 16 MiB, and selects the first offered subprotocol', async () => {
    const server = await listen(['--echo']);
    const ws = await open(server.url, ['first', 'second']);
    assert.equal(ws.protocol, 'first');
    ws.send('héllo');
    assert.deepEqual(await nextMessage(ws), { data: Buffer.from('héllo'), isBinary: false });
    const big = Buffer.alloc(16 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big[i] = i & 0xff;
    ws.send(big);
    const echoed = await nextMessage(ws);
    assert.equal(echoed.isBinary, true);
    assert.ok(echoed.data.equals(big), '16 MiB binary message comes back byte for byte');
    ws.close(1000);
    await once(ws, 'close');
    await server.waitForStderr(/\[#1\] closed: 1000/);
    assert.match(server.stderr(), /\[#1\] connected from 127\.0\.0\.1 \(protocol: first\)/);
  });

  test('--max-message closes an oversized message with 1009 and --path limits upgrades to one path', async () => {
    const server = await listen(['--echo', '--max-message', '1000', '--path', '/ws']);
    assert.match(server.url, /:\d+$/);
    const ws = await open(`${server.url}/ws`);
    ws.send(Buffer.alloc(1000));
    assert.equal((await nextMessage(ws)).data.length, 1000, 'exactly the limit passes');
    ws.send(Buffer.alloc(1001));
    const [code] = await once(ws, 'close');
    assert.equal(code, 1009);
    const refused = new WebSocket(`${server.url}/other`);
    refused.on('error', () => {}); // terminate() below reports "closed before established"
    const [, response] = await once(refused, 'unexpected-response');
    assert.equal(response.statusCode, 400);
    refused.terminate();
  });

  test('--echo stops reading a client that sends without reading the echoes', async () => {
    const server = await listen(['--echo', '-q']);
    const { connect: tcp } = await import('node:net');
    const { randomBytes } = await import('node:crypto');
    const socket = tcp(server.port, '127.0.0.1');
    await once(socket, 'connect');
    const key = randomBytes(16).toString('base64');
    socket.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    await once(socket, 'data');
    socket.pause(); // never read the echoes
    // 160 masked binary frames of 256 KiB (mask key 0 keeps the payload as is): 40 MiB in total.
    const frame = Buffer.concat([Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0]), Buffer.alloc(256 * 1024, 1)]);
    for (let i = 0; i < 160; i++) socket.write(frame);
    await new Promise((r) => setTimeout(r, 1000));
    // The server read only what fits in the socket buffers plus its queue; the rest waits on our side.
    assert.ok(socket.writableLength > 8 * 1024 * 1024, `only ${socket.writableLength} bytes left unsent`);
    socket.destroy();
  });

  test('--host binds the given address and the printed URL names it', async () => {
    const server = await listen(['--echo', '--host', '127.0.0.2', '-q']);
    assert.match(server.url, /^ws:\/\/127\.0\.0\.2:\d+$/);
    const ws = await open(server.url);
    ws.send('via 127.0.0.2');
    assert.equal((await nextMessage(ws)).data.toString(), 'via 127.0.0.2');
    ws.terminate();
  });

  test('--broadcast sends every message to every client, the sender included', async () => {
    const server = await listen(['--broadcast', '--quiet']);
    const a = await open(server.url);
    const b = await open(server.url);
    const atA = nextMessage(a);
    const atB = nextMessage(b);
    a.send('to everyone');
    assert.equal((await atA).data.toString(), 'to everyone');
    assert.equal((await atB).data.toString(), 'to everyone');
    a.terminate();
    b.terminate();
    assert.doesNotMatch(server.stderr(), /connected/, '--quiet hides the connection log');
  });

  test('print mode writes messages to stdout (--binary-as, --json) and sends stdin lines to clients', async () => {
    const server = await listen(['--binary-as', 'base64', '--json']);
    const ws = await open(server.url);
    ws.send('from client');
    ws.send(Buffer.from([1, 2, 3]));
    ws.send('{"a":[1]}');
    await server.waitForStdout(/from client\nAQID\n\{\n  "a": \[\n    1\n  \]\n\}\n/);
    const reply = nextMessage(ws);
    server.child.stdin.write('from server\n');
    assert.deepEqual(await reply, { data: Buffer.from('from server'), isBinary: false });
    ws.terminate();
  });

  test('--static serves files, refuses paths outside DIR, and plain HTTP without it gets 426', async () => {
    const dir = join(temp, 'site');
    execFileSync('mkdir', ['-p', dir]);
    writeFileSync(join(dir, 'index.html'), '<h1>hi</h1>');
    writeFileSync(join(temp, 'secret.txt'), 'nope');
    const server = await listen(['--static', dir, '--echo']);
    const http = server.url.replace('ws:', 'http:');
    const page = await fetch(`${http}/`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(await page.text(), '<h1>hi</h1>');
    assert.equal((await fetch(`${http}/..%2fsecret.txt`)).status, 404);
    assert.equal((await fetch(`${http}/missing.js`)).status, 404);
    const ws = await open(server.url);
    ws.send('still a websocket server');
    assert.equal((await nextMessage(ws)).data.toString(), 'still a websocket server');
    ws.terminate();

    const bare = await listen(['--echo', '-q']);
    const answer = await fetch(bare.url.replace('ws:', 'http:'));
    assert.equal(answer.status, 426);
  });

  test('--tls-cert/--tls-key serve wss://', async (t) => {
    const pem = selfSignedCert();
    if (!pem) {
      t.skip('openssl is not installed, cannot make a test certificate');
      return;
    }
    const server = await listen(['--echo', '--tls-cert', pem.cert, '--tls-key', pem.key]);
    assert.match(server.url, /^wss:\/\//);
    const ws = await open(server.url, [], { rejectUnauthorized: false });
    ws.send('over tls');
    assert.equal((await nextMessage(ws)).data.toString(), 'over tls');
    ws.terminate();

    // sockwave connect verifies certificates unless told otherwise.
    const { runCli } = await import('./run-cli.js');
    const refused = await runCli(['connect', server.url, '-x', 'hi', '-w', '100']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error: could not connect to wss:.*(self[- ]signed|certificate)/i);
    const accepted = await runCli(['connect', server.url, '--no-check', '-x', 'hi', '-w', '600']);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.equal(accepted.stdout, 'hi\n');
  });

  test('a missing certificate file is one error line and exit 1', async () => {
    const { runCli } = await import('./run-cli.js');
    const r = await runCli(['listen', '--tls-cert', join(temp, 'none.pem'), '--tls-key', join(temp, 'none.pem')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: .*ENOENT.*none\.pem.*\n$/);
  });

  test('--deflate negotiates permessage-deflate with a ws client', async () => {
    const server = await listen(['--echo', '--deflate']);
    const ws = await open(server.url, [], { perMessageDeflate: true });
    assert.match(ws.extensions, /permessage-deflate/);
    const text = 'compress me '.repeat(1000);
    ws.send(text);
    assert.equal((await nextMessage(ws)).data.toString(), text);
    ws.close();
    await once(ws, 'close');
    const plain = await listen(['--echo']);
    const ws2 = await open(plain.url, [], { perMessageDeflate: true });
    assert.equal(ws2.extensions, '');
    ws2.terminate();
  });

  test('SIGTERM closes clients with 1001 and exits 0', async () => {
    const server = await listen(['--echo']);
    const ws = await open(server.url);
    const closed = once(ws, 'close');
    server.child.kill('SIGTERM');
    const [code, reason] = await closed;
    assert.equal(code, 1001);
    assert.equal(reason.toString(), 'server shutting down');
    const result = await server.done;
    assert.equal(result.code, 0, result.stderr);
  });
});
