// The server's side of the opening handshake in the core: the accept key, request
// validation (RFC 6455 §4.2.1) and the heads we build. The client's checks of the
// response are in handshake-response.test.ts.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  WEBSOCKET_GUID,
  computeAcceptKey,
  generateKey,
  isValidKey,
  validateUpgradeRequest,
  buildAcceptResponse,
  buildRejectResponse,
  buildClientRequest,
  selectProtocol,
  type UpgradeRequestInfo,
} from '../../src/core/handshake/rules.js';
import { HandshakeError } from '../../src/core/errors.js';
import { assertLinearTime } from './linear-time.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

function request(overrides: Partial<UpgradeRequestInfo> = {}, headers?: string[]): UpgradeRequestInfo {
  return {
    method: 'GET',
    httpVersion: '1.1',
    url: '/chat',
    rawHeaders: headers ?? [
      'Host', 'server.example.com',
      'Upgrade', 'websocket',
      'Connection', 'Upgrade',
      'Sec-WebSocket-Key', KEY,
      'Origin', 'http://example.com',
      'Sec-WebSocket-Protocol', 'chat, superchat',
      'Sec-WebSocket-Version', '13',
    ],
    ...overrides,
  };
}

/** The standard headers with `name` replaced (value undefined removes it) and extra lines appended. */
function withHeader(name: string, value: string | undefined, ...extra: string[]): UpgradeRequestInfo {
  const base = request().rawHeaders;
  const out: string[] = [];
  for (let i = 0; i < base.length; i += 2) {
    if (base[i].toLowerCase() === name.toLowerCase()) {
      if (value !== undefined) out.push(base[i], value);
    } else {
      out.push(base[i], base[i + 1]);
    }
  }
  return request({}, [...out, ...extra]);
}

function rejects(req: UpgradeRequestInfo, status: number, pattern: RegExp): HandshakeError {
  let caught: unknown;
  try {
    validateUpgradeRequest(req);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof HandshakeError, `expected a HandshakeError, got ${String(caught)}`);
  assert.equal(caught.status, status);
  assert.match(caught.message, pattern);
  return caught;
}

describe('accept key', () => {
  test('computeAcceptKey reproduces the RFC 6455 §4.2.2 example', () => {
    assert.equal(WEBSOCKET_GUID, '258EAFA5-E914-47DA-95CA-C5AB0DC85B11');
    assert.equal(computeAcceptKey(KEY), ACCEPT);
  });

  test('computeAcceptKey hashes the key as latin1 bytes, ASCII or not', () => {
    // Keys a server accepts are ASCII (one-shot hash); other strings take the Hash path: both as latin1 bytes.
    for (const key of [KEY, 'x'.repeat(24), 'caf\u00e9 \u00ff', '']) {
      const expected = createHash('sha1').update(Buffer.from(key + WEBSOCKET_GUID, 'latin1')).digest('base64');
      assert.equal(computeAcceptKey(key), expected, JSON.stringify(key));
    }
  });

  test('generateKey returns fresh 16-byte base64 nonces', () => {
    const a = generateKey();
    const b = generateKey();
    assert.equal(a.length, 24);
    assert.equal(Buffer.from(a, 'base64').length, 16);
    assert.ok(isValidKey(a));
    assert.notEqual(a, b);
  });

  test('isValidKey accepts only base64 of exactly 16 bytes', () => {
    assert.ok(isValidKey(KEY));
    assert.ok(!isValidKey(Buffer.alloc(15).toString('base64')));
    assert.ok(!isValidKey(Buffer.alloc(17).toString('base64')));
    assert.ok(!isValidKey('dGhlIHNhbXBsZSBub25jZQ'));
    assert.ok(!isValidKey('dGhlIHNhbXBsZSBub25jZ!=='));
    assert.ok(!isValidKey(` ${KEY}`));
  });
});

describe('validateUpgradeRequest', () => {
  test('accepts the RFC 6455 §1.2 request and reports its fields', () => {
    const result = validateUpgradeRequest(request());
    assert.deepEqual(result, {
      key: KEY,
      host: 'server.example.com',
      origin: 'http://example.com',
      protocols: ['chat', 'superchat'],
      extensions: undefined,
    });
  });

  test('accepts token lists and any case in Upgrade and Connection', () => {
    const req = withHeader('Connection', 'keep-alive, Upgrade');
    assert.equal(validateUpgradeRequest(req).key, KEY);
    assert.equal(validateUpgradeRequest(withHeader('Upgrade', 'h2c, WebSocket')).key, KEY);
    assert.equal(validateUpgradeRequest(withHeader('Connection', 'UPGRADE')).key, KEY);
    // A second Connection line carrying the token also counts (lists may be split across lines).
    assert.equal(validateUpgradeRequest(withHeader('Connection', 'keep-alive', 'Connection', 'upgrade')).key, KEY);
  });

  test('accepts HTTP/1.2 as a later 1.x version', () => {
    assert.equal(validateUpgradeRequest(request({ httpVersion: '1.2' })).key, KEY);
  });

  test('issue 12: rejects a method other than GET with 405 and Allow: GET', () => {
    // Issue 12: 405 (ws answers the same), with the Allow header RFC 9110 §15.5.6 requires.
    const error = rejects(request({ method: 'POST' }), 405, /method must be GET/);
    assert.equal(error.headers?.Allow, 'GET');
  });

  test('rejects HTTP/1.0 and HTTP/2.0 with 400', () => {
    rejects(request({ httpVersion: '1.0' }), 400, /HTTP version/);
    rejects(request({ httpVersion: '2.0' }), 400, /HTTP version/);
  });

  test('rejects a missing, empty or duplicate Host with 400', () => {
    rejects(withHeader('Host', undefined), 400, /missing Host/);
    rejects(withHeader('Host', ''), 400, /empty Host/);
    rejects(withHeader('Host', 'a.example', 'host', 'b.example'), 400, /duplicate Host/);
  });

  test('rejects a missing websocket token in Upgrade with 400', () => {
    rejects(withHeader('Upgrade', undefined), 400, /Upgrade/);
    rejects(withHeader('Upgrade', 'h2c'), 400, /Upgrade/);
    rejects(withHeader('Upgrade', 'websocketx'), 400, /Upgrade/);
  });

  test('rejects a missing upgrade token in Connection with 400', () => {
    rejects(withHeader('Connection', undefined), 400, /Connection/);
    rejects(withHeader('Connection', 'keep-alive'), 400, /Connection/);
    rejects(withHeader('Connection', 'keep-alive upgrade'), 400, /Connection/);
  });

  test('rejects a missing, duplicate or malformed Sec-WebSocket-Key with 400', () => {
    rejects(withHeader('Sec-WebSocket-Key', undefined), 400, /missing Sec-WebSocket-Key/);
    rejects(withHeader('Sec-WebSocket-Key', KEY, 'Sec-WebSocket-Key', KEY), 400, /duplicate Sec-WebSocket-Key/);
    rejects(withHeader('Sec-WebSocket-Key', Buffer.alloc(15).toString('base64')), 400, /16 bytes/);
    rejects(withHeader('Sec-WebSocket-Key', Buffer.alloc(17).toString('base64')), 400, /16 bytes/);
    rejects(withHeader('Sec-WebSocket-Key', 'not base64 at all!!!!!=='), 400, /16 bytes/);
  });

  test('answers 426 with Sec-WebSocket-Version: 13 for another version', () => {
    const error = rejects(withHeader('Sec-WebSocket-Version', '8'), 426, /unsupported WebSocket version/);
    assert.deepEqual(error.headers, { 'Sec-WebSocket-Version': '13' });
    rejects(withHeader('Sec-WebSocket-Version', '13, 8'), 426, /version/);
  });

  test('answers 400 with Sec-WebSocket-Version: 13 when the version is missing or repeated', () => {
    const error = rejects(withHeader('Sec-WebSocket-Version', undefined), 400, /missing Sec-WebSocket-Version/);
    assert.deepEqual(error.headers, { 'Sec-WebSocket-Version': '13' });
    rejects(withHeader('Sec-WebSocket-Version', '13', 'Sec-WebSocket-Version', '13'), 400, /duplicate/);
  });

  test('joins subprotocols from several Sec-WebSocket-Protocol lines in order', () => {
    const req = withHeader('Sec-WebSocket-Protocol', 'a, b', 'Sec-WebSocket-Protocol', 'c,,d');
    assert.deepEqual(validateUpgradeRequest(req).protocols, ['a', 'b', 'c', 'd']);
    assert.deepEqual(validateUpgradeRequest(withHeader('Sec-WebSocket-Protocol', undefined)).protocols, []);
  });

  test('rejects invalid, duplicate or empty subprotocol lists with 400', () => {
    rejects(withHeader('Sec-WebSocket-Protocol', 'chat, super chat'), 400, /invalid Sec-WebSocket-Protocol/);
    rejects(withHeader('Sec-WebSocket-Protocol', 'chat/1'), 400, /invalid Sec-WebSocket-Protocol/);
    rejects(withHeader('Sec-WebSocket-Protocol', 'chat, chat'), 400, /duplicate subprotocol/);
    rejects(withHeader('Sec-WebSocket-Protocol', 'a', 'Sec-WebSocket-Protocol', 'a'), 400, /duplicate subprotocol/);
    rejects(withHeader('Sec-WebSocket-Protocol', ' , '), 400, /empty/);
  });

  test('rejects a duplicate Origin with 400 and reports a missing one as undefined', () => {
    rejects(withHeader('Origin', 'http://a.example', 'Origin', 'http://b.example'), 400, /duplicate Origin/);
    assert.equal(validateUpgradeRequest(withHeader('Origin', undefined)).origin, undefined);
  });

  test('joins Sec-WebSocket-Extensions lines raw', () => {
    const req = withHeader(
      'Sec-WebSocket-Extensions',
      undefined,
      'Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits',
      'sec-websocket-extensions', 'x-foo',
    );
    assert.equal(validateUpgradeRequest(req).extensions, 'permessage-deflate; client_max_window_bits, x-foo');
  });

  test('parses long adversarial subprotocol lists in linear time (n vs 16n, best of 3)', () => {
    const shapes: Array<[string, (n: number) => string]> = [
      ['a,a,...', (n) => 'a,'.repeat(n / 2)],
      ['p0,p1,... (unique)', (n) => Array.from({ length: Math.ceil(n / 7) }, (_, i) => `p${i}`).join(',')],
      ['a<spaces>b', (n) => `a${' '.repeat(n)}b`],
      [',,,...', (n) => ','.repeat(n)],
    ];
    for (const [label, make] of shapes) {
      assertLinearTime(
        `Sec-WebSocket-Protocol ${label}`,
        (n) => {
          const request = withHeader('Sec-WebSocket-Protocol', make(n));
          return () => {
            try {
              validateUpgradeRequest(request);
            } catch (error) {
              assert.ok(error instanceof HandshakeError);
            }
          };
        },
        // Up to 16n = 256 KiB: a quadratic parse takes seconds there. At 1 MiB the 150k-token set of the
        // unique shape outgrows the CPU caches, and a linear parse measured ratios of 54-108 on a busy machine.
        { startN: 4 * 1024, maxN: 16 * 1024, minSmallMs: 2 },
      );
    }
  });
});

describe('selectProtocol', () => {
  test('picks the first offered protocol the server supports', () => {
    assert.equal(selectProtocol(['a', 'b', 'c'], ['c', 'b']), 'b');
    assert.equal(selectProtocol(['a'], new Set(['x'])), undefined);
  });
});

describe('building heads', () => {
  test('buildAcceptResponse writes the RFC 6455 §1.3 response', () => {
    assert.equal(
      buildAcceptResponse({ key: KEY, protocol: 'chat' }),
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${ACCEPT}\r\nSec-WebSocket-Protocol: chat\r\n\r\n`,
    );
  });

  test('buildAcceptResponse adds extensions and extra headers, repeated values as lines', () => {
    const head = buildAcceptResponse({
      key: KEY,
      extensions: 'permessage-deflate',
      headers: { 'Set-Cookie': ['a=1', 'b=2'], 'X-Id': '7', Upgrade: 'ignored' },
    });
    assert.match(head, /\r\nSec-WebSocket-Extensions: permessage-deflate\r\n/);
    assert.match(head, /\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Id: 7\r\n\r\n$/);
    assert.doesNotMatch(head, /ignored/);
  });

  test('building heads throws a TypeError on CR, LF or NUL in a header (injection)', () => {
    for (const bad of ['a\r\nX-Evil: 1', 'a\nb', 'a\rb', 'a\0b']) {
      assert.throws(() => buildAcceptResponse({ key: KEY, headers: { 'X-A': bad } }), TypeError);
      assert.throws(() => buildRejectResponse(403, { headers: { 'X-A': bad } }), TypeError);
      assert.throws(() => buildClientRequest({ host: 'h', path: '/', key: KEY, headers: { 'X-A': bad } }), TypeError);
      assert.throws(() => buildClientRequest({ host: bad, path: '/', key: KEY }), TypeError);
      assert.throws(() => buildClientRequest({ host: 'h', path: '/', key: KEY, origin: bad }), TypeError);
      assert.throws(() => buildAcceptResponse({ key: KEY, extensions: bad }), TypeError);
    }
    assert.throws(() => buildAcceptResponse({ key: KEY, headers: { 'X-A\r\nB': 'v' } }), TypeError);
    assert.throws(() => buildAcceptResponse({ key: KEY, headers: { 'Bad Name': 'v' } }), TypeError);
    assert.throws(() => buildClientRequest({ host: 'h', path: '/a b', key: KEY }), TypeError);
    assert.throws(() => buildClientRequest({ host: 'h', path: '/a\r\nX: 1', key: KEY }), TypeError);
    assert.throws(() => buildAcceptResponse({ key: KEY, protocol: 'a b' }), TypeError);
  });

  test('buildRejectResponse closes the connection and counts the body in UTF-8 bytes', () => {
    const head = buildRejectResponse(426, { headers: { 'Sec-WebSocket-Version': '13' }, body: 'versión' });
    assert.equal(
      head,
      'HTTP/1.1 426 Upgrade Required\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n' +
        'Content-Length: 8\r\nSec-WebSocket-Version: 13\r\n\r\nversión',
    );
    const plain = buildRejectResponse(403);
    assert.match(plain, /^HTTP\/1.1 403 Forbidden\r\n/);
    assert.match(plain, /\r\n\r\nForbidden$/);
    assert.doesNotMatch(buildRejectResponse(400, { headers: { 'Content-Length': '0' } }), /Content-Length: 0/);
    assert.throws(() => buildRejectResponse(200), RangeError);
  });

  test('buildClientRequest writes the RFC 6455 §1.2 request', () => {
    assert.equal(
      buildClientRequest({
        host: 'server.example.com',
        path: '/chat',
        key: KEY,
        protocols: ['chat', 'superchat'],
        origin: 'http://example.com',
        extensions: 'permessage-deflate; client_max_window_bits',
        headers: { Authorization: 'Bearer x' },
      }),
      'GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n` +
        'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nOrigin: http://example.com\r\n' +
        'Authorization: Bearer x\r\n\r\n',
    );
  });

  test('buildClientRequest lets headers replace Host but not handshake fields', () => {
    const head = buildClientRequest({ host: 'a', path: '/', key: KEY, headers: { host: 'b' } });
    assert.doesNotMatch(head, /Host: a/);
    assert.match(head, /host: b\r\n/);
    assert.throws(() => buildClientRequest({ host: 'a', path: '/', key: KEY, headers: { 'Sec-WebSocket-Version': '8' } }), TypeError);
    assert.throws(() => buildClientRequest({ host: 'a', path: '/', key: KEY, protocols: ['x', 'x'] }), TypeError);
    assert.throws(() => buildClientRequest({ host: 'a', path: '/', key: KEY, protocols: ['a,b'] }), TypeError);
  });
});
