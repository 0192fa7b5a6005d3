// Native load generators (bench/native/*.c): compiled on first use with the
// machine's C compiler into a cache under the temp directory, keyed by the
// source's hash so an edited source is rebuilt. Only the benchmarks use them;
// the package and its tests never compile C.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);

/** Path of the compiled `name` (bench/native/NAME.c), building it if needed. */
export function nativeTool(name) {
  const source = path.join(here, '..', 'native', `${name}.c`);
  // The shared headers count too: an edited header rebuilds every tool.
  const hasher = createHash('sha256').update(fs.readFileSync(source));
  const nativeDir = path.dirname(source);
  for (const header of fs.readdirSync(nativeDir).filter((f) => f.endsWith('.h')).sort()) hasher.update(fs.readFileSync(path.join(nativeDir, header)));
  const hash = hasher.digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), 'sockwave-bench-native');
  const binary = path.join(dir, `${name}-${hash}`);
  if (!fs.existsSync(binary)) {
    fs.mkdirSync(dir, { recursive: true });
    const cc = process.env.CC || 'cc';
    try {
      execFileSync(cc, ['-O2', '-Wall', '-o', `${binary}.tmp`, source], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      throw new Error(`cannot compile ${source} with ${cc}: ${String(err.stderr || err.message).trim().split('\n')[0]}`);
    }
    fs.renameSync(`${binary}.tmp`, binary);
  }
  return binary;
}

/**
 * Starts handshake-cycle.c (it inherits our CPU pinning) and returns a
 * synchronous reader of its running cycle count, its pid and its failure.
 */
export function startHandshakeCycle({ port, concurrency, keys }) {
  return startCounting('handshake-cycle', (countFile) => [String(port), String(concurrency), countFile, ...keys.flatMap((k) => [k.key, k.accept])]);
}

/**
 * Starts echo-large.c: `conns` connections keeping `inflight` binary messages
 * of `size` bytes each outstanding; its count is of echoes received whole.
 * `raw`: the server echoes bytes untouched (raw-net), so the frame comes back.
 */
export function startLargeEcho({ port, conns, inflight, size, key, raw = false }) {
  const args = (countFile) => [String(port), String(conns), String(inflight), String(size), countFile, key.key, key.accept, ...(raw ? ['RAW'] : [])];
  return startCounting('echo-large', args);
}

/** Runs native tool `name` with `argsFor(countFile)`; the tool keeps its running count in that file (8 bytes). */
function startCounting(name, argsFor) {
  const binary = nativeTool(name);
  const countFile = path.join(os.tmpdir(), `sockwave-${name}-count-${process.pid}`);
  const child = spawn(binary, argsFor(countFile), { stdio: ['ignore', 'ignore', 'pipe'] });
  let failure = null;
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.on('exit', (code, signal) => {
    if (!stopped) failure ??= new Error(stderr.trim() || `${name} exited (${code ?? signal})`);
  });
  let stopped = false;
  const word = Buffer.alloc(8);
  let fd = -1;
  return {
    pid: child.pid,
    failure: () => failure,
    count() {
      try {
        if (fd < 0) fd = fs.openSync(countFile, 'r');
        return fs.readSync(fd, word, 0, 8, 0) === 8 ? Number(word.readBigUInt64LE(0)) : 0;
      } catch {
        return 0; // not created yet
      }
    },
    stop() {
      stopped = true;
      child.kill('SIGKILL');
      if (fd >= 0) fs.closeSync(fd);
      fs.rmSync(countFile, { force: true });
    },
  };
}
