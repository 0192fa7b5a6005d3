/**
 * Issue 6, handshake limits: oversized heads and too many header lines are
 * refused (431, or 400) and the connection closed; long repetitive
 * Sec-WebSocket-Protocol / Sec-WebSocket-Extensions values are handled in
 * linear time (the ReDoS / quadratic-parsing class of past CVEs).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connectTcp, rawWebSocket, readHead, upgradeRequest, whenClosed } from './support/raw-client.js';
import { memoryLine, MiB, startServerProcess, type ServerHandle } from './support/server-handle.js';
import { note } from './support/report.js';

async function send(port: number, request: string): Promise<{ status: number; closedWithinMs: number | undefined; ms: number }> {
  const socket = await connectTcp(port);
  socket.on('error', () => undefined);
  const started = performance.now();
  socket.write(request);
  let status: number;
  try {
    status = (await readHead(socket, 5000)).status;
  } catch (error) {
    // Closing without any answer is acceptable for a hostile head; report it as 0.
    if (!socket.destroyed && !String(error).includes('closed before')) throw error;
    status = 0;
  }
  const ms = performance.now() - started;
  // A 101 keeps the connection open by design; only a refusal must close it.
  const closedWithinMs = status === 101 ? undefined : await whenClosed(socket, 3000).catch(() => undefined);
  socket.destroy();
  return { status, closedWithinMs, ms };
}

describe('default limits (maxHeaderBytes 16 KiB, maxHeaderCount 100)', () => {
  let server: ServerHandle;
  before(async () => {
    server = await startServerProcess({ server: { heartbeat: false }, mode: 'echo' });
  });
  after(async () => server?.stop());

  test('a 32 KiB header value is refused with 431 and the connection closed', async (t) => {
    const result = await send(server.port, upgradeRequest({ headers: [['X-Big', 'a'.repeat(32 * 1024)]] }));
    note(t, `status ${result.status}, closed after ${result.closedWithinMs?.toFixed(0)} ms`);
    assert.equal(result.status, 431);
    assert.notEqual(result.closedWithinMs, undefined, 'connection closed');
  });

  test('200 header lines are refused with 431 (or 400) and the connection closed', async (t) => {
    const headers = Array.from({ length: 200 }, (_, i) => [`X-H${i}`, 'v'] as [string, string]);
    const result = await send(server.port, upgradeRequest({ headers }));
    note(t, `status ${result.status}, closed after ${result.closedWithinMs?.toFixed(0)} ms`);
    assert.ok([431, 400].includes(result.status), `got ${result.status}`);
    assert.notEqual(result.closedWithinMs, undefined, 'connection closed');
  });

  test('a head that keeps growing past the limit without ever ending is refused and closed', async (t) => {
    const socket = await connectTcp(server.port);
    socket.on('error', () => undefined);
    socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const line = `X-Pad: ${'p'.repeat(1000)}\r\n`;
    let written = 0;
    while (written < 64 * 1024 && !socket.destroyed) {
      socket.write(line);
      written += line.length;
    }
    const closedWithinMs = await whenClosed(socket, 5000);
    note(t, `closed ${closedWithinMs.toFixed(0)} ms after ${written} header bytes`);
    socket.destroy();
  });

  test('1,000 duplicate Sec-WebSocket-Protocol lines do not get past the header count limit', async () => {
    const headers = Array.from({ length: 1000 }, () => ['Sec-WebSocket-Protocol', 'chat'] as [string, string]);
    const result = await send(server.port, upgradeRequest({ headers }));
    assert.ok([431, 400].includes(result.status), `got ${result.status}`);
  });

  test('the server still accepts a normal client afterwards', async () => {
    const connection = await rawWebSocket(server.port);
    connection.socket.destroy();
  });
});

describe('linear-time parsing of long Sec-WebSocket-Protocol / Sec-WebSocket-Extensions values (maxHeaderBytes 4 MiB)', () => {
  let server: ServerHandle;
  before(async () => {
    server = await startServerProcess({
      server: { heartbeat: false, maxHeaderBytes: 4 * MiB, perMessageDeflate: true },
      mode: 'echo',
    });
  });
  after(async () => server?.stop());

  const n = (bytes: number, unit: string) => Math.floor(bytes / unit.length);
  const patterns: Array<[string, string, (bytes: number) => string]> = [
    ['Sec-WebSocket-Protocol', 'many tokens "a,a,a,..."', (b) => 'a,'.repeat(n(b, 'a,')) + 'a'],
    ['Sec-WebSocket-Protocol', 'empty elements ",,,,"', (b) => ','.repeat(b)],
    ['Sec-WebSocket-Protocol', 'whitespace runs " , , ,"', (b) => ' ,'.repeat(n(b, ' ,')) + 'x'],
    ['Sec-WebSocket-Protocol', 'one huge token', (b) => 'a'.repeat(b)],
    ['Sec-WebSocket-Extensions', 'many parameters "permessage-deflate; ; ;"', (b) => 'permessage-deflate' + '; '.repeat(n(b, '; '))],
    ['Sec-WebSocket-Extensions', 'many offers "permessage-deflate, permessage-deflate, ..."', (b) => 'permessage-deflate, '.repeat(n(b, 'permessage-deflate, ')) + 'permessage-deflate'],
    ['Sec-WebSocket-Extensions', 'quoted string of escapes', (b) => `permessage-deflate; x="${'\\"'.repeat(n(b, '\\"'))}"`],
    ['Sec-WebSocket-Extensions', 'huge parameter value', (b) => `permessage-deflate; client_max_window_bits=${'1'.repeat(b)}`],
    ['Sec-WebSocket-Extensions', 'repeated parameter "; client_max_window_bits" x N', (b) => 'permessage-deflate' + '; client_max_window_bits'.repeat(n(b, '; client_max_window_bits'))],
    ['Sec-WebSocket-Extensions', 'unterminated quote', (b) => `permessage-deflate; x="${'a'.repeat(b)}`],
  ];

  for (const [header, label, make] of patterns) {
    test(`${header}: ${label} (64 KiB and 1 MiB) is answered in linear time`, async (t) => {
      const timings: Record<number, number> = {};
      let statuses = '';
      for (const size of [64 * 1024, 1024 * 1024]) {
        const runs: number[] = [];
        for (let i = 0; i < 5; i++) {
          const result = await send(server.port, upgradeRequest({ headers: [[header, make(size)]] }));
          runs.push(result.ms);
          statuses += `${result.status} `;
          assert.ok(result.status === 101 || (result.status >= 400 && result.status < 500), `answered with ${result.status}`);
        }
        timings[size] = Math.min(...runs);
      }
      const small = timings[64 * 1024];
      const large = timings[1024 * 1024];
      note(t, `${header} ${label}: 64 KiB ${small.toFixed(1)} ms, 1 MiB ${large.toFixed(1)} ms, ratio ${(large / small).toFixed(1)} (statuses ${statuses.trim()})`);
      // A ratio, not a time limit: 16x the input is ~16x the time when linear, ~256x when quadratic.
      // Best of 5 each. On a busy 2-core machine linear cases have measured up to ~54x (the large one
      // gets preempted or collected), hence the bound at 100x: still far below quadratic. Below 100 ms
      // for the large input the ratio is mostly noise (and nothing is quadratic there).
      if (large > 100) assert.ok(large / small < 100, `scaling ${small.toFixed(1)} -> ${large.toFixed(1)} ms looks superlinear`);
    });
  }

  test('the server is still healthy and its memory bounded after the parsing tests', async (t) => {
    const connection = await rawWebSocket(server.port);
    connection.socket.destroy();
    const memory = await server.memory();
    note(t, memoryLine('server memory across the header tests', server.baseline, memory));
    assert.ok(memory.rss - server.baseline.rss < 200 * MiB);
  });
});
