/**
 * Heartbeats against real peers (issue 6): the sockwave server pings idle
 * connections every 200 ms and must keep every real client that answers
 * (ws, undici, python-websockets, Chromium, sockwave's own), measuring the
 * round trip as socket.latencyMs; the client's keepalive does the same
 * against ws and python-websockets servers.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chromiumClientPeer, chromiumSkipReason } from './chromium.js';
import { undiciClientPeer, wsClientPeer, wsServerPeer } from './node-peers.js';
import { pythonClientPeer, pythonServerPeer } from './python.js';
import { pythonSkip } from './sockwave-targets.js';
import { loadSockwave } from './subjects.js';
import type { PeerClient, PeerServer } from './targets.js';

const HEARTBEAT = { intervalMs: 200, timeoutMs: 200 };
const IDLE_MS = 1500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ServerSideSocket {
  readyState: number;
  latencyMs: number | undefined;
  terminate(): void;
  once(event: 'close', fn: (code: number) => void): void;
}

describe('the sockwave server heartbeat keeps answering peers and measures latency', () => {
  const peers: Array<[PeerClient, string | undefined]> = [
    [wsClientPeer, undefined],
    [undiciClientPeer, undefined],
    [pythonClientPeer, pythonSkip()],
    [chromiumClientPeer(), chromiumSkipReason()],
  ];
  for (const [peer, skip] of peers) {
    test(`${peer.name} stays connected through ${IDLE_MS} ms of 200 ms heartbeats`, { skip, timeout: 40_000 }, async (t) => {
      const { WebSocketServer } = await loadSockwave('node/server/server');
      const server = new WebSocketServer({ host: '127.0.0.1', port: 0, heartbeat: HEARTBEAT });
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
      const connection = new Promise<ServerSideSocket>((resolve) => server.once('connection', resolve));
      await peer.start?.();
      try {
        const client = await peer.connect(`ws://127.0.0.1:${(server.address() as { port: number }).port}/`, { protocols: [], deflate: false });
        const socket = await connection;
        let closedWith: number | undefined;
        socket.once('close', (code) => (closedWith = code));
        await sleep(IDLE_MS);
        t.diagnostic(`${peer.name}: latencyMs ${socket.latencyMs?.toFixed(2)}, readyState ${socket.readyState}`);
        assert.equal(closedWith, undefined, 'not terminated by the heartbeat');
        assert.equal(socket.readyState, 1);
        assert.equal(typeof socket.latencyMs, 'number', 'the pong round trip was measured');
        socket.terminate();
        await client.dispose();
      } finally {
        server.close();
        await peer.stop?.();
      }
    });
  }
});

describe('the sockwave client keepalive against real servers', () => {
  const servers: Array<[PeerServer, string | undefined]> = [
    [wsServerPeer, undefined],
    [pythonServerPeer, pythonSkip()],
  ];
  for (const [peer, skip] of servers) {
    test(`connect() with keepalive stays connected to ${peer.name} and measures latency`, { skip, timeout: 30_000 }, async (t) => {
      const { connect } = await loadSockwave('node/socket/connect');
      const running = await peer.start({ deflate: false });
      try {
        const socket = connect(running.url, { keepalive: HEARTBEAT });
        await new Promise<void>((resolve, reject) => {
          socket.once('open', () => resolve());
          socket.once('error', reject);
        });
        let closedWith: number | undefined;
        socket.once('close', (code: number) => (closedWith = code));
        await sleep(IDLE_MS);
        t.diagnostic(`${peer.name}: latencyMs ${socket.latencyMs?.toFixed(2)}`);
        assert.equal(closedWith, undefined);
        assert.equal(typeof socket.latencyMs, 'number');
        socket.terminate();
      } finally {
        await running.stop();
      }
    });
  }
});
