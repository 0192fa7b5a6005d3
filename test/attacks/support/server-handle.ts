/**
 * Parent side of server-process.ts: starts the child server, sends commands,
 * formats memory numbers. Every test/script that attacks a server uses it.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildConfig, Command, MemoryReport } from './server-process.js';

const CHILD = fileURLToPath(new URL('./server-process.ts', import.meta.url));

export interface ServerHandle {
  port: number;
  url: string;
  child: ChildProcess;
  baseline: MemoryReport;
  /** Resolves with the exit code when the child exits. */
  exited: Promise<number | null>;
  call<T = unknown>(command: Command, timeoutMs?: number): Promise<T>;
  memory(): Promise<MemoryReport>;
  resetPeak(): Promise<MemoryReport>;
  stats(): Promise<ChildStats>;
  /** Kills the child if still running. */
  stop(): Promise<void>;
}

export interface ChildStats {
  stats: { connections: number; pendingHandshakes: number; bytesIn: number; bytesOut: number; messagesIn: number; messagesOut: number; queuedBytes: number };
  counters: { messages: number; bytes: number; errors: number; sequenceViolations: number; connections: number; closes: number; dropped: number };
  closeCodes: Record<string, number>;
  diagnostics: Record<string, number>;
  rejectedStatuses: Record<string, number>;
  lastCloseCodes: number[];
  errorKinds: Record<string, number>;
}

export async function startServerProcess(config: ChildConfig, o: { maxOldSpaceMb?: number } = {}): Promise<ServerHandle> {
  const execArgv = ['--import', 'tsx', '--expose-gc'];
  if (o.maxOldSpaceMb) execArgv.push(`--max-old-space-size=${o.maxOldSpaceMb}`);
  const child = fork(CHILD, [JSON.stringify(config)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let nextId = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const listening = new Promise<{ port: number; memory: MemoryReport }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server child did not start within 20 s')), 20_000);
    child.on('message', (message: { event?: string; id?: number; ok?: boolean; result?: unknown; error?: string; port?: number; memory?: MemoryReport }) => {
      if (message.event === 'listening') {
        clearTimeout(timer);
        resolve({ port: message.port!, memory: message.memory! });
        return;
      }
      const entry = waiting.get(message.id!);
      if (!entry) return;
      waiting.delete(message.id!);
      if (message.ok) entry.resolve(message.result);
      else entry.reject(new Error(`server child: ${message.error}`));
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server child exited with ${code} before listening`));
      for (const entry of waiting.values()) entry.reject(new Error(`server child exited with ${code}`));
      waiting.clear();
    });
  });
  const { port, memory: baseline } = await listening;
  const call = <T>(command: Command, timeoutMs = 30_000): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (child.exitCode !== null || !child.connected) {
        reject(new Error('server child is not running'));
        return;
      }
      const id = nextId++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`server child did not answer ${command.cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiting.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      child.send({ id, ...command });
    });
  return {
    port,
    url: `ws://127.0.0.1:${port}/`,
    child,
    baseline,
    exited,
    call,
    memory: () => call<MemoryReport>({ cmd: 'memory' }),
    resetPeak: () => call<MemoryReport>({ cmd: 'reset-peak' }),
    stats: () => call<ChildStats>({ cmd: 'stats' }),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

export const MiB = 1024 * 1024;
export const mb = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;

/** One line for the report: rss and heap before, peak, after. */
export function memoryLine(label: string, before: MemoryReport, after: MemoryReport): string {
  return (
    `${label}: rss ${mb(before.rss)} -> peak ${mb(after.peakRss)} -> ${mb(after.rss)}; ` +
    `heap ${mb(before.heapUsed)} -> peak ${mb(after.peakHeapUsed)} -> ${mb(after.heapUsed)}; ` +
    `external+arrayBuffers after ${mb(after.external)}`
  );
}

/**
 * The memory part of a fuzz or soak summary: baseline, peak and end, and
 * whether heap and external memory came back within `slackBytes` (RSS is
 * reported but not judged: V8 and malloc keep freed pages).
 */
export function memorySummary(
  baseline: MemoryReport,
  after: MemoryReport | undefined,
  maxRss: number,
  maxHeap: number,
  slackBytes: number,
): { returnedToBaseline: boolean; report: Record<string, string | boolean> } {
  const returnedToBaseline =
    after !== undefined && after.heapUsed - baseline.heapUsed < slackBytes && after.external - baseline.external < slackBytes;
  return {
    returnedToBaseline,
    report: {
      baselineRss: mb(baseline.rss),
      maxRss: mb(maxRss),
      afterRss: after ? mb(after.rss) : 'n/a',
      baselineHeap: mb(baseline.heapUsed),
      maxHeap: mb(maxHeap),
      afterHeap: after ? mb(after.heapUsed) : 'n/a',
      baselineExternal: mb(baseline.external),
      afterExternal: after ? mb(after.external) : 'n/a',
      returnedToBaseline,
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves with the promise's value, or `fallback` after ms; never leaves a timer behind. */
export function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}
