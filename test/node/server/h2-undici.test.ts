/**
 * Interop with another RFC 8441 peer from npm: undici's WebSocket over an
 * Agent with `allowH2` (experimental in undici 7). Messages both ways over a
 * HTTP/2 stream, and close codes in both directions (undici does not end
 * its side after the closing handshake: the server resets the stream after
 * a grace, see h2-upgrade.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, WebSocket as UndiciWebSocket } from 'undici';
import type { NodeWebSocket } from '../../../src/node/socket/websocket.js';
import { makeCertificate, startH2Server, type Credentials } from './h2-helpers.js';
import { within } from './helpers.js';

const credentials = makeCertificate();
const skip = typeof credentials === 'string' ? credentials : false;

test('undici\'s WebSocket with allowH2 talks to the server over HTTP/2', { skip }, async () => {
  const creds = credentials as Credentials;
  const fx = await startH2Server(creds);
  const versions: string[] = [];
  const serverCloses: number[] = [];
  fx.wss.on('connection', (ws: NodeWebSocket, req: { httpVersion: string; url: string }) => {
    versions.push(req.httpVersion);
    if (req.url === '/server-close') ws.close(4003, 'bye');
    ws.on('message', (data: Buffer) => ws.send(`echo:${data}`));
    ws.on('close', (code: number) => serverCloses.push(code));
  });
  const dispatcher = new Agent({ allowH2: true, connect: { ca: creds.cert } });
  const open = (path: string): Promise<UndiciWebSocket> =>
    within(new Promise((resolve, reject) => {
      const ws = new UndiciWebSocket(`wss://localhost:${fx.port}${path}`, { dispatcher } as never);
      ws.onopen = () => resolve(ws);
      ws.onerror = (event) => reject(new Error(`undici socket failed: ${String((event as { message?: string }).message)}`));
    }), 10_000, 'undici open');
  try {
    const [a, b] = await Promise.all([open('/a'), open('/b')]);
    const replies = await Promise.all([a, b].map((ws, i) => within(new Promise<string>((resolve) => {
      ws.onmessage = (event) => resolve(String(event.data));
      ws.send(`hi ${i}`);
    }))));
    assert.deepEqual(replies, ['echo:hi 0', 'echo:hi 1']);
    const closed = await within(new Promise<number>((resolve) => {
      a.onclose = (event) => resolve(event.code);
      a.close(4000, 'client bye');
    }));
    assert.equal(closed, 4000);
    const serverClosed = await open('/server-close');
    const code = await within(new Promise<number>((resolve) => (serverClosed.onclose = (event) => resolve(event.code))));
    assert.equal(code, 4003);
    assert.deepEqual(versions, ['2.0', '2.0', '2.0']);
    // undici's Agent does not put concurrent WebSockets on one session (a connection each, all h2).
    console.log(`# undici: 3 sockets over HTTP/2 on ${fx.connections()} TCP connection(s)`);
    b.close(1000);
  } finally {
    await dispatcher.close();
    await fx.stop();
  }
});
