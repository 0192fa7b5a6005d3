/**
 * Raw zlib streams for permessage-deflate, and the process-wide pool of
 * reset ones used without context takeover.
 *
 * Without context takeover (RFC 7692 §7.1.1) a compressor or inflater carries
 * nothing from one message to the next, so it need not belong to a
 * connection: a message borrows a reset stream with the right parameters,
 * uses it, resets it and gives it back. Creating a zlib context per message
 * instead costs an allocation and initialisation of up to ~260 KiB per
 * message (it made no-takeover echo half as fast as ws), and keeping one per
 * connection costs that memory on every idle connection. Idle connections
 * now hold no zlib memory at all.
 *
 * The pool keeps at most `limit` idle streams per parameter set, where
 * `limit` is the zlib concurrency bound (capped at MAX_IDLE when unbounded):
 * at most that many operations run at once, so more idle streams would never
 * be used together.
 */
import * as zlib from 'node:zlib';

/** Idle streams kept per parameter set when concurrency is unbounded. */
const MAX_IDLE = 64;

export type RawStream = zlib.DeflateRaw | zlib.InflateRaw;

/** A raw deflate or inflate stream whose output goes to whoever uses it now. */
export class ZlibContext {
  readonly stream: RawStream;
  /** The parameter set (pool key) the stream was created with. */
  readonly key: string;
  onData: ((chunk: Buffer) => void) | null = null;
  onError: ((error: Error) => void) | null = null;
  /** zlib has allocated its state: the first job ran (on the thread pool, see compressor.ts). */
  isWarm = false;

  constructor(stream: RawStream, key: string) {
    this.stream = stream;
    this.key = key;
    // Listeners are installed once; the current user swaps onData/onError.
    stream.on('data', (chunk: Buffer) => this.onData?.(chunk));
    stream.on('error', (error: Error) => this.onError?.(error));
  }

  /** Frees the zlib memory; the context is not used again. */
  close(): void {
    this.onData = null;
    this.onError = null;
    this.stream.close();
  }
}

const idle = new Map<string, ZlibContext[]>();

export function deflateKey(level: number, memLevel: number, windowBits: number): string {
  return `deflate ${level} ${memLevel} ${windowBits}`;
}

export function inflateKey(windowBits: number): string {
  return `inflate ${windowBits}`;
}

/** A reset stream for `key`: an idle one from the pool, else a new one from `create`. */
export function borrowContext(key: string, create: () => RawStream): ZlibContext {
  return idle.get(key)?.pop() ?? new ZlibContext(create(), key);
}

/**
 * Resets a borrowed stream and keeps it for the next message, unless `limit`
 * idle streams with its parameters are already kept (then it is freed). Call
 * only when no write is in flight on it.
 */
export function returnContext(context: ZlibContext, limit: number): void {
  context.onData = null;
  context.onError = null;
  let list = idle.get(context.key);
  if (list === undefined) {
    list = [];
    idle.set(context.key, list);
  }
  if (list.length >= Math.min(limit, MAX_IDLE) || context.stream.destroyed) {
    context.close();
    return;
  }
  try {
    context.stream.reset();
  } catch {
    context.close();
    return;
  }
  list.push(context);
}

/** Whether a borrow for `key` would get an idle pooled stream (one that has worked before). */
export function hasIdleContext(key: string): boolean {
  return (idle.get(key)?.length ?? 0) > 0;
}

/** Idle pooled streams, over all parameter sets (for tests and memory accounting). */
export function zlibPoolStats(): { idle: number } {
  let count = 0;
  for (const list of idle.values()) count += list.length;
  return { idle: count };
}

/** Frees every idle pooled stream (tests, and apps that want the memory back). */
export function drainZlibPool(): void {
  for (const list of idle.values()) for (const context of list.splice(0)) context.close();
}
