/**
 * diagnostics_channel events and stats() for a live server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import diagnosticsChannel from 'node:diagnostics_channel';
import type { NodeWebSocket } from '../../../src/node/socket/websocket.js';
import { closeEvent, openClient, rawExchange, startServer, upgradeRequest, within } from './helpers.js';

function record(names: string[]): { events: Array<[string, Record<string, unknown>]>; stop(): void } {
  const events: Array<[string, Record<string, unknown>]> = [];
  const handlers = names.map((name) => {
    const handler = (message: unknown) => events.push([name, message as Record<string, unknown>]);
    diagnosticsChannel.subscribe(name, handler);
    return [name, handler] as const;
  });
  return { events, stop: () => handlers.forEach(([name, handler]) => diagnosticsChannel.unsubscribe(name, handler)) };
}

test('diagnostics channels report open, close with code, rejected handshakes and protocol errors', async () => {
  const recorder = record([
    'sockwave:connection-open',
    'sockwave:connection-close',
    'sockwave:handshake-rejected',
    'sockwave:protocol-error',
  ]);
  try {
    const { wss, port, url } = await startServer({ allowedOrigins: ['https://ok.example'] });
    assert.match(await rawExchange(port, upgradeRequest({ Origin: 'https://evil.example' })), /^HTTP\/1\.1 403 /);
    const client = await openClient(url);
    const [server] = [...wss.clients];
    const closed = closeEvent(server);
    client.close(4002, 'done');
    await within(closed);

    const connected = once(wss, 'connection');
    const raw = net.connect(port, '127.0.0.1');
    raw.on('error', () => {});
    raw.write(upgradeRequest());
    const [socket] = (await within(connected)) as [NodeWebSocket];
    const failed = closeEvent(socket);
    raw.resume();
    raw.write(Buffer.from([0x83, 0x80, 0, 0, 0, 0])); // reserved opcode 3
    await within(failed);
    raw.destroy();
    await wss.close({ timeoutMs: 500 });

    const names = recorder.events.map(([name]) => name);
    const rejected = recorder.events.find(([name]) => name === 'sockwave:handshake-rejected')?.[1];
    assert.equal(rejected?.status, 403);
    assert.equal(rejected?.reason, 'origin not allowed');
    assert.equal(names.filter((name) => name === 'sockwave:connection-open').length, 2);
    const closes = recorder.events.filter(([name]) => name === 'sockwave:connection-close').map(([, m]) => m.code);
    assert.deepEqual(closes, [4002, 1006]);
    const protocolError = recorder.events.find(([name]) => name === 'sockwave:protocol-error')?.[1];
    assert.equal(protocolError?.closeCode, 1002);
  } finally {
    recorder.stop();
  }
});

test('stats() counts connections, pending handshakes, bytes, messages and queued bytes', async () => {
  const { wss, port, url } = await startServer({ heartbeat: false });
  const empty = wss.stats();
  assert.deepEqual(empty, { connections: 0, pendingHandshakes: 0, bytesIn: 0, bytesOut: 0, messagesIn: 0, messagesOut: 0, queuedBytes: 0 });
  wss.on('connection', (socket: NodeWebSocket) => socket.on('message', (data: Buffer) => socket.send(data)));
  const client = await openClient(url);
  const stalled = net.connect(port, '127.0.0.1');
  stalled.on('error', () => {});
  await once(stalled, 'connect');
  stalled.write('GET / HTTP/1.1\r\n');
  const replies = new Promise<void>((resolve) => {
    let n = 0;
    client.on('message', () => ++n === 3 && resolve());
  });
  client.send('abc');
  client.send('defg');
  client.send(Buffer.alloc(200));
  await within(replies);
  const stats = wss.stats();
  assert.equal(stats.connections, 1);
  assert.equal(stats.pendingHandshakes, 1);
  assert.equal(stats.messagesIn, 3);
  assert.equal(stats.messagesOut, 3);
  // Client frames carry a 4-byte mask: 6+3, 6+4, 8+200 in; 2+3, 2+4, 4+200 out.
  assert.equal(stats.bytesIn, 9 + 10 + 208);
  assert.equal(stats.bytesOut, 5 + 6 + 204);
  assert.equal(stats.queuedBytes, 0);
  stalled.destroy();
  client.close();
  await wss.close({ timeoutMs: 500 });
});

test('a head over maxHeaderBytes is answered 431 while it arrives and reported as a rejected handshake', async () => {
  const recorder = record(['sockwave:handshake-rejected']);
  try {
    const { wss, port } = await startServer({ maxHeaderBytes: 1024 });
    const answer = await rawExchange(port, upgradeRequest({ 'X-Big': 'b'.repeat(3000) }));
    assert.match(answer, /^HTTP\/1\.1 431 /);
    const [, message] = recorder.events[0];
    assert.equal(message.status, 431);
    assert.match(String(message.reason), /exceeds 1024 bytes/);
    assert.equal(wss.stats().pendingHandshakes, 0);
    await wss.close({ timeoutMs: 500 });
  } finally {
    recorder.stop();
  }
});
