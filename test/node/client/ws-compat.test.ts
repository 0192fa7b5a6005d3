/**
 * The client through the package's entry points: the root exports
 * (WHATWG WebSocket, connect, NodeWebSocket) and the ws-style constructor
 * `new WebSocket(url, protocols, options)` from 'sockwave/ws'.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as root from '../../../src/index.js';
import WsStyle from '../../../src/ws.js';
import { MessageTooLargeError } from '../../../src/core/errors.js';
import { nextEvent, startWsServer } from './peers.js';

test('the package root exports the WHATWG class, its events and connect()', () => {
  assert.equal(typeof root.WebSocket, 'function');
  assert.equal(root.WebSocket.OPEN, 1);
  assert.ok(new root.CloseEvent('close') instanceof Event);
  assert.ok(new root.ErrorEvent('error') instanceof Event);
  // A subclass of the platform's MessageEvent that adds the class string Node 20 lacks (issue 12).
  assert.equal(Object.getPrototypeOf(root.MessageEvent), globalThis.MessageEvent);
  assert.ok(new root.MessageEvent('message') instanceof globalThis.MessageEvent);
  assert.equal(typeof root.connect, 'function');
  assert.notEqual(root.WebSocket as unknown, root.NodeWebSocket as unknown);
});

test('ws-style new WebSocket(url, protocols, options) connects like ws does', async () => {
  const peer = await startWsServer({ handleProtocols: (protocols) => (protocols.has('chat') ? 'chat' : false) });
  try {
    const socket = new WsStyle(peer.url, ['chat'], { perMessageDeflate: false });
    assert.equal(socket.readyState, WsStyle.CONNECTING);
    assert.equal(socket.url, peer.url + '/');
    await nextEvent(socket, 'open');
    assert.equal(socket.protocol, 'chat');
    const echoed = nextEvent(socket, 'message');
    socket.send(Buffer.from([1, 2, 3]));
    const [data, isBinary] = (await echoed) as [Buffer, boolean];
    assert.deepEqual([...data], [1, 2, 3]);
    assert.equal(isBinary, true);
    socket.close(4000, 'bye');
    const [code, reason] = (await nextEvent(socket, 'close')) as [number, Buffer];
    assert.equal(code, 4000);
    assert.equal(reason.toString(), 'bye');
  } finally {
    await peer.close();
  }
});

test('connect() sockets have the ws send callback and DOM-style listeners', async () => {
  const peer = await startWsServer();
  try {
    const socket = root.connect(peer.url);
    const opened = new Promise<void>((resolve) => socket.addEventListener('open', () => resolve()));
    await opened;
    await new Promise<void>((resolve, reject) => socket.send('with callback', (error) => (error ? reject(error) : resolve())));
    const message = await new Promise<unknown>((resolve) => socket.addEventListener('message', (event) => resolve(event.data)));
    assert.equal(String(message), 'with callback');
    socket.close();
    await nextEvent(socket, 'close');
    await new Promise<void>((resolve) =>
      socket.send('after close', (error) => {
        assert.ok(error instanceof Error);
        resolve();
      }),
    );
  } finally {
    await peer.close();
  }
});

test("'upgrade' is emitted before 'open' with the 101 status and headers (set-cookie as an array)", async () => {
  const peer = await startWsServer();
  peer.server.on('headers', (headers) => {
    headers.push('Set-Cookie: a=1', 'Set-Cookie: b=2', 'X-Server: test');
  });
  try {
    const socket = root.connect(peer.url);
    const order: string[] = [];
    let response: root.UpgradeResponse | undefined;
    socket.on('upgrade', (r: root.UpgradeResponse) => {
      order.push('upgrade');
      response = r;
    });
    socket.on('open', () => order.push('open'));
    await nextEvent(socket, 'open');
    assert.deepEqual(order, ['upgrade', 'open']);
    assert.equal(response?.statusCode, 101);
    assert.deepEqual(response?.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(response?.headers['x-server'], 'test');
    assert.equal(response?.headers.upgrade, 'websocket');
    socket.close();
    await nextEvent(socket, 'close');
  } finally {
    await peer.close();
  }
});

test('ws-style options: top-level TLS keys, maxPayload, handshakeTimeout, options in place of protocols', async (t) => {
  const { makeSelfSignedCertificate, startSecureWsServer, startRawServer } = await import('./peers.js');
  const certificate = makeSelfSignedCertificate();
  if ('skip' in certificate) return t.skip(certificate.skip);
  const secure = await startSecureWsServer(certificate);
  const silent = await startRawServer(() => {});
  try {
    // { ca } at the top level, as ws spreads it into tls.connect; options as the second argument.
    const trusted = new WsStyle(secure.url, { ca: certificate.cert, perMessageDeflate: false } as never);
    await nextEvent(trusted, 'open');
    // maxPayload: a 2 KiB echo exceeds 1 KiB and the client fails it with 1009.
    trusted.close();
    await nextEvent(trusted, 'close');
    const limited = new WsStyle(secure.url, [], { rejectUnauthorized: false, maxPayload: 1024 } as never);
    const limitErrors: Error[] = [];
    limited.on('error', (error: Error) => limitErrors.push(error));
    await nextEvent(limited, 'open');
    limited.send(Buffer.alloc(2048));
    await nextEvent(limited, 'close');
    // sockwave/ws reports ws's error (RangeError, WS_ERR_* code and text); sockwave's is its cause.
    const limitError = limitErrors[0] as Error & { code?: string; closeCode?: number };
    assert.ok(limitError instanceof RangeError, String(limitError));
    assert.equal(limitError.code, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
    assert.equal(limitError.message, 'Max payload size exceeded');
    assert.equal(limitError.closeCode, 1009);
    assert.ok(limitError.cause instanceof MessageTooLargeError, String(limitError.cause));
    assert.equal(limitError.cause.limit, 1024);
    // handshakeTimeout in ms, as ws names it.
    const slow = new WsStyle(silent.url, { handshakeTimeout: 100 } as never);
    const errors: Error[] = [];
    slow.on('error', (error: Error) => errors.push(error));
    await nextEvent(slow, 'close');
    // ws's text on sockwave/ws; sockwave's TimeoutError is the cause.
    assert.equal(errors[0]?.message, 'Opening handshake has timed out');
    assert.match(String((errors[0]?.cause as Error | undefined)?.message), /handshake timed out after 100 ms/);
  } finally {
    await secure.close();
    await silent.close();
  }
});

test('new NodeWebSocket(url) connects when only the class module is imported (no side-effect import registers the client)', async () => {
  const peer = await startWsServer();
  try {
    const { spawn } = await import('node:child_process');
    // A fresh process that loads socket/websocket.ts and nothing else of sockwave.
    const script = `
      import { NodeWebSocket } from ${JSON.stringify(new URL('../../../src/node/socket/websocket.ts', import.meta.url).href)};
      const socket = new NodeWebSocket(${JSON.stringify(peer.url)});
      socket.on('open', () => socket.send('ping me'));
      socket.on('message', (data) => { console.log('echo ' + data); socket.close(); });
      socket.on('error', (error) => console.log('error ' + error.message));
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill(), 20_000);
    const [code] = (await nextEvent(child, 'exit')) as [number | null];
    clearTimeout(timer);
    assert.equal(stdout.trim(), 'echo ping me', stderr);
    assert.equal(code, 0);
  } finally {
    await peer.close();
  }
});
