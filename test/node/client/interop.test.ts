/**
 * One behaviour suite for `connect()` run against each real server peer:
 * the `ws` library and python3-websockets (Debian).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from '../../../src/node/socket/connect.js';
import { findPythonWithWebsockets, nextEvent, startPythonServer, startWsServer, type Peer } from './peers.js';

type ClientSocket = ReturnType<typeof connect>;

const SIZES = [0, 125, 126, 65535, 65536, 1024 * 1024];

/** Resolves with the next message (data, isBinary). */
function nextMessage(socket: ClientSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve, reject) => {
    const onMessage = (data: Buffer, isBinary: boolean): void => {
      socket.off('close', onClose);
      resolve({ data, isBinary });
    };
    const onClose = (code: number): void => {
      socket.off('message', onMessage);
      reject(new Error(`closed with ${code} before a message arrived`));
    };
    socket.once('message', onMessage);
    socket.once('close', onClose);
  });
}

async function open(url: string, options: Parameters<typeof connect>[1] = {}): Promise<ClientSocket> {
  const socket = connect(url, options);
  const errors: Error[] = [];
  socket.on('error', (error: Error) => errors.push(error));
  await Promise.race([
    once(socket, 'open'),
    nextEvent(socket, 'close').then(() => {
      throw new Error(`connection failed: ${errors[0]?.message ?? 'closed'}`);
    }),
  ]);
  return socket;
}

function closed(socket: ClientSocket): Promise<{ code: number; reason: string }> {
  return nextEvent(socket, 'close').then(([code, reason]) => ({ code: code as number, reason: String(reason) }));
}

function peerSuite(name: string, start: () => Promise<Peer | { skip: string }>, perMessageDeflate: boolean): void {
  describe(`connect() against ${name}`, () => {
    let peer: Peer | undefined;
    let skip: string | undefined;
    before(async () => {
      const started = await start();
      if ('skip' in started) skip = started.skip;
      else peer = started;
    });
    after(async () => {
      await peer?.close();
    });

    const options = {};

    test(`echoes text and binary messages of ${SIZES.join(', ')} bytes`, async (t) => {
      if (skip) return t.skip(skip);
      const socket = await open(peer!.url, options);
      // The client offers permessage-deflate by default; these servers accept it only when configured to.
      if (perMessageDeflate) assert.match(socket.extensions, /^permessage-deflate/);
      else assert.equal(socket.extensions, '');
      for (const size of SIZES) {
        const binary = Buffer.alloc(size);
        for (let i = 0; i < size; i++) binary[i] = (i * 31 + 7) & 0xff;
        const pending = nextMessage(socket);
        socket.send(binary, { binary: true });
        const echoed = await pending;
        assert.equal(echoed.isBinary, true, `binary ${size}`);
        assert.ok(echoed.data.equals(binary), `binary ${size} bytes differ`);

        const text = 'h\u00e9\u20ac\ud83d\ude00'.repeat(Math.ceil(size / 10)).slice(0, size);
        const pendingText = nextMessage(socket);
        socket.send(text);
        const echoedText = await pendingText;
        assert.equal(echoedText.isBinary, false, `text ${size}`);
        assert.equal(echoedText.data.toString('utf8'), text);
      }
      const done = closed(socket);
      socket.close(1000);
      assert.deepEqual(await done, { code: 1000, reason: '' });
    });

    test('negotiates the first offered subprotocol the server supports', async (t) => {
      if (skip) return t.skip(skip);
      const socket = await open(peer!.url, { ...options, protocols: ['unknown', 'superchat', 'chat'] });
      assert.equal(socket.protocol, 'superchat');
      const done = closed(socket);
      socket.close();
      assert.equal((await done).code, 1005);
    });

    test('client close code and reason reach the server and come back in the echo', async (t) => {
      if (skip) return t.skip(skip);
      const socket = await open(peer!.url, options);
      const done = closed(socket);
      socket.close(4321, 'client says bye \u00e9');
      assert.deepEqual(await done, { code: 4321, reason: 'client says bye \u00e9' });
    });

    test('server-initiated close delivers its code and reason', async (t) => {
      if (skip) return t.skip(skip);
      const socket = await open(peer!.url, options);
      const done = closed(socket);
      socket.send('close 4001 server says bye');
      assert.deepEqual(await done, { code: 4001, reason: 'server says bye' });
      assert.equal(socket.readyState, 3);
    });
  });
}

peerSuite('ws (no compression)', async () => {
  const peer = await startWsServer({
    handleProtocols: (protocols) => (protocols.has('superchat') ? 'superchat' : protocols.has('chat') ? 'chat' : false),
  });
  return peer;
}, false);

peerSuite('ws (permessage-deflate)', async () => {
  return startWsServer({
    perMessageDeflate: true,
    handleProtocols: (protocols) => (protocols.has('superchat') ? 'superchat' : protocols.has('chat') ? 'chat' : false),
  });
}, true);

peerSuite('python3-websockets (no compression)', async () => {
  const found = findPythonWithWebsockets();
  if ('skip' in found) return found;
  return startPythonServer(found.python);
}, false);

peerSuite('python3-websockets (permessage-deflate)', async () => {
  const found = findPythonWithWebsockets();
  if ('skip' in found) return found;
  return startPythonServer(found.python, ['--deflate']);
}, true);

test('300 concurrent connect() clients to one ws server each echo and close cleanly', async () => {
  const peer = await startWsServer();
  try {
    const results = await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const socket = await open(peer.url, { perMessageDeflate: i % 2 === 0 ? {} : false });
        const echoed = nextMessage(socket);
        socket.send(`client ${i}`);
        const { data } = await echoed;
        const done = closed(socket);
        socket.close(1000);
        return [data.toString(), (await done).code];
      }),
    );
    results.forEach(([text, code], i) => {
      assert.equal(text, `client ${i}`);
      assert.equal(code, 1000);
    });
  } finally {
    await peer.close();
  }
});

test('fragmented and interleaved-with-ping messages from a ws server arrive whole', async () => {
  const peer = await startWsServer({}, (socket) => {
    socket.send('frag', { fin: false });
    socket.ping('mid-message');
    socket.send('men', { fin: false });
    socket.send('ted', { fin: true });
    socket.send(Buffer.from([1, 2]), { binary: true, fin: false });
    socket.send(Buffer.from([3]), { binary: true, fin: true });
  });
  try {
    const socket = connect(peer.url);
    const messages: Array<[string, boolean]> = [];
    const pings: string[] = [];
    socket.on('ping', (data: Buffer) => pings.push(data.toString()));
    const both = new Promise<void>((resolve) =>
      socket.on('message', (data: Buffer, isBinary: boolean) => {
        messages.push([isBinary ? [...data].join(',') : data.toString(), isBinary]);
        if (messages.length === 2) resolve();
      }),
    );
    await both;
    assert.deepEqual(messages, [
      ['fragmented', false],
      ['1,2,3', true],
    ]);
    assert.deepEqual(pings, ['mid-message']);
    socket.close();
    await nextEvent(socket, 'close');
  } finally {
    await peer.close();
  }
});
