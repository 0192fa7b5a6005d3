// Runs one WPT job in a fresh worker thread: sockwave's WHATWG classes as the
// globals a browser would have, `location` set to where the test page would
// be served from, then testharness.js and the test's scripts in order, in
// this thread's own realm (so `assert_throws_js(TypeError, ...)` compares
// against the same TypeError our code throws).
import { parentPort, workerData } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import vm from 'node:vm';
import dns from 'node:dns';
import { substitute } from './discover.mjs';

const { job, config, modulePath, wptRoot } = workerData;
const sockwave = await import(modulePath);

globalThis.self = globalThis;
globalThis.location = new URL(`http://${config.host}:${config.ports.http}/${job.path}${job.variant}`);
// Interface objects on a global are writable, configurable and not enumerable (WebIDL §3.7).
for (const name of ['WebSocket', 'CloseEvent', 'ErrorEvent', 'WebSocketStream', 'WebSocketError']) {
  Object.defineProperty(globalThis, name, { value: sockwave[name], writable: true, configurable: true, enumerable: false });
}
// What WPT's .any.js wrappers define. A page is run as a window without a
// document: `window` and a `Window` interface are there (idlharness.js asks
// for the latter to know where an interface is exposed), `document` is not.
globalThis.GLOBAL = { isWindow: () => job.isPage, isWorker: () => !job.isPage, isShadowRealm: () => false };
if (job.isPage) {
  globalThis.window = globalThis;
  Object.defineProperty(globalThis, 'Window', { value: function Window() {}, configurable: true, writable: true });
}

// WPT's test setup maps web-platform.test and its subdomains to loopback
// (https://web-platform-tests.org/running-tests/from-local-system.html#hosts-file-setup);
// do the same here instead of editing /etc/hosts.
const realLookup = dns.lookup;
dns.lookup = function lookup(hostname, options, callback) {
  if (typeof options === 'function') [callback, options] = [options, {}];
  const opts = typeof options === 'number' ? { family: options } : options ?? {};
  if (/(^|\.)(not-)?web-platform\.test$/i.test(hostname)) {
    if (opts.all) return process.nextTick(callback, null, [{ address: '127.0.0.1', family: 4 }]);
    return process.nextTick(callback, null, '127.0.0.1', 4);
  }
  return realLookup.call(this, hostname, options, callback);
};
if (job.title) globalThis.META_TITLE = job.title;

// The WPT server serves the IDL files idlharness.js fetches (/interfaces/*.idl); read them from disk.
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const url = new URL(String(input), globalThis.location);
  if (url.origin === globalThis.location.origin) {
    try {
      return new Response(readFileSync(join(wptRoot, decodeURIComponent(url.pathname))));
    } catch {
      return new Response('not found', { status: 404 });
    }
  }
  return realFetch(input, init);
};

const uncaught = [];
// A browser reports an exception thrown by an event listener to the page, and
// testharness.js turns it into a harness error; Node would end the thread.
process.on('uncaughtException', (error) => {
  uncaught.push(String(error?.stack ?? error));
});

let reported = false;
function report(tests, status) {
  if (reported) return;
  reported = true;
  parentPort.postMessage({
    harness: { status: status.status, message: status.message ?? null },
    subtests: tests.map((t) => ({ name: t.name, status: t.status, message: t.message ?? null })),
    uncaught,
  });
}

function run(code, filename) {
  vm.runInThisContext(code, { filename });
}

try {
  for (const script of job.scripts) {
    if (script.file) {
      let source = readFileSync(script.file, 'utf8');
      if (/\.sub\.[a-z]+$/.test(script.file)) source = substitute(source, config);
      run(source, script.file);
      if (script.file.endsWith('/resources/testharness.js')) {
        globalThis.add_completion_callback(report);
      }
    } else {
      run(substitute(script.code, config), script.name);
    }
  }
  // The shell environment waits for an explicit done() once every script ran.
  globalThis.done();
} catch (error) {
  uncaught.push(String(error?.stack ?? error));
  if (typeof globalThis.done === 'function') globalThis.done();
  else parentPort.postMessage({ harness: { status: 1, message: String(error) }, subtests: [], uncaught });
}

// The shell environment has no harness timeout; give tests the browser's (10 s, or 60 s when long).
setTimeout(() => {
  if (!reported && typeof globalThis.timeout === 'function') globalThis.timeout();
}, job.isLong ? config.longTimeoutMs : config.timeoutMs).unref();
