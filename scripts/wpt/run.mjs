#!/usr/bin/env node
// Runs the Web Platform Tests' websockets/ folder against sockwave's WHATWG
// WebSocket (dist/index.js), with WPT's own pywebsocket3 handlers as servers.
// See scripts/wpt/README.md for where the WPT files and pywebsocket3 come from.
//
//   node scripts/wpt/run.mjs --wpt <wpt-root> --pywebsocket <dir> [--filter text] [--shard i/n] [--jobs 2] [--json out.json]
//
// Exit status: 0 when no failure is missing from expectations.json, 1 otherwise
// (with --strict also when a listed failure now passes), 2 on a setup error.
import { Worker } from 'node:worker_threads';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, availableParallelism } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { discover, RUN_VARIANTS } from './discover.mjs';
import { startHandlers, makeCertificate, freePort } from './servers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const STATUS = ['PASS', 'FAIL', 'TIMEOUT', 'NOTRUN', 'PRECONDITION_FAILED'];
const HARNESS = ['OK', 'ERROR', 'TIMEOUT', 'PRECONDITION_FAILED'];

const { values: opts } = parseArgs({
  options: {
    wpt: { type: 'string', default: process.env.WPT_DIR },
    pywebsocket: { type: 'string', default: process.env.PYWEBSOCKET3_DIR },
    module: { type: 'string', default: join(here, '../../dist/index.js') },
    filter: { type: 'string' },
    // "i/n": only every n-th file starting at the i-th (1-based), so a slow suite can be split across processes.
    shard: { type: 'string' },
    // Jobs wait on sockets and timers far more than on the CPU, so run a few more than the cores.
    jobs: { type: 'string', default: String(Math.max(4, availableParallelism())) },
    json: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    strict: { type: 'boolean', default: false },
  },
});

function fail(message) {
  console.error(`wpt: ${message}`);
  process.exit(2);
}

if (!opts.wpt) fail('no WPT checkout: pass --wpt <dir> or set WPT_DIR (see scripts/wpt/README.md)');
const wptRoot = resolve(opts.wpt);
if (!existsSync(join(wptRoot, 'websockets')) || !existsSync(join(wptRoot, 'resources/testharness.js'))) {
  fail(`${wptRoot} has no websockets/ and resources/testharness.js`);
}
if (!existsSync(opts.module)) fail(`${opts.module} is missing: run npm run build first`);

// The wss: variant needs the client to trust our throwaway certificate.
// NODE_EXTRA_CA_CERTS is read once at process start, so start again with it set.
if (!process.env.SOCKWAVE_WPT_CA) {
  const dir = mkdtempSync(join(tmpdir(), 'sockwave-wpt-'));
  try {
    const tls = makeCertificate(dir);
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, NODE_EXTRA_CA_CERTS: tls.cert, SOCKWAVE_WPT_CA: dir },
    });
    process.exitCode = child.status ?? 2;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  await main(join(process.env.SOCKWAVE_WPT_CA, 'key.pem'), join(process.env.SOCKWAVE_WPT_CA, 'cert.pem'));
}

async function main(key, cert) {
  const expectations = JSON.parse(readFileSync(join(here, 'expectations.json'), 'utf8'));
  const log = (line) => { if (opts.verbose) process.stderr.write(line); };
  const started = Date.now();
  const servers = await startHandlers({ wptRoot, pywebsocketPath: opts.pywebsocket, tls: { key, cert }, log });
  const config = {
    host: 'web-platform.test',
    altHost: 'www.not-web-platform.test',
    ports: { ...servers.ports, http: await freePort(), h2: 0 },
    timeoutMs: 10_000,
    longTimeoutMs: 60_000,
  };
  const modulePath = pathToFileURL(resolve(opts.module)).href;

  const shard = parseShard(opts.shard);
  const all = discover(wptRoot)
    .filter((job) => !opts.filter || job.id.includes(opts.filter))
    .filter((_job, index) => shard === null || index % shard.count === shard.index - 1);
  const results = [];
  const toRun = [];
  for (const job of all) {
    const skip = skipReason(expectations, job);
    if (skip) results.push({ job, skipped: skip });
    else toRun.push(job);
  }

  let next = 0;
  const runOne = async () => {
    while (next < toRun.length) {
      const job = toRun[next++];
      const jobStarted = Date.now();
      const result = await runJob(job, config, modulePath);
      results.push({ job, ms: Date.now() - jobStarted, ...result });
      if (opts.verbose) process.stderr.write(`${job.id}: ${summarize(result)}\n`);
    }
  };
  try {
    await Promise.all(Array.from({ length: Number(opts.jobs) }, runOne));
  } finally {
    await servers.stop();
  }
  process.exitCode = compare(results, expectations, Date.now() - started);
}

function parseShard(text) {
  if (text === undefined) return null;
  const match = /^(\d+)\/(\d+)$/.exec(text);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index < 1 || index > count) fail(`--shard must be i/n with 1 <= i <= n, got ${text}`);
  return { index, count };
}

function skipReason(expectations, job) {
  if (!RUN_VARIANTS.has(job.variant)) return `variant ${job.variant} not run (WebSocket over HTTP/2)`;
  for (const [prefix, reason] of Object.entries(expectations.skip)) {
    if (job.id === prefix || job.id.startsWith(prefix)) return reason;
  }
  if (job.isScopeSpecific) return 'scope-specific wrapper (worker or window) not run';
  return null;
}

function runJob(job, config, modulePath) {
  return new Promise((resolveJob) => {
    const worker = new Worker(join(here, 'worker.mjs'), {
      workerData: { job, config, modulePath, wptRoot },
      stdout: true,
      stderr: true,
    });
    let outcome = null;
    // The worker calls testharness's timeout() at the test's own deadline; this is the backstop.
    const limit = (job.isLong ? config.longTimeoutMs : config.timeoutMs) + 5_000;
    const timer = setTimeout(() => {
      outcome ??= { harness: { status: 2, message: `no report within ${limit} ms` }, subtests: [], uncaught: [] };
      worker.terminate();
    }, limit);
    worker.on('message', (message) => {
      outcome ??= message;
      // Let pending close handshakes finish briefly, then end the thread.
      setTimeout(() => worker.terminate(), 50).unref();
    });
    worker.on('error', (error) => {
      outcome ??= { harness: { status: 1, message: String(error?.stack ?? error) }, subtests: [], uncaught: [] };
    });
    worker.on('exit', () => {
      clearTimeout(timer);
      resolveJob(outcome ?? { harness: { status: 1, message: 'worker exited without a report' }, subtests: [], uncaught: [] });
    });
  });
}

function summarize(result) {
  const pass = result.subtests.filter((t) => t.status === 0).length;
  return `${HARNESS[result.harness.status]} ${pass}/${result.subtests.length}`;
}

/** Prints the summary and returns the exit code. */
function compare(results, expectations, elapsedMs) {
  let passed = 0;
  let failed = 0;
  let skippedJobs = 0;
  const unexpected = [];
  const fixed = [];
  const failures = [];
  results.sort((a, b) => a.job.id.localeCompare(b.job.id));
  for (const result of results) {
    const { job } = result;
    if (result.skipped) {
      skippedJobs++;
      continue;
    }
    const known = expectations.fail[job.id] ?? {};
    const flaky = expectations.flaky?.[job.id] ?? {};
    const rows = result.subtests.map((t) => ({ name: t.name, status: STATUS[t.status], message: t.message }));
    // A harness error or timeout with no subtest to carry it counts as one failure.
    if (result.harness.status !== 0 && rows.every((r) => r.status === 'PASS')) {
      rows.push({ name: `(harness ${HARNESS[result.harness.status]})`, status: 'FAIL', message: result.harness.message });
    }
    for (const row of rows) {
      if (row.status === 'PASS') passed++;
      else failed++;
      const isKnown = row.name in known;
      if (row.name in flaky) continue;
      if (row.status !== 'PASS' && !isKnown) unexpected.push({ id: job.id, ...row, uncaught: result.uncaught });
      if (row.status === 'PASS' && isKnown) fixed.push({ id: job.id, name: row.name });
      if (row.status !== 'PASS') failures.push({ id: job.id, ...row });
    }
  }
  if (opts.verbose) {
    const slowest = results.filter((r) => r.ms !== undefined).sort((a, b) => b.ms - a.ms).slice(0, 15);
    for (const r of slowest) console.log(`slow: ${r.job.id} ${r.ms} ms`);
  }
  if (opts.json) writeFileSync(opts.json, JSON.stringify(results, null, 2));
  for (const f of failures) {
    const tag = f.id in expectations.fail && f.name in expectations.fail[f.id] ? 'expected' : 'UNEXPECTED';
    console.log(`${tag.padEnd(10)} ${f.id} | ${f.status} | ${f.name} | ${String(f.message ?? '').slice(0, 160)}`);
  }
  for (const u of unexpected) if (u.uncaught?.length) console.log(`  uncaught in ${u.id}: ${u.uncaught[0].split('\n')[0]}`);
  for (const f of fixed) console.log(`now passes (remove from expectations.json): ${f.id} | ${f.name}`);
  console.log(
    `wpt websockets: ${passed} passed, ${failed} failed (${failed - unexpected.length} expected), ` +
      `${skippedJobs} files/variants skipped, ${(elapsedMs / 1000).toFixed(1)} s`,
  );
  // A listed failure that passes (a newer Node, a fix merged) only fails the run with --strict.
  return unexpected.length === 0 && (fixed.length === 0 || !opts.strict) ? 0 : 1;
}
