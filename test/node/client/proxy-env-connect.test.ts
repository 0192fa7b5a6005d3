/**
 * Proxies from the environment, end to end: connect(), the WHATWG WebSocket
 * and the sockwave/ws class against real loopback proxies that count the
 * tunnels they carried. Each test sets the variables it needs and restores
 * the environment afterwards (node:test runs a file's tests one at a time).
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../../../src/node/socket/connect.js';
import { WebSocket as WebWebSocket } from '../../../src/web/websocket.js';
import { WebSocket as WsWebSocket } from '../../../src/ws.js';
import { ProxyError } from '../../../src/node/client/errors.js';
import { startSocksServer } from '../../support/socks-server.js';
import { nextEvent, startConnectProxy, startWsServer } from './peers.js';

const VARIABLES = ['ws_proxy', 'wss_proxy', 'http_proxy', 'https_proxy', 'all_proxy', 'no_proxy'].flatMap((name) => [name, name.toUpperCase()]);
const saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));

function setEnvironment(values: Record<string, string>): void {
  for (const name of VARIABLES) delete process.env[name];
  Object.assign(process.env, values);
}

afterEach(() => {
  for (const name of VARIABLES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

async function echo(socket: ReturnType<typeof connect>, text: string): Promise<string> {
  const errors: Error[] = [];
  socket.on('error', (error: Error) => errors.push(error));
  await Promise.race([nextEvent(socket, 'open'), nextEvent(socket, 'close')]);
  assert.deepEqual(errors.map(String), []);
  socket.send(text);
  const [data] = (await nextEvent(socket, 'message')) as [Buffer];
  socket.close();
  await nextEvent(socket, 'close');
  return data.toString();
}

test('connect() tunnels through HTTP_PROXY (and ws_proxy over it), and the proxy carried the upgrade', async () => {
  const peer = await startWsServer();
  const httpProxy = await startConnectProxy();
  const wsProxy = await startConnectProxy();
  try {
    setEnvironment({ HTTP_PROXY: httpProxy.url });
    assert.equal(await echo(connect(peer.url), 'via HTTP_PROXY'), 'via HTTP_PROXY');
    assert.deepEqual(httpProxy.tunnels, [new URL(peer.url).host]);
    setEnvironment({ HTTP_PROXY: httpProxy.url, ws_proxy: wsProxy.url });
    assert.equal(await echo(connect(peer.url), 'via ws_proxy'), 'via ws_proxy');
    assert.equal(httpProxy.tunnels.length, 1);
    assert.deepEqual(wsProxy.tunnels, [new URL(peer.url).host]);
  } finally {
    await httpProxy.close();
    await wsProxy.close();
    await peer.close();
  }
});

test('ALL_PROXY=socks5h:// is used when no scheme-specific variable is set', async () => {
  const peer = await startWsServer();
  const socks = await startSocksServer();
  try {
    setEnvironment({ all_proxy: socks.url('socks5h') });
    assert.equal(await echo(connect(peer.url), 'via all_proxy'), 'via all_proxy');
    assert.equal(socks.tunnels.length, 1);
    assert.ok(socks.tunnels[0].bytesDown > 0);
  } finally {
    await socks.close();
    await peer.close();
  }
});

test('NO_PROXY, proxy: false and an explicit proxy each override the environment', async () => {
  const peer = await startWsServer();
  const envProxy = await startConnectProxy();
  const explicit = await startConnectProxy();
  try {
    setEnvironment({ HTTP_PROXY: envProxy.url, NO_PROXY: 'localhost,127.0.0.0/8' });
    assert.equal(await echo(connect(peer.url), 'bypassed'), 'bypassed');
    setEnvironment({ HTTP_PROXY: envProxy.url });
    assert.equal(await echo(connect(peer.url, { proxy: false }), 'direct'), 'direct');
    assert.equal(await echo(connect(peer.url, { proxy: explicit.url }), 'explicit'), 'explicit');
    assert.equal(envProxy.tunnels.length, 0, 'the environment proxy carried nothing');
    assert.equal(explicit.tunnels.length, 1);
  } finally {
    await envProxy.close();
    await explicit.close();
    await peer.close();
  }
});

test('the WHATWG WebSocket uses the environment proxy; the sockwave/ws class does not (ws compatibility)', async () => {
  const peer = await startWsServer();
  const proxy = await startConnectProxy();
  try {
    setEnvironment({ http_proxy: proxy.url });
    const web = new WebWebSocket(peer.url);
    await new Promise<void>((resolve, reject) => {
      web.onopen = () => web.send('web through env');
      web.onmessage = (event) => {
        assert.equal(event.data, 'web through env');
        web.close();
      };
      web.onclose = () => resolve();
      web.onerror = () => reject(new Error('web socket failed'));
    });
    assert.equal(proxy.tunnels.length, 1);
    const compat = new WsWebSocket(peer.url);
    assert.equal(await echo(compat as unknown as ReturnType<typeof connect>, 'ws compat'), 'ws compat');
    assert.equal(proxy.tunnels.length, 1, 'the ws-compatible class connected directly');
  } finally {
    await proxy.close();
    await peer.close();
  }
});

test('an unusable proxy variable makes connect() throw, naming the variable', () => {
  setEnvironment({ HTTPS_PROXY: 'ftp://proxy:21' });
  assert.throws(() => connect('wss://example.invalid/'), /environment variable HTTPS_PROXY: unsupported proxy scheme ftp/);
  assert.doesNotThrow(() => connect('wss://example.invalid/', { proxy: false }).on('error', () => {}).close());
});

test('CONNECT proxy auth: right credentials pass, a 407 names the proxy and its status', async () => {
  const peer = await startWsServer();
  const proxy = await startConnectProxy({ expectAuthorization: `Basic ${Buffer.from('bob:s3cret').toString('base64')}` });
  try {
    const good = new URL(proxy.url);
    good.username = 'bob';
    good.password = 's3cret';
    setEnvironment({ HTTP_PROXY: good.href });
    assert.equal(await echo(connect(peer.url), 'authorized'), 'authorized');
    assert.equal(proxy.tunnels.length, 1);
    const bad = new URL(good);
    bad.password = 'wrong';
    setEnvironment({ HTTP_PROXY: bad.href });
    const socket = connect(peer.url);
    const errors: Error[] = [];
    socket.on('error', (error: Error) => errors.push(error));
    const [code] = (await nextEvent(socket, 'close')) as [number];
    assert.equal(code, 1006);
    assert.ok(errors[0] instanceof ProxyError);
    assert.equal(errors[0].message, `proxy ${good.host} refused the tunnel: 407 Proxy Authentication Required`);
    assert.equal((errors[0] as ProxyError).status, 407);
    assert.equal(proxy.tunnels.length, 1);
  } finally {
    await proxy.close();
    await peer.close();
  }
});

test('wss: uses HTTPS_PROXY (not HTTP_PROXY) and runs TLS to the server inside the tunnel', async (t) => {
  const { makeSelfSignedCertificate, startSecureWsServer } = await import('./peers.js');
  const certificate = makeSelfSignedCertificate();
  if ('skip' in certificate) return t.skip(certificate.skip);
  const peer = await startSecureWsServer(certificate);
  const httpProxy = await startConnectProxy();
  const httpsProxy = await startConnectProxy();
  try {
    setEnvironment({ HTTP_PROXY: httpProxy.url, HTTPS_PROXY: httpsProxy.url });
    assert.equal(await echo(connect(peer.url, { tls: { ca: certificate.cert } }), 'secure via env'), 'secure via env');
    assert.equal(httpProxy.tunnels.length, 0);
    assert.deepEqual(httpsProxy.tunnels, [new URL(peer.url).host]);
    assert.deepEqual(peer.servernames, ['localhost']);
  } finally {
    await httpProxy.close();
    await httpsProxy.close();
    await peer.close();
  }
});
