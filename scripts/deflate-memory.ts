// Measures the memory an idle permessage-deflate connection holds after one
// message each way, with and without context takeover.
//
//   node --import tsx scripts/deflate-memory.ts [pairs]
//
// Each scenario runs in a fresh child process (node --expose-gc): create
// `pairs` server/client compressor pairs, send one 4 KiB JSON-like message
// each way through real node:zlib, let everything go idle, force GC, and
// report (RSS after - RSS before) / (2 * pairs): both ends of a pair are one
// connection each, holding the same contexts.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createDeflateCompressor, type DeflateCompressor } from '../src/node/deflate.js';
import type { DeflateParams } from '../src/core/deflate/index.js';

const SCENARIOS: Record<string, { params: DeflateParams; exchange: boolean }> = {
  'created, no message yet (lazy contexts)': {
    params: { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 },
    exchange: false,
  },
  'context takeover, window 15 (default)': {
    params: { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 },
    exchange: true,
  },
  'context takeover, window 10': {
    params: { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 10, clientMaxWindowBits: 10 },
    exchange: true,
  },
  'no context takeover, both directions': {
    params: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 },
    exchange: true,
  },
};

function call<T>(fn: (done: (error: Error | null, result?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((error, result) => (error ? reject(error) : resolve(result as T))));
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function child(name: string, pairs: number): Promise<void> {
  const scenario = SCENARIOS[name];
  const message = Buffer.from(JSON.stringify(Array.from({ length: 60 }, (_, i) => ({ id: i, name: `user-${i}`, online: i % 3 === 0 }))));
  await settle();
  const before = process.memoryUsage().rss;
  const kept: DeflateCompressor[] = [];
  for (let i = 0; i < pairs; i++) {
    const server = createDeflateCompressor(scenario.params, 'server', {});
    const client = createDeflateCompressor(scenario.params, 'client', {});
    kept.push(server, client);
    if (scenario.exchange) {
      const down = await call<Buffer>((done) => server.compress(message, done));
      await call<Buffer[]>((done) => client.decompress(down, true, 1 << 24, done));
      const up = await call<Buffer>((done) => client.compress(message, done));
      await call<Buffer[]>((done) => server.decompress(up, true, 1 << 24, done));
    }
  }
  await settle();
  const after = process.memoryUsage().rss;
  const perConnection = (after - before) / kept.length;
  console.log(JSON.stringify({ name, connections: kept.length, messageBytes: message.length, perConnectionKiB: +(perConnection / 1024).toFixed(1) }));
  for (const c of kept) c.close();
}

const [mode, arg1, arg2] = process.argv.slice(2);
if (mode === '--child') {
  await child(arg1, Number(arg2));
} else {
  const pairs = Number(mode ?? 1000);
  console.log(`node ${process.version}, ${pairs} pairs (${2 * pairs} connections) per scenario, one message each way, RSS delta per connection:`);
  for (const name of Object.keys(SCENARIOS)) {
    const result = spawnSync(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', name, String(pairs)],
      { encoding: 'utf8' },
    );
    if (result.status !== 0) {
      console.error(result.stderr);
      process.exit(1);
    }
    const line = JSON.parse(result.stdout.trim().split('\n').pop() as string) as { perConnectionKiB: number };
    console.log(`  ${name.padEnd(42)} ${line.perConnectionKiB.toFixed(1).padStart(7)} KiB`);
  }
}
