/**
 * examples/core-duplex.mjs, the "bring your own transport" adapter of
 * docs/core.md: a server and a client made from sockwave/core over a real
 * loopback socket and over an in-memory Duplex pair, and each against `ws`.
 * Like the other examples it imports the built package (dist/).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { connect as netConnect, createServer, type AddressInfo, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const skip = existsSync(`${ROOT}dist/core/index.js`) ? undefined : 'dist/ is not built (npm test builds it; or run npm run build)';
if (skip) console.log(`# skipping examples/core-duplex.mjs: ${skip}`);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const load = (): Promise<any> => import(new URL('../../examples/core-duplex.mjs', import.meta.url).href);

/** Two Duplex streams wired to each other in memory: not a socket anywhere. */
function duplexPair(): [Duplex, Duplex] {
  const sides: Duplex[] = [];
  const make = (other: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk, _encoding, callback) {
        other().push(chunk);
        callback();
      },
      final(callback) {
        other().push(null);
        callback();
      },
    });
  sides.push(make(() => sides[1]), make(() => sides[0]));
  return [sides[0], sides[1]];
}

async function tcpPair(): Promise<{ server: Socket; client: Socket; close: () => void }> {
  const listener = createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const client = netConnect((listener.address() as AddressInfo).port, '127.0.0.1');
  const [server] = (await once(listener, 'connection')) as [Socket];
  await once(client, 'connect');
  return { server, client, close: () => listener.close() };
}

describe('examples/core-duplex.mjs', { skip, timeout: 30_000 }, () => {
  for (const transport of ['a loopback TCP socket', 'an in-memory Duplex pair'] as const) {
    test(`a core client and a core server exchange text and a 1 MiB binary message and close cleanly over ${transport}`, async () => {
      const { accept, connect } = await load();
      let serverStream: Duplex;
      let clientStream: Duplex;
      let done = () => {};
      if (transport === 'a loopback TCP socket') {
        const pair = await tcpPair();
        [serverStream, clientStream, done] = [pair.server, pair.client, pair.close];
      } else {
        [serverStream, clientStream] = duplexPair();
      }
      const accepted = accept(serverStream, { protocols: ['echo'] });
      const client = await connect(clientStream, { host: 'example.test', path: '/room?x=1', protocols: ['chat', 'echo'] });
      const server = await accepted;
      assert.equal(client.protocol, 'echo');
      assert.equal(server.protocol, 'echo');
      assert.equal(server.url, '/room?x=1');
      server.on('message', (data: Buffer, isBinary: boolean) => server.send(isBinary ? data : `echo: ${data.toString()}`));

      // Listen first: over the in-memory pair the echo arrives inside send().
      let reply = once(client, 'message');
      client.send('hello');
      const [text, isBinary] = await reply;
      assert.equal(text.toString(), 'echo: hello');
      assert.equal(isBinary, false);
      const big = Buffer.alloc(1024 * 1024, 7);
      big[12345] = 1;
      reply = once(client, 'message');
      client.send(big);
      const [echoed, isBinaryToo] = await reply;
      assert.equal(isBinaryToo, true);
      assert.ok(echoed.equals(big), 'the 1 MiB message came back intact');

      const serverClosed = once(server, 'close');
      const clientClosed = once(client, 'close');
      client.close(1000, 'bye');
      const [code, , wasClean] = await clientClosed;
      const [serverCode, serverReason, serverClean] = await serverClosed;
      assert.deepEqual([code, wasClean], [1000, true]);
      assert.deepEqual([serverCode, serverReason, serverClean], [1000, 'bye', true]);
      done();
    });
  }

  test('a ws client talks to the example echo server, pings are answered, and the close is clean', async () => {
    const { startEchoServer } = await load();
    const server = await startEchoServer({ protocols: ['v1'] });
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`, ['v1']);
    await once(ws, 'open');
    assert.equal(ws.protocol, 'v1');
    for (let i = 0; i < 3; i++) {
      ws.ping(`p${i}`);
      const [data] = await once(ws, 'pong');
      assert.equal(data.toString(), `p${i}`, 'every ping gets its pong');
    }
    ws.send('round trip');
    const [reply] = await once(ws, 'message');
    assert.equal(reply.toString(), 'round trip');
    ws.close(1000);
    const [code] = await once(ws, 'close');
    assert.equal(code, 1000);
    await server.close();
  });

  test('the example client talks to a ws server, and a refusal rejects with the HandshakeError', async () => {
    const { connect } = await load();
    const wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      verifyClient: (info: { req: { url?: string } }) => info.req.url !== '/forbidden',
    });
    await once(wss, 'listening');
    const port = (wss.address() as AddressInfo).port;
    wss.on('connection', (peer) => peer.on('message', (data, isBinary) => peer.send(data, { binary: isBinary })));

    const tcp = netConnect(port, '127.0.0.1');
    await once(tcp, 'connect');
    const client = await connect(tcp, { host: `127.0.0.1:${port}` });
    client.send('to ws');
    const [data] = await once(client, 'message');
    assert.equal(data.toString(), 'to ws');
    client.close(1000);
    const [code, , wasClean] = await once(client, 'close');
    assert.deepEqual([code, wasClean], [1000, true]);

    const refusedTcp = netConnect(port, '127.0.0.1');
    await once(refusedTcp, 'connect');
    await assert.rejects(connect(refusedTcp, { host: `127.0.0.1:${port}`, path: '/forbidden' }), (error: Error & { status?: number }) => {
      assert.equal(error.name, 'HandshakeError');
      assert.equal(error.status, 401);
      return true;
    });
    await new Promise((resolve) => wss.close(resolve));
  });
});
