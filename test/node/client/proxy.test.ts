import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectResponseReader } from '../../../src/node/client/proxy.js';
import { HandshakeError } from '../../../src/core/errors.js';
import { connect } from '../../../src/node/socket/connect.js';
import { nextEvent, startConnectProxy, startWsServer } from './peers.js';

const HEAD = 'HTTP/1.0 200 Connection established\r\nProxy-agent: test\r\n\r\n';
const REST = Buffer.from([0x81, 0x00, 0x0d, 0x0a]);

test('CONNECT reader: every split of head and first bytes gives the status and the exact rest', () => {
  const whole = Buffer.concat([Buffer.from(HEAD, 'latin1'), REST]);
  for (let a = 0; a <= whole.length; a++) {
    for (const b of [a, Math.min(whole.length, a + 1), whole.length]) {
      const reader = new ConnectResponseReader(1024);
      const parts = [whole.subarray(0, a), whole.subarray(a, b), whole.subarray(b)];
      let result: ReturnType<ConnectResponseReader['push']> = null;
      let rest: Buffer[] = [];
      for (const part of parts) {
        if (result !== null) rest.push(part);
        else result = reader.push(part);
      }
      assert.ok(result, `split ${a}/${b}`);
      assert.equal(result.status, 200);
      assert.deepEqual(Buffer.concat([result.rest, ...rest]), REST, `split ${a}/${b}`);
    }
  }
});

test('CONNECT reader: byte-by-byte input, HTTP/1.1 and HTTP/1.0, refusal statuses', () => {
  for (const [head, status] of [
    ['HTTP/1.1 200 OK\r\n\r\n', 200],
    ['HTTP/1.0 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n', 407],
    ['HTTP/1.1 204\r\n\r\n', 204],
  ] as const) {
    const reader = new ConnectResponseReader(1024);
    let result = null;
    for (const byte of Buffer.from(head)) result ??= reader.push(Buffer.from([byte]));
    assert.equal(result?.status, status, head);
  }
});

test('CONNECT reader: malformed status lines and oversized heads throw HandshakeError', () => {
  for (const head of ['HTTP/2 200\r\n\r\n', 'SSH-2.0-OpenSSH\r\n\r\n', 'HTTP/1.1 20 OK\r\n\r\n', '\r\n\r\n']) {
    assert.throws(() => new ConnectResponseReader(1024).push(Buffer.from(head)), HandshakeError, JSON.stringify(head));
  }
  const reader = new ConnectResponseReader(64);
  assert.throws(() => {
    for (let i = 0; i < 100; i++) reader.push(Buffer.from('X-Filler: 1\r\n'));
  }, /exceeds 64 bytes/);
});

test('proxy: a proxy answering CONNECT with HTTP/1.0 200 works (tinyproxy style)', async () => {
  const peer = await startWsServer();
  const proxy = await startConnectProxy({ established: HEAD });
  try {
    const socket = connect(peer.url, { proxy: proxy.url });
    socket.on('error', () => {});
    await nextEvent(socket, 'open');
    socket.send('through a 1.0 proxy');
    const [data] = (await nextEvent(socket, 'message')) as [Buffer];
    assert.equal(data.toString(), 'through a 1.0 proxy');
    socket.close();
    await nextEvent(socket, 'close');
  } finally {
    await proxy.close();
    await peer.close();
  }
});

test('proxy: an https: proxy is verified with the tls options and carries ws: and wss: (TLS in TLS)', async (t) => {
  const { makeSelfSignedCertificate, startSecureWsServer } = await import('./peers.js');
  const certificate = makeSelfSignedCertificate();
  if ('skip' in certificate) return t.skip(certificate.skip);
  const proxy = await startConnectProxy({ tls: certificate });
  const plain = await startWsServer();
  const secure = await startSecureWsServer(certificate);
  try {
    for (const url of [plain.url, secure.url]) {
      const socket = connect(url, { proxy: proxy.url, tls: { ca: certificate.cert } });
      const errors: Error[] = [];
      socket.on('error', (error: Error) => errors.push(error));
      await Promise.race([nextEvent(socket, 'open'), nextEvent(socket, 'close')]);
      assert.deepEqual(errors.map(String), [], url);
      socket.send(`via https proxy to ${url}`);
      const [data] = (await nextEvent(socket, 'message')) as [Buffer];
      assert.equal(data.toString(), `via https proxy to ${url}`);
      socket.close();
      await nextEvent(socket, 'close');
    }
    assert.equal(proxy.tunnels.length, 2);
    // Without the CA the proxy itself is refused.
    const untrusted = connect(plain.url, { proxy: proxy.url });
    const errors: Error[] = [];
    untrusted.on('error', (error: Error) => errors.push(error));
    const [code] = (await nextEvent(untrusted, 'close')) as [number];
    assert.equal(code, 1006);
    assert.equal((errors[0] as NodeJS.ErrnoException).code, 'SW_PROXY');
    assert.match(errors[0].message, new RegExp(`^proxy localhost:${new URL(proxy.url).port} could not be reached`));
    assert.match((errors[0].cause as NodeJS.ErrnoException).code ?? '', /SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO/);
    assert.equal(proxy.tunnels.length, 2);
  } finally {
    await proxy.close();
    await plain.close();
    await secure.close();
  }
});
