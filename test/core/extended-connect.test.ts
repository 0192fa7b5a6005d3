/**
 * RFC 8441 in the core: validating an extended CONNECT request and building
 * the HTTP/2 answers, as header lists (no I/O).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HandshakeError } from '../../src/core/errors.js';
import {
  buildExtendedConnectRefusal,
  buildExtendedConnectResponse,
  validateExtendedConnect,
} from '../../src/core/handshake/extended-connect.js';

const GOOD = [
  ':method', 'CONNECT', ':protocol', 'websocket', ':scheme', 'https', ':path', '/chat?x=1', ':authority', 'example.com',
  'sec-websocket-version', '13', 'origin', 'https://example.com', 'sec-websocket-protocol', 'a, b',
  'sec-websocket-extensions', 'permessage-deflate',
];

function without(name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < GOOD.length; i += 2) if (GOOD[i] !== name) out.push(GOOD[i], GOOD[i + 1]);
  return out;
}

function status(rawHeaders: string[]): [number, Record<string, string>] {
  try {
    validateExtendedConnect({ rawHeaders });
  } catch (error) {
    assert.ok(error instanceof HandshakeError);
    return [error.status, { ...error.headers }];
  }
  return [200, {}];
}

test('a valid extended CONNECT yields host, path, scheme, origin, offered subprotocols and extensions', () => {
  assert.deepEqual(validateExtendedConnect({ rawHeaders: GOOD }), {
    host: 'example.com',
    path: '/chat?x=1',
    scheme: 'https',
    origin: 'https://example.com',
    protocols: ['a', 'b'],
    extensions: 'permessage-deflate',
    key: undefined,
  });
});

test('a valid key sent anyway is answered with its accept value (undici needs it); an invalid one is ignored', () => {
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  assert.equal(validateExtendedConnect({ rawHeaders: [...GOOD, 'sec-websocket-key', key] }).key, key);
  assert.equal(validateExtendedConnect({ rawHeaders: [...GOOD, 'sec-websocket-key', 'short'] }).key, undefined);
  // RFC 6455 §1.3's example pair.
  assert.equal(buildExtendedConnectResponse({ key })['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  assert.equal(buildExtendedConnectResponse({})['sec-websocket-accept'], undefined);
});

test('no Sec-WebSocket-Key is needed over HTTP/2, and :protocol compares case-insensitively', () => {
  const raw = [...GOOD];
  raw[3] = 'WebSocket';
  assert.equal(validateExtendedConnect({ rawHeaders: raw }).host, 'example.com');
});

test('a missing or foreign pseudo-header is a 400', () => {
  for (const name of [':protocol', ':path', ':scheme', ':authority']) assert.equal(status(without(name))[0], 400, name);
  assert.equal(status([...without(':method'), ':method', 'GET'])[0], 400);
  assert.equal(status([...without(':protocol'), ':protocol', 'chat'])[0], 400);
});

test('another, missing or repeated version is a 400 that names version 13 (a 426 would need Upgrade, which HTTP/2 forbids)', () => {
  assert.deepEqual(status([...without('sec-websocket-version'), 'sec-websocket-version', '8']), [400, { 'sec-websocket-version': '13' }]);
  assert.deepEqual(status(without('sec-websocket-version')), [400, { 'sec-websocket-version': '13' }]);
  assert.deepEqual(status([...GOOD, 'sec-websocket-version', '13']), [400, { 'sec-websocket-version': '13' }]);
});

test('subprotocol and Origin rules are the HTTP/1.1 ones', () => {
  assert.equal(status([...without('sec-websocket-protocol'), 'sec-websocket-protocol', 'a, a'])[0], 400);
  assert.equal(status([...without('sec-websocket-protocol'), 'sec-websocket-protocol', ''])[0], 400);
  assert.equal(status([...GOOD, 'origin', 'https://evil.example'])[0], 400);
});

test('the 200 carries the choices and drops connection-specific and owned fields', () => {
  const fields = buildExtendedConnectResponse({
    protocol: 'a',
    extensions: 'permessage-deflate',
    headers: { 'X-Trace': '1', Connection: 'keep-alive', Upgrade: 'websocket', 'Sec-WebSocket-Protocol': 'b' },
  });
  assert.deepEqual(fields, { ':status': 200, 'x-trace': '1', 'sec-websocket-protocol': 'a', 'sec-websocket-extensions': 'permessage-deflate' });
  assert.throws(() => buildExtendedConnectResponse({ protocol: 'a b' }), TypeError);
  assert.throws(() => buildExtendedConnectResponse({ headers: { 'x-bad': 'a\r\nb' } }), TypeError);
});

test('a refusal is a 4xx/5xx header list without connection-specific fields', () => {
  assert.deepEqual(buildExtendedConnectRefusal(503, { 'Retry-After': '1', Connection: 'close' }), {
    ':status': 503,
    'content-type': 'text/plain; charset=utf-8',
    'retry-after': '1',
  });
  assert.throws(() => buildExtendedConnectRefusal(200), RangeError);
});
