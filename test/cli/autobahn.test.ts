/**
 * `sockwave autobahn` against a tiny fake fuzzing server (written with `ws`)
 * that speaks the Autobahn|Testsuite control protocol on loopback.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { runCli } from './run-cli.js';

/** What each fake case sends; the client must echo every message exactly. */
const CASES: Array<Array<{ data: Buffer | string; isBinary: boolean }>> = [
  [{ data: 'hello', isBinary: false }],
  [
    { data: Buffer.from([0, 1, 2, 255]), isBinary: true },
    { data: 'ünïcödé ✓', isBinary: false },
  ],
  [{ data: Buffer.alloc(300_000, 0x61), isBinary: true }, { data: '', isBinary: false }],
];

describe('sockwave autobahn', { timeout: 55_000 }, () => {
  let wss: WebSocketServer;
  let base: string;
  const requests: string[] = [];
  const echoes = new Map<number, Array<{ data: Buffer; isBinary: boolean }>>();

  before(async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true });
    await once(wss, 'listening');
    base = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    wss.on('connection', (socket: WebSocket, request) => {
      const url = new URL(request.url ?? '/', base);
      requests.push(`${url.pathname}${url.search}`);
      if (url.pathname === '/getCaseCount') {
        socket.send(String(CASES.length));
        socket.close(1000);
      } else if (url.pathname === '/runCase') {
        const n = Number(url.searchParams.get('case'));
        const messages = CASES[n - 1];
        const got: Array<{ data: Buffer; isBinary: boolean }> = [];
        echoes.set(n, got);
        socket.on('message', (data: Buffer, isBinary) => {
          got.push({ data, isBinary });
          if (got.length === messages.length) socket.close(1000);
        });
        for (const m of messages) socket.send(m.data, { binary: m.isBinary });
      } else if (url.pathname === '/updateReports') {
        socket.close(1000);
      } else {
        socket.close(1008, 'unknown path');
      }
    });
  });

  after(async () => {
    await new Promise((resolve) => wss.close(resolve));
  });

  test('runs every case in order, echoes each message exactly, then updates the reports', async () => {
    const r = await runCli(['autobahn', base, '--agent', 'sockwave-test']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(requests, [
      '/getCaseCount',
      '/runCase?case=1&agent=sockwave-test',
      '/runCase?case=2&agent=sockwave-test',
      '/runCase?case=3&agent=sockwave-test',
      '/updateReports?agent=sockwave-test',
    ]);
    for (const [i, messages] of CASES.entries()) {
      const got = echoes.get(i + 1);
      assert.deepEqual(
        got?.map((m) => ({ data: m.data.toString('hex'), isBinary: m.isBinary })),
        messages.map((m) => ({ data: Buffer.from(m.data).toString('hex'), isBinary: m.isBinary })),
        `case ${i + 1}`,
      );
    }
    assert.match(r.stderr, /^3 cases on the server, running 3 as agent 'sockwave-test'\n/);
    assert.match(r.stderr, /done: 3 cases in [\d.]+ s; reports updated\n$/);
  });

  test('--cases runs only the chosen cases', async () => {
    requests.length = 0;
    const r = await runCli(['autobahn', `${base}/`, '--agent', 'a b', '--cases', '2-3,9', '-q']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.deepEqual(requests, ['/getCaseCount', '/runCase?case=2&agent=a+b', '/runCase?case=3&agent=a+b', '/updateReports?agent=a+b']);
  });

  test('an unreachable fuzzing server is one error line and exit 1', async () => {
    const probe = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await once(probe, 'listening');
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const r = await runCli(['autobahn', `ws://127.0.0.1:${port}`, '--agent', 'x']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: could not get the case count from ws:\/\/127\.0\.0\.1:\d+\/: .*ECONNREFUSED.*\n$/);
  });
});
