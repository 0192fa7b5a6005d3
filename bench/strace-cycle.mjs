// Counts the server's system calls per handshake cycle (strace -c) under the
// C load generator, to compare what servers ask of the kernel per connection.
// Usage: node bench/strace-cycle.mjs [--server sockwave|ws|handwritten] [--seconds 3]
import { spawnSync } from 'node:child_process';
import { makeKeyPool } from './lib/wire.mjs';
import { startHandshakeCycle } from './lib/native.mjs';
import { startPinnedServer } from './lib/pinned.mjs';

const argv = process.argv.slice(2);
const opt = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const server = opt('--server', 'sockwave');
const seconds = Number(opt('--seconds', 3));
const { proc: child, port } = await startPinnedServer(`${server}.mjs`);
const gen = startHandshakeCycle({ port, concurrency: 32, keys: makeKeyPool(64) });
await new Promise((r) => setTimeout(r, 1000));
const c0 = gen.count();
// strace -c prints its table on stderr when interrupted.
const run = spawnSync('timeout', ['-s', 'INT', String(seconds), 'strace', '-c', '-f', '-p', String(child.pid)], { encoding: 'utf8' });
const cycles = gen.count() - c0;
gen.stop();
child.kill();
console.log(`${server}: ${cycles} cycles under strace; calls per cycle:`);
for (const line of run.stderr.split('\n')) {
  const f = line.trim().split(/\s+/);
  // % time, seconds, usecs/call, calls, [errors], syscall
  if (f.length < 5 || !/^[0-9.]+$/.test(f[0])) continue;
  const calls = Number(f[3]);
  const errors = f.length === 6 ? Number(f[4]) : 0;
  console.log(`  ${(calls / cycles).toFixed(2).padStart(7)}  ${f[f.length - 1]}${errors ? ` (${(errors / cycles).toFixed(2)} failed)` : ''}`);
}
