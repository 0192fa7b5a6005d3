/**
 * Collects pass/fail/skip per (peer, direction, config) and prints the
 * interop matrix when the test file ends. Each file also appends its rows to
 * $SOCKWAVE_MATRIX_FILE (JSON lines) when set, so a run over several files
 * can be summarised in one table (see printMatrixFile).
 */
import { appendFileSync, readFileSync } from 'node:fs';

export interface MatrixRow {
  peer: string;
  direction: string;
  config: string;
  pass: number;
  fail: number;
  skip: number;
  todo: number;
  failures: string[];
  skipReasons: string[];
}

const rows = new Map<string, MatrixRow>();

export function record(
  key: { peer: string; direction: string; config: string },
  outcome: 'pass' | 'fail' | 'skip' | 'todo',
  detail?: string,
): void {
  const id = `${key.peer}|${key.direction}|${key.config}`;
  let row = rows.get(id);
  if (!row) {
    row = { ...key, pass: 0, fail: 0, skip: 0, todo: 0, failures: [], skipReasons: [] };
    rows.set(id, row);
  }
  row[outcome]++;
  if (outcome === 'fail' && detail) row.failures.push(detail);
  if (outcome === 'skip' && detail && !row.skipReasons.includes(detail)) row.skipReasons.push(detail);
}

export function formatMatrix(list: MatrixRow[]): string {
  const header = ['peer', 'direction', 'config', 'result'];
  const lines = list.map((r) => [
    r.peer,
    r.direction,
    r.config,
    `${r.fail === 0 ? (r.pass > 0 ? 'PASS' : 'SKIP') : 'FAIL'} ${r.pass}/${r.pass + r.fail}${r.skip ? ` (${r.skip} skipped)` : ''}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const out = [header, ...lines].map((l) => l.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
  for (const r of list) {
    // Many tests of one target usually fail for one reason (a failed handshake): say it once.
    const reasons = new Map<string, string[]>();
    for (const f of r.failures) {
      const [test, ...rest] = f.split(': ');
      const reason = rest.join(': ') || test;
      reasons.set(reason, [...(reasons.get(reason) ?? []), test]);
    }
    for (const [reason, tests] of reasons) {
      const which = tests.length === 1 ? tests[0] : `${tests.length} tests, e.g. "${tests[0]}"`;
      out.push(`  FAIL ${r.direction} [${r.config}] ${which}: ${reason}`);
    }
  }
  return out.join('\n');
}

export function printMatrix(): void {
  const list = [...rows.values()];
  if (list.length === 0) return;
  const file = process.env.SOCKWAVE_MATRIX_FILE;
  if (file) for (const r of list) appendFileSync(file, `${JSON.stringify(r)}\n`);
  console.log(`\ninterop matrix\n${formatMatrix(list)}\n`);
}

export function printMatrixFile(file: string): string {
  const list = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as MatrixRow);
  return formatMatrix(list);
}
