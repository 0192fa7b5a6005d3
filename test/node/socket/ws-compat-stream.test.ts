/**
 * Issue 12, section 1 (delivery items): createWebSocketStream and the DOM-style
 * `onmessage` of the ws-style socket, against a real `ws` server on loopback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WsStyle, { createWebSocketStream } from '../../../src/ws.js';
import { nextEvent, startWsServer } from '../client/peers.js';
import { within } from '../server/helpers.js';

test('issue 12 (readableObjectMode): text messages are read as strings, binary ones as Buffers', async () => {
  const peer = await startWsServer({}, (socket) => {
    socket.send('text');
    socket.send(Buffer.from([1, 2]));
    socket.close();
  });
  try {
    const duplex = createWebSocketStream(new WsStyle(peer.url), { readableObjectMode: true });
    const chunks: unknown[] = [];
    duplex.on('data', (chunk) => chunks.push(chunk));
    duplex.on('end', () => duplex.end());
    await within(new Promise((resolve) => duplex.on('close', resolve)), 5000, 'the duplex closing');
    assert.equal(chunks[0], 'text');
    assert.ok(Buffer.isBuffer(chunks[1]));
    assert.deepEqual([...(chunks[1] as Buffer)], [1, 2]);
  } finally {
    await peer.close();
  }
});

test('issue 12 (end while connecting): duplex.end() on a CONNECTING socket closes it once open, and the duplex closes', async () => {
  let serverSaw!: (code: number) => void;
  const serverClose = new Promise<number>((resolve) => (serverSaw = resolve));
  const peer = await startWsServer({}, (socket) => socket.on('close', serverSaw));
  try {
    const socket = new WsStyle(peer.url);
    const duplex = createWebSocketStream(socket);
    assert.equal(socket.readyState, WsStyle.CONNECTING);
    duplex.resume();
    duplex.end();
    await within(new Promise((resolve) => duplex.on('close', resolve)), 5000, 'the duplex closing');
    assert.equal(socket.readyState, WsStyle.CLOSED);
    assert.equal(await within(serverClose, 5000, 'the server seeing the close'), 1005);
  } finally {
    await peer.close();
  }
});

test("issue 12 (destroyed after end and finish): an 'end' listener after 'finish' already sees the duplex destroyed", async () => {
  const peer = await startWsServer({}, (socket) => {
    socket.send('one');
    socket.close();
  });
  try {
    const socket = new WsStyle(peer.url);
    const duplex = createWebSocketStream(socket);
    const seen: Array<[string, boolean]> = [];
    duplex.on('finish', () => {
      seen.push(['finish', duplex.destroyed]);
      duplex.resume();
    });
    duplex.on('end', () => seen.push(['end', duplex.destroyed]));
    socket.on('close', () => duplex.end());
    await within(new Promise((resolve) => duplex.on('close', resolve)), 5000, 'the duplex closing');
    assert.deepEqual(seen, [
      ['finish', false],
      ['end', true],
    ]);
  } finally {
    await peer.close();
  }
});

test("issue 12 (arraybuffer text): onmessage gets text as a string when binaryType is 'arraybuffer' or 'fragments'", async () => {
  const peer = await startWsServer();
  try {
    for (const binaryType of ['arraybuffer', 'fragments', 'nodebuffer'] as const) {
      const socket = new WsStyle(peer.url);
      socket.binaryType = binaryType;
      await nextEvent(socket, 'open');
      const received = new Promise<unknown>((resolve) => (socket.onmessage = (event) => resolve(event.data)));
      socket.send('hello');
      assert.equal(await within(received, 5000, 'the echo'), 'hello', binaryType);
      socket.close();
      await nextEvent(socket, 'close');
    }
  } finally {
    await peer.close();
  }
});
