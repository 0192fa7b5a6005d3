/**
 * The WHATWG WebSocket against real servers: the `ws` library and
 * python3-websockets, with and without compression; and the handshake
 * failures a browser reports as `error` then `close` 1006.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from '../../src/web/websocket.js';
import type { CloseEvent, ErrorEvent } from '../../src/web/events.js';
import { computeAcceptKey } from '../../src/core/handshake/rules.js';
import {
  findPythonWithWebsockets,
  requestKey,
  startPythonServer,
  startRawServer,
  startWsServer,
  type Peer,
} from '../node/client-peers.js';

const SIZES = [0, 125, 126, 65535, 65536, 1024 * 1024];

function next<T extends Event = Event>(ws: WebSocket, type: string): Promise<T> {
  return new Promise((resolve) => ws.addEventListener(type, (event) => resolve(event as T), { once: true }));
}

async function opened(url: string, protocols?: string[], options?: { perMessageDeflate?: false }): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols, options);
  const result = await Promise.race([next(ws, 'open'), next<CloseEvent>(ws, 'close')]);
  if (result.type === 'close') throw new Error(`connection failed with ${(result as CloseEvent).code}`);
  return ws;
}

function peerSuite(name: string, start: () => Promise<Peer | { skip: string }>, isCompressed: boolean): void {
  describe(`WHATWG WebSocket against ${name}`, () => {
    let peer: Peer | undefined;
    let skip: string | undefined;
    before(async () => {
      const started = await start();
      if ('skip' in started) skip = started.skip;
      else peer = started;
    });
    after(async () => {
      await peer?.close();
    });

    test(`echoes text and binary (arraybuffer and blob) of ${SIZES.join(', ')} bytes`, async (t) => {
      if (skip) return t.skip(skip);
      const ws = await opened(peer!.url);
      assert.equal(/permessage-deflate/.test(ws.extensions), isCompressed);
      for (const size of SIZES) {
        const bytes = new Uint8Array(size);
        for (let i = 0; i < size; i++) bytes[i] = (i * 7 + 3) & 0xff;
        ws.binaryType = 'arraybuffer';
        let message = next<MessageEvent>(ws, 'message');
        ws.send(bytes);
        const buffer = (await message).data as ArrayBuffer;
        assert.ok(buffer instanceof ArrayBuffer);
        assert.ok(Buffer.from(buffer).equals(Buffer.from(bytes)), `arraybuffer ${size}`);

        ws.binaryType = 'blob';
        message = next<MessageEvent>(ws, 'message');
        ws.send(new Blob([bytes]));
        const blob = (await message).data as Blob;
        assert.ok(blob instanceof Blob);
        assert.equal(blob.size, size);
        assert.ok(Buffer.from(await blob.arrayBuffer()).equals(Buffer.from(bytes)), `blob ${size}`);

        const text = '\u00e9a\u20ac\ud83d\ude00'.repeat(Math.ceil(size / 9)).slice(0, size);
        message = next<MessageEvent>(ws, 'message');
        ws.send(text);
        assert.equal((await message).data, text, `text ${size}`);
      }
      assert.equal(ws.bufferedAmount, 0);
      const close = next<CloseEvent>(ws, 'close');
      ws.close(3001, 'bye');
      const event = await close;
      assert.deepEqual([event.wasClean, event.code, event.reason], [true, 3001, 'bye']);
    });

    test('selects the subprotocol and reports it in .protocol', async (t) => {
      if (skip) return t.skip(skip);
      const ws = await opened(peer!.url, ['nope', 'superchat']);
      assert.equal(ws.protocol, 'superchat');
      ws.close();
      assert.equal((await next<CloseEvent>(ws, 'close')).code, 1005);
    });

    test('server-initiated close reaches onclose with code, reason and wasClean', async (t) => {
      if (skip) return t.skip(skip);
      const ws = await opened(peer!.url);
      const order: string[] = [];
      ws.onerror = () => order.push('error');
      const close = new Promise<CloseEvent>((resolve) => {
        ws.onclose = (event) => {
          order.push('close');
          resolve(event);
        };
      });
      ws.send('close 4010 from server');
      const event = await close;
      assert.deepEqual([event.wasClean, event.code, event.reason], [true, 4010, 'from server']);
      assert.deepEqual(order, ['close']);
      assert.equal(ws.readyState, WebSocket.CLOSED);
    });
  });
}

const handleProtocols = (protocols: Set<string>): string | false => (protocols.has('superchat') ? 'superchat' : false);
peerSuite('ws', () => startWsServer({ handleProtocols }), false);
peerSuite('ws with permessage-deflate', () => startWsServer({ handleProtocols, perMessageDeflate: true }), true);
peerSuite('python3-websockets', async () => {
  const found = findPythonWithWebsockets();
  return 'skip' in found ? found : startPythonServer(found.python);
}, false);
peerSuite('python3-websockets with permessage-deflate', async () => {
  const found = findPythonWithWebsockets();
  return 'skip' in found ? found : startPythonServer(found.python, ['--deflate']);
}, true);

describe('WHATWG WebSocket handshake failures: error then close 1006, never open', () => {
  const cases: Array<[string, (request: string) => string, string[] | undefined, RegExp]> = [
    ['a 403 answer', () => 'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n', undefined, /server answered 403/],
    [
      'a wrong Sec-WebSocket-Accept',
      () =>
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${computeAcceptKey('AAAAAAAAAAAAAAAAAAAAAA==')}\r\n\r\n`,
      undefined,
      /Sec-WebSocket-Accept does not match/,
    ],
    [
      'an unoffered subprotocol',
      (request) =>
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${computeAcceptKey(requestKey(request))}\r\nSec-WebSocket-Protocol: other\r\n\r\n`,
      ['chat'],
      /subprotocol "other" that was not offered/,
    ],
    [
      'a missing Upgrade header',
      (request) =>
        'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${computeAcceptKey(requestKey(request))}\r\n\r\n`,
      undefined,
      /lacks the Upgrade header/,
    ],
  ];
  for (const [name, answer, protocols, pattern] of cases) {
    test(`${name}`, async () => {
      const server = await startRawServer((socket, request) => socket.write(answer(request), 'latin1'));
      try {
        const ws = new WebSocket(server.url, protocols);
        const log: string[] = [];
        ws.onopen = () => log.push('open');
        const error = next<ErrorEvent>(ws, 'error');
        ws.addEventListener('error', () => log.push(`error:${ws.readyState}`));
        const close = next<CloseEvent>(ws, 'close');
        ws.addEventListener('close', () => log.push(`close:${ws.readyState}`));
        assert.match((await error).message, pattern);
        const event = await close;
        assert.deepEqual([event.wasClean, event.code, event.reason], [false, 1006, '']);
        assert.deepEqual(log, ['error:3', 'close:3']);
      } finally {
        await server.close();
      }
    });
  }

  test('a server that never answers: the handshake timeout fails the connection', async () => {
    const server = await startRawServer(() => {});
    try {
      const ws = new WebSocket(server.url, [], { handshakeTimeoutMs: 150 });
      const error = next<ErrorEvent>(ws, 'error');
      const close = next<CloseEvent>(ws, 'close');
      assert.match((await error).message, /handshake timed out after 150 ms/);
      assert.equal((await close).code, 1006);
    } finally {
      await server.close();
    }
  });
});

describe('WHATWG WebSocket fails the connection on a server protocol error', () => {
  const frames: Array<[string, Buffer, number]> = [
    // RFC 6455 §5.1: a client must fail a masked frame from the server.
    ['a masked frame', Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x69 ^ 1, 0x6a ^ 2]), 1002],
    // §8.1: invalid UTF-8 in a text message is 1007.
    ['invalid UTF-8 text', Buffer.from([0x81, 0x02, 0xc3, 0x28]), 1007],
    // §5.2: RSV1 without a negotiated extension.
    ['RSV1 without an extension', Buffer.from([0xc1, 0x01, 0x61]), 1002],
  ];
  for (const [name, frame, expectedCloseCode] of frames) {
    test(`${name}: error then a close event that is not clean; the server gets ${expectedCloseCode}`, async () => {
      let serverGot: Buffer | undefined;
      const server = await startRawServer((socket, request) => {
        socket.on('data', (chunk: Buffer) => {
          serverGot ??= chunk;
          socket.end();
        });
        socket.write(
          'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            `Sec-WebSocket-Accept: ${computeAcceptKey(requestKey(request))}\r\n\r\n`,
        );
        socket.write(frame);
      });
      try {
        const ws = new WebSocket(server.url, [], { perMessageDeflate: false });
        const log: string[] = [];
        for (const type of ['open', 'message', 'error', 'close']) ws.addEventListener(type, () => log.push(type));
        const close = await next<CloseEvent>(ws, 'close');
        assert.deepEqual(log, ['open', 'error', 'close']);
        assert.equal(close.wasClean, false);
        // The server closed TCP without echoing our close frame: 1006, as browsers report after failing.
        assert.equal(close.code, 1006);
        // Our close frame, masked: 0x88, mask bit + length, 4 key bytes, then the code.
        assert.ok(serverGot && serverGot[0] === 0x88, 'a close frame was sent');
        const key = serverGot!.subarray(2, 6);
        const code = ((serverGot![6] ^ key[0]) << 8) | (serverGot![7] ^ key[1]);
        assert.equal(code, expectedCloseCode);
      } finally {
        await server.close();
      }
    });
  }
});

test('WHATWG WebSocket over wss: with the test CA in options.tls it opens; without, error then close 1006', async (t) => {
  const { makeSelfSignedCertificate, startSecureWsServer } = await import('../node/client-peers.js');
  const certificate = makeSelfSignedCertificate();
  if ('skip' in certificate) return t.skip(certificate.skip);
  const peer = await startSecureWsServer(certificate);
  try {
    const ws = new WebSocket(peer.url.replace('wss:', 'https:'), [], { tls: { ca: certificate.cert } });
    assert.equal(ws.url, peer.url + '/');
    await next(ws, 'open');
    const message = next<MessageEvent>(ws, 'message');
    ws.send('secure');
    assert.equal((await message).data, 'secure');
    ws.close();
    assert.equal((await next<CloseEvent>(ws, 'close')).wasClean, true);

    const untrusted = new WebSocket(peer.url);
    const error = next<ErrorEvent>(untrusted, 'error');
    const close = next<CloseEvent>(untrusted, 'close');
    assert.match((await error).message, /self[- ]signed|unable to verify/i);
    assert.equal((await close).code, 1006);
  } finally {
    await peer.close();
  }
});
