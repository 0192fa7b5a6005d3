/**
 * Chromium ships WebSocketStream, so it is the reference for ours: the same
 * probe script runs with our class in Node and with Chromium's native one in
 * a headless page, against the same `ws` echo server (which closes with
 * "close <code> <reason>" on request), and the recorded outcomes must match.
 * Skipped with a reason when /usr/bin/chromium is missing or its build has
 * no WebSocketStream.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocketStream as OurWebSocketStream } from '../../src/web/websocket-stream.js';
import { WebSocketError as OurWebSocketError } from '../../src/web/websocket-error.js';
import { closedPortUrl, startWsServer, type Peer } from '../node/client/peers.js';
import { chromiumSkipReason, launchChromium } from '../peers/chromium.js';

/** Plain JavaScript, evaluated in the page as source text; returns a JSON-able record. */
const PROBE = String.raw`async (WSS, WSError, liveUrl, deadUrl) => {
  const out = {};
  const name = (e) => (e && e.name ? e.constructor.name + ':' + e.name : String(e));
  const outcome = (fn) => { try { fn(); return 'ok'; } catch (e) { return name(e); } };
  const describe = (m) => (typeof m === 'string' ? 'text:' + m : m instanceof Uint8Array ? 'bytes:' + Array.from(m).join(',') : 'other:' + Object.prototype.toString.call(m));

  out.constructorArgs = [['ftp://x/'], ['ws://x/#frag'], ['nonsense:'], ['ws://127.0.0.1:1/', { protocols: ['a', 'a'] }]]
    .map((args) => outcome(() => new WSS(...args)));
  const err = new WSError('m', { closeCode: 4000, reason: 'r' });
  out.error = [err.name, err.message, err.closeCode, err.reason, err instanceof DOMException,
    new WSError('x', { reason: 'only' }).closeCode, new WSError().closeCode,
    outcome(() => new WSError('x', { closeCode: 1001 })), outcome(() => new WSError('x', { closeCode: 3000, reason: 'x'.repeat(124) }))];

  // Echo: text and binary in, their types out; then a clean close with our code.
  const echo = new WSS(liveUrl);
  const info = await echo.opened;
  out.opened = [typeof info.readable.getReader, typeof info.writable.getWriter, info.protocol, info.extensions.includes('permessage-deflate') ? 'deflate' : info.extensions];
  const writer = info.writable.getWriter();
  const reader = info.readable.getReader();
  await writer.write('hello');
  await writer.write(new Uint8Array([1, 2, 3]));
  await writer.write(new Uint8Array([4, 5]).buffer);
  const got = [];
  for (let i = 0; i < 3; i++) got.push(describe((await reader.read()).value));
  out.echo = got;
  out.closeArgs = [{ closeCode: 1001 }, { closeCode: 3000, reason: 'x'.repeat(124) }].map((a) => outcome(() => echo.close(a)));
  echo.close({ closeCode: 4001, reason: 'bye' });
  const closed = await echo.closed;
  out.clientClose = [closed.closeCode, closed.reason];

  // The server closes first with a code and reason.
  const serverClose = new WSS(liveUrl);
  const s = await serverClose.opened;
  await s.writable.getWriter().write('close 4002 server says');
  const c2 = await serverClose.closed;
  const end = await s.readable.getReader().read();
  out.serverClose = [c2.closeCode, c2.reason, end.done];

  // A refused connection: both promises reject with a WebSocketError.
  const dead = new WSS(deadUrl);
  out.refused = await Promise.allSettled([dead.opened, dead.closed]).then((r) => r.map((x) => x.status + ' ' + name(x.reason) + ' ' + (x.reason && x.reason.closeCode)));
  return out;
}`;

let peer: Peer;
let deadUrl: string;
before(async () => {
  peer = await startWsServer();
  deadUrl = await closedPortUrl();
});
after(async () => {
  await peer.close();
});

test('our WebSocketStream and Chromium record the same outcomes for the same probe script', async (t) => {
  const skip = chromiumSkipReason();
  if (skip) return t.skip(skip);
  const probe = new Function(`return ${PROBE}`)() as (...args: unknown[]) => Promise<Record<string, unknown>>;
  const ours = await probe(OurWebSocketStream, OurWebSocketError, peer.url, deadUrl);
  const chromium = await launchChromium();
  let theirs: Record<string, unknown>;
  try {
    const available = await chromium.page.evaluate('typeof WebSocketStream === "function" && typeof WebSocketError === "function"');
    if (!available) return t.skip('this Chromium build has no WebSocketStream/WebSocketError');
    theirs = (await chromium.page.evaluate(
      `(${PROBE})(WebSocketStream, WebSocketError, ${JSON.stringify(peer.url)}, ${JSON.stringify(deadUrl)})`,
    )) as Record<string, unknown>;
  } finally {
    await chromium.close();
  }
  if (process.env.SHOW_PROBE) console.log(JSON.stringify({ ours, theirs }, null, 1));
  // The probe checks something: the echo really round-tripped.
  assert.deepEqual(ours.echo, ['text:hello', 'bytes:1,2,3', 'bytes:4,5']);
  // Known divergence: binary messages are read as Uint8Array, as the
  // proposal's explainer says since 2024 (ricea/websocketstream-explainer#20,
  // like WebTransport's streams); this Chromium still hands out ArrayBuffers.
  assert.deepEqual(theirs.echo, ['text:hello', 'other:[object ArrayBuffer]', 'other:[object ArrayBuffer]']);
  delete ours.echo;
  delete theirs.echo;
  for (const key of Object.keys(theirs)) {
    assert.deepEqual(ours[key], theirs[key], `${key}:\n  sockwave ${JSON.stringify(ours[key])}\n  chromium ${JSON.stringify(theirs[key])}`);
  }
});
