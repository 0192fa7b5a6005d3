/**
 * Issue #12 §2: the Origin a page's WebSocket sends, decided in core (the web
 * class and any Node caller share it; node must not import web).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { currentLocation, pageOrigin } from '../../src/core/url.js';

const page = (href: string) => {
  const url = new URL(href);
  return { href: url.href, origin: url.origin, protocol: url.protocol };
};

test('pageOrigin: an http(s) page sends its origin; a file: page, no page, or a malformed location send none', () => {
  assert.equal(pageOrigin(page('https://app.example:8443/chat/room?x=1')), 'https://app.example:8443');
  assert.equal(pageOrigin(page('http://127.0.0.1:9/')), 'http://127.0.0.1:9');
  assert.equal(pageOrigin(page('file:///tmp/index.html')), undefined);
  assert.equal(pageOrigin(null), undefined);
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'location');
  try {
    Object.defineProperty(globalThis, 'location', { value: { href: 'https://a.example/' }, configurable: true });
    assert.equal(currentLocation(), null, 'a location without origin and protocol strings is ignored');
    assert.equal(pageOrigin(), undefined);
    Object.defineProperty(globalThis, 'location', { value: page('https://a.example/x'), configurable: true });
    assert.equal(pageOrigin(), 'https://a.example');
  } finally {
    if (saved) Object.defineProperty(globalThis, 'location', saved);
    else delete (globalThis as { location?: unknown }).location;
  }
});
