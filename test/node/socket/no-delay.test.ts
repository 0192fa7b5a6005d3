/**
 * TCP_NODELAY is applied at the first frame write, not at attach
 * (src/node/socket/no-delay.ts). Observed on Node's own TCP handle of the
 * server's socket, against a real `ws` client: the option reaches the
 * handle before the first frame, is skipped when the only frame is the close
 * reply before our FIN, and an app's setNoDelay(false) wins.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import type { NodeWebSocket } from '../../../src/node/socket/websocket.js';
import { closeEvent, openClient, startServer, within } from '../server/helpers.js';

type Handle = { setNoDelay(enable: boolean): unknown };

/** Records the server socket's handle.setNoDelay() calls (they still reach the handle). */
function recordNoDelay(ws: NodeWebSocket): boolean[] {
  const socket = (ws as unknown as { _socket: Socket & { _handle: Handle } })._socket;
  const handle = socket._handle;
  const calls: boolean[] = [];
  const original = handle.setNoDelay;
  handle.setNoDelay = function (enable: boolean) {
    calls.push(enable);
    return original.call(this, enable);
  };
  return calls;
}

test('TCP_NODELAY reaches the handle before the first frame the server sends', async () => {
  const { wss, url } = await startServer();
  let calls: boolean[] = [];
  wss.on('connection', (ws) => {
    calls = recordNoDelay(ws);
    assert.deepEqual(calls, [], 'not yet at attach');
    // Later than the client's 'open' (a frame in the 101's chunk would beat our listener).
    setTimeout(() => ws.send('hello'), 20);
  });
  const client = await openClient(url);
  const [data] = (await within(once(client, 'message'))) as [Buffer];
  assert.equal(data.toString(), 'hello');
  assert.deepEqual(calls, [true]);
  client.close();
  await closeEvent(client);
  wss.close();
});

test('a socket whose only frame is the close reply before our FIN never sets TCP_NODELAY', async () => {
  const { wss, url } = await startServer();
  const closed: Promise<boolean[]> = new Promise((resolve) => {
    wss.on('connection', (ws) => {
      const calls = recordNoDelay(ws);
      ws.on('close', () => resolve(calls));
    });
  });
  const client = await openClient(url);
  client.close(1000);
  const [code] = await within(closeEvent(client));
  assert.equal(code, 1000);
  assert.deepEqual(await within(closed), []);
  wss.close();
});

test("an app's setNoDelay(false) from 'connection' wins over the deferred TCP_NODELAY", async () => {
  const { wss, url } = await startServer();
  let calls: boolean[] = [];
  wss.on('connection', (ws) => {
    calls = recordNoDelay(ws);
    (ws as unknown as { _socket: Socket })._socket.setNoDelay(false);
    setTimeout(() => ws.send('a'), 20);
    setTimeout(() => ws.send('b'), 30);
  });
  const client = await openClient(url);
  const got: string[] = [];
  client.on('message', (d: Buffer) => got.push(d.toString()));
  await within(new Promise<void>((resolve) => client.on('message', () => got.length === 2 && resolve())));
  assert.deepEqual(got, ['a', 'b']);
  assert.deepEqual(calls, [false], 'the app turned it off; the library did not turn it back on');
  client.close();
  await closeEvent(client);
  wss.close();
});

test('a server-initiated close sets TCP_NODELAY before its close frame (the peer answers before our FIN)', async () => {
  const { wss, url } = await startServer();
  let calls: boolean[] = [];
  wss.on('connection', (ws) => {
    calls = recordNoDelay(ws);
    ws.close(1001, 'bye');
  });
  const client = await openClient(url);
  const [code] = await within(closeEvent(client));
  assert.equal(code, 1001);
  assert.deepEqual(calls, [true]);
  wss.close();
});
