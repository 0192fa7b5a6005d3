/**
 * The browser is the reference: the same probe script runs against our
 * WebSocket in Node and against headless Chromium's native WebSocket, and
 * the recorded outcomes (exceptions, attributes, event traces) must match.
 * Skipped with a reason when /usr/bin/chromium is missing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket as OurWebSocket } from '../../src/web/websocket.js';
import { closedPortUrl, startWsServer, type Peer } from '../node/client/peers.js';
import { chromiumSkipReason, launchChromium } from '../peers/chromium.js';

/**
 * Plain JavaScript (it is evaluated in the page as source text): runs each
 * probe with the given WebSocket constructor and returns a JSON-able record.
 * `liveUrl` is an echo server that closes with "close <code> <reason>";
 * `deadUrl` is a loopback port with nothing listening.
 */
const PROBE = String.raw`async (WS, liveUrl, deadUrl) => {
  const out = {};
  const outcome = (fn) => {
    try { const v = fn(); return v === undefined ? 'ok' : v; }
    catch (e) { return e && e.name ? e.constructor.name + ':' + e.name : String(e); }
  };
  const created = [];
  const make = (url, protocols) => { const ws = new WS(url, protocols); created.push(ws); ws.onerror = () => {}; return ws; };
  const host = new URL(deadUrl).host;

  out.constants = [WS.CONNECTING, WS.OPEN, WS.CLOSING, WS.CLOSED, 'OPEN' in WS.prototype];
  out.urls = ['ftp://' + host + '/', 'ws://' + host + '/#x', 'ws://' + host + '/#', 'nonsense:', 'ws://',
    'http://' + host + '/a?b=c', 'HTTPS://' + host, 'ws://' + host + '/\u00fc?q=\u00e9 x', 'wss://' + host + '/%zz',
    'ws://user:pw@' + host + '/'].map((u) => outcome(() => make(u).url));
  out.protocols = [['a', 'a'], 'a b', [''], ['x,y'], ['a', 'b'], 'ok', ['\u00e9'], [], ['chat', 'Chat'], null, 42, new Set(['s1', 's2'])]
    .map((p) => outcome(() => make(deadUrl, p).protocol));

  const connecting = make(deadUrl);
  out.connecting = [connecting.readyState, connecting.binaryType, connecting.bufferedAmount, connecting.protocol, connecting.extensions,
    outcome(() => connecting.send('x')), outcome(() => connecting.send())];
  connecting.binaryType = 'nonsense';
  out.connecting.push(connecting.binaryType);
  out.closeArgs = [[1001], [2999], [5000], [0], [NaN], [1000, 'x'.repeat(124)], [3000, '\u20ac'.repeat(42)],
    [1000.4], [4999, 'x'.repeat(123)], [1000], []]
    .map((args) => outcome(() => connecting.close(...args)) + ' state=' + connecting.readyState);

  // A live connection: events, attributes, data, server close, sends after close.
  const ws = make(liveUrl, ['a', 'b']);
  ws.binaryType = 'arraybuffer';
  const trace = [];
  let closed;
  const done = new Promise((resolve) => { closed = resolve; });
  ws.onopen = () => {
    trace.push('open ' + ws.readyState + ' protocol=' + ws.protocol);
    ws.send('\ufeffbom');
    ws.send(new Uint8Array([1, 2, 3]));
    ws.send(new Blob(['blob']));
    ws.send('close 4003 enough');
  };
  ws.onmessage = (e) => trace.push('message ' + (typeof e.data === 'string'
    ? 'text:' + JSON.stringify(e.data) + ':' + e.data.length : 'binary:' + e.data.byteLength) + ' origin=' + (e.origin === new URL(liveUrl).origin));
  ws.onerror = () => trace.push('error ' + ws.readyState);
  ws.onclose = (e) => { trace.push('close ' + ws.readyState + ' ' + e.code + ' ' + e.reason + ' clean=' + e.wasClean + ' ' + e.constructor.name); closed(); };
  await done;
  ws.send('after');
  ws.send(new Uint8Array(4));
  trace.push('bufferedAmount ' + ws.bufferedAmount);
  trace.push(outcome(() => ws.close(1000)) + ' state=' + ws.readyState);
  out.trace = trace;

  // What close() puts in the close frame, seen through the server's echo of it.
  out.closeFrames = [];
  for (const args of [[], [3000], [4000, 'r\u00e9ason'], [1000, '']]) {
    const c = make(liveUrl);
    await new Promise((resolve) => { c.onopen = resolve; });
    const event = await new Promise((resolve) => { c.onclose = resolve; c.close(...args); });
    out.closeFrames.push(JSON.stringify(args) + ' -> ' + event.code + ' ' + JSON.stringify(event.reason) + ' clean=' + event.wasClean);
  }

  // Event handler attributes: ordering among listeners, replacement, null, non-callables.
  const h = make(liveUrl);
  const order = [];
  h.addEventListener('open', () => order.push('listener-1'));
  h.onopen = () => order.push('handler-a');
  h.addEventListener('open', () => order.push('listener-2'));
  h.onopen = () => order.push('handler-b');           // keeps handler-a's place
  h.onmessage = () => {};
  h.onmessage = null;                                  // removed ...
  h.onmessage = (e) => order.push('message-handler ' + (e.target === h) + ' ' + (this === undefined) + ' ' + e.lastEventId.length + ' ' + e.ports.length + ' ' + e.source);
  h.addEventListener('message', () => order.push('message-listener'));
  h.onclose = 5;                                       // not callable: null
  order.push('onclose=' + h.onclose);
  await new Promise((resolve) => h.addEventListener('open', resolve));
  const echoed = new Promise((resolve) => h.addEventListener('message', resolve));
  h.send('x');
  await echoed;
  h.close();
  out.handlers = order;

  // close(undefined, reason): see the known divergence in the test below.
  const undefinedCode = make(deadUrl);
  out.undefinedCode = outcome(() => undefinedCode.close(undefined, 'only a reason'));

  // A failed connection: the event order and close details.
  const failed = make(deadUrl);
  const failTrace = [];
  await new Promise((resolve) => {
    failed.onerror = (e) => failTrace.push('error ' + failed.readyState + ' ' + e.type);
    failed.onclose = (e) => { failTrace.push('close ' + failed.readyState + ' ' + e.code + ' clean=' + e.wasClean + ' reason=' + e.reason); resolve(); };
  });
  out.failTrace = failTrace;
  for (const s of created) { try { s.close(); } catch {} }
  return out;
}`;

let peer: Peer;
let deadUrl: string;
before(async () => {
  peer = await startWsServer({ handleProtocols: (protocols) => (protocols.has('b') ? 'b' : false) });
  deadUrl = await closedPortUrl();
});
after(async () => {
  await peer.close();
});

test('our WebSocket and Chromium record the same outcomes for the same probe script', async (t) => {
  const skip = chromiumSkipReason();
  if (skip) return t.skip(skip);
  const probe = new Function(`return ${PROBE}`)() as (ws: unknown, live: string, dead: string) => Promise<Record<string, unknown>>;
  const ours = await probe(OurWebSocket, peer.url, deadUrl);
  const chromium = await launchChromium();
  let theirs: Record<string, unknown>;
  try {
    theirs = (await chromium.page.evaluate(
      `(${PROBE})(WebSocket, ${JSON.stringify(peer.url)}, ${JSON.stringify(deadUrl)})`,
    )) as Record<string, unknown>;
  } finally {
    await chromium.close();
  }
  // Not compared: relative URLs (a page has a base URL, Node has none) and the
  // class of 'error' events (Chromium fires a plain Event, we fire ErrorEvent,
  // a subclass carrying the cause); the probe records neither.
  if (process.env.SHOW_PROBE) console.log(JSON.stringify({ ours, theirs }, null, 1));
  // Known divergence: WebIDL treats an explicit undefined for an optional
  // argument as missing, so close(undefined, reason) passes the code check
  // (undici agrees: undici-differential.test.ts); Chromium converts undefined
  // to 0 and throws InvalidAccessError.
  assert.equal(ours.undefinedCode, 'ok');
  assert.equal(theirs.undefinedCode, 'DOMException:InvalidAccessError');
  delete ours.undefinedCode;
  delete theirs.undefinedCode;
  // Known divergence (issue 12): protocols repeated in another case
  // (['chat', 'Chat']) are a SyntaxError per WPT
  // Create-protocols-repeated-case-insensitive, which Firefox and undici pass;
  // this Chromium accepts them.
  const caseIndex = 8;
  assert.equal((ours.protocols as string[])[caseIndex], 'DOMException:SyntaxError');
  for (const record of [ours, theirs]) (record.protocols as string[]).splice(caseIndex, 1);
  for (const key of Object.keys(theirs)) {
    assert.deepEqual(ours[key], theirs[key], `${key}:\n  sockwave ${JSON.stringify(ours[key])}\n  chromium ${JSON.stringify(theirs[key])}`);
  }
});
