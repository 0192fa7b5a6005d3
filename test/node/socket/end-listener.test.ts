/**
 * Issue 16: a server socket's transport carries one 'end' listener (ours in
 * the place of net.Socket's own, which it calls first) instead of two. Real
 * loopback sockets: a client that half-closes without a close frame must see
 * the same as before, with allowHalfOpen false and true, and when other
 * 'end' listeners are already there (then ours is simply added).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import WS from 'ws';
import { WebSocketServer } from '../../../src/node/server/server.js';
import { upgradeRequest, within } from '../server/helpers.js';

interface Seen {
  endListeners: number;
  closeCode: number;
  writeReplaced: boolean;
  otherListenerRan: boolean;
}

async function halfCloseAfterUpgrade(allowHalfOpen: boolean, withOtherListener: boolean): Promise<Seen> {
  const wss = new WebSocketServer({ noServer: true });
  const server = http.createServer();
  let otherListenerRan = false;
  let transport: net.Socket | undefined;
  server.on('upgrade', (req, socket: net.Socket, head) => {
    socket.allowHalfOpen = allowHalfOpen;
    if (withOtherListener) socket.on('end', () => (otherListenerRan = true));
    transport = socket;
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const connected = once(wss, 'connection');
  const client = net.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
  client.on('error', () => {});
  try {
    await once(client, 'connect');
    client.write(upgradeRequest());
    const [ws] = (await within(connected, 3000, 'the upgrade')) as [WS];
    const t = transport as net.Socket;
    const endListeners = t.listenerCount('end');
    const serverEnded = once(t, 'end');
    const closed = once(ws, 'close');
    const clientEnded = once(client, 'end');
    client.resume();
    client.end(); // FIN, no close frame
    await within(serverEnded, 3000, "the server seeing the client's FIN");
    // net.Socket's own listener makes writes fail after the peer's FIN unless allowHalfOpen.
    const writeReplaced = t.write !== net.Socket.prototype.write;
    const [closeCode] = (await within(closed, 3000, "the server socket's 'close'")) as [number];
    await within(clientEnded, 3000, 'the server ending its side');
    return { endListeners, closeCode, writeReplaced, otherListenerRan };
  } finally {
    client.destroy();
    await wss.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

for (const allowHalfOpen of [false, true]) {
  test(`a client's FIN without a close frame (allowHalfOpen ${allowHalfOpen}): one 'end' listener, net's own behaviour kept, close 1006`, async () => {
    const seen = await halfCloseAfterUpgrade(allowHalfOpen, false);
    assert.deepEqual(seen, { endListeners: 1, closeCode: 1006, writeReplaced: !allowHalfOpen, otherListenerRan: false });
  });

  test(`with another 'end' listener already there (allowHalfOpen ${allowHalfOpen}): ours is added and all run`, async () => {
    const seen = await halfCloseAfterUpgrade(allowHalfOpen, true);
    assert.deepEqual(seen, { endListeners: 3, closeCode: 1006, writeReplaced: !allowHalfOpen, otherListenerRan: true });
  });
}

test('a standalone server socket also carries one end listener, and a normal close still completes', async () => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  const connected = once(wss, 'connection');
  const client = new WS(`ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}`);
  try {
    const [ws] = (await within(connected, 3000, 'the upgrade')) as [{ _socket: net.Socket; on: WS['on'] }];
    assert.equal(ws._socket.listenerCount('end'), 1);
    const serverClosed = once(ws as unknown as WS, 'close');
    await within(once(client, 'open'), 3000, 'client open');
    client.close(1000, 'bye');
    const [code] = (await within(serverClosed, 3000, "the server socket's 'close'")) as [number];
    assert.equal(code, 1000);
    await within(once(client, 'close'), 3000, 'client close');
  } finally {
    await wss.close();
  }
});
