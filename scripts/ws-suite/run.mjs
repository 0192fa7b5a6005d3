#!/usr/bin/env node
// Runs ws's own public-API tests (a checkout of ws 8.21.0, outside this repository:
// --ws-dir DIR or WS_SUITE_DIR; see README.md) against
// sockwave/ws: ws's test files, helpers and internals (Sender, constants, event
// classes, used to craft raw frames) are kept; only its public classes (WebSocket,
// WebSocketServer, createWebSocketStream) are swapped for sockwave's. Each failing
// test is then re-run alone, so a failure caused by a neighbour's leftovers does
// not count. See scripts/ws-suite/README.md.
//
//   node scripts/ws-suite/run.mjs --ws-dir DIR [--no-build] [--no-rerun] [--file websocket]
//        [--grep TEXT] [--json out.json] [--timeout-ms 2000]
//
// Prints one line per failing test with its category from expectations.json, then
// `ws-suite: N passed, N failed`. Exit code 0 when every failure is expected (listed
// in expectations.json), 1 otherwise.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const files = ['websocket', 'websocket-server', 'create-websocket-stream'];

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const value = (name, fallback) => {
  const index = args.indexOf(name);
  return index === -1 ? fallback : args[index + 1];
};
const onlyFile = value('--file');
const grep = value('--grep');
const jsonOut = value('--json');
const timeoutMs = value('--timeout-ms', '2000');
// ws's test suite is not committed here (third-party code): the runner needs a checkout.
const wsDir = value('--ws-dir', process.env.WS_SUITE_DIR);
if (wsDir === undefined || !existsSync(join(wsDir, 'test', 'websocket.test.js'))) {
  console.error(`ws-suite: no ws 8.21.0 checkout with its test/ folder (got ${wsDir ?? 'nothing'}): pass --ws-dir DIR or set WS_SUITE_DIR (see scripts/ws-suite/README.md)`);
  process.exit(2);
}

if (!flag('--no-build')) {
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
const distEntry = join(root, 'dist', 'ws.js');
if (!existsSync(distEntry)) {
  console.error(`ws-suite: ${distEntry} is missing; run npm run build first`);
  process.exit(2);
}

// A scratch copy of ws where index.js and lib/stream.js hand out sockwave's classes.
// The test files require '..' and '../lib/stream'; everything else stays ws's own.
const work = mkdtempSync(join(tmpdir(), 'ws-suite-'));
cpSync(wsDir, work, { recursive: true });
writeFileSync(
  join(work, 'setup.mjs'),
  // CommonJS cannot import ESM synchronously on Node 20, so mocha loads this ESM
  // hook first and the shims read sockwave from a global.
  `import * as sockwave from ${JSON.stringify(pathToFileURL(distEntry).href)};
globalThis[Symbol.for('ws-suite.sockwave')] = sockwave;
const only = process.env.WS_SUITE_ONLY ? JSON.parse(process.env.WS_SUITE_ONLY) : undefined;
const seen = new Map();
export const mochaHooks = {
  beforeEach() {
    // Re-running one test alone: --grep selects its title; when ws has two tests
    // with the same title, skip the occurrences that are not the one asked for.
    if (only === undefined) return;
    const title = this.currentTest.fullTitle();
    const count = (seen.get(title) ?? 0) + 1;
    seen.set(title, count);
    if (title !== only.title || count !== only.occurrence) this.skip();
  },
};
`,
);
writeFileSync(
  join(work, 'index.js'),
  `'use strict';
const sockwave = globalThis[Symbol.for('ws-suite.sockwave')];
module.exports = sockwave.default;
`,
);
writeFileSync(
  join(work, 'lib', 'stream.js'),
  `'use strict';
module.exports = globalThis[Symbol.for('ws-suite.sockwave')].createWebSocketStream;
`,
);

const mocha = join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');

function runMocha(file, { grepTitle, only, dryRun = false } = {}) {
  const out = join(work, `result-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  const mochaArgs = [
    mocha,
    '--require',
    'setup.mjs',
    '--reporter',
    'json',
    '--reporter-option',
    `output=${out}`,
    '--timeout',
    timeoutMs,
    '--exit',
    `test/${file}.test.js`,
  ];
  if (grepTitle !== undefined) mochaArgs.push('--fgrep', grepTitle);
  if (dryRun) mochaArgs.push('--dry-run');
  const env = { ...process.env };
  if (only !== undefined) env.WS_SUITE_ONLY = JSON.stringify(only);
  // A file that hangs past mocha's own timeouts is killed; its tests count as failed.
  const child = spawnSync(process.execPath, mochaArgs, {
    cwd: work,
    env,
    encoding: 'utf8',
    timeout: 10 * 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (!existsSync(out)) {
    return { crashed: true, output: `${child.stdout}\n${child.stderr}`.slice(-4000) };
  }
  const report = JSON.parse(readFileSync(out, 'utf8'));
  rmSync(out);
  return { crashed: false, report };
}

// Names a test the way the failure list does: its full title, plus "(k/n)" when ws
// has n tests with that title in one file.
function identify(tests) {
  const totals = new Map();
  for (const test of tests) totals.set(test.fullTitle, (totals.get(test.fullTitle) ?? 0) + 1);
  const seen = new Map();
  return tests.map((test) => {
    const occurrence = (seen.get(test.fullTitle) ?? 0) + 1;
    seen.set(test.fullTitle, occurrence);
    const total = totals.get(test.fullTitle);
    const id = total > 1 ? `${test.fullTitle} (${occurrence}/${total})` : test.fullTitle;
    return { ...test, id, occurrence };
  });
}

const expectations = JSON.parse(readFileSync(join(here, 'expectations.json'), 'utf8'));
const results = {};
let passed = 0;
let failed = 0;
let unexpected = 0;
const nowPassing = [];

try {
  for (const file of files) {
    if (onlyFile !== undefined && onlyFile !== file) continue;
    // The list of tests comes from a dry run, so that tests a crashed or aborted
    // run never reached (mocha skips the rest of a suite after a failing hook, and
    // one ws test ends the process on purpose) are still run, alone.
    const listing = runMocha(file, { grepTitle: grep, dryRun: true });
    if (listing.crashed) {
      console.error(`ws-suite: could not list ${file}.test.js:\n${listing.output}`);
      process.exitCode = 1;
      continue;
    }
    const run = runMocha(file, { grepTitle: grep });
    const ranOk = new Set();
    if (run.crashed) console.error(`ws-suite: ${file}.test.js ended early; running its tests one by one`);
    else {
      for (const test of identify(run.report.tests)) {
        if (test.pending !== true && Object.keys(test.err ?? {}).length === 0) ranOk.add(test.id);
      }
    }
    const tests = identify(listing.report.tests);
    const expected = new Map((expectations.failing[file] ?? []).map((entry) => [entry.title, entry]));
    results[file] = [];
    for (const test of tests) {
      let ok = ranOk.has(test.id);
      let error;
      if (!ok && !flag('--no-rerun')) {
        const alone = runMocha(file, {
          grepTitle: test.fullTitle,
          only: { title: test.fullTitle, occurrence: test.occurrence },
        });
        const again = alone.crashed ? [] : alone.report.tests.filter((t) => t.pending !== true);
        const failures = alone.crashed ? [] : alone.report.failures;
        ok = again.length === 1 && failures.length === 0;
        error = alone.crashed ? { message: 'the test ended the process' } : (failures[0]?.err ?? again[0]?.err);
      }
      const entry = expected.get(test.id);
      if (ok) {
        passed += 1;
        if (entry !== undefined) nowPassing.push(`${file}: ${test.id}`);
        continue;
      }
      failed += 1;
      const category = entry?.category ?? 'unexpected';
      if (entry === undefined) unexpected += 1;
      const message = String(error?.message ?? 'failed in the full run').split('\n')[0].slice(0, 160);
      results[file].push({ title: test.id, category, why: entry?.why, message });
      console.log(`[${category}] ${file}: ${test.id}${entry === undefined ? `  -- ${message}` : ''}`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

if (nowPassing.length > 0) {
  console.log(`\nlisted in expectations.json but now passing (remove them):`);
  for (const line of nowPassing) console.log(`  ${line}`);
}
const byCategory = {};
for (const list of Object.values(results)) {
  for (const entry of list) byCategory[entry.category] = (byCategory[entry.category] ?? 0) + 1;
}
const summary = { passed, failed, byCategory, failing: results };
if (jsonOut !== undefined) writeFileSync(jsonOut, `${JSON.stringify(summary, null, 1)}\n`);
else console.log(JSON.stringify({ byCategory }));
console.log(`ws-suite: ${passed} passed, ${failed} failed`);
if (unexpected > 0) {
  console.log(`${unexpected} failure(s) not listed in scripts/ws-suite/expectations.json`);
  process.exitCode = 1;
}
