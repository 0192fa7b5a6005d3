/**
 * The client's permessage-deflate offer (RFC 7692) and its checks of the
 * server's answer, against a `ws` server and hand-written answers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '../../src/node/client.js';
import { computeAcceptKey } from '../../src/core/handshake/rules.js';
import { HandshakeError } from '../../src/core/errors.js';
import { nextEvent, requestKey, startRawServer, startWsServer } from './client-peers.js';

async function offerSeenBy(options: Parameters<typeof connect>[1]): Promise<string | undefined> {
  let offer: string | undefined;
  const peer = await startWsServer({}, (socket, request) => {
    offer = request.headers['sec-websocket-extensions'];
    socket.close(1000);
  });
  try {
    const socket = connect(peer.url, options);
    socket.on('error', () => {});
    await nextEvent(socket, 'close');
    return offer;
  } finally {
    await peer.close();
  }
}

test('the client offers permessage-deflate with client_max_window_bits by default, like browsers', async () => {
  assert.equal(await offerSeenBy({}), 'permessage-deflate; client_max_window_bits');
});

test('perMessageDeflate: false sends no offer; an object tunes the offer', async () => {
  assert.equal(await offerSeenBy({ perMessageDeflate: false }), undefined);
  assert.equal(
    await offerSeenBy({ perMessageDeflate: { clientNoContextTakeover: true, serverMaxWindowBits: 10 } }),
    'permessage-deflate; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits',
  );
});

test('invalid perMessageDeflate options throw a RangeError naming the field at connect()', () => {
  assert.throws(() => connect('ws://127.0.0.1:1', { perMessageDeflate: { level: 42 } }), /perMessageDeflate.level/);
  assert.throws(() => connect('ws://127.0.0.1:1', { perMessageDeflate: { serverMaxWindowBits: 7 } }), RangeError);
});

test('compressed messages round-trip with a ws server, with and without context takeover', async () => {
  for (const serverOptions of [{}, { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9 }]) {
    const peer = await startWsServer({ perMessageDeflate: { threshold: 0, ...serverOptions } });
    try {
      const socket = connect(peer.url, { perMessageDeflate: { threshold: 0 } });
      await nextEvent(socket, 'open');
      assert.match(socket.extensions, /permessage-deflate/);
      const text = 'compress me '.repeat(5000);
      for (let i = 0; i < 3; i++) {
        const echoed = nextEvent(socket, 'message');
        socket.send(text + i);
        const [data, isBinary] = (await echoed) as [Buffer, boolean];
        assert.equal(isBinary, false);
        assert.equal(data.toString(), text + i);
      }
      socket.close(1000);
      assert.equal(((await nextEvent(socket, 'close')) as [number])[0], 1000);
    } finally {
      await peer.close();
    }
  }
});

test('a server answer with parameters we cannot accept fails the connection before open', async () => {
  const answers = [
    ['permessage-deflate; server_max_window_bits=7', /server_max_window_bits/],
    ['permessage-deflate; client_max_window_bits=10; client_max_window_bits=10', /client_max_window_bits/],
    ['permessage-deflate; unknown_param', /unknown_param/],
  ] as const;
  for (const [header, pattern] of answers) {
    const server = await startRawServer((socket, request) => {
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${computeAcceptKey(requestKey(request))}\r\nSec-WebSocket-Extensions: ${header}\r\n\r\n`,
      );
    });
    try {
      const socket = connect(server.url);
      const errors: Error[] = [];
      let opened = false;
      socket.on('open', () => (opened = true));
      socket.on('error', (error: Error) => errors.push(error));
      const [code] = (await nextEvent(socket, 'close')) as [number];
      assert.equal(code, 1006, header);
      assert.equal(opened, false, header);
      assert.ok(errors[0] instanceof HandshakeError, header);
      assert.match(errors[0].message, pattern);
    } finally {
      await server.close();
    }
  }
});
