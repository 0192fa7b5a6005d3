// Finds the WPT websockets/ test files and turns each into runnable jobs:
// one per variant (?default, ?wss), with the scripts to load in order.
//
// Two file kinds are run: `*.any.js` (scripts named by `// META: script=`
// lines) and `*.html` (the <script> elements, in document order). Both are
// run in a worker thread without a `document` (testharness.js's shell
// environment), which is what a WebSocket in Node is.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, posix } from 'node:path';

/** Variants run by this runner; `?wpt_flags=h2` needs WebSocket over HTTP/2, which sockwave does not speak. */
export const RUN_VARIANTS = new Set(['', '?default', '?wss']);

function walk(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

/** `// META: key=value` lines at the top of an .any.js file. */
function anyJsMeta(source) {
  const meta = [];
  for (const line of source.split('\n')) {
    const match = /^\/\/ META: ([a-z_]+)=(.*)$/.exec(line.trim());
    if (match) meta.push([match[1], match[2].trim()]);
    else if (line.trim() !== '' && !line.startsWith('//')) break;
  }
  return meta;
}

/**
 * Resolves a script reference as the WPT server would: absolute paths from
 * the WPT root, relative ones from the test's folder. `/resources/WebIDLParser.js`
 * is a server route to webidl2's bundle.
 */
function resolveScript(wptRoot, testPath, src) {
  const clean = src.split('?')[0];
  if (clean === '/resources/WebIDLParser.js') return join(wptRoot, 'resources/webidl2/lib/webidl2.js');
  if (clean.startsWith('/')) return join(wptRoot, clean);
  return join(wptRoot, posix.dirname(testPath), clean);
}

/** testharnessreport.js only draws results into a page; without a document it has nothing to do. */
function isReportScript(path) {
  return path.endsWith('/resources/testharnessreport.js');
}

function htmlParts(source) {
  const scripts = [];
  const re = /<script\b([^>]*)>([\s\S]*?)<\/script>/gi;
  let match;
  while ((match = re.exec(source)) !== null) {
    const src = /\bsrc\s*=\s*["']?([^"'\s>]+)/i.exec(match[1]);
    if (src) scripts.push({ src: src[1] });
    else scripts.push({ code: match[2] });
  }
  const variants = [...source.matchAll(/<meta\s+name=["']?variant["']?\s+content=["']([^"']*)["']/gi)].map((m) => m[1]);
  const title = /<title>([\s\S]*?)<\/title>/i.exec(source)?.[1].trim() ?? '';
  const isLong = /<meta\s+name=["']?timeout["']?\s+content=["']?long/i.test(source);
  return { scripts, variants, title, isLong };
}

/**
 * Every job under `<wptRoot>/websockets`. A job is
 * `{ id, path, variant, scripts: [{ file } | { code, name }], title, isLong }`;
 * `id` is `path` plus the variant, the key of the expectations file.
 */
export function discover(wptRoot) {
  const jobs = [];
  for (const file of walk(join(wptRoot, 'websockets'), [])) {
    const path = relative(wptRoot, file).split('\\').join('/');
    if (path.includes('/handlers/') || path.includes('/support/') || path.includes('/resources/')) continue;
    if (path.endsWith('.any.js')) {
      const source = readFileSync(file, 'utf8');
      const meta = anyJsMeta(source);
      const variants = meta.filter(([k]) => k === 'variant').map(([, v]) => v);
      const scripts = [
        { file: join(wptRoot, 'resources/testharness.js') },
        ...meta.filter(([k]) => k === 'script').map(([, v]) => ({ file: resolveScript(wptRoot, path, v) })),
        { file },
      ];
      const isLong = meta.some(([k, v]) => k === 'timeout' && v === 'long');
      // `global=` defaults to window and dedicated worker; run as a window when it is among them.
      const globals = meta.find(([k]) => k === 'global')?.[1] ?? 'window,dedicatedworker';
      const isPage = globals.split(',').includes('window');
      const title = meta.find(([k]) => k === 'title')?.[1] ?? '';
      for (const variant of variants.length ? variants : ['']) {
        jobs.push({ id: path + variant, path, variant, scripts, title, isLong, isPage });
      }
    } else if (path.endsWith('.html')) {
      // A page declaring windows-1252 is decoded as such (constructor/016 tests that URLs are still UTF-8 encoded).
      const bytes = readFileSync(file);
      const isLatin1 = /<meta\s+charset=["']?windows-1252/i.test(bytes.toString('latin1'));
      const parts = htmlParts(bytes.toString(isLatin1 ? 'latin1' : 'utf8'));
      const scripts = [];
      parts.scripts.forEach((script, index) => {
        if (script.src) {
          const resolved = resolveScript(wptRoot, path, script.src);
          if (!isReportScript(resolved)) scripts.push({ file: resolved });
        } else {
          scripts.push({ code: script.code, name: `${path}#script${index}` });
        }
      });
      for (const variant of parts.variants.length ? parts.variants : ['']) {
        jobs.push({ id: path + variant, path, variant, scripts, title: parts.title, isLong: parts.isLong, isPage: true });
      }
    } else if (path.endsWith('.worker.js') || path.endsWith('.window.js')) {
      // Scope-specific wrappers (dedicated worker, window-only features) are listed so the count shows them.
      jobs.push({ id: path, path, variant: '', scripts: [], title: '', isLong: false, isScopeSpecific: true });
    }
  }
  return jobs;
}

/**
 * The server-side template substitution of WPT's `.sub.` files
 * (https://web-platform-tests.org/writing-tests/server-pipes.html#sub),
 * limited to the keys the websockets tests use.
 */
export function substitute(source, config) {
  return source.replace(/\{\{([^}]+)\}\}/g, (whole, key) => {
    const k = key.trim();
    if (k === 'host') return config.host;
    if (k === 'hosts[alt][www]' || k === 'hosts[][www]' || k === 'domains[www]') return config.altHost;
    if (k === 'hosts[alt][]' || k === 'hosts[][]' || k === 'domains[]') return config.host;
    const port = /^ports\[(\w+)\]\[0\]$/.exec(k);
    if (port) return String(config.ports[port[1]] ?? 0);
    return whole;
  });
}
