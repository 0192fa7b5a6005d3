/**
 * Fan-out across processes: two sockwave server processes (child_process.fork)
 * on one real redis-server. Clients on A receive what B publishes, in one
 * order; when A dies and comes back, its clients resubscribe with `since`
 * and get exactly what they missed, then live messages.
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

const skip = redisSkipReason();
if (skip !== undefined) console.log(`# skipping the cross-process fan-out tests: ${skip}`);

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

interface Msg {
  type: string;
  topic?: string;
  offset?: number;
  epoch?: string;
  data?: string;
  recovered?: boolean;
  position?: { offset: number; epoch: string };
}

class Client {
  readonly ws: WS;
  readonly messages: Msg[] = [];
  readonly replies: Msg[] = [];
  private constructor(ws: WS) {
    this.ws = ws;
    ws.on('message', (raw: Buffer) => {
      const msg = JSON.parse(raw.toString()) as Msg;
      if (msg.type === 'msg' || msg.type === 'gap') this.messages.push(msg);
      else this.replies.push(msg);
    });
  }
  static async open(url: string): Promise<Client> {
    const ws = new WS(url);
    await within(once(ws, 'open'), 5000, 'client open');
    return new Client(ws);
  }
  async subscribe(topic: string, since?: { offset: number; epoch: string }): Promise<Msg> {
    this.ws.send(JSON.stringify({ sub: topic, since }));
    await until(() => this.replies.length > 0, 10_000, 'subscribe reply');
    return this.replies.shift()!;
  }
  publish(topic: string, data: string): void {
    this.ws.send(JSON.stringify({ pub: topic, data }));
  }
  get data(): string[] {
    return this.messages.map((m) => (m.type === 'gap' ? 'GAP' : m.data!));
  }
  get last(): { offset: number; epoch: string } {
    const m = this.messages[this.messages.length - 1];
    return { offset: m.offset!, epoch: m.epoch! };
  }
}

const numbers = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

test('clients on process A receive what process B publishes; A restarts and its clients recover from their positions', { skip, timeout: 90_000 }, async () => {
  const prefix = 'fan1:';
  const a = await startServer(prefix);
  const b = await startServer(prefix);
  const onA = [await Client.open(a.url), await Client.open(a.url)];
  const onB = await Client.open(b.url);
  for (const c of [...onA, onB]) assert.equal((await c.subscribe('room')).recovered, true);

  for (let i = 1; i <= 50; i++) onB.publish('room', String(i));
  await until(() => [...onA, onB].every((c) => c.messages.length === 50), 15_000, 'first 50 everywhere');
  for (const c of [...onA, onB]) {
    assert.deepEqual(c.data, numbers(1, 50));
    assert.deepEqual(c.messages.map((m) => m.offset), c.messages.map((_, i) => i + 1), 'offsets 1..50, one epoch');
  }
  const epoch = onA[0].last.epoch;

  // Process A dies; its clients keep their last positions.
  const positions = onA.map((c) => c.last);
  a.child.kill('SIGKILL');
  await Promise.all(onA.map((c) => within(once(c.ws, 'close'), 5000, 'client sees A die')));
  for (let i = 51; i <= 80; i++) onB.publish('room', String(i));
  await until(() => onB.messages.length === 80, 15_000, 'B gets 51..80');

  // A comes back; the clients reconnect and resume from where they were.
  const a2 = await startServer(prefix);
  const back = [await Client.open(a2.url), await Client.open(a2.url)];
  for (let k = 0; k < back.length; k++) {
    const reply = await back[k].subscribe('room', positions[k]);
    assert.equal(reply.recovered, true, 'the history covers the gap');
    assert.equal(reply.position!.epoch, epoch);
  }
  for (let i = 81; i <= 90; i++) onB.publish('room', String(i));
  await until(() => back.every((c) => c.messages.length === 40), 15_000, 'recovered and live messages');
  await delay(100);
  for (const c of back) {
    assert.deepEqual(c.data, numbers(51, 90), 'missed ones in order, then live ones, no duplicates');
    assert.deepEqual(c.messages.map((m) => m.offset), numbers(51, 90).map(Number));
  }
  assert.deepEqual(onB.data, numbers(1, 90));
  for (const c of [...back, onB]) c.ws.close();
  for (const s of [a2, b]) s.child.send({ type: 'close' });
  await Promise.all([a2, b].map((s) => within(once(s.child, 'exit'), 10_000, 'server exit')));
});
