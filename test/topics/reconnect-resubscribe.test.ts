/**
 * The client half of topic recovery (issues #13 and #14 together): a
 * ReconnectingWebSocket that remembers the last position it saw per topic
 * and, on every connection, resubscribes from there. Its server process is
 * killed while another process keeps publishing numbered messages; when a
 * new server process comes up, the client must end with every number once,
 * in order, without the app doing anything but the 'open' handler.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import WS from 'ws';
import { RedisServer, redisSkipReason } from '../support/redis.js';
import { startFanoutServer } from './fixtures/fanout-processes.js';
import { until } from './hub-behaviour.js';
import { delay, within } from '../node/server/helpers.js';
import { ReconnectingWebSocket } from '../../src/node/reconnect/reconnecting-websocket.js';
import type { NodeWebSocket } from '../../src/node/socket/websocket.js';

const skip = redisSkipReason();
if (skip !== undefined) console.log(`# skipping the reconnect-and-resubscribe test: ${skip}`);

let redis: RedisServer;
const children: ChildProcess[] = [];
before(async () => {
  if (skip === undefined) redis = await RedisServer.start();
});
after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await redis?.dispose();
});

const startServer = (prefix: string): Promise<{ child: ChildProcess; url: string }> => startFanoutServer(redis.url, prefix, children);

interface TopicMessage {
  type: string;
  topic?: string;
  offset?: number;
  epoch?: string;
  data?: string;
  recovered?: boolean;
}

test('a reconnecting client resubscribes from its last positions and ends with every message once, in order', { skip, timeout: 90_000 }, async () => {
  const prefix = 'resub:';
  let home = await startServer(prefix);
  const publisherServer = await startServer(prefix);
  const publisher = new WS(publisherServer.url);
  await within(once(publisher, 'open'), 5000, 'publisher open');
  const publish = (n: number): void => publisher.send(JSON.stringify({ pub: 'ticks', data: String(n) }));

  // The app: positions per topic, a resubscribe on every connection.
  const positions = new Map<string, { offset: number; epoch: string }>();
  const received: string[] = [];
  const subscribeReplies: TopicMessage[] = [];
  // The URL is a function: the restarted server listens on a new port.
  const client = new ReconnectingWebSocket(() => home.url, { minDelayMs: 20, maxDelayMs: 200 });
  client.on('open', (socket: NodeWebSocket) => {
    socket.send(JSON.stringify({ sub: 'ticks', since: positions.get('ticks') }));
  });
  client.on('message', (raw: Buffer) => {
    const message = JSON.parse(raw.toString()) as TopicMessage;
    if (message.type === 'subscribed') subscribeReplies.push(message);
    else if (message.type === 'msg') {
      positions.set(message.topic!, { offset: message.offset!, epoch: message.epoch! });
      received.push(message.data!);
    } else received.push(`unexpected ${message.type}`);
  });
  await until(() => subscribeReplies.length === 1, 10_000, 'first subscribe');

  let sent = 0;
  for (; sent < 40; ) publish(++sent);
  await until(() => received.length === 40, 10_000, 'first 40');

  // The client's server dies; publishing goes on meanwhile.
  const disconnected = once(client, 'disconnect');
  home.child.kill('SIGKILL');
  await within(disconnected, 5000, 'client sees its server die');
  for (; sent < 100; ) {
    publish(++sent);
    if (sent % 10 === 0) await delay(5);
  }
  home = await startServer(prefix);
  await until(() => subscribeReplies.length === 2, 15_000, 'resubscribe after the restart');
  assert.equal(subscribeReplies[1].recovered, true, 'the history covers the outage');
  for (; sent < 120; ) publish(++sent);
  await until(() => received.length >= 120, 15_000, 'all 120');
  await delay(100);
  assert.deepEqual(received, Array.from({ length: 120 }, (_, i) => String(i + 1)), 'every message once, in order');

  client.close();
  publisher.close();
  for (const s of [home, publisherServer]) s.child.send({ type: 'close' });
  await Promise.all([home, publisherServer].map((s) => within(once(s.child, 'exit'), 10_000, 'server exit')));
});
