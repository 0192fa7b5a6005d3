/**
 * Chromium against sockwave over HTTP/2 (RFC 8441): the page is loaded over
 * h2 from a node:http2 server with a WebSocketServer attached, and the
 * page's `wss://` sockets ride that same connection. Checked three ways: the
 * browser's own network events (the page's protocol is h2, each socket's
 * handshake answer is 200, not 101), the server's TCP connection count (one),
 * and the server seeing HTTP/2 requests. Messages both ways and close codes
 * in both directions, permessage-deflate, and the Origin allowlist.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { WebSocketServer } from '../../src/index.js';
import { makeCertificate, type Credentials } from '../node/server/h2-helpers.js';
import { chromiumSkipReason, launchChromium, newPage } from './chromium.js';

const credentials = makeCertificate();
const skip = chromiumSkipReason() ?? (typeof credentials === 'string' ? credentials : undefined);
if (skip) console.log(`# skipping the HTTP/2 browser test: ${skip}`);

const PAGE = '<!doctype html><title>h2</title>';
const SOCKETS = 20;

test('Chromium opens wss:// sockets as streams of the page\'s HTTP/2 connection', { skip: skip ?? false, timeout: 60_000 }, async () => {
  const { key, cert } = credentials as Credentials;
  const server = http2.createSecureServer({ key, cert, allowHTTP1: true });
  let tcpConnections = 0;
  server.on('connection', () => tcpConnections++);
  const pageProtocols: string[] = [];
  // Which session (TCP connection) carried each request and socket.
  const sessionIds = new Map<object, number>();
  const usedSessions = new Set<number>();
  server.on('session', (session) => sessionIds.set(session, sessionIds.size));
  server.on('stream', (stream) => usedSessions.add(sessionIds.get(stream.session as object) ?? -1));
  server.on('request', (req, res) => {
    pageProtocols.push(req.httpVersion);
    res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
  });
  const wss = new WebSocketServer({ server, allowedOrigins: [/^https:\/\/localhost:\d+$/], perMessageDeflate: true });
  const httpVersions: string[] = [];
  const serverCloses: string[] = [];
  wss.on('connection', (socket: any, request: any) => {
    httpVersions.push(request.httpVersion);
    const url = new URL(request.url, 'https://x');
    if (url.pathname === '/server-close') {
      socket.close(4001, 'server says bye');
      return;
    }
    socket.on('close', (code: number, reason: Buffer) => serverCloses.push(`${code}:${reason}`));
    socket.on('message', (data: Buffer, isBinary: boolean) => socket.send(isBinary ? data : `echo:${data}`, { binary: isBinary }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const origin = `https://localhost:${port}`;

  const browser = await launchChromium();
  try {
    const page = await newPage(browser, { ignoreHTTPSErrors: true });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    const documentProtocols: string[] = [];
    const handshakeStatuses: number[] = [];
    cdp.on('Network.responseReceived', (event: any) => {
      if (event.type === 'Document') documentProtocols.push(event.response.protocol);
    });
    cdp.on('Network.webSocketHandshakeResponseReceived', (event: any) => handshakeStatuses.push(event.response.status));
    await page.goto(`${origin}/`);
    const result = await page.evaluate(
      async ({ wsOrigin, count }) => {
        const open = (path: string): Promise<WebSocket> =>
          new Promise((resolve, reject) => {
            const ws = new WebSocket(`${wsOrigin}${path}`);
            ws.binaryType = 'arraybuffer';
            ws.onopen = () => resolve(ws);
            ws.onerror = () => reject(new Error(`socket ${path} failed`));
          });
        const next = (ws: WebSocket): Promise<string | ArrayBuffer> => new Promise((resolve) => (ws.onmessage = (event) => resolve(event.data)));
        const sockets = await Promise.all(Array.from({ length: count }, (_, i) => open(`/s${i}`)));
        const texts = await Promise.all(sockets.map((ws, i) => {
          const reply = next(ws);
          ws.send(`hello ${i}`);
          return reply;
        }));
        const binaryReply = next(sockets[0]);
        sockets[0].send(new Uint8Array([1, 2, 3, 250]));
        const binary = Array.from(new Uint8Array((await binaryReply) as ArrayBuffer));
        const clientClose = await new Promise<[number, string, boolean]>((resolve) => {
          sockets[1].onclose = (event) => resolve([event.code, event.reason, event.wasClean]);
          sockets[1].close(4000, 'client says bye');
        });
        const serverSocket = await open('/server-close');
        const serverClose = await new Promise<[number, string, boolean]>((resolve) => {
          serverSocket.onclose = (event) => resolve([event.code, event.reason, event.wasClean]);
        });
        // The others are still open after one closed.
        const later = next(sockets[2]);
        sockets[2].send('still here');
        const stillHere = await later;
        const extensions = sockets[0].extensions;
        for (const ws of sockets) ws.close(1000);
        return { texts, binary, clientClose, serverClose, stillHere, extensions };
      },
      { wsOrigin: `wss://localhost:${port}`, count: SOCKETS },
    );
    assert.deepEqual(result.texts, Array.from({ length: SOCKETS }, (_, i) => `echo:hello ${i}`));
    assert.deepEqual(result.binary, [1, 2, 3, 250]);
    // The server's echo of the client's close frame carries the code (its reason is the server's own, empty).
    assert.deepEqual(result.clientClose, [4000, '', true]);
    assert.ok(serverCloses.includes('4000:client says bye'), serverCloses.join());
    assert.deepEqual(result.serverClose, [4001, 'server says bye', true]);
    assert.equal(result.stillHere, 'echo:still here');
    // permessage-deflate negotiated over h2, as over HTTP/1.1.
    assert.match(result.extensions, /^permessage-deflate/);
    // The browser's view: the page came over h2, every socket's handshake was answered 200 (RFC 8441), not 101.
    assert.deepEqual(documentProtocols, ['h2']);
    assert.equal(handshakeStatuses.length, SOCKETS + 1);
    assert.ok(handshakeStatuses.every((status) => status === 200), `handshake statuses ${handshakeStatuses.join(',')}`);
    // The server's view: HTTP/2 requests only, and one connection for the page and every socket.
    assert.ok(pageProtocols.every((v) => v === '2.0'));
    assert.ok(httpVersions.every((v) => v === '2.0'));
    assert.equal(httpVersions.length, SOCKETS + 1);
    assert.equal(usedSessions.size, 1, `streams on sessions ${[...usedSessions].join()}`);
    // Chromium may open one spare (preconnect) socket that carries nothing; never one per WebSocket.
    assert.ok(tcpConnections <= 2, `${tcpConnections} TCP connections`);
    console.log(`# h2 browser test: the page and ${SOCKETS + 1} wss:// sockets on 1 HTTP/2 session; ${tcpConnections} TCP connection(s) accepted, ${sessionIds.size} HTTP/2 session(s) started; handshake statuses all 200`);
  } finally {
    await browser.close();
    await wss.close({ timeoutMs: 500 });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
