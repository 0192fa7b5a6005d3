/**
 * Differential property tests against undici's WebSocket: for random close()
 * arguments, random URLs and random protocol lists, both implementations of
 * the standard must throw the same DOMException (or none) and serialize the
 * URL the same way. URLs point at a closed loopback port, so no connection
 * ever leaves the machine.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WebSocket as UndiciWebSocket } from 'undici';
import { WebSocket as OurWebSocket } from '../../src/web/websocket.js';
import { startWsServer, type Peer } from '../node/client/peers.js';

type AnyWebSocket = InstanceType<typeof OurWebSocket> | InstanceType<typeof UndiciWebSocket>;

let peer: Peer;
before(async () => {
  peer = await startWsServer();
});
after(async () => {
  await peer.close();
});

function outcome(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (error) {
    return error instanceof DOMException ? `DOMException:${error.name}` : (error as Error).name;
  }
}

function closedEventually(ws: AnyWebSocket): Promise<void> {
  if (ws.readyState === 3) return Promise.resolve();
  return new Promise((resolve) => ws.addEventListener('close', () => resolve(), { once: true }));
}

test('close(code, reason) throws the same exception in both for random arguments', async () => {
  // Closed sockets: close() still runs its argument checks (steps 1-2) before doing nothing.
  const ours = new OurWebSocket(peer.url);
  const theirs = new UndiciWebSocket(peer.url);
  await Promise.all(
    ([ours, theirs] as AnyWebSocket[]).map(async (ws) => {
      await new Promise((resolve) => ws.addEventListener('open', resolve, { once: true }));
      const done = closedEventually(ws);
      ws.close();
      await done;
    }),
  );
  const code = fc.oneof(
    fc.constant(undefined),
    fc.integer({ min: -10, max: 70000 }),
    fc.constantFrom(999, 1000, 1001, 1005, 1006, 2999, 3000, 4999, 5000, 65535, 65536, 65537),
    fc.double({ min: -2, max: 70000, noNaN: false }),
  );
  const reason = fc.oneof(
    fc.constant(undefined),
    fc.string({ maxLength: 130 }),
    fc.string({ unit: 'grapheme', maxLength: 70 }),
    fc.string({ unit: 'binary', maxLength: 70 }),
  );
  fc.assert(
    fc.property(code, reason, (c, r) => {
      const a = outcome(() => ours.close(c, r));
      const b = outcome(() => theirs.close(c, r));
      assert.equal(a, b, `close(${c}, ${JSON.stringify(r)}): sockwave ${a}, undici ${b}`);
    }),
    { numRuns: 2000 },
  );
});

test('constructor URL handling matches for random URLs: same exception or same .url', async () => {
  const scheme = fc.constantFrom('ws', 'wss', 'http', 'https', 'ftp', 'file', 'WS', 'HtTp', 'javascript', '');
  const pathChar = fc.constantFrom('a', '/', '%', '%20', ' ', '?', '#', '&', '=', '\u00e9', '..', '.', '\\', '@', ':', '[', '\t');
  const rest = fc.array(pathChar, { maxLength: 12 }).map((parts) => parts.join(''));
  const url = fc.tuple(scheme, fc.constantFrom('://127.0.0.1:1', '://127.0.0.1:1/', ':127.0.0.1:1', '://[::1]:1', '://'), rest).map(
    ([s, authority, r]) => `${s}${authority}${r}`,
  );
  const sockets: AnyWebSocket[] = [];
  const seen = { ok: 0, thrown: 0 };
  try {
    fc.assert(
      fc.property(url, (u) => {
        let ourUrl: string | undefined;
        let theirUrl: string | undefined;
        const a = outcome(() => {
          const ws = new OurWebSocket(u);
          sockets.push(ws);
          ourUrl = ws.url;
        });
        const b = outcome(() => {
          const ws = new UndiciWebSocket(u);
          sockets.push(ws);
          theirUrl = ws.url;
        });
        assert.equal(a, b, `${JSON.stringify(u)}: sockwave ${a}, undici ${b}`);
        assert.equal(ourUrl, theirUrl, JSON.stringify(u));
        seen[a === 'ok' ? 'ok' : 'thrown']++;
      }),
      { numRuns: 300 },
    );
    // The generator must exercise both branches, or the comparison proves little.
    assert.ok(seen.ok > 30 && seen.thrown > 30, JSON.stringify(seen));
  } finally {
    // Port 1 refuses at once; wait for every attempt to end so the process exits.
    for (const ws of sockets) ws.addEventListener('error', () => {});
    await Promise.all(sockets.map(closedEventually));
  }
});

test('protocol lists are accepted or rejected alike for random lists', async () => {
  const token = fc.constantFrom('chat', 'Chat', 'v1.json', 'a b', '', 'x,y', 'é', 'a;b', '~!#$%&*+-.^_`|', 'a"b', 'a/b', 'a=b', '{}');
  const sockets: AnyWebSocket[] = [];
  try {
    fc.assert(
      fc.property(fc.array(token, { maxLength: 4 }), (protocols) => {
        const a = outcome(() => sockets.push(new OurWebSocket('ws://127.0.0.1:1/', protocols)));
        const b = outcome(() => sockets.push(new UndiciWebSocket('ws://127.0.0.1:1/', protocols)));
        // undici rejects 'chat' + 'Chat' as duplicates (case-insensitive); the
        // standard says "occur more than once" and RFC 6455 subprotocols are
        // case-sensitive, so we accept them, as Chromium does (chromium-compare.test.ts):
        // compare only lists without such pairs.
        const lower = protocols.map((p) => p.toLowerCase());
        if (new Set(lower).size !== new Set(protocols).size) return;
        assert.equal(a, b, `${JSON.stringify(protocols)}: sockwave ${a}, undici ${b}`);
      }),
      { numRuns: 300 },
    );
  } finally {
    for (const ws of sockets) ws.addEventListener('error', () => {});
    await Promise.all(sockets.map(closedEventually));
  }
});
