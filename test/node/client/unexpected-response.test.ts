/**
 * ws's 'unexpected-response' (request, response) on the sockwave/ws client,
 * checked side by side with the ws package itself: the app reads a 401's
 * body from `response` and ends the attempt; without a listener the
 * connection fails with an error. Once the app has the answer, no 'error'
 * follows it (ws emits none; its own suite checks that); unlike ws, the
 * socket does not stay CONNECTING for ever when the exchange ends.
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
    // The body stays incomplete (Content-Length announces more), so the
    // exchange is still going when the app calls terminate().
    const server = await startRawServer((socket) => socket.write(ANSWER.replace(`Content-Length: ${BODY.length}`, `Content-Length: ${BODY.length + 10}`)));
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
      response.on('error', () => {});
      const [chunk] = (await nextEvent(response, 'data')) as [Buffer];
      assert.equal(String(chunk), BODY);
      assert.equal(client.readyState, 0, 'still CONNECTING while the body is incomplete');
      client.terminate();
      const [code] = (await closed) as [number];
      assert.equal(code, 1006);
      assert.equal(client.readyState, 3);
      assert.deepEqual(events, ['error'], 'terminate() while CONNECTING reports the aborted handshake');
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

for (const [how, end] of [
  ['the server ends the exchange', (_request: { destroy(): void }) => {}],
  ["the app calls request.destroy() in 'unexpected-response'", (request: { destroy(): void }) => request.destroy()],
] as const) {
  test(`sockwave/ws: when ${how}, the attempt ends with close 1006 and no 'error' (ws would stay CONNECTING)`, async () => {
    const server = await startRawServer((socket) => socket.end(ANSWER));
    try {
      const client = new SockwaveWs(server.url);
      const errors: Error[] = [];
      client.on('error', (error: Error) => errors.push(error));
      const closed = nextEvent(client as never, 'close');
      const [request, response] = (await nextEvent(client as never, 'unexpected-response')) as [{ destroy(): void }, IncomingMessage];
      response.resume();
      end(request);
      const [code] = (await closed) as [number];
      assert.equal(code, 1006);
      assert.equal(client.readyState, 3);
      assert.deepEqual(errors, [], 'the app already has the answer: no error event');
    } finally {
      await server.close();
    }
  });
}
