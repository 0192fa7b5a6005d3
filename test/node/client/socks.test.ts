import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../../../src/node/socket/connect.js';
import { ProxyError } from '../../../src/node/client/errors.js';
import { ipv6Bytes } from '../../../src/node/client/socks.js';
import { SockwaveError } from '../../../src/core/errors.js';
import { startSocksServer } from '../../support/socks-server.js';
import { makeSelfSignedCertificate, nextEvent, startSecureWsServer, startWsServer } from './peers.js';

/** Opens `url` through `proxy`, echoes one message, closes; returns the echoed text. */
async function echoThrough(url: string, options: Parameters<typeof connect>[1], text: string): Promise<string> {
  const socket = connect(url, options);
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

async function failureThrough(url: string, options: Parameters<typeof connect>[1]): Promise<{ error: Error; code: number }> {
  const socket = connect(url, options);
  const errors: Error[] = [];
  socket.on('error', (error: Error) => errors.push(error));
  const [code] = (await nextEvent(socket, 'close')) as [number];
  assert.equal(errors.length, 1);
  return { error: errors[0], code };
}

test('socks5h: the proxy resolves a name only it knows, and carries the upgrade and the messages', async () => {
  const peer = await startWsServer();
  const port = new URL(peer.url).port;
  const proxy = await startSocksServer({ hosts: { 'ws.internal': '127.0.0.1' } });
  try {
    assert.equal(await echoThrough(`ws://ws.internal:${port}/`, { proxy: proxy.url('socks5h') }, 'hello over socks5h'), 'hello over socks5h');
    assert.equal(proxy.tunnels.length, 1);
    assert.deepEqual([proxy.tunnels[0].addressType, proxy.tunnels[0].host, proxy.tunnels[0].port], ['name', 'ws.internal', Number(port)]);
    // The upgrade request, the frame and the close frame went up; the 101, the echo and the close came down.
    assert.ok(proxy.tunnels[0].bytesUp > 150, `bytes up ${proxy.tunnels[0].bytesUp}`);
    assert.ok(proxy.tunnels[0].bytesDown > 130, `bytes down ${proxy.tunnels[0].bytesDown}`);
  } finally {
    await proxy.close();
    await peer.close();
  }
});

test('socks5: the client resolves the name itself and sends an address', async () => {
  const peer = await startWsServer();
  const port = new URL(peer.url).port;
  const proxy = await startSocksServer();
  try {
    assert.equal(await echoThrough(`ws://localhost:${port}/`, { proxy: proxy.url('socks5') }, 'local dns'), 'local dns');
    assert.equal(proxy.tunnels.length, 1);
    assert.notEqual(proxy.tunnels[0].addressType, 'name');
    assert.equal(proxy.tunnels[0].host, '127.0.0.1');
  } finally {
    await proxy.close();
    await peer.close();
  }
});

test('socks5: username/password auth (RFC 1929) succeeds with the right credentials, percent-decoded', async () => {
  const peer = await startWsServer();
  const proxy = await startSocksServer({ username: 'alice', password: 'p@ss:word' });
  try {
    const url = proxy.url('socks5h', `alice:${encodeURIComponent('p@ss:word')}`);
    assert.equal(await echoThrough(peer.url, { proxy: url }, 'authenticated'), 'authenticated');
    assert.deepEqual(proxy.authAttempts, [{ username: 'alice', password: 'p@ss:word' }]);
    assert.equal(proxy.tunnels.length, 1);
  } finally {
    await proxy.close();
    await peer.close();
  }
});

test('socks5: wrong credentials, missing credentials and a refused tunnel fail with a ProxyError naming the proxy', async () => {
  const peer = await startWsServer();
  const authProxy = await startSocksServer({ username: 'alice', password: 'right' });
  const refusing = await startSocksServer({ refuseWith: 5 });
  try {
    const wrong = await failureThrough(peer.url, { proxy: authProxy.url('socks5', 'alice:wrong') });
    assert.equal(wrong.code, 1006);
    assert.ok(wrong.error instanceof ProxyError && wrong.error instanceof SockwaveError);
    assert.equal((wrong.error as ProxyError).code, 'SW_PROXY');
    assert.equal(wrong.error.message, `proxy 127.0.0.1:${authProxy.port} rejected the username/password`);
    assert.ok(!wrong.error.message.includes('wrong'), 'no secret in the message');

    const missing = await failureThrough(peer.url, { proxy: authProxy.url('socks5') });
    assert.match(missing.error.message, /accepts none of the offered authentication methods/);

    const refused = await failureThrough(peer.url, { proxy: refusing.url('socks5h') });
    assert.equal(refused.error.message, `proxy 127.0.0.1:${refusing.port} refused the tunnel to 127.0.0.1:${new URL(peer.url).port}: connection refused`);
    assert.equal((refused.error as ProxyError).socksReply, 5);
    assert.equal(authProxy.tunnels.length + refusing.tunnels.length, 0);
  } finally {
    await authProxy.close();
    await refusing.close();
    await peer.close();
  }
});

test('socks: an unreachable proxy is named in the error, with the Node error as cause', async () => {
  const proxy = await startSocksServer();
  const port = proxy.port;
  await proxy.close();
  const { error, code } = await failureThrough('ws://127.0.0.1:9/', { proxy: `socks5://127.0.0.1:${port}` });
  assert.equal(code, 1006);
  assert.match(error.message, new RegExp(`^proxy 127\\.0\\.0\\.1:${port} could not be reached: .*ECONNREFUSED`));
  assert.equal(((error as ProxyError).cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
});

test('socks4 and socks4a carry the upgrade (address, and name resolved by the proxy)', async () => {
  const peer = await startWsServer();
  const port = new URL(peer.url).port;
  const proxy = await startSocksServer({ hosts: { 'ws.internal': '127.0.0.1' } });
  try {
    assert.equal(await echoThrough(peer.url, { proxy: proxy.url('socks4') }, 'v4'), 'v4');
    assert.equal(await echoThrough(`ws://ws.internal:${port}/`, { proxy: proxy.url('socks4a') }, 'v4a'), 'v4a');
    assert.deepEqual(
      proxy.tunnels.map((tunnel) => [tunnel.version, tunnel.addressType, tunnel.host]),
      [
        [4, 'ipv4', '127.0.0.1'],
        [4, 'name', 'ws.internal'],
      ],
    );
    assert.ok(proxy.tunnels.every((tunnel) => tunnel.bytesUp > 0 && tunnel.bytesDown > 0));
  } finally {
    await proxy.close();
    await peer.close();
  }
});

test('socks5h: wss runs TLS inside the tunnel and verifies the server certificate', async (t) => {
  const certificate = makeSelfSignedCertificate();
  if ('skip' in certificate) return t.skip(certificate.skip);
  const peer = await startSecureWsServer(certificate);
  const proxy = await startSocksServer();
  try {
    const url = peer.url;
    assert.equal(await echoThrough(url, { proxy: proxy.url('socks5h'), tls: { ca: certificate.cert } }, 'tls in socks'), 'tls in socks');
    assert.equal(proxy.tunnels.length, 1);
    assert.equal(proxy.tunnels[0].host, new URL(url).hostname);
    assert.deepEqual(peer.servernames, ['localhost']);
    // The tunnel carried TLS records, not a readable upgrade request.
    assert.ok(proxy.tunnels[0].bytesUp > 300);
  } finally {
    await proxy.close();
    await peer.close();
  }
});

test('ipv6Bytes expands "::" and embedded IPv4 tails', () => {
  assert.equal(ipv6Bytes('::1').toString('hex'), '00000000000000000000000000000001');
  assert.equal(ipv6Bytes('fe80::1:2').toString('hex'), 'fe800000000000000000000000010002');
  assert.equal(ipv6Bytes('::ffff:127.0.0.1').toString('hex'), '00000000000000000000ffff7f000001');
  assert.equal(ipv6Bytes('1:2:3:4:5:6:7:8').toString('hex'), '00010002000300040005000600070008');
});

test('socks5h: an IPv6 literal target is sent as an IPv6 address (ATYP 4)', async (t) => {
  const { WebSocketServer } = await import('ws');
  const server = new WebSocketServer({ host: '::1', port: 0 });
  const listening = await new Promise<boolean>((resolve) => {
    server.once('listening', () => resolve(true));
    server.once('error', () => resolve(false));
  });
  if (!listening) return t.skip('no IPv6 loopback on this machine');
  server.on('connection', (socket) => socket.on('message', (data) => socket.send(data)));
  const proxy = await startSocksServer();
  try {
    const { port } = server.address() as import('node:net').AddressInfo;
    assert.equal(await echoThrough(`ws://[::1]:${port}/`, { proxy: proxy.url('socks5h') }, 'v6'), 'v6');
    assert.deepEqual([proxy.tunnels[0].addressType, proxy.tunnels[0].host], ['ipv6', '0:0:0:0:0:0:0:1']);
  } finally {
    await proxy.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
