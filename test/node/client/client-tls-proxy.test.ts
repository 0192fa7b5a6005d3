/**
 * connect() over TLS and through HTTP CONNECT proxies, against real loopback
 * peers: a `ws` server on https with a self-signed CA, and a CONNECT proxy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { ProxyError } from '../../../src/node/client/errors.js';
import { connect } from '../../../src/node/socket/connect.js';
import { expectFailure } from './expect-failure.js';
import { nextEvent, makeSelfSignedCertificate, startConnectProxy, startSecureWsServer, startWsServer } from './peers.js';

test('wss: connects to a ws server on https with a self-signed CA, SNI set, and refuses without the CA', async (t) => {
  const certificate = makeSelfSignedCertificate();
  if ('skip' in certificate) return t.skip(certificate.skip);
  const peer = await startSecureWsServer(certificate);
  try {
    const socket = connect(peer.url, { tls: { ca: certificate.cert } });
    socket.on('error', () => {});
    await once(socket, 'open');
    socket.send('over tls');
    const [data] = (await once(socket, 'message')) as [Buffer];
    assert.equal(data.toString(), 'over tls');
    assert.deepEqual(peer.servernames, ['localhost']);
    socket.close(1000);
    assert.equal(((await nextEvent(socket, 'close')) as [number])[0], 1000);

    const { error, code } = await expectFailure(connect(peer.url));
    assert.equal(code, 1006);
    assert.equal((error as NodeJS.ErrnoException).code, 'SW_TLS');
    assert.match((error.cause as NodeJS.ErrnoException).code ?? '', /SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO/);
    assert.match(error.message, /^TLS with localhost:\d+ failed: .+; the certificate is not trusted: pass its CA in tls\.ca \(CLI: --no-check skips/);

    const insecure = connect(peer.url, { tls: { rejectUnauthorized: false } });
    insecure.on('error', () => {});
    await once(insecure, 'open');
    insecure.close();
    await nextEvent(insecure, 'close');
  } finally {
    await peer.close();
  }
});

test('proxy: the connection goes through an HTTP CONNECT tunnel', async () => {
  const peer = await startWsServer();
  const proxy = await startConnectProxy();
  try {
    const socket = connect(peer.url, { proxy: proxy.url });
    socket.on('error', () => {});
    await once(socket, 'open');
    socket.send('via proxy');
    const [data] = (await once(socket, 'message')) as [Buffer];
    assert.equal(data.toString(), 'via proxy');
    assert.deepEqual(proxy.tunnels, [new URL(peer.url).host]);
    socket.close();
    await nextEvent(socket, 'close');
  } finally {
    await proxy.close();
    await peer.close();
  }
});

test('proxy: credentials in the proxy URL are sent as Proxy-Authorization Basic', async () => {
  const peer = await startWsServer();
  const proxy = await startConnectProxy({ expectAuthorization: `Basic ${Buffer.from('user:p@ss').toString('base64')}` });
  try {
    const proxyUrl = new URL(proxy.url);
    proxyUrl.username = 'user';
    proxyUrl.password = 'p%40ss';
    const socket = connect(peer.url, { proxy: proxyUrl.href });
    socket.on('error', () => {});
    await once(socket, 'open');
    socket.close();
    await nextEvent(socket, 'close');
  } finally {
    await proxy.close();
    await peer.close();
  }
});

test('proxy: wss through the tunnel verifies the server certificate end to end', async (t) => {
  const certificate = makeSelfSignedCertificate();
  if ('skip' in certificate) return t.skip(certificate.skip);
  const peer = await startSecureWsServer(certificate);
  const proxy = await startConnectProxy();
  try {
    const socket = connect(peer.url, { proxy: proxy.url, tls: { ca: certificate.cert } });
    socket.on('error', () => {});
    await once(socket, 'open');
    socket.send('tls in tunnel');
    const [data] = (await once(socket, 'message')) as [Buffer];
    assert.equal(data.toString(), 'tls in tunnel');
    assert.deepEqual(peer.servernames, ['localhost']);
    socket.close();
    await nextEvent(socket, 'close');
  } finally {
    await proxy.close();
    await peer.close();
  }
});

test('proxy: a refused CONNECT fails with a ProxyError naming the proxy and its status', async () => {
  const proxy = await startConnectProxy({ refuseWith: 403 });
  try {
    const { error, code } = await expectFailure(connect('ws://127.0.0.1:9/', { proxy: proxy.url }));
    assert.equal(code, 1006);
    assert.ok(error instanceof ProxyError);
    assert.equal(error.status, 403);
    assert.equal(error.message, `proxy ${new URL(proxy.url).host} refused the tunnel: 403 Refused`);
  } finally {
    await proxy.close();
  }
});

test('proxy: wss to an IP address through the tunnel verifies the certificate against that IP', async (t) => {
  // Only an IP SAN, and the proxy reached by name: checking the certificate
  // against the proxy's host instead of the target's would fail.
  const certificate = makeSelfSignedCertificate('IP:127.0.0.1', 'sockwave-test');
  if ('skip' in certificate) return t.skip(certificate.skip);
  const peer = await startSecureWsServer(certificate);
  const proxy = await startConnectProxy();
  try {
    const url = peer.url.replace('localhost', '127.0.0.1');
    for (const viaProxy of [false, true]) {
      const proxyByName = proxy.url.replace('127.0.0.1', 'localhost');
      const socket = connect(url, { tls: { ca: certificate.cert }, ...(viaProxy ? { proxy: proxyByName } : {}) });
      const errors: Error[] = [];
      socket.on('error', (error: Error) => errors.push(error));
      await Promise.race([nextEvent(socket, 'open'), nextEvent(socket, 'close')]);
      assert.deepEqual(errors.map(String), [], `viaProxy=${viaProxy}`);
      assert.equal(socket.readyState, 1);
      socket.close();
      await nextEvent(socket, 'close');
    }
    // SNI is not sent for IP addresses (RFC 6066 §3).
    assert.deepEqual(peer.servernames, []);
  } finally {
    await proxy.close();
    await peer.close();
  }
});
