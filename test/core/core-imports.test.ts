import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const CORE = join(import.meta.dirname, '../../src/core');
const FORBIDDEN_MODULES = ['net', 'http', 'https', 'http2', 'tls', 'stream', 'zlib', 'dgram', 'child_process', 'timers'];

test('src/core imports no Node I/O module and owns no timers', () => {
  const files = readdirSync(CORE).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length >= 8, 'found the core files');
  const problems: string[] = [];
  for (const file of files) {
    const source = readFileSync(join(CORE, file), 'utf8');
    // Strip comments so prose mentioning node:net does not count.
    const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
    for (const match of code.matchAll(/(?:from\s*|import\s*\(\s*|require\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)) {
      const name = match[1].replace(/^node:/, '').split('/')[0];
      if (FORBIDDEN_MODULES.includes(name)) problems.push(`${file} imports ${match[1]}`);
    }
    for (const timer of ['setTimeout', 'setInterval', 'setImmediate']) {
      if (new RegExp(`\\b${timer}\\s*\\(`).test(code)) problems.push(`${file} calls ${timer}`);
    }
  }
  assert.deepEqual(problems, []);
});

// The barrel's export list is checked in core-api.test.ts.
