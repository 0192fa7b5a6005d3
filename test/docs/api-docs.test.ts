/**
 * docs/api.md documents every name exported by src/index.ts: each one needs
 * a heading that mentions it in backticks (e.g. "### `connect(url, options)`").
 * The export list comes from the TypeScript compiler, so re-exports and
 * type-only exports are all counted.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function exportedNames(entry: string): string[] {
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  assert.ok(source, `cannot read ${entry}`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  assert.ok(moduleSymbol, `${entry} is not a module`);
  return checker.getExportsOfModule(moduleSymbol).map((s) => s.getName()).sort();
}

/** Names that appear in backticks inside a markdown heading. */
function documentedNames(markdown: string): Set<string> {
  const names = new Set<string>();
  for (const line of markdown.split('\n')) {
    if (!/^#{2,5} /.test(line)) continue;
    for (const match of line.matchAll(/`([^`]+)`/g)) {
      // "`connect(url, options)`" and "`new WebSocketServer(options)`" document connect / WebSocketServer.
      const name = match[1].replace(/^new /, '').replace(/^type /, '').split(/[(<.:\s]/)[0];
      names.add(name);
    }
  }
  return names;
}

test('every name exported by src/index.ts has a heading in docs/api.md', () => {
  const exported = exportedNames(`${ROOT}src/index.ts`);
  assert.ok(exported.length >= 10, `suspiciously few exports: ${exported.join(', ')}`);
  const documented = documentedNames(readFileSync(`${ROOT}docs/api.md`, 'utf8'));
  const missing = exported.filter((name) => !documented.has(name));
  assert.deepEqual(missing, [], `document these in docs/api.md: ${missing.join(', ')}`);
});

test('docs/api.md documents nothing that is not exported (no stale names)', () => {
  const exported = new Set(exportedNames(`${ROOT}src/index.ts`));
  const markdown = readFileSync(`${ROOT}docs/api.md`, 'utf8');
  // Only top-level export headings (###) are checked; members use #### headings.
  const stale = [...markdown.matchAll(/^### `(?:new |type )?([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]).filter((n) => !exported.has(n));
  assert.deepEqual(stale, [], `these ### headings name things src/index.ts does not export: ${stale.join(', ')}`);
});

test('the CLI, demo and migration guides exist and link each other from docs/api.md', () => {
  const api = readFileSync(`${ROOT}docs/api.md`, 'utf8');
  for (const page of ['cli.md', 'demo.md', 'migrating-from-ws.md']) {
    assert.ok(readFileSync(`${ROOT}docs/${page}`, 'utf8').length > 500, `docs/${page} is missing or short`);
    assert.match(api, new RegExp(`\\]\\(\\.?/?${page.replace('.', '\\.')}\\)`), `docs/api.md links ${page}`);
  }
});

test('every named export of the sockwave/ws entry (src/ws.ts) is documented in docs/api.md', () => {
  const exported = exportedNames(`${ROOT}src/ws.ts`).filter((name) => name !== 'default');
  assert.ok(exported.includes('createWebSocketStream'));
  const documented = documentedNames(readFileSync(`${ROOT}docs/api.md`, 'utf8'));
  const missing = exported.filter((name) => !documented.has(name));
  assert.deepEqual(missing, [], `document these sockwave/ws exports in docs/api.md: ${missing.join(', ')}`);
});
