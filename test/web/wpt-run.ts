/**
 * The Web Platform Tests' websockets/ folder against our WebSocket, through
 * scripts/wpt/run.mjs (which compares every subtest with
 * scripts/wpt/expectations.json). WPT's files and its server side
 * (pywebsocket3) are third-party code, so they are not in this repository:
 * WPT_DIR and PYWEBSOCKET3_DIR point at copies (scripts/wpt/README.md says
 * where to get them); without them the shards are skipped and say why.
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
const wptDir = process.env.WPT_DIR;
const pywebsocketDir = process.env.PYWEBSOCKET3_DIR;
/** The interpreter the runner uses must import ssl (wss variants) and nothing beyond the standard library. */
const python = spawnSync('python3', ['-c', 'import ssl'], { encoding: 'utf8' });
const skip = !wptDir || !existsSync(`${wptDir}/websockets`)
  ? `${wptDir ? `${wptDir} has no websockets/ folder` : 'WPT_DIR is not set'} (WPT is not vendored here: set WPT_DIR to a WPT copy; see scripts/wpt/README.md)`
  : !pywebsocketDir || !existsSync(`${pywebsocketDir}/pywebsocket3`)
    ? 'PYWEBSOCKET3_DIR is not set to a pywebsocket3 copy (the folder holding pywebsocket3/; see scripts/wpt/README.md)'
  : !existsSync(built)
    ? 'dist/index.js is missing: run npm run build first'
    : python.status !== 0
      ? `python3 with ssl is needed for WPT's pywebsocket3 handlers (${python.error?.message ?? python.stderr.trim()})`
      : false;
if (skip) console.log(`# skipping the WPT run: ${skip}`);

/** Runs shard `index` of `count` of WPT's websockets/ files as one test. */
export function wptShard(index: number, count: number): void {
  test(`WPT websockets/ shard ${index}/${count}: every subtest passes or is a listed, explained failure`, { skip, timeout: 115_000 }, () => {
    const args = [runner, '--wpt', wptDir as string, '--pywebsocket', pywebsocketDir as string, '--shard', `${index}/${count}`, '--jobs', '3'];
    const result = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 110_000 });
    const summary = /wpt websockets: .*/.exec(result.stdout)?.[0] ?? '(no summary)';
    console.log(`# ${summary}`);
    const unexpected = result.stdout.split('\n').filter((line) => line.startsWith('UNEXPECTED'));
    assert.equal(result.status, 0, `${unexpected.join('\n')}\n${result.stderr}${result.error ? `\n${result.error.message}` : ''}`);
  });
}
