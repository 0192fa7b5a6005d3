/**
 * Regression for issue #12 section 2 (WPT websockets/opening-handshake/005):
 * a server that writes its 101 response and a close frame in one write (one
 * TCP segment on loopback). The standard's order is `open` first (the
 * connection is established by the 101), then `close` for the close frame.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeAcceptKey } from '../../src/core/handshake/accept-key.js';
import { WebSocket } from '../../src/web/websocket.js';
import { connect } from '../../src/node/socket/connect.js';
import WsStyle from '../../src/ws.js';
import { requestKey, startRawServer } from '../node/client/peers.js';

/** 101 + a close frame (1000, "bye") from the server, unmasked, in a single write; then the TCP close. */
function oneWriteServer() {
  return startRawServer((socket, request) => {
    const response =
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${computeAcceptKey(requestKey(request))}\r\n\r\n`;
    const close = Buffer.from([0x88, 0x05, 0x03, 0xe8, 0x62, 0x79, 0x65]);
    socket.end(Buffer.concat([Buffer.from(response, 'latin1'), close]));
  });
}

test('issue 12 (WPT opening-handshake/005): the WHATWG WebSocket fires open before close when the 101 and a close frame share a packet', async () => {
  const server = await oneWriteServer();
  try {
    const order: string[] = [];
    const ws = new WebSocket(server.url);
    const closed = new Promise<{ code: number; reason: string; wasClean: boolean }>((resolve) => {
      ws.onclose = (event) => {
        order.push('close');
        resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean });
      };
    });
    ws.onopen = () => order.push('open');
    ws.onerror = () => order.push('error');
    const event = await closed;
    assert.deepEqual(order, ['open', 'close']);
    assert.equal(event.code, 1000);
    assert.equal(event.reason, 'bye');
  } finally {
    await server.close();
  }
});

for (const [name, open] of [
  ['connect()', (url: string) => connect(url)],
  ['sockwave/ws new WebSocket()', (url: string) => new WsStyle(url)],
] as const) {
  test(`issue 12 (WPT opening-handshake/005): ${name} emits open before close when the 101 and a close frame share a packet`, async () => {
    const server = await oneWriteServer();
    try {
      const order: string[] = [];
      const socket = open(server.url);
      socket.on('open', () => order.push('open'));
      socket.on('error', () => order.push('error'));
      const [code, reason] = await new Promise<[number, Buffer]>((resolve) =>
        socket.on('close', (c: number, r: Buffer) => {
          order.push('close');
          resolve([c, r]);
        }),
      );
      assert.deepEqual(order, ['open', 'close']);
      assert.equal(code, 1000);
      assert.equal(reason.toString(), 'bye');
    } finally {
      await server.close();
    }
  });
}
