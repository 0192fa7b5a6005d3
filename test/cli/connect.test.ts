/**
 * `sockwave connect` driven over real loopback sockets against a `ws` server
 * (a peer nobody here wrote), with stdin piped.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { runCli, startCli } from './run-cli.js';

interface Seen {
  request: IncomingMessage;
  messages: Array<{ text: string; isBinary: boolean }>;
  pings: string[];
  close?: { code: number; reason: string };
}

// 16 tests that each start the CLI as a process: ~21 s on a quiet machine, 55 s at a load of 10; the file runner's
// own limit is 120 s, so this suite's limit sits just below it to fail with a clear message.
describe('sockwave connect', { timeout: 110_000 }, () => {
  let wss: WebSocketServer;
  let base: string;
  const seen: Seen[] = [];

  before(async () => {
    wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      perMessageDeflate: true,
      handleProtocols: (protocols) => (protocols.has('p2') ? 'p2' : false),
      verifyClient: (info, done) => (info.req.url === '/reject' ? done(false, 403, 'Forbidden') : done(true)),
    });
    await once(wss, 'listening');
    base = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
      const record: Seen = { request, messages: [], pings: [] };
      seen.push(record);
      socket.on('ping', (data) => record.pings.push(data.toString()));
      socket.on('close', (code, reason) => (record.close = { code, reason: reason.toString() }));
      socket.on('message', (data, isBinary) => {
        record.messages.push({ text: data.toString(), isBinary });
        if (request.url === '/echo') socket.send(data, { binary: isBinary });
        if (request.url === '/twice') {
          socket.send(`1:${data}`);
          socket.send(`2:${data}`);
        }
      });
      switch (request.url) {
        case '/show':
          socket.send('{"user":{"name":"Ann","tags":["a"]}}');
          socket.send(Buffer.from([0, 1, 0xfe, 0xff]));
          socket.close(1000, 'shown');
          break;
        case '/late':
          setTimeout(() => {
            socket.send('late news');
            socket.close(1000, 'done');
          }, 300);
          break;
        case '/fail':
          socket.close(1011, 'internal trouble');
          break;
        case '/drop':
          setTimeout(() => socket.terminate(), 50);
          break;
      }
    });
  });

  after(async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise((resolve) => wss.close(resolve));
  });

  const last = () => seen[seen.length - 1];

  test('piped stdin lines are sent, replies printed, and the end of input closes with 1000 (exit 0)', async () => {
    const r = await runCli(['connect', `${base}/echo`, '--wait', '600'], { input: 'one\ntwo words\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'one\ntwo words\n');
    assert.deepEqual(last().messages, [
      { text: 'one', isBinary: false },
      { text: 'two words', isBinary: false },
    ]);
    assert.deepEqual(last().close, { code: 1000, reason: '' });
    assert.match(r.stderr, /^connected to ws:\/\/127\.0\.0\.1:\d+\/echo.*\nclosed: 1000\n$/);
  });

  test('-x sends a message without reading stdin and waits for all replies', async () => {
    const r = await runCli(['connect', `${base}/twice`, '-x', 'hi', '--wait', '600', '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '1:hi\n2:hi\n');
    assert.equal(r.stderr, '', '--quiet leaves stderr empty on success');
  });

  test('--no-close keeps reading after the input ended until the server closes', async () => {
    const r = await runCli(['connect', `${base}/late`, '--no-close', '-w', '0'], { input: 'early\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'late news\n');
    assert.match(r.stderr, /closed: 1000 done\n$/);
    const eager = await runCli(['connect', `${base}/late`, '-w', '0'], { input: 'early\n' });
    assert.equal(eager.stdout, '', 'without --no-close the end of input closes first');
  });

  test('headers, subprotocols and origin are sent as given', async () => {
    const r = await runCli(
      ['connect', `${base}/echo`, '-H', 'X-Token: abc', '-H', 'X-Multi: 1', '-H', 'X-Multi: 2', '-s', 'p1', '-s', 'p2', '--origin', 'https://example.test', '-x', 'x', '-w', '100'],
    );
    assert.equal(r.code, 0, r.stderr);
    const { headers } = last().request;
    assert.equal(headers['x-token'], 'abc');
    assert.equal(headers['x-multi'], '1, 2');
    assert.equal(headers['sec-websocket-protocol'], 'p1, p2');
    assert.equal(headers.origin, 'https://example.test');
    assert.match(r.stderr, /\(protocol: p2/);
  });

  test('permessage-deflate is offered by default and not with --no-deflate', async () => {
    await runCli(['connect', `${base}/echo`, '-x', 'x', '-w', '50', '-q']);
    assert.match(String(last().request.headers['sec-websocket-extensions']), /permessage-deflate/);
    await runCli(['connect', `${base}/echo`, '-x', 'x', '-w', '50', '-q', '--no-deflate']);
    assert.equal(last().request.headers['sec-websocket-extensions'], undefined);
  });

  test('--json pretty-prints JSON and --binary-as picks the binary display', async () => {
    const hex = await runCli(['connect', `${base}/show`, '--json']);
    assert.equal(hex.code, 0, hex.stderr);
    assert.equal(hex.stdout, '{\n  "user": {\n    "name": "Ann",\n    "tags": [\n      "a"\n    ]\n  }\n}\n00 01 fe ff\n');
    assert.match(hex.stderr, /closed: 1000 shown\n$/);
    const b64 = await runCli(['connect', `${base}/show`, '--binary-as', 'base64']);
    assert.equal(b64.stdout, '{"user":{"name":"Ann","tags":["a"]}}\nAAH+/w==\n');
  });

  test('--binary sends lines as binary messages', async () => {
    const r = await runCli(['connect', `${base}/echo`, '--binary', '--binary-as', 'utf8', '-w', '600'], { input: 'bytes\n' });
    assert.equal(r.code, 0);
    assert.deepEqual(last().messages, [{ text: 'bytes', isBinary: true }]);
    assert.equal(r.stdout, 'bytes\n');
  });

  test('--ping enables /ping and /close CODE REASON; a close we start exits 0', async () => {
    // With compression offered (the default): the long line's echo comes back compressed, possibly after our close frame.
    const long = 'compressible '.repeat(400);
    const r = await runCli(['connect', `${base}/echo`, '--ping'], { input: `/ping hello\n//literal\n${long}\n/close 4000 all done\n` });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(last().pings, ['hello']);
    assert.match(String(last().request.headers['sec-websocket-extensions']), /permessage-deflate/);
    assert.deepEqual(last().messages, [
      { text: '/literal', isBinary: false },
      { text: long, isBinary: false },
    ]);
    assert.deepEqual(last().close, { code: 4000, reason: 'all done' });
    assert.match(r.stderr, /< pong hello\n/);
  });

  test('an invalid /close code is one error line and the session continues', async () => {
    const r = await runCli(['connect', `${base}/echo`, '--ping', '-w', '600'], { input: '/close 999\nstill here\n' });
    assert.equal(r.code, 0);
    assert.match(r.stderr, /\nerror: .*999.*\n/);
    assert.equal(r.stdout, 'still here\n');
  });

  test('--proxy tunnels through an HTTP CONNECT proxy and --max-message limits what we accept', async () => {
    const { createServer } = await import('node:http');
    const { connect: tcp } = await import('node:net');
    const tunnels: string[] = [];
    const proxy = createServer();
    proxy.on('connect', (req, client, head) => {
      tunnels.push(`${req.url} ${req.headers['proxy-authorization'] ?? ''}`);
      const [host, port] = (req.url ?? '').split(':');
      const upstream = tcp(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client).pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    try {
      const proxyUrl = `http://user:secret@127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const r = await runCli(['connect', `${base}/echo`, '--proxy', proxyUrl, '-x', 'via proxy', '-w', '600']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'via proxy\n');
      assert.deepEqual(tunnels, [`${new URL(base).host} Basic ${Buffer.from('user:secret').toString('base64')}`]);

      const small = await runCli(['connect', `${base}/echo`, '--max-message', '4', '-x', 'too long', '-w', '2000']);
      assert.equal(small.code, 3, 'a message over the limit fails the connection: abnormal for scripts');
      assert.match(small.stderr, /\nerror: message of at least 8 bytes exceeds the limit of 4 bytes \(SW_MESSAGE_TOO_LARGE\)\n/);
    } finally {
      proxy.close();
    }
  });

  test('a peer closing with an error code exits 3 and prints the code and reason', async () => {
    const r = await runCli(['connect', `${base}/fail`]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /closed: 1011 internal trouble\n$/);
  });

  test('a connection dropped without a close frame exits 3 with 1006', async () => {
    const r = await runCli(['connect', `${base}/drop`]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /closed: 1006\n$/);
  });

  test('a rejected handshake exits 1 with one error line naming the status', async () => {
    const r = await runCli(['connect', `${base}/reject`]);
    assert.equal(r.code, 1);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^error: could not connect to ws:\/\/127\.0\.0\.1:\d+\/reject: .*403/);
  });

  test('a refused connection exits 1 with one error line', async () => {
    const server = (await import('node:net')).createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const r = await runCli(['connect', `127.0.0.1:${port}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^error: could not connect to ws://127\\.0\\.0\\.1:${port}/: .*ECONNREFUSED.*\\n$`));
  });

  test('--timeout bounds the opening handshake against a server that never answers: exit 1, one line', async () => {
    const silent = (await import('node:net')).createServer(() => {}).listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      const { port } = silent.address() as AddressInfo;
      const r = await runCli(['connect', `ws://127.0.0.1:${port}/`, '--timeout', '300']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^error: could not connect to ws:\/\/127\.0\.0\.1:\d+\/: handshake timed out after 300 ms while waiting for the handshake response \(SW_TIMEOUT\)\n$/);
    } finally {
      silent.close();
    }
  });

  test('SIGINT closes the connection with 1000 and exits 0', async () => {
    const cli = startCli(['connect', `${base}/echo`]);
    await cli.waitForStderr(/connected to/);
    cli.child.kill('SIGINT');
    const r = await cli.done;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(last().close, { code: 1000, reason: '' });
  });
});
