/**
 * `sockwave listen --tls-cert C --tls-key K`: HTTP/2 and HTTP/1.1 on one
 * port (ALPN), WebSockets over both, static files over h2, `--no-http2`;
 * `sockwave connect` names the protocol that carried the socket.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import WebSocket from 'ws';
import { makeCertificate, type Credentials } from '../node/server/h2-helpers.js';
import { runCli, startListen, type CliProcess } from './run-cli.js';

const running: CliProcess[] = [];
const temp = mkdtempSync(join(tmpdir(), 'sockwave-listen-h2-'));
const credentials = makeCertificate();
const skip = typeof credentials === 'string' ? credentials : false;
if (!skip) {
  writeFileSync(join(temp, 'cert.pem'), (credentials as Credentials).cert);
  writeFileSync(join(temp, 'key.pem'), (credentials as Credentials).key);
}
writeFileSync(join(temp, 'index.html'), '<!doctype html><p>h2 page</p>');

after(() => {
  for (const cli of running) cli.child.kill('SIGKILL');
  rmSync(temp, { recursive: true, force: true });
});

async function listen(args: string[]): Promise<CliProcess & { url: string; port: number }> {
  const cli = await startListen(['--tls-cert', join(temp, 'cert.pem'), '--tls-key', join(temp, 'key.pem'), ...args]);
  running.push(cli);
  return cli;
}

describe('sockwave listen over HTTP/2', { skip, timeout: 60_000 }, () => {
  test('--tls-cert serves pages and WebSockets over h2 and WebSockets over HTTP/1.1 on the same port', async () => {
    const server = await listen(['--echo', '--static', temp]);
    await server.waitForStderr(/serving HTTP\/2 and HTTP\/1\.1/);
    // A page over h2, and the session advertises extended CONNECT.
    const session = http2.connect(`https://localhost:${server.port}`, { ca: (credentials as Credentials).cert });
    session.on('error', () => {});
    await once(session, 'remoteSettings');
    assert.equal(session.remoteSettings.enableConnectProtocol, true);
    const page = session.request({ ':path': '/index.html' });
    page.setEncoding('utf8');
    let body = '';
    page.on('data', (chunk: string) => (body += chunk));
    await once(page, 'end');
    assert.equal(body, '<!doctype html><p>h2 page</p>');
    session.close();
    // sockwave connect goes over h2 and says so.
    const viaH2 = await runCli(['connect', `wss://localhost:${server.port}/`, '--no-check', '-x', 'hi', '-w', '500']);
    assert.equal(viaH2.code, 0, viaH2.stderr);
    assert.equal(viaH2.stdout, 'hi\n');
    assert.match(viaH2.stderr, /connected to wss:\/\/localhost:\d+\/ \(.*over: HTTP\/2\)/);
    await server.waitForStderr(/\[#1\] connected from .*over: HTTP\/2/);
    // An HTTP/1.1 client (ws offers only http/1.1 in ALPN) upgrades on the same port.
    const ws = new WebSocket(`wss://localhost:${server.port}/`, { ca: (credentials as Credentials).cert });
    await once(ws, 'open');
    ws.send('h1');
    const [reply] = (await once(ws, 'message')) as [Buffer];
    assert.equal(reply.toString(), 'h1');
    ws.close();
    await once(ws, 'close');
    const viaH1 = await runCli(['connect', `wss://localhost:${server.port}/`, '--no-check', '--http2', 'never', '-x', 'hi', '-w', '500']);
    assert.match(viaH1.stderr, /over: HTTP\/1\.1\)/);
    // SIGTERM: clean exit with h2 sessions having been open.
    server.child.kill('SIGTERM');
    const result = await server.done;
    assert.equal(result.code, 0, result.stderr);
  });

  test('--no-http2 serves HTTP/1.1 only: connect falls back and --http2 require fails', async () => {
    const server = await listen(['--echo', '--no-http2']);
    const fallback = await runCli(['connect', `wss://localhost:${server.port}/`, '--no-check', '-x', 'hi', '-w', '500']);
    assert.equal(fallback.code, 0, fallback.stderr);
    assert.match(fallback.stderr, /over: HTTP\/1\.1\)/);
    const strict = await runCli(['connect', `wss://localhost:${server.port}/`, '--no-check', '--http2', 'require', '-x', 'hi']);
    assert.equal(strict.code, 1);
    assert.match(strict.stderr, /HTTP\/2/);
  });
});
