// RequestHeadParser: the request head of the opening handshake, fed whole,
// byte by byte and with early frames behind it; malformed heads are 400,
// heads over a limit 431 while they arrive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestHeadParser, type ParsedRequestHead } from '../../src/core/handshake/request-head.js';
import { HandshakeError } from '../../src/core/errors.js';
import { validateUpgradeRequest } from '../../src/core/handshake/rules.js';

const HEAD =
  'GET /chat?room=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\nSec-WebSocket-Version: 13\r\n' +
  'X-Empty:\r\nX-Spaces: \t padded \t\r\n\r\n';

function feed(parser: RequestHeadParser, bytes: Buffer, step: number): ParsedRequestHead | null {
  let result: ParsedRequestHead | null = null;
  for (let i = 0; i < bytes.length; i += step) {
    result = parser.push(bytes.subarray(i, i + step));
    if (result !== null) return result;
  }
  return result;
}

function refused(text: string, limits = {}): HandshakeError {
  const parser = new RequestHeadParser(limits);
  try {
    feed(parser, Buffer.from(text, 'latin1'), 1);
  } catch (error) {
    assert.ok(error instanceof HandshakeError, String(error));
    return error;
  }
  assert.fail(`accepted: ${JSON.stringify(text)}`);
}

test('parses the RFC 6455 §1.2 request whole, byte by byte and in 7-byte pieces, with early frames as rest', () => {
  const frames = Buffer.from([0x81, 0x80, 1, 2, 3, 4]);
  for (const step of [Infinity, 1, 7]) {
    const bytes = Buffer.concat([Buffer.from(HEAD, 'latin1'), frames]);
    const head = feed(new RequestHeadParser(), bytes, step === Infinity ? bytes.length : step);
    assert.ok(head !== null);
    assert.equal(head.method, 'GET');
    assert.equal(head.url, '/chat?room=1');
    assert.equal(head.httpVersion, '1.1');
    assert.deepEqual(head.rawHeaders.slice(0, 4), ['Host', 'server.example.com', 'Upgrade', 'websocket']);
    assert.deepEqual(head.rawHeaders.slice(-4), ['X-Empty', '', 'X-Spaces', 'padded']);
    assert.deepEqual([...head.rest], step === 1 ? [] : [...frames].slice(0, head.rest.length));
    assert.equal(validateUpgradeRequest(head).key, 'dGhlIHNhbXBsZSBub25jZQ==');
  }
});

test('malformed heads are refused with 400', () => {
  const cases = [
    'GET / HTTP/1.1\nHost: a\r\n\r\n', // bare LF
    'GET / HTTP/1.1\r\nHost: a\r\r\n\r\n', // CR without LF
    'GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n', // obs-fold
    'GET / HTTP/1.1\r\nHost : a\r\n\r\n', // space before the colon
    'GET / HTTP/1.1\r\n: a\r\n\r\n', // no field name
    'GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n', // NUL in a value
    'GET / HTTP/1.1\r\nno colon\r\n\r\n',
    '\r\n\r\n', // empty request line
    'GET /\r\n\r\n', // no version
    'GET  HTTP/1.1\r\n\r\n', // empty target
    'G(T / HTTP/1.1\r\n\r\n', // method not a token
    'GET / HTTP/11\r\n\r\n',
    'GET / FTP/1.1\r\n\r\n',
  ];
  for (const text of cases) assert.equal(refused(text).status, 400, JSON.stringify(text));
});

test('a head over maxHeaderBytes or with more than maxHeaderCount lines is refused with 431 while it arrives', () => {
  const big = refused(`GET / HTTP/1.1\r\nX: ${'a'.repeat(200)}`, { maxHeaderBytes: 100 });
  assert.equal(big.status, 431);
  assert.match(big.message, /exceeds 100 bytes/);
  const lines = Array.from({ length: 6 }, (_, i) => `X-${i}: v\r\n`).join('');
  assert.equal(refused(`GET / HTTP/1.1\r\n${lines}`, { maxHeaderCount: 5 }).status, 431);
  // Exactly at the limits is fine.
  const exact = `GET / HTTP/1.1\r\n${lines}\r\n`;
  assert.ok(new RequestHeadParser({ maxHeaderBytes: exact.length, maxHeaderCount: 6 }).push(Buffer.from(exact)));
});

test('size counts the bytes of a head still arriving (an empty first chunk included), and a parser that returned its head refuses more', () => {
  const bytes = Buffer.from(HEAD, 'latin1');
  const whole = new RequestHeadParser();
  assert.equal(whole.size, 0);
  assert.equal(whole.push(Buffer.alloc(0)), null);
  assert.equal(whole.size, 0);
  // After an empty chunk the head can still come whole.
  assert.equal(whole.push(bytes)?.url, '/chat?room=1');
  assert.throws(() => whole.push(Buffer.from('x')), /already returned the head/);

  const split = new RequestHeadParser();
  assert.equal(split.push(bytes.subarray(0, 10)), null);
  assert.equal(split.size, 10);
  assert.equal(split.push(bytes.subarray(10))?.url, '/chat?room=1');
  assert.throws(() => split.push(Buffer.from('x')), /already returned the head/);
});
