/**
 * README.md stays true: its limits table against the defaults the code
 * really applies (resolved options, not copied constants), its two opening
 * commands against package.json and .ci/run, and its names (diagnostics
 * channels, Retry-After, links) against the source tree.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { DEFAULTS } from '../../src/core/options.js';
import { resolveDeflateOptions } from '../../src/core/deflate/index.js';
import { DEFLATE_DEFAULTS } from '../../src/core/options.js';
import { resolveClientOptions } from '../../src/node/client/options.js';
import { channels } from '../../src/node/diagnostics.js';
import { resolveServerOptions } from '../../src/node/server/options.js';
import { NODE_DEFAULTS } from '../../src/node/options.js';
import { resolveShutdownOptions } from '../../src/node/server/shutdown.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const README = readFileSync(`${ROOT}README.md`, 'utf8');

type Value = number | string | undefined;

/** What the code applies when the option is not given: [server, client]; undefined = not an option there. */
function actualDefaults(): Record<string, [Value, Value]> {
  const server = resolveServerOptions({ noServer: true });
  const client = resolveClientOptions({});
  const keepalive = resolveClientOptions({ keepalive: true }).keepalive;
  assert.ok(keepalive !== false && server.heartbeat !== false);
  const deflate = resolveDeflateOptions({});
  const both = (v: Value): [Value, Value] => [v, v];
  return {
    maxMessageBytes: [server.maxMessageBytes, client.maxMessageBytes],
    maxFragments: [server.maxFragments, client.maxFragments],
    // Not a server/client option: the core Connection's, applied to both.
    fragmentOverheadBytes: both(DEFAULTS.fragmentOverheadBytes),
    handshakeTimeoutMs: [server.handshakeTimeoutMs, client.handshakeTimeoutMs],
    closeTimeoutMs: [server.closeTimeoutMs, client.closeTimeoutMs],
    idleTimeoutMs: [server.idleTimeoutMs, undefined],
    maxHeaderBytes: [server.maxHeaderBytes, client.maxHeaderBytes],
    maxHeaderCount: [server.maxHeaderCount, client.maxHeaderCount],
    maxPendingHandshakes: [server.maxPendingHandshakes, undefined],
    maxConnections: [server.maxConnections, undefined],
    'heartbeat.intervalMs': [server.heartbeat.intervalMs, undefined],
    'heartbeat.timeoutMs': [server.heartbeat.timeoutMs, undefined],
    'keepalive.intervalMs': [undefined, keepalive.intervalMs],
    'keepalive.timeoutMs': [undefined, keepalive.timeoutMs],
    highWaterMarkBytes: [server.highWaterMarkBytes, undefined],
    backpressurePolicy: [server.backpressurePolicy, undefined],
    'perMessageDeflate.threshold': both(deflate.threshold),
    'perMessageDeflate.level': both(deflate.level),
    'perMessageDeflate.memLevel': both(deflate.memLevel),
    // Unset in the resolved options means "the largest window", DEFLATE_DEFAULTS.maxWindowBits.
    'perMessageDeflate.serverMaxWindowBits': both(deflate.serverMaxWindowBits ?? DEFLATE_DEFAULTS.maxWindowBits),
    'perMessageDeflate.clientMaxWindowBits': both(
      typeof deflate.clientMaxWindowBits === 'number' ? deflate.clientMaxWindowBits : DEFLATE_DEFAULTS.maxWindowBits,
    ),
    'perMessageDeflate.concurrency': both(deflate.concurrency),
    'close({ timeoutMs })': [resolveShutdownOptions({}).timeoutMs, undefined],
  };
}

const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 * 1024, ms: 1, s: 1000 };

/** A table cell as a value: "16 MiB", "1,048,576", "10 s", "Infinity", "`'queue'`", "—". */
function parseCell(cell: string): Value {
  const text = cell.trim();
  if (text === '—') return undefined;
  if (text === 'Infinity') return Infinity;
  const quoted = /^`'([a-z]+)'`$/.exec(text);
  if (quoted) return quoted[1];
  const match = /^(\d[\d,]*)(?: (B|KiB|MiB|ms|s))?$/.exec(text);
  assert.ok(match, `cannot read the default '${text}'`);
  return Number(match[1].replaceAll(',', '')) * (match[2] ? UNITS[match[2]] : 1);
}

function limitsTable(): Record<string, [Value, Value]> {
  const section = README.split('\n## Limits and timeouts\n')[1]?.split('\n## ')[0];
  assert.ok(section, 'README has a "## Limits and timeouts" section');
  const rows: Record<string, [Value, Value]> = {};
  for (const line of section.split('\n')) {
    const cells = line.split(' | ');
    if (!line.startsWith('| `') || cells.length < 4) continue;
    const option = /^\| `([^`]+)`/.exec(line)![1];
    assert.ok(!(option in rows), `${option} is listed twice`);
    rows[option] = [parseCell(cells[1]), parseCell(cells[2])];
  }
  return rows;
}

test('the README limits table lists every limit with the default the code applies', () => {
  const documented = limitsTable();
  const actual = actualDefaults();
  assert.deepEqual(Object.keys(documented).sort(), Object.keys(actual).sort(), 'the table and the known limits list the same options');
  for (const [option, [server, client]] of Object.entries(actual)) {
    assert.deepEqual(documented[option], [server, client], `README default of ${option} (server, client)`);
  }
});

test('the README opens with the two commands, consistent with package.json and .ci/run', () => {
  const blocks = [...README.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].trim());
  assert.equal(blocks[0], 'npm install && npm start');
  assert.ok(README.indexOf('```sh') < README.indexOf('\n## '), 'the commands come before the first section');
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8'));
  assert.match(pkg.scripts.start, /^npm run build && node demo\/server\.mjs$/);
  assert.match(readFileSync(`${ROOT}demo/server.mjs`, 'utf8'), /process\.env\.PORT \|\| '8080'/);
  assert.match(README, /open http:\/\/localhost:8080\/ in a few tabs/);

  const ci = readFileSync(`${ROOT}.ci/run`, 'utf8');
  const ciPackages = /apt-get install -y(?: -qq)? ([a-z0-9. -]+?)(?: >|\n)/.exec(ci)?.[1].trim().split(/\s+/);
  assert.ok(ciPackages, '.ci/run installs apt packages');
  const match = /^apt-get update && apt-get install -y ([a-z0-9 -]+) && npm ci && npm test$/.exec(blocks[1]);
  assert.ok(match, `second command: ${blocks[1]}`);
  assert.deepEqual(match[1].split(' ').sort(), [...ciPackages].sort(), 'README installs the apt packages .ci/run installs');
  assert.match(ci, /\nnpm ci\nnpm test\n?$/, '.ci/run ends with npm ci and npm test');
});

test('README names the real diagnostics channels and Retry-After value', () => {
  for (const channel of Object.values(channels)) assert.ok(README.includes(`\`${channel.name as string}\``), `${String(channel.name)} in README`);
  assert.ok(README.includes(`Retry-After: ${NODE_DEFAULTS.retryAfterSeconds}`));
  assert.ok(README.includes('allowedOrigins:') && README.includes('allowMissingOrigin:'), 'the option names of src/node/server/options.ts');
});

test('README links point at files in the repository', (t) => {
  const links = [...README.matchAll(/\]\(((?!https?:)[^)#]+)\)/g)].map((m) => m[1]);
  assert.ok(links.length >= 5);
  for (const link of links) {
    if (link === 'bench/RESULTS.md' && !existsSync(`${ROOT}${link}`)) {
      t.diagnostic('bench/RESULTS.md is not written yet (the benchmark run writes it)');
      continue;
    }
    assert.ok(existsSync(`${ROOT}${link}`), `README links ${link}, which does not exist`);
  }
});
