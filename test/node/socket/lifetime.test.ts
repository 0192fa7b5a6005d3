/**
 * Lifetime of client connections (issue 14 item 6): unref() lets the process
 * exit (checked in a child process, against a control that stays alive),
 * terminate() ends at once, and a client sees and answers pings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket as WsSocket } from 'ws';
import { connect } from '../../../src/node/socket/connect.js';
import { ReconnectingWebSocket } from '../../../src/node/reconnect/reconnecting-websocket.js';

const CHILD = fileURLToPath(new URL('./unref-child.ts', import.meta.url));

/** Runs the child; resolves with whether it exited by itself within `ms` after printing 'ready'. */
async function exitsByItself(args: string[], ms: number): Promise<boolean> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const exited = once(child, 'exit').then(() => true);
  const ready = new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (out.includes('ready') || child.exitCode !== null) {
        clearInterval(poll);
        resolve();
      }
    }, 10);
  });
  await Promise.race([ready, new Promise((resolve) => setTimeout(resolve, 15_000))]);
  assert.match(out, /ready/, 'the child connected');
  const result = await Promise.race([exited, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);
  if (!result) {
    child.kill('SIGKILL');
    await exited;
  }
  return result;
}

async function startWs(onConnection: (socket: WsSocket) => void = () => {}): Promise<{ url: string; wss: WebSocketServer; close(): Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  wss.on('connection', onConnection);
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`,
    wss,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

test('an unref()ed open client socket lets its process exit; a ref()ed one keeps it alive', async () => {
  const server = await startWs();
  try {
    const [unrefExits, refExits] = await Promise.all([
      exitsByItself(['socket', server.url, 'unref'], 5000),
      exitsByItself(['socket', server.url, 'ref'], 1500),
    ]);
    assert.equal(unrefExits, true, 'unref: the process exits');
    assert.equal(refExits, false, 'control: the process stays');
  } finally {
    await server.close();
  }
});

test('an unref()ed ReconnectingWebSocket retrying a closed port lets its process exit', async () => {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const url = `ws://127.0.0.1:${(probe.address() as AddressInfo).port}/`;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const [unrefExits, refExits] = await Promise.all([
    exitsByItself(['reconnecting', url, 'unref'], 5000),
    exitsByItself(['reconnecting', url, 'ref'], 1500),
  ]);
  assert.equal(unrefExits, true, 'unref: the process exits');
  assert.equal(refExits, false, 'control: the backoff timer keeps the process');
});

test('terminate() closes at once with 1006, on the socket and on the reconnecting client (no reconnect)', async () => {
  const serverCodes: number[] = [];
  const server = await startWs((socket) => socket.on('close', (code) => serverCodes.push(code)));
  try {
    const socket = connect(server.url);
    await once(socket, 'open');
    socket.terminate();
    assert.equal(socket.readyState, 2);
    const [code] = await once(socket, 'close');
    assert.equal(code, 1006);

    const client = new ReconnectingWebSocket(server.url, { minDelayMs: 10, maxDelayMs: 20 });
    await once(client, 'open');
    client.terminate();
    const [clientCode] = await once(client, 'close');
    assert.equal(clientCode, 1006);
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(server.wss.clients.size, 0);
    // The server saw both go without a closing handshake.
    assert.deepEqual(serverCodes, [1006, 1006]);
  } finally {
    await server.close();
  }
});

test('a client emits ping (and answers it) and pong events; the reconnecting client forwards them', async () => {
  const pongsAtServer: string[] = [];
  const server = await startWs((socket) => {
    socket.on('pong', (data) => pongsAtServer.push(data.toString()));
    socket.ping('from-server');
  });
  try {
    const socket = connect(server.url);
    const [pingData] = await once(socket, 'ping');
    assert.equal((pingData as Buffer).toString(), 'from-server');
    socket.ping('from-client');
    const [pongData] = await once(socket, 'pong');
    assert.equal((pongData as Buffer).toString(), 'from-client');
    socket.close();
    await once(socket, 'close');

    const client = new ReconnectingWebSocket(server.url, { minDelayMs: 10, maxDelayMs: 20 });
    const [forwarded] = await once(client, 'ping');
    assert.equal((forwarded as Buffer).toString(), 'from-server');
    client.socket?.ping('again');
    const [forwardedPong] = await once(client, 'pong');
    assert.equal((forwardedPong as Buffer).toString(), 'again');
    client.close();
    await once(client, 'close');
    for (let i = 0; i < 100 && pongsAtServer.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(pongsAtServer, ['from-server', 'from-server'], 'the automatic pong echoes the ping payload');
  } finally {
    await server.close();
  }
});
