/**
 * Chromium's own WebSocket against sockwave's server: the edge cases a
 * browser peer exercises (subprotocol choice, binaryType, close codes in both
 * directions, abnormal close, server pings, permessage-deflate).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { WebSocketServer } from '../../src/index.js';
import { chromiumSkipReason, launchChromium, newPage } from './chromium.js';

const skip = chromiumSkipReason();
if (skip) console.log(`# skipping browser WebSocket tests: ${skip}`);

interface Peer {
  http: Server;
  wss: WebSocketServer;
  origin: string;
  ws: string;
}

/** An HTTP server with a blank page (so the browser has an origin) and a sockwave endpoint. */
async function startPeer(options: Record<string, unknown>): Promise<Peer> {
  const http = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>t</title>'));
  const wss = new WebSocketServer({
    server: http,
    handleProtocols: (offered: Set<string>) => (offered.has('chat.v2') ? 'chat.v2' : ([...offered][0] ?? false)),
    ...options,
  });
  wss.on('connection', (socket: any, request: any) => {
    const url = new URL(request.url, 'http://x');
    if (url.pathname === '/server-close') {
      socket.close(Number(url.searchParams.get('code')), url.searchParams.get('reason') ?? '');
      return;
    }
    if (url.pathname === '/terminate') {
      socket.terminate();
      return;
    }
    if (url.pathname === '/ping') {
      socket.on('pong', (data: Buffer) => socket.send(`pong:${data.toString()}`));
      socket.ping(Buffer.from('are you there'));
      return;
    }
    socket.on('message', (data: Buffer, isBinary: boolean) => socket.send(data, { binary: isBinary }));
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const { port } = http.address() as AddressInfo;
  return { http, wss, origin: `http://127.0.0.1:${port}/`, ws: `ws://127.0.0.1:${port}` };
}

async function stopPeer(peer: Peer | undefined): Promise<void> {
  if (!peer) return;
  for (const client of (peer.wss as any).clients ?? []) client.terminate();
  await new Promise<void>((resolve) => peer.wss.close(() => resolve()));
  peer.http.closeAllConnections();
  await new Promise<void>((resolve) => peer.http.close(() => resolve()));
}

describe('browser WebSocket against sockwave', { skip, timeout: 55_000 }, () => {
  let browser: Browser;
  let page: Page;
  let peer: Peer;
  const closes: Array<{ code: number; reason: string }> = [];

  before(async () => {
    peer = await startPeer({});
    peer.wss.on('connection', (socket: any) =>
      socket.on('close', (code: number, reason: Buffer) => closes.push({ code, reason: reason.toString() })),
    );
    browser = await launchChromium();
    page = await newPage(browser);
    await page.goto(peer.origin);
  });

  after(async () => {
    await browser?.close();
    await stopPeer(peer);
  });

  test('the server picks the subprotocol and the browser reports it', async () => {
    const protocol = await page.evaluate(async (url) => {
      const ws = new WebSocket(url, ['chat.v1', 'chat.v2']);
      await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)));
      ws.close();
      return ws.protocol;
    }, `${peer.ws}/echo`);
    assert.equal(protocol, 'chat.v2');
  });

  test('binaryType arraybuffer and blob both receive the exact bytes back, text too', async () => {
    const result = await page.evaluate(async (url) => {
      const ws = new WebSocket(url);
      await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)));
      const next = () => new Promise<MessageEvent>((resolve) => (ws.onmessage = resolve));
      const sent = new Uint8Array(70_000).map((_, i) => (i * 31) % 256);
      ws.binaryType = 'arraybuffer';
      ws.send(sent);
      const asBuffer = (await next()).data;
      ws.binaryType = 'blob';
      ws.send(sent.buffer);
      const asBlob = (await next()).data;
      ws.send('héllo ✓ 😀');
      const text = (await next()).data;
      ws.close(1000);
      const same = (a: Uint8Array) => a.length === sent.length && a.every((v, i) => v === sent[i]);
      return {
        isArrayBuffer: asBuffer instanceof ArrayBuffer,
        isBufferSame: same(new Uint8Array(asBuffer)),
        isBlob: asBlob instanceof Blob,
        isBlobSame: same(new Uint8Array(await asBlob.arrayBuffer())),
        text,
      };
    }, `${peer.ws}/echo`);
    assert.deepEqual(result, { isArrayBuffer: true, isBufferSame: true, isBlob: true, isBlobSame: true, text: 'héllo ✓ 😀' });
  });

  test('a close code and reason from the browser reach the server and come back', async () => {
    const event = await page.evaluate(async (url) => {
      const ws = new WebSocket(url);
      await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)));
      ws.close(4321, 'done ✓');
      const e = await new Promise<CloseEvent>((resolve) => (ws.onclose = resolve));
      return { code: e.code, reason: e.reason, wasClean: e.wasClean };
    }, `${peer.ws}/echo`);
    // RFC 6455 §5.5.1 only requires echoing the code; the reason the browser
    // shows is whatever the server put in its echo (sockwave sends none).
    assert.deepEqual({ code: event.code, wasClean: event.wasClean }, { code: 4321, wasClean: true });
    assert.ok(event.reason === '' || event.reason === 'done ✓', `unexpected echoed reason '${event.reason}'`);
    // Earlier tests' sockets may still be finishing their own closes: look for ours.
    const deadline = Date.now() + 2000;
    while (!closes.some((c) => c.code === 4321) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(closes.find((c) => c.code === 4321), { code: 4321, reason: 'done ✓' });
  });

  test('a server-initiated close delivers its code and reason to the browser', async () => {
    const event = await page.evaluate(async (url) => {
      const ws = new WebSocket(url);
      const e = await new Promise<CloseEvent>((resolve) => (ws.onclose = resolve));
      return { code: e.code, reason: e.reason, wasClean: e.wasClean };
    }, `${peer.ws}/server-close?code=4001&reason=go%20away`);
    assert.deepEqual(event, { code: 4001, reason: 'go away', wasClean: true });
  });

  test('server close codes 1000, 1001, 1008, 1011, 3000 and 4999 reach the browser as sent', async () => {
    const codes = [1000, 1001, 1008, 1011, 3000, 4999];
    const seen = await page.evaluate(async ({ base, codes }) => {
      const out: Array<{ code: number; reason: string; wasClean: boolean }> = [];
      for (const code of codes) {
        const ws = new WebSocket(`${base}/server-close?code=${code}&reason=r${code}`);
        const e = await new Promise<CloseEvent>((resolve) => (ws.onclose = resolve));
        out.push({ code: e.code, reason: e.reason, wasClean: e.wasClean });
      }
      return out;
    }, { base: peer.ws, codes });
    assert.deepEqual(seen, codes.map((code) => ({ code, reason: `r${code}`, wasClean: true })));
  });

  test('message sizes across the 7/16/64-bit length boundaries echo intact', async () => {
    const sizes = [0, 1, 125, 126, 127, 65535, 65536, 65537];
    const result = await page.evaluate(async ({ url, sizes }) => {
      const ws = new WebSocket(url);
      ws.binaryType = 'arraybuffer';
      await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)));
      const out: Array<{ size: number; isSame: boolean; textSame: boolean }> = [];
      for (const size of sizes) {
        const bytes = new Uint8Array(size).map((_, i) => (i * 13 + size) % 256);
        ws.send(bytes);
        const back = new Uint8Array((await new Promise<MessageEvent>((resolve) => (ws.onmessage = resolve))).data);
        const text = 'é'.repeat(Math.floor(size / 2)) + (size % 2 ? 'a' : '');
        ws.send(text);
        const textBack = (await new Promise<MessageEvent>((resolve) => (ws.onmessage = resolve))).data;
        out.push({ size, isSame: back.length === size && back.every((v, i) => v === bytes[i]), textSame: textBack === text });
      }
      ws.close();
      return out;
    }, { url: `${peer.ws}/echo`, sizes });
    assert.deepEqual(result, sizes.map((size) => ({ size, isSame: true, textSame: true })));
  });

  test('a terminated connection is 1006 and not clean in the browser', async () => {
    const event = await page.evaluate(async (url) => {
      const ws = new WebSocket(url);
      const e = await new Promise<CloseEvent>((resolve) => (ws.onclose = resolve));
      return { code: e.code, wasClean: e.wasClean };
    }, `${peer.ws}/terminate`);
    assert.deepEqual(event, { code: 1006, wasClean: false });
  });

  test('the browser answers a server ping with a pong carrying the same payload', async () => {
    const reply = await page.evaluate(async (url) => {
      const ws = new WebSocket(url);
      const e = await new Promise<MessageEvent>((resolve) => (ws.onmessage = resolve));
      ws.close();
      return e.data;
    }, `${peer.ws}/ping`);
    assert.equal(reply, 'pong:are you there');
  });

  test('compression: with perMessageDeflate on, the browser negotiates it and echoes stay exact', async (t) => {
    const deflatePeer = await startPeer({ perMessageDeflate: true });
    try {
      const result = await page.evaluate(async (url) => {
        const ws = new WebSocket(url);
        ws.binaryType = 'arraybuffer';
        await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)));
        const next = () => new Promise<MessageEvent>((resolve) => (ws.onmessage = resolve));
        const text = 'sockwave compresses this line. '.repeat(4000);
        ws.send(text);
        const textBack = (await next()).data;
        const bytes = new Uint8Array(200_000).map((_, i) => (i * 7919) % 251);
        ws.send(bytes);
        const bytesBack = new Uint8Array((await next()).data);
        ws.send('small');
        const small = (await next()).data;
        ws.close(1000);
        return {
          extensions: ws.extensions,
          isTextSame: textBack === text,
          isBytesSame: bytesBack.length === bytes.length && bytesBack.every((v, i) => v === bytes[i]),
          small,
        };
      }, `${deflatePeer.ws}/echo`);
      if (!result.extensions.includes('permessage-deflate')) {
        t.skip(`server did not negotiate permessage-deflate (extensions: '${result.extensions}')`);
        return;
      }
      assert.deepEqual(
        { isTextSame: result.isTextSame, isBytesSame: result.isBytesSame, small: result.small },
        { isTextSame: true, isBytesSame: true, small: 'small' },
      );
    } finally {
      await stopPeer(deflatePeer);
    }
  });
});
