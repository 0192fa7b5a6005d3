/**
 * `node demo/server.mjs` (what `npm start` runs after the build): flags, PORT,
 * the printed URL, the page and the endpoint, and Ctrl+C.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import WebSocket from 'ws';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const skip = existsSync(`${ROOT}dist/index.js`) ? undefined : 'dist/ is not built (npm test builds it; or run npm run build)';
if (skip) console.log(`# skipping demo server entry tests: ${skip}`);

function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [`${ROOT}demo/server.mjs`, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const done = once(child, 'close').then(([code]) => {
    clearTimeout(killer);
    return code as number | null;
  });
  const url = async (): Promise<string> => {
    const started = Date.now();
    while (Date.now() - started < 10_000) {
      const match = /open (http:\/\/localhost:\d+\/)/.exec(out);
      if (match) return match[1];
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no URL printed; stdout: ${out} stderr: ${err}`);
  };
  return { child, done, url, stdout: () => out, stderr: () => err };
}

describe('demo server entry point', { skip, timeout: 55_000 }, () => {
  test('PORT=0 starts it, prints the URL, serves the page and the /ws endpoint, and Ctrl+C stops it', async () => {
    const demo = run([], { PORT: '0' });
    const url = await demo.url();
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>sockwave demo<\/title>/);
    assert.equal((await fetch(`${url}app.js`)).headers.get('content-type'), 'text/javascript; charset=utf-8');
    // Raw requests, so the path reaches the server without URL normalization.
    const { request } = await import('node:http');
    for (const path of ['/../package.json', '/%2e%2e/package.json', '/..%2f..%2fpackage.json']) {
      const status = await new Promise<number>((resolve, reject) =>
        request(url + path.slice(1), { path }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end(),
      );
      assert.equal(status, 404, path);
    }

    const wsUrl = `${url.replace('http', 'ws')}ws?name=probe`;
    const ws = new WebSocket(wsUrl, { origin: url.slice(0, -1) });
    const [welcome] = await once(ws, 'message');
    assert.equal(JSON.parse(String(welcome)).name, 'probe');
    const closed = once(ws, 'close');
    demo.child.kill('SIGINT');
    const [code] = await closed;
    assert.equal(code, 1001);
    assert.equal(await demo.done, 0);
    assert.match(demo.stdout(), /\+ probe \(c1\)/);
  });

  test('a page from another origin is refused with 403', async () => {
    const demo = run(['--port', '0']);
    const url = await demo.url();
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${url.replace('http', 'ws')}ws`, { origin: 'https://evil.example' });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => {});
    });
    assert.equal(status, 403);
    demo.child.kill('SIGTERM');
    assert.equal(await demo.done, 0);
  });

  test('--deflate turns on permessage-deflate for the page endpoint', async () => {
    const demo = run(['--port', '0', '--deflate']);
    const url = await demo.url();
    const ws = new WebSocket(`${url.replace('http', 'ws')}ws`, { perMessageDeflate: true });
    await once(ws, 'open');
    assert.match(ws.extensions, /permessage-deflate/);
    ws.terminate();
    demo.child.kill('SIGTERM');
    assert.equal(await demo.done, 0);
  });

  test('a bad port is a usage error with exit 2', async () => {
    const demo = run(['--port', 'eighty']);
    assert.equal(await demo.done, 2);
    assert.match(demo.stderr(), /^error: port must be an integer from 0 to 65535, got 'eighty'/);
  });

  test('issue 12: a busy port is one error line and exit 1, no stack trace', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer().listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    try {
      const port = (blocker.address() as { port: number }).port;
      const demo = run(['--port', String(port), '--host', '127.0.0.1']);
      assert.equal(await demo.done, 1);
      assert.match(demo.stderr(), new RegExp(`^error: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
      assert.equal(demo.stderr().trimEnd().split('\n').length, 1, demo.stderr());
      assert.doesNotMatch(demo.stderr(), /^\s+at /m);
    } finally {
      blocker.close();
    }
  });
});
