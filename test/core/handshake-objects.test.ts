// ServerHandshake and ClientHandshake: the opening handshake as objects,
// byte vectors first (RFC 6455 §1.3, §4), each fed whole, byte by byte and
// with the first frame behind it; then against each other and against `ws`
// over loopback.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { once } from 'node:events';
import WebSocket, { WebSocketServer } from 'ws';
import { ServerHandshake, type ServerHandshakeResult } from '../../src/core/handshake/server-handshake.js';
import { ClientHandshake, type ClientHandshakeResult } from '../../src/core/handshake/client-handshake.js';
import { computeAcceptKey } from '../../src/core/handshake/accept-key.js';
import { HandshakeError } from '../../src/core/errors.js';

/** RFC 6455 §1.2's sample request (with the version line the RFC's §4.1 requires). */
const RFC_REQUEST = [
  'GET /chat HTTP/1.1',
  'Host: server.example.com',
  'Upgrade: websocket',
  'Connection: Upgrade',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  'Origin: http://example.com',
  'Sec-WebSocket-Protocol: chat, superchat',
  'Sec-WebSocket-Version: 13',
  '',
  '',
].join('\r\n');
const FIRST_FRAME = Buffer.from('818537fa213d7f9f4d5158', 'hex'); // RFC 6455 §5.7: masked "Hello"

function feedServer(hs: ServerHandshake, bytes: Buffer, how: 'whole' | 'byte by byte'): ServerHandshakeResult | null {
  if (how === 'whole') return hs.receive(bytes);
  let result: ServerHandshakeResult | null = null;
  for (let i = 0; i < bytes.length && result === null; i++) result = hs.receive(bytes.subarray(i, i + 1));
  return result;
}

function requestWith(lines: Record<string, string | null>): Buffer {
  const base: Record<string, string> = {
    Host: 'h',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version': '13',
  };
  let head = 'GET / HTTP/1.1\r\n';
  for (const [name, value] of Object.entries({ ...base, ...lines })) if (value !== null) head += `${name}: ${value}\r\n`;
  return Buffer.from(`${head}\r\n`, 'latin1');
}

describe('ServerHandshake', () => {
  for (const how of ['whole', 'byte by byte'] as const) {
    test(`accepts the RFC request with the RFC accept value and picks "chat" (fed ${how})`, () => {
      const hs = new ServerHandshake({ protocols: ['superchat', 'chat'] });
      const result = feedServer(hs, Buffer.from(RFC_REQUEST, 'latin1'), how);
      assert.ok(result?.isAccepted);
      assert.match(result.response, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
      assert.match(result.response, /\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/);
      assert.equal(result.protocol, 'chat', 'the client order decides');
      assert.match(result.response, /\r\nSec-WebSocket-Protocol: chat\r\n/);
      assert.ok(result.response.endsWith('\r\n\r\n'));
      assert.equal(result.request.origin, 'http://example.com');
      assert.equal(result.url, '/chat');
      assert.equal(result.deflate, null);
      assert.equal(result.rest.length, 0);
      assert.equal(hs.result, result);
    });
  }

  test('hands back the bytes that followed the head (the first frame)', () => {
    const result = new ServerHandshake().receive(Buffer.concat([Buffer.from(RFC_REQUEST, 'latin1'), FIRST_FRAME]));
    assert.ok(result?.isAccepted);
    assert.equal(result.rest.toString('hex'), FIRST_FRAME.toString('hex'));
    assert.equal(result.protocol, '', 'no subprotocol configured: none chosen');
    assert.doesNotMatch(result.response, /Sec-WebSocket-Protocol/);
  });

  test('a protocol chooser sees the offer in client order and the request; an unoffered answer is a TypeError', () => {
    let seen: readonly string[] = [];
    const hs = new ServerHandshake({ protocols: (offered) => ((seen = offered), offered[1]) });
    const result = hs.receive(Buffer.from(RFC_REQUEST, 'latin1'));
    assert.deepEqual(seen, ['chat', 'superchat']);
    assert.ok(result?.isAccepted && result.protocol === 'superchat');
    assert.throws(() => new ServerHandshake({ protocols: () => 'other' }).receive(Buffer.from(RFC_REQUEST, 'latin1')), TypeError);
  });

  test('negotiates permessage-deflate only when enabled', () => {
    const offer = requestWith({ 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' });
    const off = new ServerHandshake().receive(offer);
    assert.ok(off?.isAccepted && off.deflate === null);
    assert.doesNotMatch(off.response, /Sec-WebSocket-Extensions/);
    const on = new ServerHandshake({ perMessageDeflate: true }).receive(offer);
    assert.ok(on?.isAccepted);
    assert.deepEqual(on.deflate, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 });
    assert.match(on.response, /\r\nSec-WebSocket-Extensions: permessage-deflate/);
  });

  const refusals: Array<[string, Buffer, number, RegExp?]> = [
    ['a request without Sec-WebSocket-Key', requestWith({ 'Sec-WebSocket-Key': null }), 400],
    ['a POST', Buffer.from(requestWith({}).toString('latin1').replace('GET', 'POST'), 'latin1'), 405],
    ['another protocol version', requestWith({ 'Sec-WebSocket-Version': '8' }), 426, /\r\nSec-WebSocket-Version: 13\r\n/],
    ['a malformed head', Buffer.from('GET / HTTP/1.1\r\nHost : x\r\n\r\n', 'latin1'), 400],
    ['a head over maxHeaderBytes', requestWith({ 'X-Pad': 'a'.repeat(20_000) }), 431],
  ];
  for (const [what, bytes, status, header] of refusals) {
    test(`refuses ${what} with ${status}, as a value and without throwing`, () => {
      const result = new ServerHandshake().receive(bytes);
      assert.ok(result !== null && !result.isAccepted);
      assert.equal(result.status, status);
      assert.ok(result.error instanceof HandshakeError);
      assert.match(result.response, new RegExp(`^HTTP/1\\.1 ${status} `));
      assert.match(result.response, /\r\nConnection: close\r\n/);
      if (header) assert.match(result.response, header);
      assert.ok(result.response.endsWith(`\r\n\r\n${result.body}`));
    });
  }

  test('reject() builds the application refusal; a status outside 400..599 is a RangeError', () => {
    const hs = new ServerHandshake();
    const refused = hs.reject(403, { body: 'origin not allowed' });
    assert.equal(refused.status, 403);
    assert.equal(refused.body, 'origin not allowed');
    assert.match(refused.response, /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.match(refused.response, /\r\nContent-Length: 18\r\n/);
    assert.throws(() => hs.reject(200), RangeError);
  });

  test('bytes after the decision are refused loudly: they belong to the Connection', () => {
    const hs = new ServerHandshake();
    hs.receive(Buffer.from(RFC_REQUEST, 'latin1'));
    assert.throws(() => hs.receive(FIRST_FRAME), /already decided/);
  });
});

function serverAnswer(key: string, extra = ''): Buffer {
  return Buffer.from(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAcceptKey(key)}\r\n${extra}\r\n`,
    'latin1',
  );
}

describe('ClientHandshake', () => {
  test('builds the request with a fresh 16-byte key, the version and the offered protocols', () => {
    const a = new ClientHandshake({ host: 'example.com:8080', path: '/chat', protocols: ['chat', 'superchat'], origin: 'http://example.com' });
    const b = new ClientHandshake({ host: 'example.com:8080' });
    assert.notEqual(a.key, b.key);
    assert.equal(Buffer.from(a.key, 'base64').length, 16);
    assert.match(a.request, /^GET \/chat HTTP\/1\.1\r\nHost: example\.com:8080\r\n/);
    assert.match(a.request, new RegExp(`\\r\\nSec-WebSocket-Key: ${a.key.replace(/[+/]/g, '\\$&')}\\r\\n`));
    assert.match(a.request, /\r\nSec-WebSocket-Version: 13\r\n/);
    assert.match(a.request, /\r\nSec-WebSocket-Protocol: chat, superchat\r\n/);
    assert.match(a.request, /\r\nOrigin: http:\/\/example\.com\r\n/);
    assert.doesNotMatch(a.request, /Sec-WebSocket-Extensions/, 'no deflate offer unless asked');
    assert.match(b.request, /^GET \/ HTTP\/1\.1\r\n/);
    assert.match(new ClientHandshake({ host: 'h', perMessageDeflate: true }).request, /\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n/);
    assert.throws(() => new ClientHandshake({ host: 'h', protocols: ['a b'] }), TypeError);
  });

  for (const how of ['whole', 'byte by byte'] as const) {
    test(`accepts a matching 101 and hands back the first frame (fed ${how})`, () => {
      const hs = new ClientHandshake({ host: 'h', protocols: ['chat'], key: 'dGhlIHNhbXBsZSBub25jZQ==' });
      const bytes = Buffer.concat([serverAnswer(hs.key, 'Sec-WebSocket-Protocol: chat\r\n'), Buffer.from('8105', 'hex')]);
      let result: ClientHandshakeResult | null = null;
      if (how === 'whole') result = hs.receive(bytes);
      else for (let i = 0; i < bytes.length && result === null; i++) result = hs.receive(bytes.subarray(i, i + 1));
      assert.ok(result?.isAccepted);
      assert.equal(result.protocol, 'chat');
      assert.equal(result.deflate, null);
      assert.equal(result.rest.toString('hex'), how === 'whole' ? '8105' : '');
    });
  }

  const refusals: Array<[string, (key: string) => Buffer, number, RegExp]> = [
    ['a 403', () => Buffer.from('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n'), 403, /403/],
    ['a wrong accept value', () => serverAnswer('AAAAAAAAAAAAAAAAAAAAAA=='), 101, /Sec-WebSocket-Accept/],
    ['a subprotocol that was not offered', (key) => serverAnswer(key, 'Sec-WebSocket-Protocol: other\r\n'), 101, /not offered/],
    ['an extension that was not offered', (key) => serverAnswer(key, 'Sec-WebSocket-Extensions: permessage-deflate\r\n'), 101, /none were offered/],
    ['a missing Upgrade header', (key) => Buffer.from(serverAnswer(key).toString('latin1').replace('Upgrade: websocket\r\n', ''), 'latin1'), 101, /Upgrade/],
    ['a response that is not HTTP', () => Buffer.from('SSH-2.0-OpenSSH\r\n\r\n'), 0, /malformed/],
  ];
  for (const [what, answer, status, message] of refusals) {
    test(`refuses ${what} (status ${status}) as a value`, () => {
      const hs = new ClientHandshake({ host: 'h', protocols: ['chat'] });
      const result = hs.receive(answer(hs.key));
      assert.ok(result !== null && !result.isAccepted);
      assert.ok(result.error instanceof HandshakeError);
      assert.equal(result.error.status, status);
      assert.match(result.error.message, message);
    });
  }

  test('the transport ending first is a refusal with status 0', () => {
    const hs = new ClientHandshake({ host: 'h' });
    assert.equal(hs.receive(Buffer.from('HTTP/1.1 101 Swi')), null);
    const result = hs.receiveEof();
    assert.ok(!result.isAccepted && result.error.status === 0);
  });
});

describe('the two objects together, and against ws over loopback', () => {
  test('a ClientHandshake request is accepted by a ServerHandshake, deflate parameters agree', () => {
    const client = new ClientHandshake({ host: 'h', protocols: ['v2', 'v1'], perMessageDeflate: { clientMaxWindowBits: 10 } });
    const server = new ServerHandshake({ protocols: ['v1', 'v2'], perMessageDeflate: true });
    const decided = server.receive(Buffer.from(client.request, 'latin1'));
    assert.ok(decided?.isAccepted);
    const answered = client.receive(Buffer.from(decided.response, 'latin1'));
    assert.ok(answered?.isAccepted);
    assert.equal(answered.protocol, 'v2');
    assert.deepEqual(answered.deflate, decided.deflate);
    assert.equal(decided.deflate?.clientMaxWindowBits, 10);
  });

  test('a ws client opens against a ServerHandshake on a raw socket; a ClientHandshake opens against a ws server', async () => {
    // Our server side: raw net socket, ServerHandshake decides, then a close frame ends the session.
    const server = createServer((socket: Socket) => {
      const hs = new ServerHandshake({ protocols: ['chat'] });
      socket.on('error', () => {});
      socket.on('data', (chunk) => {
        if (hs.result !== undefined) return; // the close reply: no Connection in this test
        const result = hs.receive(chunk);
        if (result === null) return;
        socket.write(result.response);
        if (result.isAccepted) socket.end(Buffer.from([0x88, 0x02, 0x03, 0xe8]));
        else socket.end();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, ['chat']);
    ws.on('error', () => {});
    await once(ws, 'open');
    assert.equal(ws.protocol, 'chat');
    const [code] = await once(ws, 'close');
    assert.equal(code, 1000);
    server.close();

    // Our client side against ws.
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: (set) => (set.has('b') ? 'b' : false) });
    await once(wss, 'listening');
    wss.on('connection', (peer) => peer.send('hi'));
    const socket = connect((wss.address() as AddressInfo).port, '127.0.0.1');
    const hs = new ClientHandshake({ host: `127.0.0.1:${(wss.address() as AddressInfo).port}`, protocols: ['a', 'b'] });
    socket.write(hs.request);
    let result: ClientHandshakeResult | null = null;
    const rest: Buffer[] = [];
    for await (const chunk of socket) {
      if (result === null) {
        result = hs.receive(chunk as Buffer);
        if (result?.isAccepted) rest.push(result.rest);
      } else rest.push(chunk as Buffer);
      if (Buffer.concat(rest).length >= 4) break;
    }
    assert.ok(result?.isAccepted);
    assert.equal(result.protocol, 'b');
    assert.equal(Buffer.concat(rest).subarray(0, 4).toString('hex'), '8102' + Buffer.from('hi').toString('hex'));
    socket.destroy();
    for (const peer of wss.clients) peer.terminate();
    await new Promise((resolve) => wss.close(resolve));
  });
});
