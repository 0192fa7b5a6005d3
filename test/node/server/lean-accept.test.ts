/**
 * The lean accept (node/server/lean-accept.ts) replaces a listening net
 * server's `onconnection` on a Node whose own one it knows. These tests
 * check that it is installed here, that the sockets it makes behave as
 * Node's (counters, 'connection', allowHalfOpen, the diagnostics channel, what
 * it hands back to Node), and that it does what it is for: nothing per
 * connection survives a young-generation GC. The client's plain TCP connect
 * options (client/tcp-connect.ts) avoid the same cost and are measured here too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { channel } from 'node:diagnostics_channel';
import { install } from '../../../src/node/server/lean-accept.js';
import WS from 'ws';
import { WebSocketServer } from '../../../src/node/server/server.js';
import { startServer, within } from './helpers.js';
import { runSurvivorsChild } from '../../support/young-survivors.js';

type Accepting = Parameters<typeof install>[0];
const here = path.dirname(fileURLToPath(import.meta.url));
/** net.Socket's `server` (set by the accept; not in @types/node). */
const serverOf = (socket: net.Socket): net.Server => (socket as net.Socket & { server: net.Server }).server;
const acceptName = (server: net.Server): string | undefined =>
  (server as unknown as { _handle?: { onconnection?: { name: string } } })._handle?.onconnection?.name;

/**
 * The Node versions whose `onconnection` lean-accept.ts knows (its digest list): there the
 * lean accept must be installed, and a test that finds Node's own accept fails instead of skipping.
 */
const isKnownNode = process.versions.node.startsWith('20.20.');
const unknownNode = `Node ${process.versions.node}: lean-accept.ts knows only Node 20.20's net accept; Node's own stays`;

async function listening(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** A net server with the lean accept installed, or a reason why this Node cannot have it. */
async function leanServer(options: net.ServerOpts = {}, onSocket: (socket: net.Socket) => void = () => {}): Promise<{ server: net.Server; port: number } | string> {
  const server = net.createServer(options, onSocket);
  const port = await listening(server);
  if (!install(server as Accepting)) {
    server.close();
    assert.ok(!isKnownNode, `the lean accept was not installed on Node ${process.versions.node}`);
    return unknownNode;
  }
  return { server, port };
}

async function connect(port: number): Promise<net.Socket> {
  const client = net.connect(port, '127.0.0.1');
  client.on('error', () => {});
  await once(client, 'connect');
  return client;
}

test('a standalone WebSocketServer accepts through the lean accept on this Node', async (t) => {
  const { wss, port } = await startServer();
  try {
    const accepted = once(wss, 'connection');
    const client = await connect(port);
    client.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    const [ws] = (await within(accepted, 5000, 'connection')) as [{ _socket: net.Socket }];
    const name = acceptName(serverOf(ws._socket));
    if (!isKnownNode) t.skip(unknownNode);
    else assert.equal(name, 'leanAccept');
    client.destroy();
  } finally {
    wss.close();
  }
});

test('sockets made by the lean accept behave as Node\'s: server, counters, allowHalfOpen, data, close', async (t) => {
  let accepted: net.Socket | undefined;
  const made = await leanServer({ allowHalfOpen: true }, (socket) => {
    accepted = socket;
    socket.on('data', (chunk) => socket.write(chunk));
    socket.on('end', () => socket.end('bye'));
  });
  if (typeof made === 'string') return t.skip(made);
  const { server, port } = made;
  const client = await connect(port);
  await within(
    new Promise<void>((resolve) => {
      const poll = setInterval(() => accepted !== undefined && (clearInterval(poll), resolve()), 2);
    }),
  );
  const socket = accepted as net.Socket;
  assert.equal(serverOf(socket), server);
  assert.equal(socket.allowHalfOpen, true, 'allowHalfOpen comes from the server');
  const count = await new Promise<number>((resolve, reject) => server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
  assert.equal(count, 1);
  client.write('ping');
  const [echo] = (await within(once(client, 'data'))) as [Buffer];
  assert.equal(echo.toString(), 'ping');
  // The server's answer to the client's FIN arrives, then both sides close (the
  // allowHalfOpen property above is what says the server's option reached the socket).
  const received: Buffer[] = [];
  client.on('data', (chunk: Buffer) => received.push(chunk));
  client.end();
  await within(once(client, 'close'));
  assert.equal(Buffer.concat(received).toString(), 'bye');
  const closed = once(server, 'close');
  server.close(); // 'close' only once the counter is back to 0
  await within(closed, 5000, "server 'close' after its last socket closed");
});

test('the lean accept publishes net.server.socket as Node does', async (t) => {
  const made = await leanServer({}, (socket) => socket.destroy());
  if (typeof made === 'string') return t.skip(made);
  const published: unknown[] = [];
  const onMessage = (message: unknown): void => void published.push(message);
  channel('net.server.socket').subscribe(onMessage);
  try {
    const client = await connect(made.port);
    await within(once(client, 'close'));
    assert.equal(published.length, 1);
    assert.ok((published[0] as { socket: unknown }).socket instanceof net.Socket);
  } finally {
    channel('net.server.socket').unsubscribe(onMessage);
    made.server.close();
  }
});

/**
 * Records the calls of the TCP handles' setNoDelay (the class of `server`'s listening handle,
 * which accepted handles share) until the returned function is called.
 */
function recordSetNoDelay(server: net.Server): { calls: unknown[][]; restore(): void } {
  const proto = Object.getPrototypeOf((server as unknown as { _handle: object })._handle) as { setNoDelay(...args: unknown[]): unknown };
  const original = proto.setNoDelay;
  const calls: unknown[][] = [];
  proto.setNoDelay = function (this: unknown, ...args: unknown[]): unknown {
    calls.push(args);
    return original.apply(this, args);
  };
  return { calls, restore: () => void (proto.setNoDelay = original) };
}

/** One of Node's internal flags on a socket (kSetNoDelay, kSetKeepAlive), found by description. */
function internalFlag(socket: net.Socket, description: string): unknown {
  const symbol = Object.getOwnPropertySymbols(socket).find((s) => s.description === description);
  return symbol === undefined ? undefined : (socket as unknown as Record<symbol, unknown>)[symbol];
}

/** The socket a server hands to its next 'connection' listener, after a client connects. */
async function nextAccepted(server: net.Server, port: number): Promise<{ socket: net.Socket; client: net.Socket }> {
  const accepted = once(server, 'connection');
  const client = await connect(port);
  const [socket] = (await within(accepted, 5000, "'connection'")) as [net.Socket];
  return { socket, client };
}

test("with maxConnections or keepAlive set, connections go to Node's own accept", async (t) => {
  const made = await leanServer({}, () => {});
  if (typeof made === 'string') return t.skip(made);
  const { server, port } = made;
  server.maxConnections = 1;
  const dropped = once(server, 'drop');
  const first = await connect(port);
  const second = net.connect(port, '127.0.0.1');
  second.on('error', () => {});
  // Node's path: the second connection is dropped with a 'drop' event carrying its addresses.
  const [data] = (await within(dropped, 5000, "'drop'")) as [{ remotePort: number }];
  assert.equal(data.remotePort, second.localPort);
  await within(once(second, 'close'));
  first.destroy();
  server.close();

  // keepAlive: Node's accept turns it on and records it on the socket; the lean one would not.
  const keepAlive = await leanServer({ keepAlive: true, keepAliveInitialDelay: 2000 });
  if (typeof keepAlive === 'string') return t.skip(keepAlive);
  const { socket, client } = await nextAccepted(keepAlive.server, keepAlive.port);
  assert.equal(internalFlag(socket, 'kSetKeepAlive'), true);
  assert.equal(internalFlag(socket, 'kSetKeepAliveInitialDelay'), 2);
  client.destroy();
  keepAlive.server.close();
});

test('noDelay is applied as Node applies it', async (t) => {
  const made = await leanServer({ noDelay: true });
  if (typeof made === 'string') return t.skip(made);
  assert.equal(acceptName(made.server), 'leanAccept', 'noDelay stays on the lean path');
  const recorder = recordSetNoDelay(made.server);
  try {
    const { socket, client } = await nextAccepted(made.server, made.port);
    assert.equal(internalFlag(socket, 'kSetNoDelay'), true);
    assert.deepEqual(recorder.calls, [[true]], 'the option is set on the handle, once');
    client.destroy();
  } finally {
    recorder.restore();
    made.server.close();
  }
});

test('attached to an HTTP server: its connections are accepted lean, HTTP still answers, close() puts Node\'s accept back', async (t) => {
  const httpServer = http.createServer((_req, res) => res.end('plain http'));
  // Attached before the HTTP server listens: installed at 'listening'.
  const wss = new WebSocketServer({ server: httpServer });
  const port = await listening(httpServer);
  if (!isKnownNode) {
    wss.close();
    httpServer.close();
    return t.skip(unknownNode);
  }
  assert.equal(acceptName(httpServer), 'leanAccept');
  // An HTTP server has noDelay on by default; the socket has it before anything is written.
  let flagAtAccept: unknown;
  httpServer.prependListener('connection', (socket: net.Socket) => (flagAtAccept = internalFlag(socket, 'kSetNoDelay')));
  const body = await new Promise<string>((resolve, reject) => {
    http.get(`http://127.0.0.1:${port}/`, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve(text));
    }).on('error', reject);
  });
  assert.equal(body, 'plain http');
  assert.equal(flagAtAccept, true);
  const client = new WS(`ws://127.0.0.1:${port}/`);
  const [ws] = (await within(once(wss, 'connection'))) as [{ send(data: string): void }];
  ws.send('over the lean accept');
  const [message] = (await within(once(client, 'message'))) as [Buffer];
  assert.equal(message.toString(), 'over the lean accept');
  client.terminate();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
  assert.equal(acceptName(httpServer), 'onconnection', "Node's accept is back after wss.close()");
  httpServer.close();
});

test("two WebSocketServers on one HTTP server: Node's accept comes back when the last closes; an app's wrapper stays", async (t) => {
  if (!isKnownNode) return t.skip(unknownNode);
  const httpServer = http.createServer();
  await listening(httpServer);
  // Attached after the HTTP server listens: installed at once.
  const first = new WebSocketServer({ server: httpServer });
  const second = new WebSocketServer({ server: httpServer });
  assert.equal(acceptName(httpServer), 'leanAccept');
  await new Promise<void>((resolve) => first.close(() => resolve()));
  assert.equal(acceptName(httpServer), 'leanAccept', 'still on while the second server is attached');
  await new Promise<void>((resolve) => second.close(() => resolve()));
  assert.equal(acceptName(httpServer), 'onconnection');

  // An app that wraps the accept after we installed ours keeps its wrapper when we leave.
  const third = new WebSocketServer({ server: httpServer });
  const handle = (httpServer as unknown as { _handle: { onconnection: (...args: unknown[]) => void } })._handle;
  const ours = handle.onconnection;
  const appWrapper = function appWrapper(this: unknown, ...args: unknown[]): void {
    ours.apply(this, args);
  };
  handle.onconnection = appWrapper;
  await new Promise<void>((resolve) => third.close(() => resolve()));
  assert.equal(handle.onconnection, appWrapper);
  httpServer.close();
});

test('leanAccept: false keeps Node\'s accept', async () => {
  const { wss } = await startServer({ leanAccept: false });
  const { port } = wss.address() as net.AddressInfo;
  const accepted = once(wss, 'connection');
  const client = new WS(`ws://127.0.0.1:${port}/`);
  const [ws] = (await within(accepted)) as [{ _socket: net.Socket }];
  assert.equal(acceptName(serverOf(ws._socket)), 'onconnection');
  await within(once(client, 'open'));
  client.terminate();
  wss.close();
});

test('a handle whose onconnection is not a known one is left alone', async () => {
  const server = net.createServer();
  await listening(server);
  const handle = (server as unknown as { _handle: { onconnection: unknown } })._handle;
  const custom = function customAccept(): void {};
  handle.onconnection = custom;
  assert.equal(install(server as Accepting), false);
  assert.equal(handle.onconnection, custom);
  server.close();
});

/** Runs the survivors child (`client` for client sockets); undefined when this Node has no lean accept. */
function survivors(args: string[]): { plain: number; lean: number } | undefined {
  return runSurvivorsChild(path.join(here, 'fixtures', 'accept-survivors-child.ts'), args, /lean accept not installed/);
}

test('accepted connections leave (almost) nothing that survives a young-generation GC', (t) => {
  const result = survivors([]);
  if (result === undefined) {
    assert.ok(!isKnownNode, `the lean accept was not installed on Node ${process.versions.node}`);
    return t.skip(unknownNode);
  }
  const { plain, lean } = result;
  t.diagnostic(`bytes per closed connection surviving a scavenge: Node's accept ${plain.toFixed(0)}, lean ${lean.toFixed(0)}`);
  // Measured on Node 20.20 (least of three rounds): 820-840 with Node's accept (maps made per socket),
  // 3-10 with the lean one, 821 with a lean one whose options lack the three fields the constructor adds.
  assert.ok(lean < 100, `lean accept: ${lean.toFixed(0)} B per connection survive`);
  assert.ok(lean < plain / 4, `lean ${lean.toFixed(0)} B vs Node's ${plain.toFixed(0)} B`);
});

test("the client's connect options spare client sockets the same hidden classes", (t) => {
  // The limits below were measured with Node 20.20's V8.
  if (!isKnownNode) return t.skip(`Node ${process.versions.node}: the limits were measured on Node 20.20`);
  const result = survivors(['client']);
  assert.ok(result !== undefined);
  const { plain, lean } = result;
  t.diagnostic(`bytes per closed client connection surviving a scavenge: { host, port } ${plain.toFixed(0)}, plainConnectOptions ${lean.toFixed(0)}`);
  // Measured on Node 20.20: ~620 with { host, port }, ~34 with the four fields present.
  assert.ok(lean < 120, `plainConnectOptions: ${lean.toFixed(0)} B per connection survive`);
  assert.ok(lean < plain / 3, `plainConnectOptions ${lean.toFixed(0)} B vs { host, port } ${plain.toFixed(0)} B`);
});
