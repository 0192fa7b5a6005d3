/**
 * The migration guide's "after" code works as written: `sockwave/ws` gives a
 * default export usable like `ws` (client constructor, `.Server`) and the
 * named `WebSocketServer`. Loaded from the built package, as users get it.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { test } from 'node:test';

const skip = existsSync(new URL('../../dist/ws.js', import.meta.url)) ? undefined : 'dist/ is not built (npm test builds it)';
if (skip) console.log(`# skipping migration guide check: ${skip}`);

test('ws-style code runs unchanged on sockwave/ws', { skip, timeout: 20_000 }, async () => {
  const specifier = 'sockwave/ws';
  const { default: WebSocket, WebSocketServer } = await import(specifier);
  assert.equal(WebSocket.Server, WebSocketServer, 'WebSocket.Server is the server class (ws 7 style, socket.io wsEngine)');

  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: (offered: Set<string>) => [...offered][0] ?? false });
  await once(wss, 'listening');
  wss.on('connection', (socket: any) => socket.on('message', (data: Buffer, isBinary: boolean) => socket.send(data, { binary: isBinary })));
  try {
    const client = new WebSocket(`ws://127.0.0.1:${wss.address().port}`, ['chat']);
    await once(client, 'open');
    assert.equal(client.protocol, 'chat');
    client.send('same API');
    const [data, isBinary] = await once(client, 'message');
    assert.equal(String(data), 'same API');
    assert.equal(isBinary, false);
    client.close(1000, 'done');
    const [code] = await once(client, 'close');
    assert.equal(code, 1000);
  } finally {
    await wss.close({ timeoutMs: 1000 });
  }
});

test('createWebSocketStream from sockwave/ws, as the guide describes: one chunk per message, end closes', { skip, timeout: 20_000 }, async () => {
  const specifier = 'sockwave/ws';
  const { default: WebSocket, WebSocketServer, createWebSocketStream } = await import(specifier);
  assert.equal(WebSocket.createWebSocketStream, createWebSocketStream);
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  const messages: string[] = [];
  const closed = new Promise<number>((resolve) =>
    wss.on('connection', (socket: any) => {
      socket.on('message', (data: Buffer) => messages.push(String(data)));
      socket.on('close', (code: number) => resolve(code));
      socket.send('from server');
    }),
  );
  try {
    const client = new WebSocket(`ws://127.0.0.1:${wss.address().port}`);
    const stream = createWebSocketStream(client);
    const [chunk] = await once(stream, 'data');
    assert.equal(String(chunk), 'from server');
    stream.write('one');
    stream.end('two');
    assert.equal(await closed, 1005, 'ending the writable side closes the connection');
    assert.deepEqual(messages, ['one', 'two']);
  } finally {
    await wss.close({ timeoutMs: 1000 });
  }
});
