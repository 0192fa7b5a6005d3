/**
 * Issue #12, section 4 (first contact, errors): the messages and codes a
 * newcomer meets first, checked against a real `ws` server on loopback.
 */
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { connect } from '../../../src/node/socket/connect.js';
import { WebSocketServer } from '../../../src/node/server/server.js';
import { startWsServer, type Peer } from './peers.js';

const peers: Peer[] = [];
after(async () => {
  await Promise.all(peers.map((peer) => peer.close()));
});

test('issue 12: connect("ftp://x") names every accepted scheme', () => {
  assert.throws(
    () => connect('ftp://x'),
    (error: unknown) =>
      error instanceof DOMException &&
      error.name === 'SyntaxError' &&
      /ws:, wss:, http: or https:/.test(error.message) &&
      /ftp:/.test(error.message),
  );
});

test('issue 12: send() while CONNECTING reports SW_NOT_OPEN_YET, not SW_CONNECTION_CLOSED', async () => {
  const peer = await startWsServer();
  peers.push(peer);
  const socket = connect(peer.url);
  assert.throws(() => socket.send('too early'), (error: { code?: string; message?: string }) => {
    assert.equal(error.code, 'SW_NOT_OPEN_YET');
    assert.match(String(error.message), /CONNECTING/);
    return true;
  });
  assert.throws(() => socket.ping(), { code: 'SW_NOT_OPEN_YET' });
  await once(socket, 'open');
  socket.close();
  await once(socket, 'close');
});

test('issue 12: sockwave:connection-open fires for client sockets too, with the 101 response', async () => {
  const peer = await startWsServer();
  peers.push(peer);
  const seen: Array<{ socket: unknown; request: unknown; response?: { statusCode: number } }> = [];
  const onOpen = (message: unknown): void => void seen.push(message as never);
  diagnosticsChannel.subscribe('sockwave:connection-open', onOpen);
  try {
    const socket = connect(peer.url);
    await once(socket, 'open');
    const event = seen.find((m) => m.socket === socket);
    assert.ok(event, 'an event for the client socket');
    assert.equal(event.request, undefined);
    assert.equal(event.response?.statusCode, 101);
    socket.close();
    await once(socket, 'close');
    // And still for server sockets, with the request.
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    const client = connect(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
    const [[serverSocket]] = await Promise.all([once(wss, 'connection'), once(client, 'open')]);
    const serverEvent = seen.find((m) => m.socket === serverSocket);
    assert.ok(serverEvent?.request, 'the server socket event carries the request');
    client.close();
    await once(client, 'close');
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  } finally {
    diagnosticsChannel.unsubscribe('sockwave:connection-open', onOpen);
  }
});
