/**
 * ws's 'unexpected-response' (request, response) on the sockwave/ws client,
 * checked side by side with the ws package itself: the app reads a 401's
 * body from `response` and ends the attempt; without a listener the
 * connection fails with an error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import WsPackage from 'ws';
import { WebSocket as SockwaveWs } from '../../../src/ws.js';
import { nextEvent, startRawServer } from './peers.js';

const BODY = '{"error":"token expired","retry":false}';
const ANSWER = `HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`;

for (const [name, Client] of [
  ['ws', WsPackage],
  ['sockwave/ws', SockwaveWs],
] as const) {
  test(`${name}: 'unexpected-response' hands over the 401 with headers and body; terminate() ends in error then close 1006`, async () => {
    const server = await startRawServer((socket) => socket.end(ANSWER));
    try {
      const client = new (Client as typeof WsPackage)(server.url);
      const events: string[] = [];
      client.on('error', () => events.push('error'));
      const closed = nextEvent(client as never, 'close');
      const [, response] = (await nextEvent(client as never, 'unexpected-response')) as [unknown, IncomingMessage];
      assert.equal(client.readyState, 0, 'still CONNECTING while the app reads the response');
      assert.equal(response.statusCode, 401);
      assert.equal(response.statusMessage, 'Unauthorized');
      assert.equal(response.headers['www-authenticate'], 'Bearer');
      assert.deepEqual(response.headers['set-cookie'], ['a=1', 'b=2']);
      let body = '';
      for await (const chunk of response) body += String(chunk);
      assert.equal(body, BODY);
      // As with ws, the app ends the attempt (ws's request.destroy() after a response leaves the socket CONNECTING).
      client.terminate();
      const [code] = (await closed) as [number];
      assert.equal(code, 1006);
      assert.equal(client.readyState, 3);
      assert.deepEqual(events, ['error']);
    } finally {
      await server.close();
    }
  });

  test(`${name}: without an 'unexpected-response' listener a 401 is an error naming the status`, async () => {
    const server = await startRawServer((socket) => socket.end(ANSWER));
    try {
      const client = new (Client as typeof WsPackage)(server.url);
      const errorEvent = nextEvent(client as never, 'error');
      const [code] = (await nextEvent(client as never, 'close')) as [number];
      const [error] = (await errorEvent) as [Error];
      assert.equal(code, 1006);
      assert.match(error.message, /401/);
    } finally {
      await server.close();
    }
  });
}

test("sockwave/ws: request.destroy() from 'unexpected-response' also ends the attempt (ws would stay CONNECTING)", async () => {
  const server = await startRawServer((socket) => socket.end(ANSWER));
  try {
    const client = new SockwaveWs(server.url);
    const errorEvent = nextEvent(client as never, 'error');
    const closed = nextEvent(client as never, 'close');
    const [request] = (await nextEvent(client as never, 'unexpected-response')) as [{ destroy(): void }];
    request.destroy();
    const [code] = (await closed) as [number];
    const [error] = (await errorEvent) as [Error & { code?: string }];
    assert.equal(code, 1006);
    assert.equal(error.code, 'SW_HANDSHAKE');
    assert.equal(error.message, 'Unexpected server response: 401');
  } finally {
    await server.close();
  }
});
