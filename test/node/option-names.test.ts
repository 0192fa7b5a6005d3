/**
 * Issue 12, "options silently ignored": a misspelled or unknown option name
 * throws at construction, naming the closest known one, instead of leaving
 * the app on the default it meant to change. ws's own names keep working on
 * 'sockwave/ws'. The accepted cases open real loopback connections, so a
 * name that is accepted is also shown to work.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocketServer as PeerServer } from 'ws';
import { WebSocketServer } from '../../src/node/server/server.js';
import { connect } from '../../src/node/socket/connect.js';
import WsStyle from '../../src/ws.js';
import { within } from './server/helpers.js';

function throwsNaming(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof TypeError, `a TypeError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  });
}

test('issue 12 (unknown options): the server rejects misspelled names and suggests the known one', () => {
  throwsNaming(() => new WebSocketServer({ noServer: true, maxPayloadBytes: 10 } as never), /maxPayloadBytes.*did you mean maxMessageBytes\?/);
  throwsNaming(() => new WebSocketServer({ noServer: true, allowedOrigin: ['https://a.example'] } as never), /allowedOrigin.*did you mean allowedOrigins\?/);
  throwsNaming(() => new WebSocketServer({ noServer: true, heartbeat: { interval: 5000 } } as never), /heartbeat\.interval.*did you mean heartbeat\.intervalMs\?/);
  throwsNaming(
    () => new WebSocketServer({ noServer: true, perMessageDeflate: { treshold: 0 } } as never),
    /perMessageDeflate\.treshold.*did you mean perMessageDeflate\.threshold\?/,
  );
  // Nothing close: the error lists the names instead of guessing.
  throwsNaming(() => new WebSocketServer({ noServer: true, frobnicate: true } as never), /unknown option frobnicate: known options: port, /);
});

test('issue 12 (unknown options): connect() rejects misspelled names, the WHATWG-style options too', () => {
  throwsNaming(() => connect('ws://127.0.0.1:1/', { header: { a: 'b' } } as never), /header.*did you mean headers\?/);
  throwsNaming(() => connect('ws://127.0.0.1:1/', { maxPayload: 10 } as never), /maxPayload.*did you mean maxMessageBytes/);
  throwsNaming(() => connect('ws://127.0.0.1:1/', { keepalive: { timeout: 10 } } as never), /keepalive\.timeout.*did you mean keepalive\.timeoutMs\?/);
  throwsNaming(
    () => connect('ws://127.0.0.1:1/', { perMessageDeflate: { serverMaxWindowBit: 10 } } as never),
    /did you mean perMessageDeflate\.serverMaxWindowBits\?/,
  );
});

test('issue 12 (port as a string): port "NNNN" (process.env.PORT) listens as a number, as ws does', async () => {
  const probe = new PeerServer({ port: 0, host: '127.0.0.1' });
  await once(probe, 'listening');
  const free = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  const wss = new WebSocketServer({ port: String(free), host: '127.0.0.1', heartbeat: false });
  try {
    await within(once(wss, 'listening'));
    const client = connect(`ws://127.0.0.1:${free}/`);
    await within(once(client, 'open'));
    client.terminate();
  } finally {
    await wss.close();
  }
  assert.throws(() => new WebSocketServer({ port: 'eighty' }), /port must be an integer in 0\.\.65535, got eighty/);
});

test("issue 12 (ws names): sockwave/ws accepts ws's client and server options and honours the ones it maps", async () => {
  const wss = new WsStyle.WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    closeTimeout: 1000,
    allowSynchronousEvents: true,
    skipUTF8Validation: false,
    maxPayload: 64,
    perMessageDeflate: { threshold: 0, concurrencyLimit: 2, zlibDeflateOptions: { level: 3 }, zlibInflateOptions: {} },
  } as never);
  try {
    await within(once(wss, 'listening'));
    assert.equal(wss.options.closeTimeoutMs, 1000, 'closeTimeout is ws\'s name for closeTimeoutMs');
    assert.equal(wss.options.deflate?.level, 3, 'zlibDeflateOptions.level is used');
    assert.equal(wss.options.deflate?.concurrency, 2, 'concurrencyLimit is ws\'s name for concurrency');
    const { port } = wss.address() as { port: number };
    const client = new WsStyle(`ws://127.0.0.1:${port}/`, {
      maxPayload: 1 << 20,
      handshakeTimeout: 2000,
      allowSynchronousEvents: true,
      skipUTF8Validation: false,
      followRedirects: false,
      perMessageDeflate: { threshold: 0 },
    } as never);
    const [server] = (await within(once(wss, 'connection'))) as [InstanceType<typeof WsStyle>];
    await within(once(client, 'open'));
    // The 1009 is also reported as an error on the server's socket (events.once would reject on it).
    server.on('error', () => {});
    const closed = new Promise<number>((resolve) => client.on('close', (code: number) => resolve(code)));
    // maxPayload 64 on the server: a larger message gets the server's close frame 1009.
    client.send(Buffer.alloc(100));
    const code = await within(closed);
    assert.equal(code, 1009);
  } finally {
    await wss.close();
  }
});

test('issue 12 (unknown options): a misspelling is still refused on sockwave/ws', () => {
  throwsNaming(() => new WsStyle('ws://127.0.0.1:1/', { maxPayloads: 10 } as never), /did you mean maxPayload/);
});
