import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getWebSocketUrlRecord } from '../../src/core/url.js';
import { normalizeProtocols, validateCloseArguments } from '../../src/web/arguments.js';
import { toClampedUnsignedShort, toUSVString } from '../../src/web/webidl.js';
import { CloseEvent, ErrorEvent, MessageEvent } from '../../src/web/events.js';

function assertDomException(fn: () => unknown, name: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof DOMException, `expected a DOMException, got ${String(error)}`);
    assert.equal(error.name, name);
    return true;
  });
}

test('URL record maps http: to ws: and https: to wss: keeping host, port, path and query', () => {
  assert.equal(getWebSocketUrlRecord('http://example.com:8080/a?b=c').href, 'ws://example.com:8080/a?b=c');
  assert.equal(getWebSocketUrlRecord('https://example.com/x').href, 'wss://example.com/x');
  assert.equal(getWebSocketUrlRecord('HTTPS://EXAMPLE.com:443/').href, 'wss://example.com/');
  assert.equal(getWebSocketUrlRecord('ws://[::1]:9/').href, 'ws://[::1]:9/');
  assert.equal(getWebSocketUrlRecord(new URL('wss://h/p')).href, 'wss://h/p');
});

test('URL record rejects other schemes, unparsable URLs and relative URLs with SyntaxError', () => {
  assertDomException(() => getWebSocketUrlRecord('ftp://example.com/'), 'SyntaxError');
  assertDomException(() => getWebSocketUrlRecord('file:///etc/passwd'), 'SyntaxError');
  assertDomException(() => getWebSocketUrlRecord('not a url'), 'SyntaxError');
  assertDomException(() => getWebSocketUrlRecord('/relative'), 'SyntaxError');
  assertDomException(() => getWebSocketUrlRecord('ws://'), 'SyntaxError');
});

test('URL record rejects a fragment, including an empty one', () => {
  assertDomException(() => getWebSocketUrlRecord('ws://example.com/#frag'), 'SyntaxError');
  assertDomException(() => getWebSocketUrlRecord('ws://example.com/#'), 'SyntaxError');
  assertDomException(() => getWebSocketUrlRecord('http://example.com/?q#'), 'SyntaxError');
});

test('protocols: a string becomes a list, tokens pass, duplicates and non-tokens are SyntaxError', () => {
  assert.deepEqual(normalizeProtocols(undefined), []);
  assert.deepEqual(normalizeProtocols('chat'), ['chat']);
  assert.deepEqual(normalizeProtocols(['chat', 'superchat', 'v1.json+x']), ['chat', 'superchat', 'v1.json+x']);
  assertDomException(() => normalizeProtocols(['chat', 'chat']), 'SyntaxError');
  assertDomException(() => normalizeProtocols(''), 'SyntaxError');
  for (const bad of ['a b', 'a,b', 'a;b', 'a"b', 'a/b', '\u00e9', 'a\tb', 'a{b}', '(x)', 'a=b', 'a\u0000']) {
    assertDomException(() => normalizeProtocols([bad]), 'SyntaxError');
  }
});

test('close(): codes other than 1000 and 3000-4999 are InvalidAccessError after [Clamp] conversion', () => {
  for (const code of [0, 999, 1001, 1005, 1006, 1011, 1015, 2999, 5000, 65535, 70000, -1, NaN]) {
    assertDomException(() => validateCloseArguments(code, undefined), 'InvalidAccessError');
  }
  for (const code of [1000, 3000, 4999, 1000.4, 2999.6]) {
    assert.doesNotThrow(() => validateCloseArguments(code, undefined), `code ${code}`);
  }
  assert.equal(validateCloseArguments(2999.6, undefined).code, 3000);
  assert.equal(validateCloseArguments(undefined, undefined).code, undefined);
});

test('close(): a reason over 123 UTF-8 bytes is SyntaxError, 123 bytes pass', () => {
  assert.equal(validateCloseArguments(1000, 'a'.repeat(123)).reason, 'a'.repeat(123));
  assertDomException(() => validateCloseArguments(1000, 'a'.repeat(124)), 'SyntaxError');
  // 41 three-byte characters are 123 bytes; one more two-byte character is 125.
  assert.doesNotThrow(() => validateCloseArguments(1000, '\u20ac'.repeat(41)));
  assertDomException(() => validateCloseArguments(1000, '\u20ac'.repeat(41) + '\u00e9'), 'SyntaxError');
  // The code check runs first (step 1 before step 2).
  assertDomException(() => validateCloseArguments(1, 'a'.repeat(200)), 'InvalidAccessError');
  // A lone surrogate is a USVString U+FFFD (3 bytes): 41 of them fit, 42 do not.
  assert.doesNotThrow(() => validateCloseArguments(1000, '\ud800'.repeat(41)));
  assertDomException(() => validateCloseArguments(1000, '\ud800'.repeat(42)), 'SyntaxError');
});

test('WebIDL conversions: [Clamp] rounds half to even and clamps; USVString replaces lone surrogates', () => {
  assert.equal(toClampedUnsignedShort(1000.5), 1000);
  assert.equal(toClampedUnsignedShort(1001.5), 1002);
  assert.equal(toClampedUnsignedShort(-5), 0);
  assert.equal(toClampedUnsignedShort(1e9), 65535);
  assert.equal(toClampedUnsignedShort('3000'), 3000);
  assert.equal(toUSVString('a\ud800b'), 'a\ufffdb');
});

test('CloseEvent and ErrorEvent are Events carrying their init values', () => {
  const close = new CloseEvent('close', { wasClean: true, code: 4000, reason: 'bye' });
  assert.ok(close instanceof Event);
  assert.equal(close.type, 'close');
  assert.equal(close.wasClean, true);
  assert.equal(close.code, 4000);
  assert.equal(close.reason, 'bye');
  assert.equal(Object.prototype.toString.call(close), '[object CloseEvent]');
  const empty = new CloseEvent('close');
  assert.deepEqual([empty.wasClean, empty.code, empty.reason], [false, 0, '']);
  const cause = new Error('boom');
  const error = new ErrorEvent('error', { message: 'boom', error: cause });
  assert.ok(error instanceof Event);
  assert.equal(error.message, 'boom');
  assert.equal(error.error, cause);
  const message = new MessageEvent('message', { data: 'x', origin: 'ws://h' });
  assert.ok(message instanceof Event);
  assert.equal(message.data, 'x');
  assert.equal(message.origin, 'ws://h');
});

test('request target: path and query per RFC 6455 §3, "/" for an empty path, an empty query kept', async () => {
  const { requestTarget } = await import('../../src/core/url.js');
  assert.equal(requestTarget(new URL('ws://h')), '/');
  assert.equal(requestTarget(new URL('ws://h/a/b?x=1&y')), '/a/b?x=1&y');
  assert.equal(requestTarget(new URL('ws://h/?')), '/?');
  assert.equal(requestTarget(new URL('ws://h/p%20q?\u00e9')), '/p%20q?%C3%A9');
});

test('protocols: null and numbers become strings, any iterable is a sequence (WebIDL union)', () => {
  assert.deepEqual(normalizeProtocols(null as never), ['null']);
  assert.deepEqual(normalizeProtocols(42 as never), ['42']);
  assert.deepEqual(normalizeProtocols(new Set(['a', 'b']) as never), ['a', 'b']);
});

test('a third constructor argument that is not an object is ignored (WebIDL, WPT constructor.any.js); a misspelled option still throws', async () => {
  const { WebSocket } = await import('../../src/web/websocket.js');
  // Port 1 refuses: the socket fails later, asynchronously; construction must not throw.
  const extra = new (WebSocket as unknown as new (...args: unknown[]) => InstanceType<typeof WebSocket>)('ws://127.0.0.1:1/', 'echo', 'Stray argument', 42);
  extra.onerror = () => {};
  assert.equal(extra.protocol, '');
  extra.close();
  assert.throws(() => new WebSocket('ws://127.0.0.1:1/', [], { header: {} } as never), /header/);
});
