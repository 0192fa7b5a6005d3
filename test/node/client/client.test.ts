/**
 * connect(): handshake failures, timeouts, options and URLs, each against a
 * real loopback peer (raw TCP servers for the bad answers). wss and proxies:
 * client-tls-proxy.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from '../../../src/node/socket/connect.js';
import { computeAcceptKey } from '../../../src/core/handshake/rules.js';
import { HandshakeError, SockwaveError, TimeoutError } from '../../../src/core/errors.js';
import { expectFailure } from './expect-failure.js';
import {
  nextEvent,
  requestKey,
  startConnectProxy,
  startRawServer,
  startWsServer,
} from './peers.js';

async function withRawServer(
  answer: (request: string) => string,
  run: (url: string) => Promise<void>,
): Promise<void> {
  const server = await startRawServer((socket, request) => socket.write(answer(request), 'latin1'));
  try {
    await run(server.url);
  } finally {
    await server.close();
  }
}

function accept(request: string, extra = ''): string {
  return (
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${computeAcceptKey(requestKey(request))}\r\n${extra}\r\n`
  );
}

test('a 403 answer fails with error then close 1006 and a HandshakeError carrying the status', async () => {
  await withRawServer(
    () => 'HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\nConnection: close\r\n\r\nforbidden',
    async (url) => {
      const socket = connect(url);
      const { events, error, code } = await expectFailure(socket);
      assert.deepEqual(events, ['error', 'close']);
      assert.equal(code, 1006);
      assert.ok(error instanceof HandshakeError);
      assert.ok(error instanceof SockwaveError);
      assert.equal(error.status, 403);
      assert.match(error.message, /server answered 403 Forbidden/);
      assert.equal(socket.readyState, 3);
    },
  );
});

test('a 403 from a ws server that refuses the upgrade fails the same way', async () => {
  const peer = await startWsServer({ verifyClient: () => false });
  try {
    const { error, code } = await expectFailure(connect(peer.url));
    assert.equal(code, 1006);
    assert.ok(error instanceof HandshakeError);
    assert.equal((error as HandshakeError).status, 401);
  } finally {
    await peer.close();
  }
});

test('a wrong Sec-WebSocket-Accept fails the connection with a precise message', async () => {
  await withRawServer(
    () =>
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${computeAcceptKey('AAAAAAAAAAAAAAAAAAAAAA==')}\r\n\r\n`,
    async (url) => {
      const { error, code } = await expectFailure(connect(url));
      assert.equal(code, 1006);
      assert.match(error.message, /Sec-WebSocket-Accept does not match/);
    },
  );
});

test('a subprotocol that was not offered fails the connection', async () => {
  await withRawServer(
    (request) => accept(request, 'Sec-WebSocket-Protocol: evil\r\n'),
    async (url) => {
      const { error, code } = await expectFailure(connect(url, { protocols: ['chat'] }));
      assert.equal(code, 1006);
      assert.match(error.message, /subprotocol "evil" that was not offered/);
    },
  );
  await withRawServer(
    (request) => accept(request, 'Sec-WebSocket-Protocol: chat\r\n'),
    async (url) => {
      const { error } = await expectFailure(connect(url));
      assert.match(error.message, /none was offered/);
    },
  );
});

test('a 101 without the Upgrade header fails the connection', async () => {
  await withRawServer(
    (request) =>
      `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAcceptKey(requestKey(request))}\r\n\r\n`,
    async (url) => {
      const { error, code } = await expectFailure(connect(url));
      assert.equal(code, 1006);
      assert.match(error.message, /lacks the Upgrade header/);
    },
  );
});

test('an extension that was not offered fails the connection', async () => {
  await withRawServer(
    (request) => accept(request, 'Sec-WebSocket-Extensions: x-custom\r\n'),
    async (url) => {
      const { error } = await expectFailure(connect(url, { perMessageDeflate: false }));
      assert.match(error.message, /extensions "x-custom" but none were offered/);
    },
  );
});

test('frames sent right behind the 101 in the same packet are delivered', async () => {
  await withRawServer(
    // Unmasked text frame "hi" glued to the head.
    (request) => accept(request) + '\x81\x02hi',
    async (url) => {
      const socket = connect(url, { perMessageDeflate: false });
      const [data, isBinary] = (await once(socket, 'message')) as [Buffer, boolean];
      assert.equal(data.toString(), 'hi');
      assert.equal(isBinary, false);
      socket.terminate();
      await nextEvent(socket, 'close');
    },
  );
});

test('a server that never answers hits handshakeTimeoutMs: error then close 1006', async () => {
  const server = await startRawServer(() => {});
  try {
    const started = Date.now();
    const { events, error, code } = await expectFailure(connect(server.url, { handshakeTimeoutMs: 200 }));
    const elapsed = Date.now() - started;
    assert.deepEqual(events, ['error', 'close']);
    assert.equal(code, 1006);
    assert.ok(error instanceof TimeoutError);
    assert.equal((error as TimeoutError).phase, 'handshake');
    assert.ok(elapsed >= 190 && elapsed < 5000, `timed out after ${elapsed} ms`);
  } finally {
    await server.close();
  }
});

test('a refused TCP connection fails with SW_CONNECT naming the address, the system error as cause', async () => {
  const server = await startRawServer(() => {});
  const url = server.url;
  await server.close();
  const { error, code } = await expectFailure(connect(url));
  assert.equal(code, 1006);
  assert.equal((error as NodeJS.ErrnoException).code, 'SW_CONNECT');
  assert.equal(error.message, `${new URL(url).host} refused the connection (ECONNREFUSED)`);
  assert.equal((error.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
});

test('close() while connecting fails the connection: error then close 1006, nothing opened', async () => {
  const server = await startRawServer(() => {});
  try {
    const socket = connect(server.url);
    const result = expectFailure(socket);
    socket.close();
    const { events, code } = await result;
    assert.deepEqual(events, ['error', 'close']);
    assert.equal(code, 1006);
  } finally {
    await server.close();
  }
});

test('invalid options and URLs throw at once with the option named', () => {
  assert.throws(() => connect('ws://127.0.0.1:1', { handshakeTimeoutMs: 0 }), /handshakeTimeoutMs/);
  assert.throws(() => connect('ws://127.0.0.1:1', { maxMessageBytes: -1 }), /maxMessageBytes/);
  assert.throws(() => connect('ws://127.0.0.1:1', { protocols: ['a b'] }), /protocols/);
  assert.throws(() => connect('ws://127.0.0.1:1', { headers: { 'X-A': 'a\r\nInjected: 1' } }), /headers/);
  assert.throws(() => connect('ws://127.0.0.1:1', { headers: { 'Sec-WebSocket-Key': 'x' } }), TypeError);
  assert.throws(() => connect('ftp://127.0.0.1:1'), /ws:, wss:, http: or https:/);
  assert.throws(() => connect('ws://127.0.0.1:1/#x'), /fragment/);
  assert.throws(() => connect('ws://127.0.0.1:1', { proxy: 'gopher://127.0.0.1:1' }), /option proxy: unsupported proxy scheme gopher/);
});

test('custom headers, origin and the request path reach the server', async () => {
  let seen: import('node:http').IncomingMessage | undefined;
  const peer = await startWsServer({}, (socket, request) => {
    seen = request;
    socket.close(1000);
  });
  try {
    const socket = connect(`${peer.url}/room/1?token=abc`, {
      headers: { Authorization: 'Bearer t0k3n' },
      origin: 'https://app.example',
    });
    socket.on('error', () => {});
    await nextEvent(socket, 'close');
    assert.equal(seen?.url, '/room/1?token=abc');
    assert.equal(seen?.headers.authorization, 'Bearer t0k3n');
    assert.equal(seen?.headers.origin, 'https://app.example');
  } finally {
    await peer.close();
  }
});

test('credentials in the URL are sent as Basic Authorization; an explicit header wins', async () => {
  const seen: Array<string | undefined> = [];
  const peer = await startWsServer({}, (socket, request) => {
    seen.push(request.headers.authorization);
    socket.close(1000);
  });
  try {
    const withCredentials = peer.url.replace('ws://', 'ws://al%20ice:s3cr%3At@');
    const first = connect(withCredentials);
    await nextEvent(first, 'close');
    const second = connect(withCredentials, { headers: { authorization: 'Bearer x' } });
    await nextEvent(second, 'close');
    assert.deepEqual(seen, [`Basic ${Buffer.from('al ice:s3cr:t').toString('base64')}`, 'Bearer x']);
  } finally {
    await peer.close();
  }
});

test('connects over IPv6 loopback with a bracketed host', async (t) => {
  const { WebSocketServer } = await import('ws');
  const server = new WebSocketServer({ host: '::1', port: 0 });
  const listening = await new Promise<boolean>((resolve) => {
    server.once('listening', () => resolve(true));
    server.once('error', () => resolve(false));
  });
  if (!listening) return t.skip('no IPv6 loopback on this machine');
  let host: string | undefined;
  server.on('connection', (socket, request) => {
    host = request.headers.host;
    socket.on('message', (data) => socket.send(data));
  });
  try {
    const { port } = server.address() as import('node:net').AddressInfo;
    const socket = connect(`ws://[::1]:${port}/`);
    await nextEvent(socket, 'open');
    socket.send('v6');
    const [data] = (await nextEvent(socket, 'message')) as [Buffer];
    assert.equal(data.toString(), 'v6');
    assert.equal(host, `[::1]:${port}`);
    socket.close();
    await nextEvent(socket, 'close');
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('an oversized or malformed response head fails the handshake without throwing', async () => {
  const cases: Array<[string, string, RegExp, Parameters<typeof connect>[1]]> = [
    ['garbage', 'hello there\r\n\r\n', /malformed handshake response/, {}],
    ['huge header', `HTTP/1.1 101 Switching Protocols\r\nX-Big: ${'a'.repeat(4096)}\r\n\r\n`, /./, { maxHeaderBytes: 1024 }],
    [
      'too many headers',
      `HTTP/1.1 101 Switching Protocols\r\n${'X-A: b\r\n'.repeat(20)}\r\n`,
      /./,
      { maxHeaderCount: 10 },
    ],
  ];
  for (const [name, answer, pattern, options] of cases) {
    await withRawServer(
      () => answer,
      async (url) => {
        const { events, error, code } = await expectFailure(connect(url, options));
        assert.deepEqual(events, ['error', 'close'], name);
        assert.equal(code, 1006, name);
        assert.ok(error instanceof HandshakeError, `${name}: ${error}`);
        assert.match(error.message, pattern, name);
      },
    );
  }
});

test('a server that closes the connection mid-response fails the handshake', async () => {
  const server = await startRawServer((socket) => socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: webs'));
  try {
    const { error, code } = await expectFailure(connect(server.url));
    assert.equal(code, 1006);
    assert.match(error.message, /closed before the handshake response was complete/);
  } finally {
    await server.close();
  }
});

test('closeTimeoutMs: a server that never answers our close frame is dropped, close 1006', async () => {
  await withRawServer(
    (request) => accept(request),
    async (url) => {
      const socket = connect(url, { closeTimeoutMs: 200, perMessageDeflate: false });
      const errors: Error[] = [];
      socket.on('error', (error: Error) => errors.push(error));
      await nextEvent(socket, 'open');
      const started = Date.now();
      socket.close(1000, 'bye');
      const [code] = (await nextEvent(socket, 'close')) as [number];
      const elapsed = Date.now() - started;
      assert.equal(code, 1006);
      assert.ok(elapsed >= 190 && elapsed < 5000, `closed after ${elapsed} ms`);
      assert.ok(errors.some((error) => error instanceof TimeoutError && error.phase === 'close'), String(errors));
    },
  );
});

test('malformed percent escapes in URL or proxy credentials are sent as written, never thrown', async () => {
  const peer = await startWsServer();
  const proxy = await startConnectProxy({ expectAuthorization: `Basic ${Buffer.from('us%zz:p%').toString('base64')}` });
  try {
    const proxyUrl = new URL(proxy.url);
    proxyUrl.username = 'us%zz';
    proxyUrl.password = 'p%';
    const socket = connect(peer.url.replace('ws://', 'ws://a%zz:b@'), { proxy: proxyUrl.href });
    socket.on('error', () => {});
    await nextEvent(socket, 'open');
    socket.close();
    await nextEvent(socket, 'close');
  } finally {
    await proxy.close();
    await peer.close();
  }
});

test('pause() before open holds the first frames until resume(); terminate() while connecting fails it', async () => {
  const peer = await startWsServer({}, (socket) => socket.send('welcome'));
  try {
    const socket = connect(peer.url);
    socket.pause();
    let got: string | undefined;
    socket.on('message', (data: Buffer) => (got = data.toString()));
    await nextEvent(socket, 'open');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(got, undefined, 'no message while paused');
    socket.resume();
    await nextEvent(socket, 'message');
    assert.equal(got, 'welcome');
    socket.close();
    await nextEvent(socket, 'close');

    const doomed = connect(peer.url);
    const result = expectFailure(doomed);
    doomed.terminate();
    const { events, code } = await result;
    assert.deepEqual(events, ['error', 'close']);
    assert.equal(code, 1006);
  } finally {
    await peer.close();
  }
});

test('invalid tls options throw from connect() and leave no timer behind', async () => {
  const { spawnSync } = await import('node:child_process');
  // In a child process: if a handshake timer survived the throw, the process would live 10 s.
  const script = `
    import { connect } from ${JSON.stringify(new URL('../../../src/node/socket/connect.ts', import.meta.url).href)};
    try { connect('wss://127.0.0.1:9/', { tls: { ca: 'not a certificate', cert: 'junk', key: 'junk' } }); console.log('no throw'); }
    catch (error) { console.log('threw', error.constructor.name); }
  `;
  const started = Date.now();
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.match(result.stdout, /threw/, result.stderr);
  assert.ok(Date.now() - started < 8000, `child lived ${Date.now() - started} ms`);
});

test('signal: aborting fails the handshake (error then close 1006); an aborted signal fails at once; no effect once open', async () => {
  const silent = await startRawServer(() => {});
  const peer = await startWsServer();
  try {
    const controller = new AbortController();
    const pending = expectFailure(connect(silent.url, { signal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    const { events, error, code } = await pending;
    assert.deepEqual(events, ['error', 'close']);
    assert.equal(code, 1006);
    assert.equal(error.name, 'AbortError');

    const early = expectFailure(connect(silent.url, { signal: AbortSignal.abort(new Error('gave up')) }));
    assert.equal((await early).error.message, 'gave up');

    const late = new AbortController();
    const socket = connect(peer.url, { signal: late.signal });
    await nextEvent(socket, 'open');
    late.abort();
    socket.send('still open');
    const [data] = (await nextEvent(socket, 'message')) as [Buffer];
    assert.equal(data.toString(), 'still open');
    socket.close();
    await nextEvent(socket, 'close');
    assert.throws(() => connect(peer.url, { signal: {} as AbortSignal }), /option signal/);
  } finally {
    await silent.close();
    await peer.close();
  }
});
