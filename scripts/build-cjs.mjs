#!/usr/bin/env node
// Builds dist/cjs (CommonJS copies of the library entries) for require() on
// Node 20, where require() cannot load ES modules. The package is "type":
// "module", so dist/cjs gets its own package.json saying its .js files are
// CommonJS (their .d.ts files are then read as CommonJS types, too).
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const out = new URL('../dist/cjs/', import.meta.url);
rmSync(out, { recursive: true, force: true });
const tsc = require.resolve('typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.cjs.json'], { stdio: 'inherit' });
if (result.status !== 0) process.exit(result.status ?? 1);
mkdirSync(out, { recursive: true });
writeFileSync(new URL('package.json', out), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
