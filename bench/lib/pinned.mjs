// The one-server bench tools (ab, alloc-sample, profile, strace-cycle): a
// server from bench/servers pinned to core 0, and one load generator run
// pinned to core 1. (run.mjs has its own, with time limits and fd limits.)
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Starts bench/servers/`file` on core 0 and resolves once it printed
 * `READY <port>`; rejects if it exits first. Its stdout stays drained (the
 * servers answer stdin commands there).
 */
export async function startPinnedServer(file, { nodeArgs = [], args = [], env = {}, cwd } = {}) {
  const proc = spawn('taskset', ['-c', '0', process.execPath, ...nodeArgs, path.resolve(benchDir, 'servers', file), ...args], {
    cwd,
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => {
      if (out === null) return;
      out += d;
      const m = /READY (\d+)/.exec(out);
      if (m === null) return;
      out = null;
      resolve(Number(m[1]));
    });
    proc.on('exit', (code) => reject(new Error(`server ${file} exited (${code}) before it was ready`)));
  });
  return { proc, port };
}

/** Runs bench/`script` (loadgen.mjs by default) once on core 1 with `cfg`; resolves with what it printed. */
export async function runPinnedLoad(cfg, { script = 'loadgen.mjs', nodeArgs = [] } = {}) {
  const lg = spawn('taskset', ['-c', '1', process.execPath, ...nodeArgs, path.join(benchDir, script), JSON.stringify(cfg)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  lg.stdout.on('data', (d) => (out += d));
  await new Promise((resolve) => lg.on('exit', resolve));
  return out;
}

/** The RESULT line's JSON of a load generator's output. */
export function resultOf(output) {
  const m = /RESULT (.*)/.exec(output);
  if (m === null) throw new Error(`no RESULT from the load generator: ${output.trim().slice(0, 200)}`);
  return JSON.parse(m[1]);
}
