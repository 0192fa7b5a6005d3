/**
 * Numbers the attack tests measure go to the test output (t.diagnostic) and,
 * when SOCKWAVE_ATTACK_REPORT names a file, are appended there for the note.
 */
import { appendFileSync } from 'node:fs';
import type { TestContext } from 'node:test';

export function note(t: TestContext, line: string): void {
  t.diagnostic(line);
  const file = process.env.SOCKWAVE_ATTACK_REPORT;
  if (file) appendFileSync(file, `${t.name}: ${line}\n`);
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
