/**
 * The Web Platform Tests' websockets/ folder against our WebSocket, through
 * scripts/wpt/run.mjs (which compares every subtest with
 * scripts/wpt/expectations.json). WPT and pywebsocket3 are not part of this
 * repository: set WPT_DIR (and PYWEBSOCKET3_DIR unless pywebsocket3 is
 * installed) to run it; see scripts/wpt/README.md.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const runner = fileURLToPath(new URL('../../scripts/wpt/run.mjs', import.meta.url));
const built = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
const wptDir = process.env.WPT_DIR;
const skip = !wptDir
  ? 'WPT_DIR is not set (a WPT checkout with websockets/ and resources/; see scripts/wpt/README.md)'
  : !existsSync(built)
    ? 'dist/index.js is missing: run npm run build first'
    : false;
if (skip) console.log(`# skipping the WPT run: ${skip}`);

test('WPT websockets/: every subtest passes or is a listed, explained failure', { skip, timeout: 180_000 }, () => {
  const result = spawnSync(process.execPath, [runner, '--wpt', wptDir!], { encoding: 'utf8', timeout: 170_000 });
  const summary = /wpt websockets: .*/.exec(result.stdout)?.[0] ?? '(no summary)';
  console.log(`# ${summary}`);
  assert.equal(result.status, 0, `${result.stdout.split('\n').filter((l) => l.startsWith('UNEXPECTED')).join('\n')}\n${result.stderr}`);
});
