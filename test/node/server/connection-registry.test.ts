/**
 * The server's list of open sockets (server/connection-registry.ts): the
 * order and contents `wss.clients` shows when it is first asked for after
 * sockets came and went, the Set kept in step from then on, and sockets
 * unlinked without a pointer left behind. Real sockets without a transport
 * (as a server makes them before attaching), then a real server for
 * broadcast and stats.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { ConnectionRegistry } from '../../../src/node/server/connection-registry.js';
import { NodeWebSocket } from '../../../src/node/socket/websocket.js';
import { kState } from '../../../src/node/socket/state.js';
import { openClient, startServer, within } from './helpers.js';

function sockets(count: number): NodeWebSocket[] {
  return Array.from({ length: count }, () => new NodeWebSocket(null));
}

test('clients, first asked for after sockets came and went, holds the open ones in the order they opened', () => {
  const registry = new ConnectionRegistry();
  const [a, b, c, d, e] = sockets(5);
  for (const ws of [a, b, c, d]) registry.add(ws);
  registry.remove(b); // from the middle
  registry.remove(a); // the first
  registry.remove(d); // the last
  registry.remove(d); // twice: nothing happens
  registry.add(e);
  assert.equal(registry.size, 2);
  assert.deepEqual([...registry.sockets], [c, e]);
  // A socket that left keeps no link to the others (nor they to it).
  for (const ws of [a, b, d]) {
    assert.equal(ws[kState].registryPrev, undefined);
    assert.equal(ws[kState].registryNext, undefined);
  }
  assert.equal(c[kState].registryNext, e[kState]);
  assert.equal(e[kState].registryPrev, c[kState]);
});

test('once asked for, clients is the same Set and follows every socket that opens or closes', () => {
  const registry = new ConnectionRegistry();
  const [a, b, c] = sockets(3);
  registry.add(a);
  const clients = registry.sockets;
  registry.add(b);
  registry.add(c);
  registry.remove(a);
  assert.equal(registry.sockets, clients);
  assert.deepEqual([...clients], [b, c]);
  // As with ws, an app may edit the Set; the count follows it.
  clients.delete(b);
  assert.equal(registry.size, 1);
  let emptied = false;
  registry.whenEmpty(() => {
    emptied = true;
  });
  registry.remove(b);
  registry.remove(c);
  assert.equal(registry.size, 0);
  assert.ok(emptied);
});

test('broadcast and stats reach every open socket when clients was never asked for', async () => {
  const { wss, url } = await startServer({ heartbeat: false });
  const peers = await Promise.all([openClient(url), openClient(url), openClient(url)]);
  const [first, middle, last] = peers;
  // The middle socket leaves the list before anything walks it.
  middle.close(1000);
  await within(once(middle, 'close'));
  while (wss.stats().connections !== 2) await new Promise((resolve) => setTimeout(resolve, 5));
  const received = [first, last].map((peer) => once(peer, 'message'));
  assert.equal(wss.broadcast('hello'), 2);
  for (const [data] of await within(Promise.all(received))) assert.equal(String(data), 'hello');
  assert.equal(wss.clients.size, 2);
  first.close(1000);
  last.close(1000);
  await wss.close({ timeoutMs: 1000 });
});
