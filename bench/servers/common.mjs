// Shared by every benchmark server: parse the mode flags, announce the port,
// and answer `rss` on stdin (after a full GC when --expose-gc is on) so
// run.mjs can sample memory at the right moments (and `heap PATH`: a heap
// snapshot, for bench/idle-heap.mjs).
import readline from 'node:readline';
import v8 from 'node:v8';

export const mode = {
  /** Every received message is sent to every connection (the broadcast workload). */
  broadcast: process.argv.includes('--broadcast'),
  /** Negotiate permessage-deflate. */
  deflate: process.argv.includes('--deflate'),
};

export const HOST = '127.0.0.1';
/** Large enough for the 1 MiB echo; every server gets the same limit. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** `commands` answers other stdin lines: { name: async (args) => reply line }. */
export function ready(port, note = '', commands = {}) {
  process.stdout.write(`READY ${port} ${note}\n`);
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const [name, ...args] = line.trim().split(' ');
    if (Object.hasOwn(commands, name)) {
      Promise.resolve(commands[name](args)).then((reply) => process.stdout.write(`${reply}\n`));
      return;
    }
    if (name === 'heap' && args.length === 1) {
      // bench/idle-heap.mjs: a heap snapshot after a full GC, written to the path given.
      if (globalThis.gc) {
        globalThis.gc();
        globalThis.gc();
      }
      v8.writeHeapSnapshot(args[0]);
      process.stdout.write(`HEAP ${args[0]}\n`);
      return;
    }
    if (line.trim() !== 'rss') return;
    if (globalThis.gc) {
      globalThis.gc();
      globalThis.gc();
    }
    setTimeout(() => {
      const m = process.memoryUsage();
      process.stdout.write(`RSS ${m.rss} ${m.heapUsed + m.external}\n`);
    }, 300);
  });
  rl.on('close', () => process.exit(0));
}
