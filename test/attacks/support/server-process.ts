/**
 * A sockwave WebSocketServer in a child process, so the attack tests, the
 * fuzz and the soak script measure the server's memory alone (the attacking
 * clients live in the parent). Started by server-handle.ts with
 * `node --import tsx --expose-gc`; configured by one JSON argument; driven
 * over IPC (see the Command union). The IPC channel is unref'd, so once the
 * server has nothing left the process exits by itself: the graceful shutdown
 * test relies on exactly that.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { WebSocketServer } from '../../../src/node/server/server.js';
import type { NodeWebSocket } from '../../../src/node/socket/websocket.js';

export interface ChildConfig {
  /** WebSocketServer options (JSON); `allowedOrigins` entries written as "/re/" become RegExps. */
  server: Record<string, unknown>;
  /**
   * echo: send every message back (pausing the socket while its send queue is
   *       over the high-water mark, resuming on 'drain': reading backpressure).
   * sink: read and count, send nothing.
   * seq:  like echo, and checks that each client's messages carry increasing
   *       sequence numbers (first 8 bytes, big-endian), for the soak.
   */
  mode: 'echo' | 'sink' | 'seq';
  /** Hooks that cannot travel as JSON. */
  hooks?: {
    /** verify() returns a promise that never settles when the request path is /hang. */
    verifyHangsOnPath?: string;
  };
}

export type Command =
  | { cmd: 'memory' }
  | { cmd: 'reset-peak' }
  | { cmd: 'stats' }
  | { cmd: 'blast'; count: number; size: number; honorBackpressure: boolean }
  | { cmd: 'shutdown'; code?: number; reason?: string; timeoutMs?: number }
  | { cmd: 'close-all'; code: number; reason: string }
  | { cmd: 'exit' };

export interface MemoryReport {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  peakRss: number;
  peakHeapUsed: number;
  peakExternal: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;
const options = { ...config.server } as Record<string, unknown>;
if (Array.isArray(options.allowedOrigins)) {
  options.allowedOrigins = (options.allowedOrigins as string[]).map((o) =>
    o.startsWith('/') && o.endsWith('/') ? new RegExp(o.slice(1, -1)) : o,
  );
}

const gc = (globalThis as { gc?: () => void }).gc;
const peak = { rss: 0, heapUsed: 0, external: 0 };
function sample() {
  const m = process.memoryUsage();
  peak.rss = Math.max(peak.rss, m.rss);
  peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
  peak.external = Math.max(peak.external, m.external);
  return m;
}
const sampler = setInterval(sample, 20);
sampler.unref();

function memory(): MemoryReport {
  gc?.();
  gc?.();
  const m = sample();
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    peakRss: peak.rss,
    peakHeapUsed: peak.heapUsed,
    peakExternal: peak.external,
  };
}

// Diagnostics channel counts (issue 6 observability).
const diagnostics: Record<string, number> = {};
const lastCloseCodes: number[] = [];
const rejectedStatuses: Record<string, number> = {};
for (const name of ['connection-open', 'connection-close', 'handshake-rejected', 'protocol-error', 'backpressure']) {
  diagnosticsChannel.subscribe(`sockwave:${name}`, (message) => {
    diagnostics[name] = (diagnostics[name] ?? 0) + 1;
    const m = message as { code?: number; status?: number; closeCode?: number };
    if (name === 'connection-close' && typeof m.code === 'number') {
      lastCloseCodes.push(m.code);
      if (lastCloseCodes.length > 50) lastCloseCodes.shift();
    }
    if (name === 'handshake-rejected') rejectedStatuses[String(m.status)] = (rejectedStatuses[String(m.status)] ?? 0) + 1;
  });
}

const counters = { messages: 0, bytes: 0, errors: 0, sequenceViolations: 0, connections: 0, closes: 0, dropped: 0 };
/** 'error' events by code (or message when there is no code), so a soak or fuzz run can say what they were. */
const errorKinds: Record<string, number> = {};
function countError(error: unknown) {
  counters.errors++;
  const e = error as { code?: string; message?: string };
  const kind = e?.code ?? String(e?.message ?? error).slice(0, 80);
  errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
}
const closeCodes: Record<string, number> = {};

const hang = config.hooks?.verifyHangsOnPath;
if (hang !== undefined) {
  options.verify = (info: { request: { url?: string } }) => (info.request.url === hang ? new Promise(() => undefined) : true);
}

const server = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options } as never);
server.on('error', countError);
// No 'wsClientError' listener: with one, ws semantics make the app answer the socket.

server.on('connection', (ws: NodeWebSocket) => {
  counters.connections++;
  let lastSeq = -1n;
  ws.on('error', countError);
  ws.on('dropped', () => counters.dropped++);
  ws.on('close', (code: number) => {
    counters.closes++;
    closeCodes[code] = (closeCodes[code] ?? 0) + 1;
  });
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    counters.messages++;
    counters.bytes += data.length;
    if (config.mode === 'sink') return;
    if (config.mode === 'seq' && isBinary && data.length >= 8) {
      const seq = data.readBigUInt64BE(0);
      if (seq <= lastSeq) counters.sequenceViolations++;
      lastSeq = seq;
    }
    if (!ws.send(data, { binary: isBinary }) && ws.readyState === 1) {
      // Reading backpressure: stop reading this peer until its queue drains.
      if (!ws.isPaused) {
        ws.pause();
        ws.once('drain', () => ws.resume());
      }
    }
  });
});

/** Sends `count` numbered messages of `size` bytes to every client; honours send()'s false when asked. */
async function blast(count: number, size: number, honorBackpressure: boolean) {
  const results = [];
  for (const ws of server.clients as Set<NodeWebSocket>) {
    let accepted = 0;
    let dropped = 0;
    let refusedWhileClosed = 0;
    let maxBuffered = 0;
    // send() === true promises "written, no need to wait": record how much was
    // actually buffered right after such a call (issue 6: backpressure visible).
    let trueCount = 0;
    let maxBufferedAfterTrue = 0;
    const droppedSeqs: number[] = [];
    const onDropped = (data: Buffer) => {
      dropped++;
      droppedSeqs.push(data.readUInt32BE(0));
    };
    ws.on('dropped', onDropped);
    for (let seq = 0; seq < count; seq++) {
      if (ws.readyState !== 1) {
        refusedWhileClosed = count - seq;
        break;
      }
      const payload = Buffer.alloc(size, seq & 0xff);
      payload.writeUInt32BE(seq, 0);
      const isWritten = ws.send(payload);
      accepted++;
      maxBuffered = Math.max(maxBuffered, ws.bufferedAmount);
      if (isWritten) {
        trueCount++;
        maxBufferedAfterTrue = Math.max(maxBufferedAfterTrue, ws.bufferedAmount);
      }
      if (!isWritten && honorBackpressure && ws.readyState === 1) {
        await new Promise<void>((resolve) => {
          const done = () => {
            ws.removeListener('drain', done);
            ws.removeListener('close', done);
            resolve();
          };
          ws.on('drain', done);
          ws.on('close', done);
        });
      }
      if (seq % 64 === 63) await new Promise((r) => setImmediate(r));
    }
    ws.removeListener('dropped', onDropped);
    results.push({ accepted: accepted - dropped, dropped, droppedSeqs: droppedSeqs.slice(0, 20), refusedWhileClosed, maxBuffered, trueCount, maxBufferedAfterTrue, readyState: ws.readyState });
  }
  return results;
}

async function handle(command: Command): Promise<unknown> {
  switch (command.cmd) {
    case 'memory':
      return memory();
    case 'reset-peak': {
      const m = memory();
      peak.rss = m.rss;
      peak.heapUsed = m.heapUsed;
      peak.external = m.external;
      return m;
    }
    case 'stats':
      return { stats: server.stats(), counters, closeCodes, diagnostics, rejectedStatuses, lastCloseCodes, errorKinds };
    case 'blast':
      return blast(command.count, command.size, command.honorBackpressure);
    case 'shutdown': {
      const started = performance.now();
      await server.close({ code: command.code, reason: command.reason, timeoutMs: command.timeoutMs });
      return { ms: performance.now() - started, closeCodes, activeHandles: activeResources() };
    }
    case 'close-all': {
      // Starts the closing handshake on every socket; resolves when all emitted 'close'.
      const started = performance.now();
      const sockets = [...(server.clients as Set<NodeWebSocket>)];
      const codes = await Promise.all(
        sockets.map(
          (ws) =>
            new Promise<number>((resolve) => {
              ws.once('close', (code: number) => resolve(code));
              ws.close(command.code, command.reason);
            }),
        ),
      );
      return { ms: performance.now() - started, codes };
    }
    case 'exit':
      setImmediate(() => process.exit(0));
      return 'bye';
  }
}

function activeResources(): string[] {
  const getter = (process as unknown as { getActiveResourcesInfo?: () => string[] }).getActiveResourcesInfo;
  return getter ? getter.call(process) : [];
}

process.on('message', (message: { id: number } & Command) => {
  handle(message).then(
    (result) => process.send?.({ id: message.id, ok: true, result }),
    (error: Error) => process.send?.({ id: message.id, ok: false, error: String(error?.stack ?? error) }),
  );
});

// The parent (a test or script) died without stopping us: do not linger as an orphan server.
process.once('disconnect', () => process.exit(0));

server.once('listening', () => {
  const { port } = server.address() as { port: number };
  process.send?.({ event: 'listening', port, memory: memory() });
  // From here only the server keeps the process alive: see the file comment.
  (process as unknown as { channel?: { unref(): void } }).channel?.unref();
});
