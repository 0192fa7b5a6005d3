/**
 * `for await (const message of socket)` on the Node socket, against a `ws`
 * server on loopback: message types, how the loop ends, backpressure, and
 * leaving the loop early.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket as WsSocket } from 'ws';
import { connect } from '../../../src/node/socket/connect.js';
import { ConnectionClosedError } from '../../../src/core/errors.js';
import { ITERATOR_HIGH_WATER_MARK } from '../../../src/node/socket/iterate.js';

async function withServer(onConnection: (socket: WsSocket) => void, run: (url: string) => Promise<void>): Promise<void> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  wss.on('connection', onConnection);
  try {
    await run(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`);
  } finally {
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
}

test('for await yields text as strings and binary as Buffers, and ends after a 1000 close', async () => {
  await withServer(
    (socket) => {
      socket.send('one');
      socket.send(Buffer.from([1, 2]));
      socket.send('three');
      socket.close(1000);
    },
    async (url) => {
      const socket = connect(url);
      const seen: unknown[] = [];
      for await (const message of socket) seen.push(message);
      assert.deepEqual(seen, ['one', Buffer.from([1, 2]), 'three']);
      assert.equal(socket.readyState, 3);
    },
  );
});

test('an abnormal close throws ConnectionClosedError after the messages before it', async () => {
  await withServer(
    (socket) => {
      socket.send('last words');
      socket.close(4001, 'kicked');
    },
    async (url) => {
      const socket = connect(url);
      const seen: unknown[] = [];
      await assert.rejects(
        (async () => {
          for await (const message of socket) seen.push(message);
        })(),
        (error: unknown) => error instanceof ConnectionClosedError && error.received?.code === 4001 && /4001 kicked/.test(error.message),
      );
      assert.deepEqual(seen, ['last words']);
    },
  );
});

test('a slow loop pauses the socket: the server sees its send buffer fill, and every message still arrives', async () => {
  const count = 64;
  const chunk = Buffer.alloc(256 * 1024, 1);
  let server: WsSocket | undefined;
  await withServer(
    (socket) => {
      server = socket;
      for (let i = 0; i < count; i++) socket.send(chunk);
      socket.close(1000);
    },
    async (url) => {
      const socket = connect(url);
      let received = 0;
      let waitingOnServer = 0;
      for await (const message of socket) {
        received++;
        if (received === 1) {
          await new Promise((resolve) => setTimeout(resolve, 400));
          waitingOnServer = server!.bufferedAmount;
          assert.ok(socket.isPaused, `the iterator paused the socket past ${ITERATOR_HIGH_WATER_MARK} queued messages`);
        }
        assert.equal((message as Buffer).length, chunk.length);
      }
      assert.equal(received, count);
      assert.ok(waitingOnServer > 8 * 1024 * 1024, `the server still held ${waitingOnServer} bytes while the loop slept`);
    },
  );
});

test('breaking out of the loop leaves the socket open, resumed and usable', async () => {
  await withServer(
    (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })),
    async (url) => {
      const socket = connect(url);
      await once(socket, 'open');
      socket.send('a');
      for await (const message of socket) {
        assert.equal(message, 'a');
        break;
      }
      assert.equal(socket.readyState, 1);
      assert.equal(socket.isPaused, false);
      socket.send('b');
      const [data] = await once(socket, 'message');
      assert.equal((data as Buffer).toString(), 'b');
      socket.close();
      await once(socket, 'close');
      // Iterating a closed socket ends at once.
      const after: unknown[] = [];
      for await (const message of socket) after.push(message);
      assert.deepEqual(after, []);
    },
  );
});
