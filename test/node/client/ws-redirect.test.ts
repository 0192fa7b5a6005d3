/**
 * Redirects on the sockwave/ws client follow ws's rules (issue #12 section
 * 1): each scenario runs against the ws package and sockwave/ws with the
 * same real HTTP servers, and both must send the same requests and report
 * the same events. (connect() keeps sockwave's own rules: redirect.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import WsPackage, { WebSocketServer } from 'ws';
import { WebSocket as SockwaveWs } from '../../../src/ws.js';
import { nextEvent } from './peers.js';

interface Hop {
  url: string;
  /** Headers of every upgrade request this server received. */
  requests: http.IncomingHttpHeaders[];
  close(): Promise<void>;
}

/** An HTTP server that answers upgrades with `answer(path)` (a raw response), or accepts them when it returns null. */
async function startHop(answer: (path: string) => string | null): Promise<Hop> {
  const server = http.createServer();
  const wss = new WebSocketServer({ noServer: true });
  const requests: http.IncomingHttpHeaders[] = [];
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (request: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    requests.push(request.headers);
    const response = answer(request.url ?? '');
    if (response === null) wss.handleUpgrade(request, socket, head, (ws) => ws.close(1000));
    else socket.end(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const found = (location: string): string => `HTTP/1.1 302 Found\r\nLocation: ${location}\r\nContent-Length: 0\r\n\r\n`;
const CLIENTS = [
  ['ws', WsPackage],
  ['sockwave/ws', SockwaveWs],
] as const;
type AnyClient = InstanceType<typeof WsPackage>;
const create = (Client: unknown, url: string, options: object): AnyClient => new (Client as typeof WsPackage)(url, options);

/** Events until 'close', by name (error messages included). */
async function eventsUntilClose(client: AnyClient): Promise<string[]> {
  const events: string[] = [];
  client.on('open', () => events.push('open'));
  // sockwave's errors are subclasses (HandshakeError, with codes): compare the standard class.
  client.on('error', (error: Error) => events.push(`error ${error instanceof SyntaxError ? 'SyntaxError' : 'Error'}: ${error.message}`));
  const [code] = (await nextEvent(client as never, 'close')) as [number];
  events.push(`close ${code}`);
  return events;
}

for (const [name, Client] of CLIENTS) {
  test(`issue 12 (redirects, ${name}): a 302 is followed; 'redirect' (url, request) comes before the request is sent and may edit it; 'unexpected-response' never sees it`, async () => {
    const target = await startHop(() => null);
    const first = await startHop(() => found(`${target.url}/next`));
    try {
      const client = create(Client, first.url, { followRedirects: true, headers: { 'X-Secret': 's', 'X-Kept': 'k' } });
      const redirects: string[] = [];
      client.on('redirect', (url: string, request: http.ClientRequest) => {
        redirects.push(url);
        assert.equal(request.headersSent, false, 'the request is not sent yet');
        request.removeHeader('x-secret');
      });
      // (A listener here means "hand non-101 answers to me": it must not get the followed 302.)
      client.on('unexpected-response', () => assert.fail("the followed 302 reached 'unexpected-response'"));
      const events = await eventsUntilClose(client);
      assert.deepEqual(events, ['open', 'close 1000']);
      assert.deepEqual(redirects, [`${target.url}/next`]);
      assert.equal(client.url, `${target.url}/next`);
      assert.equal((client as unknown as { _redirects: number })._redirects, 1);
      assert.equal(target.requests[0]['x-secret'], undefined);
      assert.equal(target.requests[0]['x-kept'], 'k');
    } finally {
      await first.close();
      await target.close();
    }
  });

  test(`issue 12 (redirects, ${name}): credentials and Host follow to the same host only, unless the app listens to 'redirect'`, async () => {
    const headers = { authorization: 'Bearer t', cookie: 'c=1', host: 'example.test', 'x-other': 'o' };
    // Same host: another path on the first server.
    const same = await startHop((path) => (path === '/' ? found('/there') : null));
    const target = await startHop(() => null);
    const other = await startHop(() => found(`${target.url}/`));
    try {
      const sameClient = create(Client, `${same.url}/`, { followRedirects: true, headers });
      await eventsUntilClose(sameClient);
      assert.equal(same.requests[1].authorization, 'Bearer t');
      assert.equal(same.requests[1].cookie, 'c=1');
      assert.equal(same.requests[1].host, 'example.test');

      const otherClient = create(Client, other.url, { followRedirects: true, headers, auth: 'user:pass' });
      await eventsUntilClose(otherClient);
      assert.equal(target.requests[0].authorization, undefined);
      assert.equal(target.requests[0].cookie, undefined);
      assert.equal(target.requests[0].host, new URL(target.url).host);
      assert.equal(target.requests[0]['x-other'], 'o');

      const listening = create(Client, other.url, { followRedirects: true, headers });
      listening.on('redirect', () => {});
      await eventsUntilClose(listening);
      assert.equal(target.requests[1].authorization, 'Bearer t', 'with a listener the app decides');
      assert.equal(target.requests[1].cookie, 'c=1');
    } finally {
      await Promise.all([same.close(), target.close(), other.close()]);
    }
  });

  test(`issue 12 (redirects, ${name}): too many hops and unusable Locations fail with ws's errors`, async () => {
    const loop = await startHop(() => found('/'));
    const bad = await startHop((path) => (path === '/a' ? found('ws://') : found('ftp://127.0.0.1/')));
    try {
      const looping = create(Client, loop.url, { followRedirects: true, maxRedirects: 2 });
      assert.deepEqual(await eventsUntilClose(looping), ['error Error: Maximum redirects exceeded', 'close 1006']);
      assert.equal((looping as unknown as { _redirects: number })._redirects, 3);
      assert.equal(loop.requests.length, 3);
      // Without followRedirects a 302 is just an unexpected response.
      const notFollowing = create(Client, loop.url, {});
      assert.deepEqual(await eventsUntilClose(notFollowing), ['error Error: Unexpected server response: 302', 'close 1006']);

      assert.deepEqual(await eventsUntilClose(create(Client, `${bad.url}/a`, { followRedirects: true })), [
        'error SyntaxError: Invalid URL: ws://',
        'close 1006',
      ]);
      assert.deepEqual(await eventsUntilClose(create(Client, `${bad.url}/b`, { followRedirects: true })), [
        'error SyntaxError: The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"',
        'close 1006',
      ]);
    } finally {
      await Promise.all([loop.close(), bad.close()]);
    }
  });

  for (const method of ['close', 'terminate'] as const) {
    test(`issue 12 (redirects, ${name}): ${method}() in a 'redirect' listener ends the attempt; the next server sees no upgrade`, async () => {
      const target = await startHop(() => null);
      const first = await startHop(() => found(`${target.url}/`));
      try {
        const client = create(Client, first.url, { followRedirects: true });
        client.on('redirect', () => client[method]());
        assert.deepEqual(await eventsUntilClose(client), [
          'error Error: WebSocket was closed before the connection was established',
          'close 1006',
        ]);
        // Give a request that was wrongly sent time to arrive.
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(target.requests.length, 0);
      } finally {
        await Promise.all([first.close(), target.close()]);
      }
    });
  }
}
