/**
 * Turns the spec-reporter output of a real interop run into the Markdown
 * tables of docs/interop.md (peer x direction x config x feature), so the
 * document states what a run showed and nothing else:
 *   node scripts/run-tests.mjs test/peers --test-reporter=spec > /tmp/peers.txt
 *   npx tsx test/peers/interop-doc.ts /tmp/peers.txt
 * Only targets with sockwave on one side are tabulated; the harness's own
 * checks (ws/undici against python-websockets and others) are counted apart.
 */
import { readFileSync } from 'node:fs';

interface Outcome {
  name: string;
  mark: '✔' | '✖' | '﹣';
  reason?: string;
}
interface Suite {
  direction: string;
  config: string;
  tests: Outcome[];
}

const FEATURES: Array<[string, RegExp]> = [
  // Order matters: a ping between fragments is a fragmentation test.
  ['subprotocols', /subprotocol/],
  ['permessage-deflate', /negotiates|compresses|uncompressed/],
  ['fragments', /fragment/],
  ['ping/pong', /ping|pong/],
  ['close codes', /close|1005|1001/],
  ['messages (0 B-1 MiB, UTF-8, order)', /echoes|keeps the order/],
];

function parse(text: string): Suite[] {
  const suites: Suite[] = [];
  let current: Suite | undefined;
  for (const line of text.split('\n')) {
    const start = /^▶ (.*) \[(.*)\]$/.exec(line);
    if (start) {
      current = { direction: start[1], config: start[2], tests: [] };
      suites.push(current);
      continue;
    }
    if (/^[✔✖]/.test(line)) {
      current = undefined;
      continue;
    }
    const test = /^ {2}([✔✖﹣]) (.*?) \([\d.]+ms\)(?: # (.*))?$/.exec(line);
    if (test && current) current.tests.push({ mark: test[1] as Outcome['mark'], name: test[2], reason: test[3] });
  }
  return suites;
}

function peerOf(direction: string): string | undefined {
  const [from, to] = direction.split(' -> ');
  if (from.startsWith('sockwave ') && to === 'sockwave server') return 'sockwave itself (control)';
  if (to === 'sockwave server') return from;
  if (from.startsWith('sockwave ')) return to;
  return undefined;
}

const footnotes: string[] = [];
function footnote(reason: string): string {
  let i = footnotes.indexOf(reason);
  if (i === -1) i = footnotes.push(reason) - 1;
  return `[^${i + 1}]`;
}

function cell(tests: Outcome[]): string {
  if (tests.length === 0) return '-';
  const passed = tests.filter((t) => t.mark === '✔').length;
  const failed = tests.filter((t) => t.mark === '✖');
  const skipped = tests.filter((t) => t.mark === '﹣');
  const reasons = [...new Set(skipped.map((t) => t.reason ?? 'skipped'))].map(footnote).join('');
  if (failed.length) return `**FAIL** ${failed.length}/${tests.length}`;
  if (passed === 0) return `n/a${reasons}`;
  return `pass ${passed}/${passed}${skipped.length ? `, ${skipped.length} n/a${reasons}` : ''}`;
}

function row(suite: Suite): string {
  const wholeSkip = suite.tests.length === 1 && suite.tests[0].name === 'is skipped';
  const cells = FEATURES.map((_feature, i) => {
    if (wholeSkip) return i === 0 ? `n/a${footnote(suite.tests[0].reason ?? 'skipped')}` : '';
    const mine = suite.tests.filter((t) => {
      const first = FEATURES.findIndex(([, r]) => r.test(t.name));
      return first === i;
    });
    return cell(mine);
  });
  return `| ${suite.direction} | ${suite.config} | ${cells.join(' | ')} |`;
}

const file = process.argv[2];
if (!file) {
  console.error('usage: interop-doc.ts SPEC_OUTPUT (node scripts/run-tests.mjs test/peers --test-reporter=spec > FILE)');
  process.exit(2);
}
const text = readFileSync(file, 'utf8');
const suites = parse(text);
const byPeer = new Map<string, Suite[]>();
let harness = { suites: 0, passed: 0, failed: 0 };
for (const suite of suites) {
  const peer = peerOf(suite.direction);
  if (!peer) {
    harness = {
      suites: harness.suites + 1,
      passed: harness.passed + suite.tests.filter((t) => t.mark === '✔').length,
      failed: harness.failed + suite.tests.filter((t) => t.mark === '✖').length,
    };
    continue;
  }
  byPeer.set(peer, [...(byPeer.get(peer) ?? []), suite]);
}

const out: string[] = [];
// Summary first: one line per peer and direction.
out.push('| peer | direction | configs | passed | failed | n/a |', '| --- | --- | --- | --- | --- | --- |');
const ORDER_FOR_SUMMARY = ['ws', 'undici', 'python-websockets', 'chromium', 'uWebSockets.js'];
const summaryRank = (peer: string) => (ORDER_FOR_SUMMARY.includes(peer) ? ORDER_FOR_SUMMARY.indexOf(peer) : ORDER_FOR_SUMMARY.length);
for (const [peer, list] of [...byPeer].sort((a, b) => summaryRank(a[0]) - summaryRank(b[0]))) {
  const directions = [...new Set(list.map((s) => s.direction))];
  for (const direction of directions) {
    const mine = list.filter((s) => s.direction === direction);
    const tests = mine.flatMap((s) => s.tests);
    const n = (mark: string) => tests.filter((t) => t.mark === mark).length;
    const applicable = mine.filter((s) => s.tests.some((t) => t.mark !== '﹣')).length;
    out.push(`| ${peer} | ${direction} | ${applicable} of ${mine.length} | ${n('✔')} | ${n('✖')} | ${n('﹣')} |`);
  }
}
out.push('');
const header = `| direction | config | ${FEATURES.map(([f]) => f).join(' | ')} |`;
const rule = `|${' --- |'.repeat(FEATURES.length + 2)}`;
const ORDER = ['ws', 'undici', 'python-websockets', 'chromium', 'uWebSockets.js'];
const rank = (peer: string) => (ORDER.includes(peer) ? ORDER.indexOf(peer) : ORDER.length);
for (const [peer, list] of [...byPeer].sort((a, b) => rank(a[0]) - rank(b[0]))) {
  // Peer clients -> sockwave server first, then sockwave clients -> peer server; run order within each.
  const sorted = [...list].sort((a, b) => Number(!a.direction.endsWith('sockwave server')) - Number(!b.direction.endsWith('sockwave server')));
  out.push(`### ${peer}`, '', header, rule, ...sorted.map(row), '');
}
const tabulated = [...byPeer.values()].flat().flatMap((s) => s.tests);
const total = (mark: string) => tabulated.filter((t) => t.mark === mark).length;
const summary = /ℹ tests (\d+)[\s\S]*?ℹ pass (\d+)[\s\S]*?ℹ fail (\d+)[\s\S]*?ℹ skipped (\d+)/.exec(text);
out.push(
  `Behaviour-suite tests in these tables: ${total('✔')} passed, ${total('✖')} failed, ${total('﹣')} not applicable ` +
    `(tests of a whole config that does not apply count once).`,
);
if (summary) out.push(`Whole run: ${summary[1]} tests, ${summary[2]} pass, ${summary[3]} fail, ${summary[4]} skipped.`);
out.push(`Harness self-checks (no sockwave involved): ${harness.suites} suites, ${harness.passed} passed, ${harness.failed} failed.`, '');
out.push(...footnotes.map((f, i) => `[^${i + 1}]: ${f}`));
console.log(out.join('\n'));
