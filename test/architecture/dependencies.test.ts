/**
 * The layers of src/ and the direction of their imports, checked from the
 * source (docs/architecture.md draws the same picture):
 *
 *   index.ts, ws.ts  ->  cli/, web/  ->  node/  ->  core/
 *
 * Inside node/, the role folders are ranked the same way: the shared modules
 * beside them at the bottom, then deflate/ and client/, socket/,
 * reconnect/ and topics/, server/; a folder imports only itself and lower ranks. socket/state.ts,
 * the bottom of the socket, imports no other file of socket/. And no file
 * takes part in an import cycle, type-only imports included (a cycle of
 * types is still two files that cannot be read one without the other).
 *
 * Imports are read with the TypeScript compiler's own pre-processor
 * (static, re-exports, dynamic import() of a literal), so comments and
 * strings do not count.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import ts from 'typescript';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** Every .ts file under `dir`, as paths relative to src/ with '/' separators. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(relative(SRC, path).split(sep).join('/'));
  }
  return out;
}

/** The src/ files `file` imports (relative specifiers only; packages and node: builtins are not layers). */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(join(SRC, file), 'utf8'), true, true);
  const targets: string[] = [];
  for (const { fileName } of info.importedFiles) {
    if (!fileName.startsWith('.')) continue;
    const absolute = resolve(dirname(join(SRC, file)), fileName);
    const candidates = [absolute.replace(/\.js$/, '.ts'), absolute, `${absolute}.ts`, join(absolute, 'index.ts')];
    const found = candidates.find((candidate) => candidate.endsWith('.ts') && existsSync(candidate));
    assert.ok(found, `${file}: cannot resolve '${fileName}'`);
    targets.push(relative(SRC, found).split(sep).join('/'));
  }
  return targets;
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((file) => [file, importsOf(file)]));

/** The layer of a file: its top folder under src/, or 'root' for index.ts and ws.ts. */
function layerOf(file: string): string {
  return file.includes('/') ? file.slice(0, file.indexOf('/')) : 'root';
}

/** Which layers each layer may import (itself included). */
const ALLOWED_LAYERS: Record<string, readonly string[]> = {
  core: ['core'],
  node: ['node', 'core'],
  web: ['web', 'node', 'core'],
  cli: ['cli', 'web', 'node', 'core'],
  root: ['root', 'cli', 'web', 'node', 'core'],
};

/**
 * node/'s folders by rank ('' = the shared modules beside them); a folder
 * imports only itself and lower ranks. socket/ ranks above client/ because
 * the socket runs the client handshake (`new WebSocket(url)`, connect()).
 */
const NODE_RANK: Record<string, number> = { '': 0, deflate: 1, client: 1, socket: 2, reconnect: 3, topics: 3, server: 4 };

function nodeFolderOf(file: string): string {
  const parts = file.split('/');
  return parts.length > 2 ? parts[1] : '';
}

test('src/ has the expected layers and node/ role folders', () => {
  const layers = new Set(files.map(layerOf));
  assert.deepEqual([...layers].sort(), ['cli', 'core', 'node', 'root', 'web']);
  const unknown = files.filter((f) => layerOf(f) === 'node' && !(nodeFolderOf(f) in NODE_RANK));
  assert.deepEqual(unknown, [], 'a new folder in src/node needs its rank in NODE_RANK (and a line in docs/architecture.md)');
  assert.ok(files.length > 60, `found ${files.length} files`);
});

/** Imports that go against ALLOWED_LAYERS, or into the public entry points. */
function wrongWayImports(g: ReadonlyMap<string, readonly string[]>): string[] {
  const wrong: string[] = [];
  for (const [file, targets] of g) {
    for (const target of targets) {
      if (!ALLOWED_LAYERS[layerOf(file)].includes(layerOf(target))) wrong.push(`${file} -> ${target}`);
      else if (layerOf(target) === 'root' && layerOf(file) !== 'root') wrong.push(`${file} -> ${target} (entry points are not imported)`);
    }
  }
  return wrong;
}

test('imports run one way: index/ws -> cli, web -> node -> core', () => {
  assert.deepEqual(wrongWayImports(graph), []);
});

test('the direction check flags core -> node, node -> web, web -> cli and imports of index.ts', () => {
  const wrong = new Map([
    ['core/frame.ts', ['node/stats.ts']],
    ['node/client/transport.ts', ['web/url.ts', 'core/url.ts']],
    ['web/websocket.ts', ['cli/args.ts', 'node/socket/connect.ts']],
    ['cli/main.ts', ['index.ts']],
    ['index.ts', ['cli/main.ts']],
  ]);
  assert.deepEqual(wrongWayImports(wrong), [
    'core/frame.ts -> node/stats.ts',
    'node/client/transport.ts -> web/url.ts',
    'web/websocket.ts -> cli/args.ts',
    'cli/main.ts -> index.ts',
  ]);
});

test('inside node/, role folders import only themselves and lower ranks', () => {
  const wrong: string[] = [];
  for (const [file, targets] of graph) {
    if (layerOf(file) !== 'node') continue;
    const from = nodeFolderOf(file);
    for (const target of targets) {
      if (layerOf(target) !== 'node') continue;
      const to = nodeFolderOf(target);
      if (to !== from && NODE_RANK[to] >= NODE_RANK[from]) wrong.push(`${file} -> ${target}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('node/socket/state.ts imports no other file of socket/ (state below, behaviour above)', () => {
  const siblings = (graph.get('node/socket/state.ts') ?? []).filter((target) => target.startsWith('node/socket/'));
  assert.ok(graph.has('node/socket/state.ts'));
  assert.deepEqual(siblings, []);
});

/** Each import cycle in `g`: Tarjan's strongly connected components larger than one file, or a file importing itself. */
function findCycles(g: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (file: string): void => {
    index.set(file, next);
    low.set(file, next);
    next++;
    stack.push(file);
    onStack.add(file);
    for (const target of g.get(file) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file)!, index.get(target)!));
      }
    }
    if (low.get(file) === index.get(file)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== file);
      if (component.length > 1 || (g.get(file) ?? []).includes(file)) cycles.push(component.sort());
    }
  };
  for (const file of g.keys()) if (!index.has(file)) visit(file);
  return cycles;
}

test('no import cycle anywhere in src/ (type-only imports included)', () => {
  const cycles = findCycles(graph);
  assert.deepEqual(cycles, [], `import cycles:\n${cycles.map((c) => `  ${c.join(' <-> ')}`).join('\n')}`);
});

test('the cycle finder finds a three-file circle and a self-import, and nothing in a chain', () => {
  const circle = new Map([
    ['node/socket/a.ts', ['node/socket/b.ts']],
    ['node/socket/b.ts', ['node/socket/c.ts']],
    ['node/socket/c.ts', ['node/socket/a.ts']],
    ['core/x.ts', ['core/x.ts']],
    ['core/y.ts', ['core/z.ts']],
    ['core/z.ts', []],
  ]);
  assert.deepEqual(findCycles(circle), [['node/socket/a.ts', 'node/socket/b.ts', 'node/socket/c.ts'], ['core/x.ts']]);
});

test('the import reader sees the real graph', () => {
  // Guard against a check that passes because it reads nothing: the known
  // edges web -> node and websocket -> state are found.
  assert.ok(graph.get('web/websocket.ts')?.some((target) => target.startsWith('node/')), 'web/websocket.ts imports node/');
  assert.ok(graph.get('node/socket/websocket.ts')?.includes('node/socket/state.ts'));
  const edges = [...graph.values()].reduce((sum, targets) => sum + targets.length, 0);
  assert.ok(edges > 150, `found ${edges} imports`);
});

test('docs/architecture.md names only node/, web/ and cli/ files that exist, and lists every file of node/socket/', () => {
  const doc = readFileSync(fileURLToPath(new URL('../../docs/architecture.md', import.meta.url)), 'utf8');
  // Paths in backticks such as `node/socket/transport.ts` (core's are checked by core's own docs).
  const named = [...doc.matchAll(/`((?:node|web|cli)\/[\w/-]+\.ts)`/g)].map((m) => m[1]);
  assert.ok(named.length >= 5, `found ${named.length} paths`);
  assert.deepEqual(named.filter((path) => !files.includes(path)), []);
  const socketFiles = files.filter((f) => f.startsWith('node/socket/')).map((f) => f.slice('node/socket/'.length));
  const listing = doc.split('### Inside `node/socket/`')[1]?.split('\n## ')[0] ?? '';
  assert.deepEqual(socketFiles.filter((name) => !new RegExp(`^${name.replace('.', '\\.')}\\s`, 'm').test(listing.split('```')[1] ?? '')), []);
});
