/**
 * `sockwave connect` and proxies: the proxy variables are read by default,
 * `--no-proxy` ignores them, `--proxy socks5h://` tunnels through SOCKS, and
 * failures print one line naming the proxy or the TLS hint.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { startSocksServer, type SocksServer } from '../support/socks-server.js';
import { runCli } from './run-cli.js';

describe('sockwave connect through proxies', () => {
  let wss: WebSocketServer;
  let socks: SocksServer;
  let base: string;
  // The child must not inherit proxy variables from the machine running the tests.
  const clean = Object.fromEntries(
    ['ws_proxy', 'wss_proxy', 'http_proxy', 'https_proxy', 'all_proxy', 'no_proxy'].flatMap((name) => [[name, ''], [name.toUpperCase(), '']]),
  );

  before(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    wss.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
    base = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    socks = await startSocksServer({ username: 'u', password: 'pw', hosts: { 'echo.internal': '127.0.0.1' } });
  });

  after(async () => {
    await socks.close();
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });

  test('ALL_PROXY is used by default; --no-proxy (also after --proxy) connects directly', async () => {
    const env = { ...clean, ALL_PROXY: socks.url('socks5h', 'u:pw') };
    const viaEnv = await runCli(['connect', base, '-x', 'from env', '-w', '500'], { env });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.equal(viaEnv.stdout, 'from env\n');
    assert.equal(socks.tunnels.length, 1);
    assert.ok(socks.tunnels[0].bytesUp > 0 && socks.tunnels[0].bytesDown > 0);
    const direct = await runCli(['connect', base, '--no-proxy', '-x', 'direct', '-w', '500'], { env });
    assert.equal(direct.code, 0, direct.stderr);
    assert.equal(direct.stdout, 'direct\n');
    assert.equal(socks.tunnels.length, 1, '--no-proxy bypassed the proxy');
    const last = await runCli(['connect', base, '--proxy', 'http://127.0.0.1:9', '--no-proxy', '-x', 'last wins', '-w', '500'], { env });
    assert.equal(last.code, 0, last.stderr);
    assert.equal(socks.tunnels.length, 1);
  });

  test('--proxy socks5h:// reaches a name only the proxy resolves; bad credentials name the proxy', async () => {
    const port = new URL(base).port;
    const before = socks.tunnels.length;
    const ok = await runCli(['connect', `ws://echo.internal:${port}`, '--proxy', socks.url('socks5h', 'u:pw'), '-x', 'named', '-w', '500'], {
      env: clean,
    });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'named\n');
    assert.equal(socks.tunnels.length, before + 1);
    assert.equal(socks.tunnels.at(-1)?.host, 'echo.internal');
    const bad = await runCli(['connect', base, '--proxy', socks.url('socks5', 'u:nope'), '-x', 'x'], { env: clean });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, new RegExp(`error: could not connect to ws://127\\.0\\.0\\.1:\\d+/ through proxy socks5://u:\\*\\*\\*@127\\.0\\.0\\.1:${socks.port}: proxy 127\\.0\\.0\\.1:${socks.port} rejected the username/password \\(SW_PROXY\\)`));
    assert.ok(!bad.stderr.includes('nope'), 'the password is not printed');
  });

  test('an unknown scheme in a proxy variable is one clear error line', async () => {
    const r = await runCli(['connect', base, '-x', 'x'], { env: { ...clean, HTTP_PROXY: 'ftp://p:21' } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: environment variable HTTP_PROXY: unsupported proxy scheme ftp/);
  });
});
