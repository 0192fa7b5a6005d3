import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveClientOptions } from '../../../src/node/client/options.js';
import { NODE_DEFAULTS } from '../../../src/node/options.js';
import { DEFAULTS } from '../../../src/core/options.js';

test('client options resolve to the documented defaults', () => {
  const r = resolveClientOptions();
  assert.deepEqual(r.protocols, []);
  assert.equal(r.handshakeTimeoutMs, DEFAULTS.handshakeTimeoutMs);
  assert.equal(r.maxMessageBytes, DEFAULTS.maxMessageBytes);
  assert.equal(r.closeTimeoutMs, DEFAULTS.closeTimeoutMs);
  assert.equal(r.keepalive, false);
  assert.equal(r.proxy, undefined);
  assert.notEqual(r.perMessageDeflate, false, 'compression is offered by default');
});

test('keepalive: true uses the defaults; an object overrides one field; Infinity disables a limit', () => {
  assert.deepEqual(resolveClientOptions({ keepalive: true }).keepalive, NODE_DEFAULTS.keepalive);
  assert.deepEqual(resolveClientOptions({ keepalive: { timeoutMs: 500 } }).keepalive, { intervalMs: 30_000, timeoutMs: 500 });
  assert.equal(resolveClientOptions({ keepalive: false }).keepalive, false);
  assert.equal(resolveClientOptions({ maxMessageBytes: Infinity }).maxMessageBytes, Infinity);
});

test('each invalid option throws naming it', () => {
  const cases: Array<[object, RegExp]> = [
    [{ handshakeTimeoutMs: 0 }, /handshakeTimeoutMs/],
    [{ handshakeTimeoutMs: 1.5 }, /handshakeTimeoutMs/],
    [{ maxFragments: -1 }, /maxFragments/],
    [{ maxHeaderBytes: 'big' }, /maxHeaderBytes/],
    [{ maxHeaderCount: NaN }, /maxHeaderCount/],
    [{ closeTimeoutMs: 0 }, /closeTimeoutMs/],
    [{ protocols: ['ok', 'ok'] }, /protocols/],
    [{ protocols: [''] }, /protocols/],
    [{ headers: { 'bad name': 'x' } }, /headers/],
    [{ headers: { 'X-Ok': 'a\nb' } }, /headers/],
    [{ origin: 'https://a\r\nb' }, /origin/],
    [{ proxy: 'not a url' }, /proxy/],
    [{ proxy: 'gopher://proxy:70' }, /option proxy: unsupported proxy scheme gopher/],
    [{ proxy: 'socks6://proxy:1080' }, /option proxy: unsupported proxy scheme socks6/],
    [{ perMessageDeflate: { memLevel: 0 } }, /perMessageDeflate.memLevel/],
  ];
  for (const [options, pattern] of cases) {
    assert.throws(() => resolveClientOptions(options as never), pattern, JSON.stringify(options));
  }
});
