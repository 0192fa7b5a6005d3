/**
 * An upgraded server socket carries one no-op 'error' listener (the
 * handshake's, kept by the open socket), and a transport error after the
 * upgrade still ends in 'close' 1006 without crashing the process. An
 * idle timeout the HTTP server set on the socket is cleared at the upgrade.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from '../../../src/node/server/server.js';
import type { NodeWebSocket } from '../../../src/node/socket/websocket.js';
import { closeEvent, delay, openClient, startServer, within } from './helpers.js';

test("an upgraded socket has one 'error' listener, and a transport error ends in close 1006", async () => {
  const { wss, url } = await startServer();
  const opened = new Promise<NodeWebSocket>((resolve) => wss.on('connection', resolve));
  const client = await openClient(url);
  client.on('error', () => {});
  const ws = await within(opened);
  const transport = (ws as unknown as { _socket: Socket })._socket;
  assert.equal(transport.listenerCount('error'), 1);
  const closed = closeEvent(ws);
  transport.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
  const [code] = await within(closed);
  assert.equal(code, 1006);
  await wss.close({ timeoutMs: 1000 });
});

test("an HTTP server's socket timeout is cleared at the upgrade: an idle WebSocket outlives it and its socket times out no more", async () => {
  const server = http.createServer();
  server.setTimeout(150);
  const wss = new WebSocketServer({ server });
  let timeouts = 0;
  wss.on('connection', (ws: NodeWebSocket) => {
    (ws as unknown as { _socket: Socket })._socket.on('timeout', () => timeouts++);
    ws.on('message', (data: Buffer) => ws.send(data));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { WebSocket: WS } = await import('ws');
  const client = new WS(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
  await within(once(client, 'open'));
  let isClosed = false;
  client.on('close', () => (isClosed = true));
  await delay(500);
  assert.equal(isClosed, false, 'still open after three times the HTTP timeout');
  assert.equal(timeouts, 0, "no 'timeout' on the upgraded socket");
  client.send('still here');
  const [reply] = (await within(once(client, 'message'))) as [Buffer];
  assert.equal(reply.toString(), 'still here');
  client.close();
  await wss.close({ timeoutMs: 1000 });
  server.close();
});
