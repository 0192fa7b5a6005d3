/**
 * Issue #12, section 4 (first contact, packaging): what a user gets from
 * `npm install sockwave`: require() on Node 20, a package that contains its
 * code, license, docs and the sources its maps point at, types that resolve
 * under `moduleResolution: node10`, and no dev dependency that refuses Node 20.
 * The built dist/ is needed (npm test builds first).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const isBuilt = existsSync(join(ROOT, 'dist/index.js')) && existsSync(join(ROOT, 'dist/cjs/index.js'));
const notBuilt = isBuilt ? false : 'dist/ is not built (run npm run build)';
if (notBuilt) console.log(`# skipping the tests that load dist/: ${notBuilt}`);

test('issue 12: require("sockwave") works on Node 20, and a CommonJS server and client talk', { skip: notBuilt }, () => {
  const script = `
    const { WebSocketServer, WebSocket, connect } = require('sockwave');
    const ws = require('sockwave/ws');
    const core = require('sockwave/core');
    const redis = require('sockwave/redis');
    if (typeof ws.WebSocket !== 'function' || typeof core.Connection !== 'function') throw new Error('missing exports');
    if (typeof redis.RedisBackplane !== 'function') throw new Error('sockwave/redis lacks RedisBackplane');
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' }, () => {
      wss.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
      const client = new WebSocket('ws://127.0.0.1:' + wss.address().port);
      client.onopen = () => client.send('over cjs');
      client.onmessage = (event) => { console.log(String(event.data)); client.close(); wss.close(); };
    });`;
  const result = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 15_000 });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout.trim(), 'over cjs');
});

test('issue 12: the package metadata names its repository, homepage, bugs and builds before packing', () => {
  assert.match(pkg.repository.url, /github\.com\/sockwave\/sockwave/);
  assert.match(pkg.homepage, /^https:\/\/github\.com\/sockwave\/sockwave/);
  assert.match(pkg.bugs.url, /^https:\/\/github\.com\/sockwave\/sockwave\/issues/);
  assert.match(pkg.scripts.prepack, /npm run build/);
  const license = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
  assert.match(license, /^MIT License/);
  assert.match(license, /Copyright \(c\) 2026 sockwave contributors/);
  assert.equal(pkg.license, 'MIT');
});

test('issue 12: npm pack ships the code, LICENSE, docs and the sources every source map names', { skip: notBuilt }, () => {
  const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
  const files = new Set<string>(JSON.parse(output)[0].files.map((f: { path: string }) => f.path));
  for (const needed of ['LICENSE', 'README.md', 'dist/index.js', 'dist/cjs/index.js', 'dist/cjs/package.json', 'dist/cli/main.js', 'docs/api.md', 'src/index.ts']) {
    assert.ok(files.has(needed), `the package lacks ${needed}`);
  }
  assert.ok(![...files].some((f) => f.startsWith('test/')), 'tests are not published');
  let maps = 0;
  for (const file of files) {
    if (!file.endsWith('.map')) continue;
    maps++;
    const map = JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as { sources: string[] };
    for (const source of map.sources) {
      const target = normalize(join(dirname(file), source)).split('\\').join('/');
      assert.ok(files.has(target), `${file} points at ${target}, which is not in the package`);
    }
  }
  assert.ok(maps > 100, `only ${maps} source maps checked`);
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  for (const [, link] of readme.matchAll(/\]\(((?!https?:)[^)#]+)\)/g)) {
    const target = link.replace(/\/$/, '');
    assert.ok(files.has(target) || [...files].some((f) => f.startsWith(`${target}/`)), `README links ${link}, which the package lacks`);
  }
});

test('issue 12: sockwave, sockwave/ws, sockwave/core and sockwave/redis types resolve under moduleResolution node10', { skip: notBuilt }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sockwave-node10-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules', 'sockwave'), 'dir');
    writeFileSync(
      join(dir, 'app.ts'),
      [
        "import { WebSocket, WebSocketServer } from 'sockwave';",
        "import { WebSocket as WsSocket } from 'sockwave/ws';",
        "import { Connection } from 'sockwave/core';",
        "import { RedisBackplane } from 'sockwave/redis';",
        'export const used: unknown[] = [WebSocket, WebSocketServer, WsSocket, Connection, RedisBackplane];',
        '',
      ].join('\n'),
    );
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const result = spawnSync(
      process.execPath,
      [tsc, '--noEmit', '--strict', '--module', 'commonjs', '--moduleResolution', 'node10', '--target', 'es2022',
        '--skipLibCheck', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules/@types'), join(dir, 'app.ts')],
      { cwd: dir, encoding: 'utf8' },
    );
    assert.equal(result.status, 0, result.stdout + result.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('issue 12: no locked dependency declares an engine range without Node 20 (no EBADENGINE on npm ci)', () => {
  const semver = createRequire(import.meta.url)('semver') as { satisfies(v: string, r: string): boolean };
  const version = process.versions.node.startsWith('20.') ? process.versions.node : '20.19.0';
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { engines?: { node?: string } | string[] }>;
  };
  const refusing = Object.entries(lock.packages)
    .filter(([, entry]) => entry.engines && !Array.isArray(entry.engines) && entry.engines.node)
    .filter(([, entry]) => !semver.satisfies(version, (entry.engines as { node: string }).node))
    .map(([name, entry]) => `${name} (${(entry.engines as { node: string }).node})`);
  assert.deepEqual(refusing, [], `these need another Node than ${version}`);
});
