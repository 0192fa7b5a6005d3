import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createStaticHandler } from '../../src/cli/static-files.js';

/** Raw request so paths like /../x reach the server unnormalized (fetch would clean them). */
function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('listen --static file handler', () => {
  const root = mkdtempSync(join(tmpdir(), 'sockwave-static-'));
  const site = join(root, 'site');
  const server = createServer(createStaticHandler(site));
  let port = 0;

  before(async () => {
    mkdirSync(join(site, 'sub'), { recursive: true });
    writeFileSync(join(site, 'index.html'), '<p>home</p>');
    writeFileSync(join(site, 'sub', 'app.js'), 'export {}');
    writeFileSync(join(root, 'secret.txt'), 'top secret');
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });

  after(() => {
    server.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('serves files with their content type and index.html for directories', async () => {
    assert.deepEqual(await get(port, '/'), { status: 200, type: 'text/html; charset=utf-8', body: '<p>home</p>' });
    assert.deepEqual(await get(port, '/sub/app.js'), { status: 200, type: 'text/javascript; charset=utf-8', body: 'export {}' });
  });

  test('HEAD has headers and no body; other methods get 405', async () => {
    const head = await get(port, '/sub/app.js', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal((await get(port, '/', 'POST')).status, 405);
  });

  test('no path escapes the directory, however it is spelled', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/sub/..%2f..%2fsecret.txt', '/sub/%2e%2e%5c..%5csecret.txt', '/%00']) {
      const r = await get(port, path);
      assert.equal(r.status === 404 || r.status === 400, true, `${path} answered ${r.status}`);
      assert.doesNotMatch(r.body, /top secret/);
    }
  });

  test('a missing file or a bad escape is 404 or 400, not a crash', async () => {
    assert.equal((await get(port, '/nope.css')).status, 404);
    assert.equal((await get(port, '/%E0%A4%A')).status, 400);
  });
});
