/**
 * WebSockets over HTTP/2 (RFC 8441) on the server, against a node:http2
 * client written here that sends extended CONNECT by hand: the setting, the
 * 200, frames both ways, many sockets on one session, closing one stream,
 * reset streams and dying sessions (1006), refusals with the right status,
 * deflate, HTTP/1.1 on the same port (allowHTTP1), graceful shutdown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import zlib from 'node:zlib';
import { once } from 'node:events';
import WS from 'ws';
import type { NodeWebSocket } from '../../../src/node/socket/websocket.js';
import { WebSocketServer } from '../../../src/node/server/server.js';
import type { Http2UpgradeRequest } from '../../../src/node/server/server.js';
import { closeEvent, within } from './helpers.js';
import { connectSession, extendedConnect, frameReader, makeCertificate, maskedFrame, startH2Server, type Credentials } from './h2-helpers.js';

const credentials = makeCertificate();
const skip = typeof credentials === 'string' ? credentials : false;
const creds = credentials as Credentials;

function echo(ws: NodeWebSocket): void {
  ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(isBinary ? data : `echo:${data}`));
}

test('an http2 server advertises extended CONNECT and a CONNECT :protocol websocket stream echoes frames', { skip }, async () => {
  const fx = await startH2Server(creds);
  // An app 'request' handler makes Node answer CONNECT with 405 by itself (nodejs/node#36977).
  fx.server.on('request', (_req, res) => res.end('page'));
  let request: Http2UpgradeRequest | undefined;
  fx.wss.on('connection', (ws: NodeWebSocket, req: unknown) => {
    request = req as Http2UpgradeRequest;
    echo(ws);
  });
  const session = await connectSession(fx, creds);
  try {
    assert.equal(session.remoteSettings.enableConnectProtocol, true);
    const { stream, response } = await extendedConnect(session, { ':path': '/chat?room=1', origin: 'https://localhost' });
    assert.equal(Number(response[':status']), 200);
    assert.equal(response['sec-websocket-accept'], undefined);
    assert.equal(request?.url, '/chat?room=1');
    assert.equal(request?.httpVersion, '2.0');
    assert.equal(request?.headers.origin, 'https://localhost');
    assert.equal(typeof request?.socket.remoteAddress, 'string');
    const frames = frameReader(stream);
    stream.write(maskedFrame(0x1, 'hello'));
    const reply = await frames.next();
    assert.equal(reply.opcode, 0x1);
    assert.equal(reply.payload.toString(), 'echo:hello');
    // The page still works on the same session.
    const page = session.request({ ':path': '/' });
    page.setEncoding('utf8');
    let body = '';
    page.on('data', (chunk: string) => (body += chunk));
    await within(once(page, 'end'));
    assert.equal(body, 'page');
    // A close frame is echoed and the stream ends; the session lives on.
    const code = Buffer.alloc(2);
    code.writeUInt16BE(1000);
    stream.write(maskedFrame(0x8, code));
    const closeFrame = await frames.next();
    assert.equal(closeFrame.opcode, 0x8);
    assert.equal(closeFrame.payload.readUInt16BE(0), 1000);
    stream.end();
    await within(once(stream, 'close'));
    assert.equal(session.closed, false);
    assert.equal(fx.connections(), 1);
  } finally {
    session.close();
    await fx.stop();
  }
});

test('two hundred sockets share one session; closing one ends only its stream', { skip }, async () => {
  const fx = await startH2Server(creds);
  const serverSockets: NodeWebSocket[] = [];
  fx.wss.on('connection', (ws: NodeWebSocket) => {
    serverSockets.push(ws);
    echo(ws);
  });
  const session = await connectSession(fx, creds);
  try {
    const opened = await Promise.all(Array.from({ length: 200 }, () => extendedConnect(session)));
    assert.ok(opened.every((o) => Number(o.response[':status']) === 200));
    assert.equal(fx.wss.clients.size, 200);
    assert.equal(fx.connections(), 1);
    const readers = opened.map((o) => frameReader(o.stream));
    opened.forEach((o, i) => o.stream.write(maskedFrame(0x1, `m${i}`)));
    const replies = await Promise.all(readers.map((r) => r.next()));
    replies.forEach((frame, i) => assert.equal(frame.payload.toString(), `echo:m${i}`));
    // The server closes socket 0 with 4000: a close frame on its stream only.
    const first = serverSockets[0];
    const closed = closeEvent(first);
    first.close(4000, 'bye');
    const closeFrame = await readers[0].next();
    assert.equal(closeFrame.opcode, 0x8);
    assert.equal(closeFrame.payload.readUInt16BE(0), 4000);
    opened[0].stream.write(maskedFrame(0x8, closeFrame.payload.subarray(0, 2)));
    opened[0].stream.end();
    const [code] = await within(closed);
    assert.equal(code, 4000);
    // Socket 1 still works, on the same session.
    opened[1].stream.write(maskedFrame(0x1, 'still'));
    assert.equal((await readers[1].next()).payload.toString(), 'echo:still');
    assert.equal(fx.wss.clients.size, 199);
  } finally {
    session.destroy();
    await fx.stop();
  }
});

test('a stream reset mid-message and a dying session close the sockets with 1006', { skip }, async () => {
  const fx = await startH2Server(creds);
  const serverSockets: NodeWebSocket[] = [];
  fx.wss.on('connection', (ws: NodeWebSocket) => serverSockets.push(ws));
  const session = await connectSession(fx, creds);
  const [a, b] = await Promise.all([extendedConnect(session), extendedConnect(session)]);
  assert.equal(serverSockets.length, 2);
  const closedA = closeEvent(serverSockets[0]);
  const closedB = closeEvent(serverSockets[1]);
  // Half of a 200-byte frame, then RST_STREAM.
  a.stream.write(maskedFrame(0x2, Buffer.alloc(200, 7)).subarray(0, 100));
  await new Promise((resolve) => setTimeout(resolve, 20));
  a.stream.close(http2.constants.NGHTTP2_CANCEL);
  const [codeA] = await within(closedA);
  assert.equal(codeA, 1006);
  assert.equal(b.stream.destroyed, false);
  session.destroy();
  const [codeB] = await within(closedB);
  assert.equal(codeB, 1006);
  await fx.stop();
});

test('bad extended CONNECT requests get the RFC answer on their stream', { skip }, async () => {
  const fx = await startH2Server(creds, {
    path: '/ws',
    allowedOrigins: ['https://good.example'],
    verify: async (info) => (info.request.headers['x-token'] === 'ok' ? true : { accept: false, status: 401 }),
  });
  fx.server.on('request', (_req, res) => res.end('page'));
  fx.wss.on('connection', (ws: NodeWebSocket) => echo(ws));
  const session = await connectSession(fx, creds);
  const good = { ':path': '/ws', origin: 'https://good.example', 'x-token': 'ok' };
  try {
    const cases: [string, Record<string, string | null>, number, Record<string, string>?][] = [
      ['wrong version', { ...good, 'sec-websocket-version': '8' }, 400, { 'sec-websocket-version': '13' }],
      ['missing version', { ...good, 'sec-websocket-version': null }, 400, { 'sec-websocket-version': '13' }],
      ['other :protocol', { ...good, ':protocol': 'chat' }, 400],
      ['duplicate subprotocol', { ...good, 'sec-websocket-protocol': 'a, a' }, 400],
      ['unexpected path', { ...good, ':path': '/other' }, 400],
      ['foreign origin', { ...good, origin: 'https://evil.example' }, 403],
      ['no token', { ...good, 'x-token': 'no' }, 401],
    ];
    for (const [name, headers, status, expected] of cases) {
      const { stream, response } = await extendedConnect(session, headers);
      assert.equal(Number(response[':status']), status, name);
      for (const [field, value] of Object.entries(expected ?? {})) assert.equal(response[field], value, `${name}: ${field}`);
      // The server resets the stream after its answer (RFC 9113 §8.1): no need to end our side.
      stream.resume();
      await within(once(stream, 'close'), 5000, name);
    }
    // A plain CONNECT (no :protocol) is a tunnel request this server does not serve.
    const { response: plain } = await extendedConnect(session, { ':method': 'CONNECT', ':authority': `localhost:${fx.port}` }, { omitDefaults: true });
    assert.equal(Number(plain[':status']), 405);
    // The session survived every refusal and still opens a good socket.
    const { stream, response } = await extendedConnect(session, good);
    assert.equal(Number(response[':status']), 200);
    const frames = frameReader(stream);
    stream.write(maskedFrame(0x1, 'ok'));
    assert.equal((await frames.next()).payload.toString(), 'echo:ok');
    assert.equal(fx.connections(), 1);
  } finally {
    session.destroy();
    await fx.stop();
  }
});

test('a verify hook that never settles hits the handshake timeout: the stream is reset, the session lives', { skip }, async () => {
  const fx = await startH2Server(creds, { handshakeTimeoutMs: 100, verify: () => new Promise(() => {}) });
  const session = await connectSession(fx, creds);
  try {
    const stream = session.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'https', ':path': '/', 'sec-websocket-version': '13' }, { endStream: false });
    stream.on('error', () => {});
    await within(once(stream, 'close'), 2000, 'stream reset');
    assert.equal(stream.rstCode, http2.constants.NGHTTP2_CANCEL);
    assert.equal(session.destroyed, false);
    assert.equal(fx.wss.stats().pendingHandshakes ?? 0, 0);
  } finally {
    session.destroy();
    await fx.stop();
  }
});

test('permessage-deflate is negotiated over HTTP/2 and the server compresses', { skip }, async () => {
  const fx = await startH2Server(creds, { perMessageDeflate: { threshold: 0 } });
  fx.wss.on('connection', (ws: NodeWebSocket) => echo(ws));
  const session = await connectSession(fx, creds);
  try {
    const { stream, response } = await extendedConnect(session, { 'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits' });
    assert.match(String(response['sec-websocket-extensions']), /^permessage-deflate/);
    const frames = frameReader(stream);
    // A compressed client message: deflate-raw with the trailing 00 00 ff ff removed (RFC 7692 §7.2.1).
    const text = 'compress me '.repeat(20);
    const deflated = zlib.deflateRawSync(Buffer.from(text), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    stream.write(maskedFrame(0x1, deflated.subarray(0, deflated.length - 4), { rsv1: true }));
    const reply = await frames.next();
    assert.equal(reply.rsv1, true);
    const inflated = zlib.inflateRawSync(Buffer.concat([reply.payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    assert.equal(inflated.toString(), `echo:${text}`);
  } finally {
    session.destroy();
    await fx.stop();
  }
});

test('allowHTTP1: an HTTP/1.1 upgrade works on the same port', { skip }, async () => {
  const fx = await startH2Server(creds);
  fx.wss.on('connection', (ws: NodeWebSocket) => echo(ws));
  try {
    const client = new WS(`wss://localhost:${fx.port}/`, { ca: creds.cert });
    await within(once(client, 'open'));
    client.send('h1');
    const [reply] = (await within(once(client, 'message'))) as [Buffer];
    assert.equal(reply.toString(), 'echo:h1');
    client.close();
    await within(once(client, 'close'));
  } finally {
    await fx.stop();
  }
});

test('graceful shutdown sends the close frames, then GOAWAY; new sessions no longer advertise', { skip }, async () => {
  const fx = await startH2Server(creds);
  const session = await connectSession(fx, creds);
  const { stream } = await extendedConnect(session);
  const frames = frameReader(stream);
  const goaway = once(session, 'goaway');
  const shutdown = fx.wss.close({ code: 1001, timeoutMs: 2000 });
  const closeFrame = await frames.next();
  assert.equal(closeFrame.opcode, 0x8);
  assert.equal(closeFrame.payload.readUInt16BE(0), 1001);
  stream.write(maskedFrame(0x8, closeFrame.payload.subarray(0, 2)));
  stream.end();
  await within(shutdown);
  await within(goaway);
  const later = await connectSession(fx, creds);
  assert.notEqual(later.remoteSettings.enableConnectProtocol, true);
  later.destroy();
  session.destroy();
  await new Promise<void>((resolve) => fx.server.close(() => resolve()));
});

test('HTTP/2 flow control is the socket\'s backpressure: bufferedAmount grows while the peer does not read, then drain', { skip }, async () => {
  const fx = await startH2Server(creds);
  let serverSocket: NodeWebSocket | undefined;
  fx.wss.on('connection', (ws: NodeWebSocket) => (serverSocket = ws));
  const session = await connectSession(fx, creds);
  try {
    const { stream } = await extendedConnect(session);
    // We never read: the stream's 64 KiB window fills and the rest waits in the server.
    stream.pause();
    const ws = serverSocket as NodeWebSocket;
    const chunk = Buffer.alloc(256 * 1024, 1);
    for (let i = 0; i < 4; i++) ws.send(chunk);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(ws.bufferedAmount > 512 * 1024, `bufferedAmount ${ws.bufferedAmount}`);
    assert.ok(fx.wss.stats().queuedBytes > 512 * 1024);
    const drained = once(ws, 'drain');
    let received = 0;
    stream.on('data', (data: Buffer) => (received += data.length));
    stream.resume();
    await within(drained);
    assert.equal(ws.bufferedAmount, 0);
    await within(new Promise<void>((resolve) => {
      const poll = (): void => (received >= 4 * chunk.length ? resolve() : void setTimeout(poll, 10));
      poll();
    }));
  } finally {
    session.destroy();
    await fx.stop();
  }
});

test('heartbeats ping h2 sockets and stats count them', { skip }, async () => {
  const fx = await startH2Server(creds, { heartbeat: { intervalMs: 50, timeoutMs: 1000 } });
  const session = await connectSession(fx, creds);
  try {
    const { stream } = await extendedConnect(session);
    const frames = frameReader(stream);
    const ping = await frames.next(2000);
    assert.equal(ping.opcode, 0x9);
    stream.write(maskedFrame(0xa, ping.payload));
    stream.write(maskedFrame(0x1, 'counted'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const stats = fx.wss.stats();
    assert.equal(stats.connections, 1);
    assert.equal(stats.messagesIn, 1);
    assert.ok(stats.bytesIn > 0 && stats.bytesOut > 0);
  } finally {
    session.destroy();
    await fx.stop();
  }
});

test('two WebSocketServers on one http2 server split the streams by path; an unknown path gets 400 once', { skip }, async () => {
  const fx = await startH2Server(creds, { path: '/chat' });
  const news = new WebSocketServer({ server: fx.server, path: '/news' });
  fx.wss.on('connection', (ws: NodeWebSocket) => ws.send('chat'));
  news.on('connection', (ws: NodeWebSocket) => ws.send('news'));
  const session = await connectSession(fx, creds);
  try {
    for (const path of ['/chat', '/news']) {
      const { stream, response } = await extendedConnect(session, { ':path': path });
      assert.equal(Number(response[':status']), 200, path);
      assert.equal((await frameReader(stream).next()).payload.toString(), path.slice(1));
    }
    const { response } = await extendedConnect(session, { ':path': '/other' });
    assert.equal(Number(response[':status']), 400);
    assert.equal(fx.wss.clients.size, 1);
    assert.equal(news.clients.size, 1);
  } finally {
    session.destroy();
    await news.close({ timeoutMs: 200 });
    await fx.stop();
  }
});

test('h2 sockets honour the server\'s WebSocket class option and autoPong: false, as HTTP/1.1 sockets do', { skip }, async () => {
  const { NodeWebSocket: Base } = await import('../../../src/node/socket/websocket.js');
  class AppSocket extends Base {
    readonly tag = 'app';
  }
  const fx = await startH2Server(creds, { WebSocket: AppSocket, autoPong: false });
  const accepted = once(fx.wss, 'connection');
  const session = await connectSession(fx, creds);
  try {
    const { stream } = await extendedConnect(session, { ':path': '/' });
    const [ws] = (await within(accepted)) as [NodeWebSocket];
    assert.ok(ws instanceof AppSocket, 'the connection socket is an instance of the class given as WebSocket');
    assert.equal((ws as AppSocket).tag, 'app');
    const frames = frameReader(stream);
    let bytesFromServer = 0;
    stream.on('data', (chunk: Buffer) => (bytesFromServer += chunk.length));
    const pinged = once(ws, 'ping');
    stream.write(maskedFrame(0x9, 'are you there'));
    const [payload] = (await within(pinged)) as [Buffer];
    assert.equal(payload.toString(), 'are you there');
    // autoPong: false: nothing answers until the app does.
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(bytesFromServer, 0, 'no automatic pong');
    ws.pong('by hand');
    const pong = await frames.next();
    assert.equal(pong.opcode, 0xa);
    assert.equal(pong.payload.toString(), 'by hand');
    stream.close();
  } finally {
    session.destroy();
    await fx.stop();
  }
});
