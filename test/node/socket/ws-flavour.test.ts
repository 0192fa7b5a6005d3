/**
 * Issue 12, section 1: what 'sockwave/ws' does as ws does (autoPong, the
 * server's WebSocket class, messages after close(), WS_ERR_* errors, Blobs,
 * compressed messages just before the peer's FIN). Real loopback sockets;
 * the peer is the `ws` package or a raw TCP server writing exact bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, openAsBlob, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WS from 'ws';
import WsStyle, { WebSocketServer as WsStyleServer, createWebSocketStream } from '../../../src/ws.js';
import { NodeWebSocket } from '../../../src/node/socket/websocket.js';
import { HandshakeError, ProtocolError } from '../../../src/core/errors.js';
import { nextEvent, startRawServer, startWsServer } from '../client/peers.js';
import { delay, rawExchange, startServer, upgradeRequest, within } from '../server/helpers.js';

async function wsStyleServer(options: object = {}): Promise<{ wss: InstanceType<typeof WsStyleServer>; url: string }> {
  const wss = new WsStyleServer({ port: 0, host: '127.0.0.1', ...options });
  await once(wss, 'listening');
  return { wss, url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}` };
}

test('autoPong: false on the client: pings are reported, not answered', async () => {
  let pongs = 0;
  const peer = await startWsServer({}, (socket) => {
    socket.on('pong', () => pongs++);
    socket.ping('are you there');
    setTimeout(() => socket.close(), 200);
  });
  try {
    const client = new WsStyle(peer.url, { autoPong: false } as never);
    const [data] = await within(nextEvent(client, 'ping'), 5000, 'the ping');
    assert.equal(String(data), 'are you there');
    await within(nextEvent(client, 'close'), 5000, 'the close');
    assert.equal(pongs, 0);
  } finally {
    await peer.close();
  }
});

test('autoPong: false on the server: the app answers with pong() itself', async () => {
  const { wss, url } = await wsStyleServer({ autoPong: false });
  wss.on('connection', (socket) => socket.on('ping', () => socket.pong('by hand')));
  try {
    const client = new WS(url);
    await once(client, 'open');
    client.ping('first');
    const [data] = await within(once(client, 'pong'), 5000, 'the pong');
    assert.equal(String(data), 'by hand');
    client.close();
    await once(client, 'close');
  } finally {
    await wss.close();
  }
});

test("the server's WebSocket option: connections are instances of the given subclass", async () => {
  class Custom extends WsStyle {
    get kind(): string {
      return 'custom';
    }
  }
  const { wss, url } = await wsStyleServer({ WebSocket: Custom });
  try {
    const connection = once(wss, 'connection');
    const client = new WS(url);
    const [socket] = (await within(connection)) as [Custom];
    await once(client, 'open');
    assert.ok(socket instanceof Custom);
    assert.equal(socket.kind, 'custom');
    client.close();
    await once(client, 'close');
    assert.throws(() => new WsStyleServer({ noServer: true, WebSocket: Map as never }), /option WebSocket must be a subclass of WebSocket/);
  } finally {
    await wss.close();
  }
});

test("sockwave/ws's server hands out sockwave/ws sockets (also NodeWebSockets)", async () => {
  const { wss, url } = await wsStyleServer();
  try {
    const connection = once(wss, 'connection');
    const client = new WS(url);
    const [socket] = await within(connection);
    await once(client, 'open');
    assert.ok(socket instanceof WsStyle);
    assert.ok(socket instanceof NodeWebSocket);
    client.close();
    await once(client, 'close');
  } finally {
    await wss.close();
  }
});

/** A ws server that echoes every message: the echo arrives after the client's close(). */
async function echoAfterClose(client: NodeWebSocket): Promise<string[]> {
  const received: string[] = [];
  client.on('message', (data: Buffer) => received.push(String(data)));
  await nextEvent(client, 'open');
  client.send('one');
  client.send('two');
  client.close();
  await within(nextEvent(client, 'close'), 5000, 'the close');
  return received;
}

test('messages arriving after close() are delivered on sockwave/ws, discarded on sockwave (as a browser does)', async () => {
  const peer = await startWsServer({}, (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
  try {
    assert.deepEqual(await echoAfterClose(new WsStyle(peer.url)), ['one', 'two']);
    assert.deepEqual(await echoAfterClose(new NodeWebSocket(peer.url)), []);
  } finally {
    await peer.close();
  }
});

test("protocol errors on sockwave/ws carry ws's class, WS_ERR_* code and text; sockwave's error is the cause", async () => {
  // A server that completes the handshake, then sends a frame with the reserved opcode 5.
  const peer = await startRawServer((socket, request) => {
    const key = /sec-websocket-key: *(\S+)/i.exec(request)?.[1] ?? '';
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.write(Buffer.from([0x85, 0x00]));
  });
  try {
    const client = new WsStyle(peer.url);
    const [error] = (await within(nextEvent(client, 'error'), 5000, 'the error')) as [Error & { code: string; closeCode: number }];
    assert.ok(error instanceof RangeError);
    assert.equal(error.code, 'WS_ERR_INVALID_OPCODE');
    assert.equal(error.message, 'Invalid WebSocket frame: invalid opcode 5');
    assert.equal(error.closeCode, 1002);
    assert.ok(error.cause instanceof ProtocolError);
    const plain = new NodeWebSocket(peer.url);
    const [plainError] = (await within(nextEvent(plain, 'error'), 5000, 'the error')) as [Error & { code: string }];
    assert.ok(plainError instanceof ProtocolError);
    assert.equal(plainError.code, 'SW_PROTOCOL');
  } finally {
    await peer.close();
  }
});

test('compressed messages that arrive just before the peer closes TCP are delivered before close', async () => {
  const peer = await startWsServer({ perMessageDeflate: { threshold: 0 } }, (socket) => {
    for (const word of ['foo', 'bar', 'baz']) socket.send(word);
    socket.send('qux', () => (socket as unknown as { _socket: import('node:net').Socket })._socket.end());
  });
  try {
    for (const Class of [WsStyle, NodeWebSocket]) {
      const client = new Class(peer.url, { perMessageDeflate: { threshold: 0 } } as never);
      const received: string[] = [];
      client.on('message', (data: Buffer) => received.push(String(data)));
      const [code] = await within(nextEvent(client, 'close'), 5000, 'the close');
      assert.equal(code, 1006);
      assert.deepEqual(received, ['foo', 'bar', 'baz', 'qux'], Class.name);
    }
  } finally {
    await peer.close();
  }
});

test('send(blob): Blobs and later sends arrive in call order; close() waits for them; binaryType "blob"', async () => {
  const peer = await startWsServer({}, (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
  try {
    const client = new WsStyle(peer.url);
    client.binaryType = 'blob';
    const received: unknown[] = [];
    client.on('message', (data: unknown) => received.push(data));
    await nextEvent(client, 'open');
    const sent: Array<Error | null | undefined> = [];
    client.send(new Blob([new Uint8Array(64 * 1024).fill(7)]), (error) => sent.push(error));
    client.send('text in between');
    client.send(new Blob(['last']));
    client.close();
    await within(nextEvent(client, 'close'), 5000, 'the close');
    assert.equal(sent.length, 1);
    assert.ok(sent[0] == null, String(sent[0]));
    assert.equal(received.length, 3);
    assert.ok(received[0] instanceof Blob);
    assert.equal((received[0] as Blob).size, 64 * 1024);
    assert.equal(String(received[1]), 'text in between', 'text stays a Buffer whatever binaryType says');
    assert.equal(await (received[2] as Blob).text(), 'last');
  } finally {
    await peer.close();
  }
});

test('terminate() while a Blob is read: its callback and the ones queued behind it get an error at once', async () => {
  const peer = await startWsServer();
  try {
    const client = new WsStyle(peer.url);
    await nextEvent(client, 'open');
    const errors: string[] = [];
    client.send(new Blob(['foo']), (error) => errors.push(`${client.readyState}:${error?.message}`));
    client.send('bar', (error) => errors.push(`${client.readyState}:${error?.message}`));
    client.terminate();
    assert.deepEqual(errors, [
      '2:The socket was closed while the blob was being read',
      '2:The socket was closed while the blob was being read',
    ]);
    await within(nextEvent(client, 'close'), 5000, 'the close');
  } finally {
    await peer.close();
  }
});

test('a Blob that cannot be read fails the connection with NotReadableError', async () => {
  const directory = mkdtempSync(join(tmpdir(), 'sockwave-blob-'));
  const file = join(directory, 'data.txt');
  writeFileSync(file, 'x'.repeat(64));
  const blob = await openAsBlob(file);
  // The file changed after the Blob was made: reading it fails.
  await delay(20);
  writeFileSync(file, 'y'.repeat(32));
  const peer = await startWsServer();
  try {
    const client = new WsStyle(peer.url);
    await nextEvent(client, 'open');
    const callbackErrors: unknown[] = [];
    client.send(blob, (error) => callbackErrors.push(error));
    const [error] = (await within(nextEvent(client, 'error'), 5000, 'the error')) as [DOMException];
    assert.equal(error.name, 'NotReadableError');
    assert.equal(error.message, 'The blob could not be read');
    assert.equal(callbackErrors[0], error);
    const [code] = await within(nextEvent(client, 'close'), 5000, 'the close');
    assert.equal(code, 1006);
  } finally {
    await peer.close();
    rmSync(directory, { recursive: true, force: true });
  }
});

test("a sockwave/ws server refuses a bad upgrade with ws's text, also as the body; sockwave's server keeps its own", async () => {
  const { wss, url } = await wsStyleServer();
  const port = Number(new URL(url).port);
  const plain = await startServer();
  const request = upgradeRequest({ 'Sec-WebSocket-Key': 'not a key' });
  try {
    const answer = await rawExchange(port, request);
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.ok(answer.endsWith('\r\n\r\nMissing or invalid Sec-WebSocket-Key header'), answer);
    const plainAnswer = await rawExchange(plain.port, request);
    assert.match(plainAnswer, /^HTTP\/1\.1 400 /);
    assert.ok(!plainAnswer.includes('Missing or invalid'), plainAnswer);
  } finally {
    await wss.close();
    await plain.wss.close();
  }
});

test("a failed opening handshake on sockwave/ws reports ws's text; sockwave's error is the cause", async () => {
  const peer = await startRawServer((socket) => socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n'));
  try {
    const client = new WsStyle(peer.url);
    client.on('unexpected-response', () => assert.fail('no listener was expected to be needed'));
    client.removeAllListeners('unexpected-response');
    const [error] = (await within(nextEvent(client, 'error'), 5000, 'the error')) as [Error & { status?: number }];
    assert.equal(error.message, 'Unexpected server response: 401');
    assert.ok(error instanceof HandshakeError);
    assert.equal(error.status, 401);
    assert.match(String((error.cause as Error).message), /server answered 401/);
  } finally {
    await peer.close();
  }
});

test("sockwave/ws throws ws's argument errors", async () => {
  assert.throws(() => new WsStyle('foo'), (error: Error) => error instanceof SyntaxError && error.message === 'Invalid URL: foo');
  assert.throws(() => new WsStyle('ftp://localhost'), /must be one of "ws:", "wss:", "http:", "https:", or "ws\+unix:"/);
  for (const protocols of [null, '', 'a,b', ['a', 'a']]) {
    assert.throws(() => new WsStyle('ws://127.0.0.1:1', protocols as never), /^SyntaxError: An invalid or duplicated subprotocol was specified$/);
  }
  for (const options of [undefined, {}, { port: 0, noServer: true }]) {
    assert.throws(() => new WsStyleServer(options as never), /^TypeError: One and only one of the "port", "server", or "noServer" options must be specified$/);
  }
  assert.throws(() => new WsStyleServer({ noServer: true }).address(), /^Error: The server is operating in "noServer" mode$/);
  const peer = await startWsServer();
  try {
    const client = new WsStyle(peer.url);
    client.pause();
    assert.equal(client.isPaused, false, 'pause() while CONNECTING does nothing on sockwave/ws, as in ws');
    assert.throws(() => client.send('early'), /^Error: WebSocket is not open: readyState 0 \(CONNECTING\)$/);
    assert.throws(() => client.ping(), /^Error: WebSocket is not open: readyState 0 \(CONNECTING\)$/);
    await nextEvent(client, 'open');
    assert.throws(() => client.ping(Buffer.alloc(126)), /^RangeError: The data size must not be greater than 125 bytes$/);
    client.close();
    await nextEvent(client, 'close');
    const late = await new Promise<Error | null | undefined>((resolve) => client.send('late', resolve));
    assert.equal(late?.message, 'WebSocket is not open: readyState 3 (CLOSED)');
  } finally {
    await peer.close();
  }
});

test('createWebSocketStream: a socket failing on a protocol error still sends its close frame (1002)', async () => {
  const { wss, url } = await wsStyleServer();
  const serverClose = new Promise<number>((resolve) => {
    wss.on('connection', (socket) => {
      socket.on('close', (code: number) => resolve(code));
      (socket as unknown as { _socket: import('node:net').Socket })._socket.write(Buffer.from([0x85, 0x00]));
    });
  });
  try {
    const duplex = createWebSocketStream(new WsStyle(url));
    const [error] = (await within(once(duplex, 'error'), 5000, 'the error')) as [Error & { code?: string }];
    assert.equal(error.code, 'WS_ERR_INVALID_OPCODE');
    assert.equal(await within(serverClose, 5000, 'the server seeing the close'), 1002);
  } finally {
    await wss.close();
  }
});

test('sockwave/ws: bufferedAmount leaves out the close frame once close() returned, and counts data given after close (as ws does)', async () => {
  const { wss, url } = await wsStyleServer();
  const checked = new Promise<void>((resolve, reject) => {
    wss.on('connection', (socket) => {
      try {
        socket.close();
        assert.equal(socket.bufferedAmount, 0);
        socket.ping('hi', (error?: Error | null) => {
          try {
            assert.equal(error?.message, 'WebSocket is not open: readyState 2 (CLOSING)');
            assert.equal(socket.bufferedAmount, 2);
            socket.send('abc');
            assert.equal(socket.bufferedAmount, 5);
            resolve();
          } catch (failure) {
            reject(failure as Error);
          }
        });
      } catch (failure) {
        reject(failure as Error);
      }
    });
  });
  try {
    const client = new WS(url);
    client.on('error', () => {});
    await within(checked, 5000, 'the checks');
    if (client.readyState !== WS.CLOSED) await once(client, 'close');
  } finally {
    await wss.close();
  }
});
