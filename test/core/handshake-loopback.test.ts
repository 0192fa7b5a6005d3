// The handshake functions over real loopback sockets: node:http's parser
// feeding validateUpgradeRequest, and both directions against the `ws` package.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { once } from 'node:events';
import WebSocket, { WebSocketServer } from 'ws';
import {
  buildAcceptResponse,
  buildClientRequest,
  buildRejectResponse,
  generateKey,
  validateServerResponse,
  validateUpgradeRequest,
  ResponseHeadParser,
  type ParsedResponseHead,
} from '../../src/core/handshake/rules.js';
import { buildClientOffer, negotiateServer } from '../../src/core/deflate/index.js';
import { HandshakeError } from '../../src/core/errors.js';

/** A server that answers upgrades with our functions (no frames: handshake only). */
async function startServer(): Promise<{ port: number; close: () => Promise<void>; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    requests.push(req);
    sockets.add(socket);
    try {
      const info = validateUpgradeRequest(req);
      const deflate = negotiateServer(info.extensions, {});
      socket.write(
        buildAcceptResponse({ key: info.key, protocol: info.protocols[0], extensions: deflate?.responseHeader }),
      );
      // Close frame 1000 so a ws client finishes cleanly.
      socket.end(Buffer.from([0x88, 0x02, 0x03, 0xe8]));
    } catch (error) {
      const e = error as HandshakeError;
      socket.end(buildRejectResponse(e.status, { headers: { ...e.headers }, body: e.message }));
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    port,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Sends `head` raw and parses the response head with ResponseHeadParser. */
async function rawExchange(port: number, head: string): Promise<ParsedResponseHead> {
  const socket = connect(port, '127.0.0.1');
  socket.write(head);
  const parser = new ResponseHeadParser();
  try {
    for await (const chunk of socket) {
      const result = parser.push(chunk as Buffer);
      if (result) return result;
    }
    throw new Error('connection ended before the response head');
  } finally {
    socket.destroy();
  }
}

describe('handshake over loopback', () => {
  test('node:http requests validate, and our client accepts our 101', async () => {
    const server = await startServer();
    try {
      const key = generateKey();
      const offer = buildClientOffer({});
      const head = await rawExchange(
        server.port,
        buildClientRequest({ host: `127.0.0.1:${server.port}`, path: '/x', key, protocols: ['p1', 'p2'], extensions: offer }),
      );
      const result = validateServerResponse(head, { key, protocols: ['p1', 'p2'], deflate: {} });
      assert.equal(result.protocol, 'p1');
      assert.equal(result.extensions, 'permessage-deflate');
      assert.deepEqual(result.deflate, {
        serverNoContextTakeover: false,
        clientNoContextTakeover: false,
        serverMaxWindowBits: 15,
        clientMaxWindowBits: 15,
      });
      // The first frame the server sent right after its head is in `rest` or still to come.
      assert.ok(head.rest.length === 0 || head.rest[0] === 0x88);
    } finally {
      await server.close();
    }
  });

  test('a duplicate Host reaching node:http is answered 400 and fails our client with that status', async () => {
    const server = await startServer();
    try {
      const key = generateKey();
      const request = buildClientRequest({ host: 'a.example', path: '/', key, headers: { 'X-Pad': 'y' } }).replace(
        'X-Pad: y\r\n',
        'Host: b.example\r\n',
      );
      const head = await rawExchange(server.port, request);
      assert.equal(head.status, 400);
      assert.throws(() => validateServerResponse(head, { key, protocols: [] }), /server answered 400 Bad Request/);
    } finally {
      await server.close();
    }
  });

  test('another WebSocket version gets 426 with Sec-WebSocket-Version: 13 over the wire', async () => {
    const server = await startServer();
    try {
      const request = buildClientRequest({ host: 'h', path: '/', key: generateKey() }).replace(
        'Sec-WebSocket-Version: 13',
        'Sec-WebSocket-Version: 8',
      );
      const head = await rawExchange(server.port, request);
      assert.equal(head.status, 426);
      assert.deepEqual(
        head.headers.filter(([name]) => name === 'Sec-WebSocket-Version'),
        [['Sec-WebSocket-Version', '13']],
      );
    } finally {
      await server.close();
    }
  });

  test('the ws client opens against a server using our accept response, with deflate negotiated', async () => {
    const server = await startServer();
    try {
      const client = new WebSocket(`ws://127.0.0.1:${server.port}/`, ['chat'], { perMessageDeflate: true });
      const closed = once(client, "close");
      await once(client, 'open');
      assert.equal(client.protocol, 'chat');
      assert.match(client.extensions, /^permessage-deflate/);
      const [code] = (await closed) as [number];
      assert.equal(code, 1000);
      const sent = server.requests[0].headers['sec-websocket-extensions'];
      assert.equal(typeof sent, 'string');
    } finally {
      await server.close();
    }
  });

  test('our request and response checks accept a ws server, with deflate negotiated', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true, handleProtocols: () => 'b' });
    await once(wss, 'listening');
    try {
      const port = (wss.address() as AddressInfo).port;
      const key = generateKey();
      const head = await rawExchange(
        port,
        buildClientRequest({ host: `127.0.0.1:${port}`, path: '/', key, protocols: ['a', 'b'], extensions: buildClientOffer({}) }),
      );
      const result = validateServerResponse(head, { key, protocols: ['a', 'b'], deflate: {} });
      assert.equal(result.protocol, 'b');
      assert.ok(result.deflate);
      assert.equal(result.deflate.serverMaxWindowBits, 15);
    } finally {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });
});
