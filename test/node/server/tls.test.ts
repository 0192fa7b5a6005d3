/**
 * wss: the server attached to an https.Server with a self-signed certificate
 * generated at test time (openssl), and a ws client that trusts it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import WS from 'ws';
import { WebSocketServer } from '../../../src/node/server/server.js';
import type { NodeWebSocket } from '../../../src/node/socket/websocket.js';
import { within } from './helpers.js';

function makeCertificate(): { key: Buffer; cert: Buffer } | string {
  const dir = mkdtempSync(join(tmpdir(), 'sockwave-tls-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '1',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } catch (error) {
    return `openssl is not available (${(error as Error).message})`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const credentials = makeCertificate();

test('wss: the server option accepts an https.Server and verify sees isSecure', { skip: typeof credentials === 'string' ? credentials : false }, async () => {
  const { key, cert } = credentials as { key: Buffer; cert: Buffer };
  const server = https.createServer({ key, cert });
  let isSecure = false;
  const wss = new WebSocketServer({
    server,
    verify: (info) => {
      isSecure = info.isSecure;
      return true;
    },
  });
  wss.on('connection', (socket: NodeWebSocket) => socket.on('message', (data: Buffer) => socket.send(`secure:${data}`)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const client = new WS(`wss://localhost:${port}`, { ca: cert });
  await within(once(client, 'open'));
  client.send('hello');
  const [reply] = (await within(once(client, 'message'))) as [Buffer];
  assert.equal(reply.toString(), 'secure:hello');
  assert.equal(isSecure, true);
  const closed = once(client, 'close');
  await wss.close({ code: 1001, timeoutMs: 1000 });
  const [code] = (await within(closed)) as [number];
  assert.equal(code, 1001);
  server.close();
});

test('wss: ownReadBuffers never switches a TLS socket, and large messages arrive intact', { skip: typeof credentials === 'string' ? credentials : false }, async () => {
  const { key, cert } = credentials as { key: Buffer; cert: Buffer };
  const server = https.createServer({ key, cert });
  const wss = new WebSocketServer({ server, ownReadBuffers: true });
  let transport: object | undefined;
  wss.on('connection', (socket: NodeWebSocket) => {
    transport = (socket as unknown as { _socket: object })._socket;
    socket.on('message', (data: Buffer) => socket.send(data));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const client = new WS(`wss://localhost:${port}`, { ca: cert });
  await within(once(client, 'open'));
  const payload = Buffer.alloc(1_500_000);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 13) & 0xff;
  client.send(payload);
  const [reply] = (await within(once(client, 'message'))) as [Buffer];
  assert.ok(reply.equals(payload));
  const scratch = Object.getOwnPropertySymbols(transport).find((s) => s.description === 'sockwave.ownReads');
  assert.equal(scratch === undefined ? undefined : (transport as Record<symbol, unknown>)[scratch], null, 'tried and stayed on Node reads');
  const closed = once(client, 'close');
  await wss.close({ code: 1001, timeoutMs: 1000 });
  await within(closed);
  server.close();
});
