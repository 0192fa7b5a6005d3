/**
 * `sockwave` must never load `@redis/client` (an optional peer dependency):
 * only `sockwave/redis` may. Walks the static and dynamic imports of each
 * entry through the source tree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function packagesReachedFrom(entry: string): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)) {
      const specifier = match[1];
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else packages.add(specifier);
    }
  };
  visit(resolve(SRC, entry));
  return packages;
}

test('sockwave and sockwave/ws do not import @redis/client; sockwave/redis does', () => {
  for (const entry of ['index.ts', 'ws.ts']) {
    const reached = [...packagesReachedFrom(entry)].filter((p) => p.includes('redis'));
    assert.deepEqual(reached, [], `${entry} reaches ${reached.join(', ')}`);
  }
  assert.ok(packagesReachedFrom('redis.ts').has('@redis/client'));
});
