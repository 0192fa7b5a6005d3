import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProxyUrl, proxyFromEnvironment } from '../../../src/node/client/proxy-env.js';
import { isProxyBypassed, parseNoProxy } from '../../../src/node/client/no-proxy.js';

const WS = new URL('ws://example.com/chat');
const WSS = new URL('wss://example.com/chat');
const pick = (url: URL, env: Record<string, string>): string | undefined => proxyFromEnvironment(url, env)?.href;

test('ws: uses WS_PROXY, then HTTP_PROXY, then ALL_PROXY; wss: uses WSS_PROXY, then HTTPS_PROXY, then ALL_PROXY', () => {
  const all = { ALL_PROXY: 'socks5h://all:1080' };
  assert.equal(pick(WS, all), 'socks5h://all:1080');
  assert.equal(pick(WSS, all), 'socks5h://all:1080');
  const http = { ...all, HTTP_PROXY: 'http://http:3128' };
  assert.equal(pick(WS, http), 'http://http:3128/');
  assert.equal(pick(WSS, http), 'socks5h://all:1080', 'HTTP_PROXY is not used for wss:');
  const https = { ...http, HTTPS_PROXY: 'https://https:8443' };
  assert.equal(pick(WSS, https), 'https://https:8443/');
  assert.equal(pick(WS, https), 'http://http:3128/', 'HTTPS_PROXY is not used for ws:');
  const ws = { ...https, WS_PROXY: 'http://ws:1', WSS_PROXY: 'http://wss:2' };
  assert.equal(pick(WS, ws), 'http://ws:1/');
  assert.equal(pick(WSS, ws), 'http://wss:2/');
  assert.equal(pick(WS, {}), undefined);
});

test('lower-case variables win over upper-case ones, and an empty variable counts as unset', () => {
  for (const [lower, upper, url] of [
    ['ws_proxy', 'WS_PROXY', WS],
    ['http_proxy', 'HTTP_PROXY', WS],
    ['wss_proxy', 'WSS_PROXY', WSS],
    ['https_proxy', 'HTTPS_PROXY', WSS],
    ['all_proxy', 'ALL_PROXY', WS],
  ] as const) {
    assert.equal(pick(url, { [lower]: 'http://lower:1', [upper]: 'http://upper:2' }), 'http://lower:1/', lower);
    assert.equal(pick(url, { [upper]: 'http://upper:2' }), 'http://upper:2/', upper);
    assert.equal(pick(url, { [lower]: '', [upper]: 'http://upper:2' }), 'http://upper:2/', `empty ${lower}`);
  }
  assert.equal(pick(WS, { ws_proxy: ' ', http_proxy: 'http://next:3' }), 'http://next:3/');
});

test('a proxy without a scheme is an http: proxy; unknown schemes and bad URLs name the variable', () => {
  assert.equal(pick(WS, { HTTP_PROXY: 'proxy.local:3128' }), 'http://proxy.local:3128/');
  assert.throws(() => pick(WS, { HTTP_PROXY: 'gopher://proxy:70' }), /environment variable HTTP_PROXY: unsupported proxy scheme gopher/);
  assert.throws(() => pick(WSS, { https_proxy: 'http://[bad' }), /environment variable https_proxy: invalid proxy URL/);
  // Credentials never appear in the message.
  assert.throws(
    () => pick(WSS, { https_proxy: 'http://user:secret@[bad' }),
    (error: Error) => !error.message.includes('secret') && /invalid proxy URL/.test(error.message),
  );
  for (const scheme of ['http', 'https', 'socks5', 'socks5h', 'socks4', 'socks4a']) {
    assert.equal(parseProxyUrl(`${scheme}://p:1`, 'x').protocol, `${scheme}:`);
  }
  assert.throws(() => parseProxyUrl('ftp://p:21', 'option proxy'), /option proxy: unsupported proxy scheme ftp/);
});

test('NO_PROXY: host names match themselves and their subdomains, with or without a leading dot or *.', () => {
  for (const entry of ['example.com', '.example.com', '*.example.com', 'EXAMPLE.COM.']) {
    const list = parseNoProxy(entry);
    assert.ok(isProxyBypassed(list, 'example.com', 80), entry);
    assert.ok(isProxyBypassed(list, 'a.b.example.com', 443), entry);
    assert.ok(isProxyBypassed(list, 'Example.Com.', 443), entry);
    assert.ok(!isProxyBypassed(list, 'badexample.com', 80), `${entry} must not match badexample.com`);
    assert.ok(!isProxyBypassed(list, 'example.com.evil', 80), entry);
  }
});

test('NO_PROXY: ports, *, IP literals, IPv6 with and without brackets, subnets, spaces and empty entries', () => {
  const list = parseNoProxy(' internal:8080 , , 10.1.2.3,[::1], fe80::1 ,192.168.0.0/16, fd00::/8 ');
  assert.ok(isProxyBypassed(list, 'internal', 8080));
  assert.ok(isProxyBypassed(list, 'api.internal', 8080));
  assert.ok(!isProxyBypassed(list, 'internal', 80), 'host:port only matches that port');
  assert.ok(isProxyBypassed(list, '10.1.2.3', 1));
  assert.ok(!isProxyBypassed(list, '10.1.2.4', 1));
  assert.ok(isProxyBypassed(list, '[::1]', 80));
  assert.ok(isProxyBypassed(list, '[0:0:0:0:0:0:0:1]', 80), 'IPv6 compares as an address');
  assert.ok(isProxyBypassed(list, '[fe80::1]', 80));
  assert.ok(isProxyBypassed(list, '192.168.44.5', 80));
  assert.ok(!isProxyBypassed(list, '192.169.0.1', 80));
  assert.ok(isProxyBypassed(list, '[fd12::5]', 80));
  assert.ok(!isProxyBypassed(list, '[fe81::1]', 80));
  assert.ok(!isProxyBypassed(list, '3.1.2.10', 80), 'a name entry never matches an address');
  assert.ok(isProxyBypassed(parseNoProxy('[::1]:9000'), '[::1]', 9000));
  assert.ok(!isProxyBypassed(parseNoProxy('[::1]:9000'), '[::1]', 9001));
  assert.ok(isProxyBypassed(parseNoProxy('*'), 'anything.at.all', 1));
  assert.ok(isProxyBypassed(parseNoProxy('a.example, *'), 'x', 1));
  assert.ok(!isProxyBypassed(parseNoProxy(''), 'x', 1));
  // Nonsense entries are ignored rather than matching everything.
  assert.ok(!isProxyBypassed(parseNoProxy('10.0.0.0/99, ., *.'), '10.0.0.1', 1));
});

test('NO_PROXY (lower or upper case) bypasses the environment proxy, with the scheme default port', () => {
  const env = { HTTP_PROXY: 'http://p:1', HTTPS_PROXY: 'http://p:1' };
  assert.equal(pick(WS, { ...env, NO_PROXY: 'example.com' }), undefined);
  assert.equal(pick(WS, { ...env, no_proxy: 'example.com' }), undefined);
  assert.equal(pick(WS, { ...env, no_proxy: 'example.com:80' }), undefined);
  assert.equal(pick(WSS, { ...env, no_proxy: 'example.com:80' }), 'http://p:1/', 'wss: defaults to port 443');
  assert.equal(pick(WSS, { ...env, no_proxy: 'example.com:443' }), undefined);
  assert.equal(pick(new URL('ws://127.0.0.1:9/'), { ...env, NO_PROXY: '127.0.0.0/8' }), undefined);
  assert.equal(pick(new URL('ws://[::1]:9/'), { ...env, NO_PROXY: '::1' }), undefined);
  assert.equal(pick(WS, { ...env, NO_PROXY: 'other.com' }), 'http://p:1/');
  // A bypassed host never reads (nor rejects) the proxy value.
  assert.equal(pick(WS, { HTTP_PROXY: 'gopher://x', NO_PROXY: '*' }), undefined);
});
