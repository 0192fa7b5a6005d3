/**
 * The own net server keeps an upgraded socket flowing when the handshake is
 * accepted synchronously and nothing followed the head (net.ts), and pauses
 * it as before otherwise. Whatever the path, every frame a raw TCP client
 * sends is delivered once and in order, and a pause() from 'connection'
 * holds messages back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import type { NodeWebSocket } from '../../../src/node/socket/websocket.js';
import type { ServerOptions } from '../../../src/node/server/options.js';
import { clientFrame, delay, startServer, upgradeRequest, within } from './helpers.js';

/** Collects the server's text messages; resolves when `count` arrived. */
async function run(options: Omit<ServerOptions, 'port'>, send: (raw: net.Socket) => Promise<void>, count: number, onConnection?: (ws: NodeWebSocket) => void): Promise<string[]> {
  const { wss, port } = await startServer(options);
  const got: string[] = [];
  const done = new Promise<void>((resolve) => {
    wss.on('connection', (ws: NodeWebSocket) => {
      ws.on('message', (data: Buffer) => {
        got.push(data.toString());
        if (got.length === count) resolve();
      });
      onConnection?.(ws);
    });
  });
  const raw = net.connect(port, '127.0.0.1');
  raw.on('error', () => {});
  await once(raw, 'connect');
  await send(raw);
  await within(done, 5000, `${count} messages (got ${got.length})`);
  raw.destroy();
  await wss.close({ timeoutMs: 1000 });
  return got;
}

async function await101(raw: net.Socket): Promise<void> {
  const [chunk] = (await within(once(raw, 'data'))) as [Buffer];
  assert.match(chunk.toString('latin1'), /^HTTP\/1\.1 101 /);
}

test('synchronous accept, head alone: frames sent after the 101 arrive in order', async () => {
  const got = await run({}, async (raw) => {
    raw.write(upgradeRequest());
    await await101(raw);
    raw.write(clientFrame(1, 'one'));
    await delay(10);
    raw.write(Buffer.concat([clientFrame(1, 'two'), clientFrame(1, 'three')]));
  }, 3);
  assert.deepEqual(got, ['one', 'two', 'three']);
});

test('synchronous accept, frames in the same write as the head: delivered once, before later ones', async () => {
  const got = await run({}, async (raw) => {
    raw.write(Buffer.concat([Buffer.from(upgradeRequest()), clientFrame(1, 'first')]));
    await await101(raw);
    raw.write(clientFrame(1, 'second'));
  }, 2);
  assert.deepEqual(got, ['first', 'second']);
});

test('async verify hook: frames sent with the head and while it runs wait, then arrive in order', async () => {
  const verify = async (): Promise<{ accept: true }> => {
    await delay(50);
    return { accept: true };
  };
  for (const withHead of [false, true]) {
    const got = await run({ verify }, async (raw) => {
      raw.write(Buffer.concat([Buffer.from(upgradeRequest()), ...(withHead ? [clientFrame(1, 'a')] : [])]));
      await delay(10);
      raw.write(clientFrame(1, 'b')); // before the 101: the hook is still running
      await await101(raw);
      raw.write(clientFrame(1, 'c'));
    }, withHead ? 3 : 2);
    assert.deepEqual(got, withHead ? ['a', 'b', 'c'] : ['b', 'c']);
  }
});

test("pause() in a synchronous 'connection' listener holds messages until resume()", async () => {
  let gotSoFar = 0;
  let paused: NodeWebSocket | undefined;
  let deliveredWhilePaused = 0;
  const got = await run({}, async (raw) => {
    raw.write(upgradeRequest());
    await await101(raw);
    raw.write(clientFrame(1, 'held'));
    await delay(100);
    deliveredWhilePaused = gotSoFar;
    (paused as NodeWebSocket).resume();
  }, 1, (ws) => {
    paused = ws;
    ws.on('message', () => gotSoFar++);
    ws.pause();
  });
  assert.equal(deliveredWhilePaused, 0);
  assert.deepEqual(got, ['held']);
});
