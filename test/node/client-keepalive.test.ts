/**
 * Client keepalive: pings after silence, measures latency, and fails a
 * connection whose peer stops answering (half-open TCP, dead NAT mapping).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../../src/node/client.js';
import { computeAcceptKey } from '../../src/core/handshake/rules.js';
import { TimeoutError } from '../../src/core/errors.js';
import { nextEvent, requestKey, startRawServer, startWsServer } from './client-peers.js';

test('keepalive pings a silent ws server, exposes latencyMs and keeps the connection open', async () => {
  let pings = 0;
  const peer = await startWsServer({}, (socket) => {
    socket.on('ping', () => pings++);
  });
  try {
    const socket = connect(peer.url, { keepalive: { intervalMs: 50, timeoutMs: 100 } });
    socket.on('error', () => {});
    await nextEvent(socket, 'open');
    assert.equal(socket.latencyMs, undefined);
    // Polled (bounded) rather than slept, so a loaded CI machine does not make it flaky.
    const deadline = Date.now() + 5000;
    while ((pings < 2 || socket.latencyMs === undefined) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.ok(pings >= 2, `server saw ${pings} pings`);
    assert.equal(typeof socket.latencyMs, 'number');
    assert.ok(socket.latencyMs! >= 0 && socket.latencyMs! < 1000, `latency ${socket.latencyMs} ms`);
    assert.equal(socket.readyState, 1);
    socket.close();
    await nextEvent(socket, 'close');
  } finally {
    await peer.close();
  }
});

test('keepalive is off by default: no pings on a silent connection', async () => {
  let pings = 0;
  const peer = await startWsServer({}, (socket) => {
    socket.on('ping', () => pings++);
  });
  try {
    const socket = connect(peer.url);
    await nextEvent(socket, 'open');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(pings, 0);
    assert.equal(socket.latencyMs, undefined);
    socket.close();
    await nextEvent(socket, 'close');
  } finally {
    await peer.close();
  }
});

test('keepalive fails the connection with a heartbeat TimeoutError and 1006 when pongs stop', async () => {
  // Completes the handshake, then reads and ignores everything (a dead peer that keeps TCP up).
  const server = await startRawServer((socket, request) => {
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${computeAcceptKey(requestKey(request))}\r\n\r\n`,
    );
  });
  try {
    const socket = connect(server.url, { keepalive: { intervalMs: 50, timeoutMs: 100 }, perMessageDeflate: false });
    const errors: Error[] = [];
    socket.on('error', (error: Error) => errors.push(error));
    await nextEvent(socket, 'open');
    const started = Date.now();
    const [code] = (await nextEvent(socket, 'close')) as [number];
    const elapsed = Date.now() - started;
    assert.equal(code, 1006);
    assert.ok(errors[0] instanceof TimeoutError, `got ${errors[0]}`);
    assert.equal((errors[0] as TimeoutError).phase, 'heartbeat');
    assert.ok(elapsed >= 140 && elapsed < 5000, `failed after ${elapsed} ms`);
  } finally {
    await server.close();
  }
});

test('keepalive options are validated at connect()', () => {
  assert.throws(() => connect('ws://127.0.0.1:1', { keepalive: { intervalMs: 0 } }), /keepalive.intervalMs/);
  assert.throws(() => connect('ws://127.0.0.1:1', { keepalive: { timeoutMs: -5 } }), /keepalive.timeoutMs/);
});
