/**
 * The Web Platform Tests' websockets/ folder against our WebSocket, through
 * scripts/wpt/run.mjs (which compares every subtest with
 * scripts/wpt/expectations.json). The tests and WPT's server side are
 * vendored: test/fixtures/wpt (the files websockets/ needs, from the copy
 * nodejs/undici vendors) and test/fixtures/pywebsocket3 (the server WPT runs
 * the handlers with). WPT_DIR / PYWEBSOCKET3_DIR point at other copies, e.g.
 * a full WPT checkout; see scripts/wpt/README.md.
 *
 * The run takes about 100 s with 2 jobs, so it is split into shards, one per
 * test file (wpt-1-of-3.test.ts ...): each stays well inside the runner's
 * per-file timeout and the shards run beside other files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const runner = fileURLToPath(new URL('../../scripts/wpt/run.mjs', import.meta.url));
const built = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
const wptDir = process.env.WPT_DIR || fileURLToPath(new URL('../fixtures/wpt', import.meta.url));
const pywebsocketDir = process.env.PYWEBSOCKET3_DIR || fileURLToPath(new URL('../fixtures/pywebsocket3', import.meta.url));
/** The interpreter the runner uses must import ssl (wss variants) and nothing beyond the standard library. */
const python = spawnSync('python3', ['-c', 'import ssl'], { encoding: 'utf8' });
const skip = !existsSync(`${wptDir}/websockets`)
  ? `${wptDir} has no websockets/ folder (set WPT_DIR to a WPT checkout; see scripts/wpt/README.md)`
  : !existsSync(built)
    ? 'dist/index.js is missing: run npm run build first'
    : python.status !== 0
      ? `python3 with ssl is needed for WPT's pywebsocket3 handlers (${python.error?.message ?? python.stderr.trim()})`
      : false;
if (skip) console.log(`# skipping the WPT run: ${skip}`);

/** Runs shard `index` of `count` of WPT's websockets/ files as one test. */
export function wptShard(index: number, count: number): void {
  test(`WPT websockets/ shard ${index}/${count}: every subtest passes or is a listed, explained failure`, { skip, timeout: 115_000 }, () => {
    const args = [runner, '--wpt', wptDir, '--pywebsocket', pywebsocketDir, '--shard', `${index}/${count}`, '--jobs', '3'];
    const result = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 110_000 });
    const summary = /wpt websockets: .*/.exec(result.stdout)?.[0] ?? '(no summary)';
    console.log(`# ${summary}`);
    const unexpected = result.stdout.split('\n').filter((line) => line.startsWith('UNEXPECTED'));
    assert.equal(result.status, 0, `${unexpected.join('\n')}\n${result.stderr}${result.error ? `\n${result.error.message}` : ''}`);
  });
}
