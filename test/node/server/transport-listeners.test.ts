/**
 * An upgraded server socket carries one no-op 'error' listener (the
 * handshake's, kept by the open socket), and a transport error after the
 * upgrade still ends in 'close' 1006 without crashing the process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import type { NodeWebSocket } from '../../../src/node/socket/websocket.js';
import { closeEvent, openClient, startServer, within } from './helpers.js';

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
