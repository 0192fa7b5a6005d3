/**
 * Issue 12, section 1: the `sockwave/ws` client where ws code relies on
 * Node's HTTP client (`agent`, `createConnection`, `finishRequest`, `auth`,
 * `ws+unix:`, `protocolVersion`) and on ws's listener semantics ('upgrade'
 * and 'open' listeners that throw or close). Real loopback peers: a `ws`
 * server, raw TCP servers, a Unix domain socket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer as PeerServer } from 'ws';
import WsStyle from '../../../src/ws.js';
import { HandshakeError } from '../../../src/core/errors.js';
import { nextEvent, startRawServer, startWsServer } from './peers.js';

/** Runs `body` with the next uncaught exception captured instead of failing the test run. */
async function catchingUncaught(body: (uncaught: Promise<Error>) => Promise<void>): Promise<void> {
  const listeners = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  let resolveUncaught!: (error: Error) => void;
  const uncaught = new Promise<Error>((resolve) => (resolveUncaught = resolve));
  process.once('uncaughtException', resolveUncaught);
  try {
    await body(uncaught);
  } finally {
    process.removeListener('uncaughtException', resolveUncaught);
    for (const listener of listeners) process.on('uncaughtException', listener);
  }
}

test('issue 12 (agent): the handshake goes through the given http.Agent, synchronously, with the handshake headers', () => {
  const requests: http.ClientRequest[] = [];
  class RecordingAgent extends http.Agent {
    addRequest(request: http.ClientRequest): void {
      requests.push(request);
    }
  }
  const agent = new RecordingAgent();
  const socket = new WsStyle('ws://user:p%40ss@example.com:8080/feed?x=1', ['chat'], {
    agent,
    origin: 'https://app.example',
    headers: { Cookie: 'a=1' },
  } as never);
  // ws calls http.request from the constructor: the agent has the request before it returns.
  assert.equal(requests.length, 1);
  const request = requests[0];
  assert.equal(request.path, '/feed?x=1');
  assert.equal(request.getHeader('host'), 'example.com:8080');
  assert.equal(request.getHeader('upgrade'), 'websocket');
  assert.equal(request.getHeader('sec-websocket-version'), 13);
  assert.equal(request.getHeader('sec-websocket-protocol'), 'chat');
  assert.equal(request.getHeader('sec-websocket-extensions'), 'permessage-deflate; client_max_window_bits');
  assert.equal(request.getHeader('origin'), 'https://app.example');
  assert.equal(request.getHeader('cookie'), 'a=1');
  assert.equal(request.getHeader('authorization'), `Basic ${Buffer.from('user:p@ss').toString('base64')}`);
  assert.equal(socket.readyState, WsStyle.CONNECTING);
  socket.on('error', () => {});
  socket.terminate();
});

test('issue 12 (auth, protocolVersion): the auth option becomes Basic credentials; version 8 sends Sec-WebSocket-Origin; other versions throw', () => {
  const requests: http.ClientRequest[] = [];
  const agent = new (class extends http.Agent {
    addRequest(request: http.ClientRequest): void {
      requests.push(request);
    }
  })();
  const a = new WsStyle('ws://localhost', { agent, auth: 'u:p' } as never);
  const b = new WsStyle('ws://localhost', { agent, origin: 'https://o.example', protocolVersion: 8 } as never);
  assert.equal(requests[0].getHeader('authorization'), `Basic ${Buffer.from('u:p').toString('base64')}`);
  assert.equal(requests[1].getHeader('sec-websocket-version'), 8);
  assert.equal(requests[1].getHeader('sec-websocket-origin'), 'https://o.example');
  assert.equal(requests[1].getHeader('origin'), undefined);
  assert.throws(() => new WsStyle('ws://localhost', { agent, protocolVersion: 1000 } as never), {
    name: 'RangeError',
    message: 'Unsupported protocol version: 1000 (supported versions: 8, 13)',
  });
  for (const socket of [a, b]) {
    socket.on('error', () => {});
    socket.terminate();
  }
});

test('issue 12 (createConnection, finishRequest): both hooks are honoured and the connection opens', async () => {
  const peer = await startWsServer({}, (socket, request) => {
    socket.send(String(request.headers.cookie));
  });
  try {
    const { port } = new URL(peer.url);
    const seen: string[] = [];
    // finishRequest runs inside the constructor (as in ws), before `socket` is assigned.
    const socket: InstanceType<typeof WsStyle> = new WsStyle('ws://unreachable.example:22/', {
      createConnection: (options: { host: string; port: string }) => {
        seen.push(`${options.host}:${options.port}`);
        return net.connect({ host: '127.0.0.1', port: Number(port) });
      },
      finishRequest: (request: http.ClientRequest, target: unknown) => {
        seen.push(target instanceof WsStyle && (target as { _req?: unknown })._req === request ? 'finishRequest(socket)' : 'finishRequest(?)');
        request.setHeader('Cookie', 'from=finishRequest');
        request.end();
      },
    } as never);
    const [data] = (await nextEvent(socket, 'message')) as [Buffer];
    assert.equal(String(data), 'from=finishRequest');
    assert.deepEqual(seen, ['unreachable.example:22', 'finishRequest(socket)']);
    assert.equal(socket.url, 'ws://unreachable.example:22/');
    socket.close();
    await nextEvent(socket, 'close');
  } finally {
    await peer.close();
  }
});

test('issue 12 (ws+unix): a ws+unix: URL connects over a Unix domain socket with the path after the colon', async (t) => {
  if (process.platform === 'win32') return t.skip('Unix domain sockets: not on Windows');
  const dir = mkdtempSync(join(tmpdir(), 'sockwave-ipc-'));
  const path = join(dir, 'ws.sock');
  const server = http.createServer();
  const wss = new PeerServer({ server });
  const requestPaths: string[] = [];
  wss.on('connection', (socket, request) => {
    requestPaths.push(request.url ?? '');
    socket.send('over ipc');
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  try {
    const socket = new WsStyle(`ws+unix:${path}:/chat?room=1`);
    const [data] = (await nextEvent(socket, 'message')) as [Buffer];
    assert.equal(String(data), 'over ipc');
    assert.deepEqual(requestPaths, ['/chat?room=1']);
    socket.close();
    await nextEvent(socket, 'close');
    assert.throws(() => new WsStyle('ws+unix:'), { name: 'SyntaxError', message: "The URL's pathname is empty" });
  } finally {
    wss.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  }
});

test("issue 12 (ws path): a non-101 answer fails with a HandshakeError carrying the status, or goes to an 'unexpected-response' listener", async () => {
  const server = await startRawServer((socket) => socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno'));
  try {
    const failing = new WsStyle(server.url);
    const errors: Error[] = [];
    failing.on('error', (error: Error) => errors.push(error));
    const [code] = (await nextEvent(failing, 'close')) as [number];
    assert.equal(code, 1006);
    assert.ok(errors[0] instanceof HandshakeError, String(errors[0]));
    assert.equal((errors[0] as HandshakeError).status, 403);

    const handled = new WsStyle(server.url);
    const [request, response] = (await nextEvent(handled, 'unexpected-response')) as [http.ClientRequest, http.IncomingMessage];
    assert.ok(request instanceof http.ClientRequest);
    assert.equal(response.statusCode, 403);
    handled.on('error', () => {});
    handled.terminate();
    await nextEvent(handled, 'close');
  } finally {
    await server.close();
  }
});

test('issue 12 (ws path): offering subprotocols and getting none fails, as in ws', async () => {
  const peer = await startWsServer({ handleProtocols: () => false });
  try {
    const socket = new WsStyle(peer.url, ['chat']);
    const errors: Error[] = [];
    socket.on('error', (error: Error) => errors.push(error));
    await nextEvent(socket, 'close');
    assert.match(errors[0]?.message ?? '', /no subprotocol/);
  } finally {
    await peer.close();
  }
});

for (const [name, make] of [
  ['sockwave/ws new WebSocket()', (url: string) => new WsStyle(url)],
  ['connect()', async (url: string) => (await import('../../../src/node/socket/connect.js')).connect(url)],
] as const) {
  for (const method of ['close', 'terminate'] as const) {
    test(`issue 12 (upgrade listener): ${method}() inside 'upgrade' aborts the connection: no 'open' (${name})`, async () => {
      const peer = await startWsServer();
      try {
        const socket = await make(peer.url);
        const events: string[] = [];
        socket.on('upgrade', () => {
          events.push('upgrade');
          socket[method]();
        });
        socket.on('open', () => events.push('open'));
        socket.on('error', (error: Error) => events.push(`error: ${error.message}`));
        const [code] = (await nextEvent(socket, 'close')) as [number];
        assert.equal(code, 1006);
        assert.deepEqual(events, ['upgrade', 'error: WebSocket was closed before the connection was established']);
      } finally {
        await peer.close();
      }
    });
  }

  test(`issue 12 (listener exceptions): an 'open' listener that throws surfaces and the connection goes on (${name})`, async () => {
    const peer = await startWsServer();
    try {
      await catchingUncaught(async (uncaught) => {
        const socket = await make(peer.url);
        socket.on('open', () => {
          throw new Error('boom in open');
        });
        assert.equal((await uncaught).message, 'boom in open');
        // Not stalled: the transport still reads, so an echo comes back and close completes.
        const echoed = nextEvent(socket, 'message');
        socket.send('still alive');
        assert.equal(String(((await echoed) as [Buffer])[0]), 'still alive');
        socket.close();
        const [code] = (await nextEvent(socket, 'close')) as [number];
        assert.equal(code, 1005);
      });
    } finally {
      await peer.close();
    }
  });

  test(`issue 12 (listener exceptions): an 'upgrade' listener that throws surfaces and the connection fails instead of hanging (${name})`, async () => {
    const peer = await startWsServer();
    try {
      await catchingUncaught(async (uncaught) => {
        const socket = await make(peer.url);
        socket.on('upgrade', () => {
          throw new Error('boom in upgrade');
        });
        const opened: string[] = [];
        socket.on('open', () => opened.push('open'));
        socket.on('error', () => {});
        const closed = nextEvent(socket, 'close');
        assert.equal((await uncaught).message, 'boom in upgrade');
        const [code] = (await closed) as [number];
        assert.equal(code, 1006);
        assert.deepEqual(opened, []);
      });
    } finally {
      await peer.close();
    }
  });
}

test('issue 12 (generateMask, closeTimeout): ws option names on sockwave/ws: the mask comes from generateMask, closeTimeout is taken as closeTimeoutMs', async () => {
  const masks: string[] = [];
  const peer = await startWsServer({}, (socket) => {
    const raw = (socket as unknown as { _socket: net.Socket })._socket;
    raw.prependListener('data', (chunk: Buffer) => {
      // A short masked client frame: the key is bytes 2..5.
      if ((chunk[1] & 0x80) !== 0) masks.push(chunk.subarray(2, 6).toString('hex'));
    });
    socket.on('message', () => socket.send('got it'));
  });
  try {
    const socket = new WsStyle(peer.url, { generateMask: (mask: Buffer) => mask.fill(7), closeTimeout: 1234 } as never);
    await nextEvent(socket, 'open');
    socket.send('x');
    await nextEvent(socket, 'message');
    assert.deepEqual(masks, ['07070707']);
    socket.close();
    await nextEvent(socket, 'close');
  } finally {
    await peer.close();
  }
});
