/**
 * permessage-deflate (RFC 7692) on node:zlib: the MessageCompressor the core
 * calls for each compressed message.
 *
 * - Raw deflate (§7.2.1: no zlib header). Compression ends each message with
 *   a Z_SYNC_FLUSH and removes the 00 00 ff ff it produces (§7.2.1 step 2);
 *   inflation appends it after the last frame of a message (§7.2.2).
 * - Context takeover per direction (§7.1.1): with takeover the context (the
 *   sliding window) lives as long as the connection. Without it a message
 *   borrows a reset context from a process-wide pool and gives it back after
 *   its last frame (zlib-pool.ts), so an idle connection holds no zlib
 *   memory and no message pays for creating a context.
 * - Contexts are created on first use and released by close().
 * - Inflation is bounded while it runs: as soon as one call's output passes
 *   `maxBytes`, the inflater is destroyed (zlib stops between output chunks:
 *   16 KiB on the thread pool, 64 KiB inline, so a call may overshoot the
 *   bound by that much) and the call fails with MessageTooLargeError; the
 *   rest of a decompression bomb is never produced. `maxBytes` applies to each call:
 *   the core passes what the current message may still grow by.
 * - Window bits 8: zlib cannot deflate with a 256-byte raw window, so we
 *   deflate with 9 bits; zlib never references more than 512 - 262 = 250
 *   bytes back with that window, which a 256-byte peer window covers (see
 *   core/deflate/index.ts).
 * - Small inputs (up to `inlineMaxBytes`) run on the main thread through
 *   zlib's native handle (zlib-sync.ts), without a thread-pool round trip;
 *   a context's first job always runs on the pool (see #canRunInline).
 * - A process-wide queue bounds concurrent zlib operations (zlib-queue.ts);
 *   each direction of a connection is a lane of ordered jobs (zlib-lane.ts).
 *   close() drops the connection's queued jobs and frees its slot at once, so
 *   thousands of connections closing together cannot stall the queue (ws#1617).
 *
 * Callback contract: every compress/decompress callback is called exactly
 * once; after close() the outstanding ones get a ConnectionClosedError on the
 * next tick.
 */
import * as zlib from 'node:zlib';
import type { MessageCompressor } from '../core/deflate/compressor.js';
import {
  resolveDeflateOptions,
  type DeflateParams,
  type PerMessageDeflateOptions,
  type ResolvedDeflateOptions,
} from '../core/deflate/index.js';
import { ErrorCode, MessageTooLargeError, ProtocolError } from '../core/errors.js';
import { queueFor } from './zlib-queue.js';
import { Lane, type Done, type Task } from './zlib-lane.js';
import { borrowContext, deflateKey, hasIdleContext, inflateKey, returnContext, ZlibContext } from './zlib-pool.js';
import { isSyncZlibAvailable, runInSlices, SyncZlibRun, syncHandleOf } from './zlib-sync.js';

export { zlibQueueStats } from './zlib-queue.js';
export { zlibPoolStats, drainZlibPool } from './zlib-pool.js';

/** RFC 7692 §7.2.1: the empty stored block a sync flush ends with. */
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** An empty stored block's header byte: with TRAILER appended, an empty message. */
const EMPTY_MESSAGE = Buffer.from([0x00]);

export interface DeflateCompressorOptions extends PerMessageDeflateOptions {}

/**
 * One connection's permessage-deflate state: a compressor for what we send
 * and an inflater for what we receive, each created on first use.
 */
export class DeflateCompressor implements MessageCompressor {
  /** Messages below this many bytes should be sent uncompressed (pass to Connection). */
  readonly threshold: number;
  readonly params: DeflateParams;
  readonly role: 'client' | 'server';
  readonly #options: ResolvedDeflateOptions;
  readonly #sendWindowBits: number;
  readonly #receiveWindowBits: number;
  readonly #isSendContextReset: boolean;
  readonly #isReceiveContextReset: boolean;
  readonly #compressLane: Lane;
  readonly #inflateLane: Lane;
  /** The contexts in use: for the connection's life with takeover, for one message without. */
  readonly #deflateKey: string;
  readonly #inflateKey: string;
  #deflate: ZlibContext | null = null;
  #inflate: ZlibContext | null = null;
  #isClosed = false;

  constructor(params: DeflateParams, role: 'client' | 'server', options: PerMessageDeflateOptions | ResolvedDeflateOptions = {}) {
    this.params = params;
    this.role = role;
    this.#options = resolveDeflateOptions(options);
    this.threshold = this.#options.threshold;
    const isServer = role === 'server';
    this.#sendWindowBits = isServer ? params.serverMaxWindowBits : params.clientMaxWindowBits;
    this.#receiveWindowBits = isServer ? params.clientMaxWindowBits : params.serverMaxWindowBits;
    this.#isSendContextReset = isServer ? params.serverNoContextTakeover : params.clientNoContextTakeover;
    this.#isReceiveContextReset = isServer ? params.clientNoContextTakeover : params.serverNoContextTakeover;
    for (const bits of [this.#sendWindowBits, this.#receiveWindowBits]) {
      if (!Number.isInteger(bits) || bits < 8 || bits > 15) throw new RangeError(`window bits must be 8..15, got ${bits}`);
    }
    this.#deflateKey = deflateKey(this.#options.level, this.#options.memLevel, this.#deflateWindowBits());
    this.#inflateKey = inflateKey(this.#receiveWindowBits);
    const queue = queueFor(this.#options.concurrency);
    this.#compressLane = new Lane(queue, (bytes) => this.#canRunInline(bytes, this.#deflate, this.#isSendContextReset, this.#deflateKey));
    this.#inflateLane = new Lane(queue, (bytes) => this.#canRunInline(bytes, this.#inflate, this.#isReceiveContextReset, this.#inflateKey));
  }

  /** True while zlib contexts are allocated (for tests and memory accounting). */
  get hasContexts(): { deflate: boolean; inflate: boolean } {
    return { deflate: this.#deflate !== null, inflate: this.#inflate !== null };
  }

  compress(data: Buffer, done: Done<Buffer>): void {
    const task = this.#task(this.#compressLane, done, data.length, () => this.#runCompress(task, data, done));
    this.#compressLane.push(task);
  }

  decompress(data: Buffer, isFinal: boolean, maxBytes: number, done: Done<Buffer[]>): void {
    const task = this.#task(this.#inflateLane, done, data.length, () => this.#runInflate(task, data, isFinal, maxBytes, done));
    this.#inflateLane.push(task);
  }

  /**
   * Small inputs run on the main thread (zlib-sync.ts) when this Node allows
   * it, but only on a context that has already done one job on the thread
   * pool. zlib allocates its state (~300 KiB for deflate) on its first job:
   * made by a pool thread it lands in that thread's malloc arena, which can
   * give it back to the OS when contexts close; made on the main thread it
   * is mixed with everything else there and the process's RSS stays high
   * after a burst of compressed connections (test/attacks/compression-bomb).
   */
  #canRunInline(inputBytes: number, context: ZlibContext | null, isReset: boolean, key: string): boolean {
    if (!this.#isSmall(inputBytes)) return false;
    if (context !== null) return context.isWarm;
    // Reset contexts come from the pool, whose idle contexts have all worked before.
    return isReset && hasIdleContext(key);
  }

  #isSmall(inputBytes: number): boolean {
    const limit = this.#options.inlineMaxBytes;
    return limit > 0 && inputBytes <= limit && isSyncZlibAvailable();
  }

  /**
   * Whether a task runs inline now that it has its context: a small input
   * on a warm context. That holds for every task the lane started inline,
   * and also for a task queued for the thread pool because no warm context
   * was idle, which may find one when its turn comes (another message just
   * gave it back). Without the second case, under load every pooled context
   * went from one queued thread-pool job to the next and small messages
   * never ran inline again (measured: compressed echo without takeover
   * settled at 21k or 34k msg/s depending on how the first messages raced).
   */
  #runsInline(inputBytes: number, context: ZlibContext): boolean {
    return context.isWarm && this.#isSmall(inputBytes);
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#compressLane.close();
    this.#inflateLane.close();
    this.#releaseDeflate();
    this.#releaseInflate();
  }

  #task<T>(lane: Lane, done: Done<T>, inputBytes: number, start: () => void): Task {
    const task: Task = {
      isCancelled: false,
      isRunning: false,
      isFinished: false,
      inputBytes,
      run: () => {
        task.isRunning = true;
        task.start();
      },
      start: () => {
        try {
          start();
        } catch (error) {
          // Thrown after the task finished: by its callback (an application
          // handler, for an inline task), not by zlib. It must reach the caller.
          if (task.isFinished) throw error;
          this.#finish(lane, task, done, error as Error);
        }
      },
      fail: (error: Error) => {
        if (task.isFinished) return;
        task.isFinished = true;
        done(error);
      },
    };
    return task;
  }

  /**
   * Answers the task, then lets its lane start the next one: callbacks come
   * in the order of the calls even when the next task runs inline, and a
   * callback that compresses again only queues behind this task.
   */
  #finish<T>(lane: Lane, task: Task, done: Done<T>, error: Error | null, result?: T): void {
    if (task.isFinished || task.isCancelled) return;
    task.isFinished = true;
    try {
      if (error) done(error);
      else done(null, result);
    } finally {
      lane.done(task);
    }
  }

  /** zlib has no 8-bit raw window; with 9 bits its distances stay <= 250 (MAX_DIST), valid for 256. */
  #deflateWindowBits(): number {
    return this.#sendWindowBits === 8 ? 9 : this.#sendWindowBits;
  }

  #openDeflate(): ZlibContext {
    const { level, memLevel } = this.#options;
    const windowBits = this.#deflateWindowBits();
    // Every write ends with a sync flush: one thread-pool round trip per message, not two.
    const create = (): zlib.DeflateRaw => zlib.createDeflateRaw({ flush: zlib.constants.Z_SYNC_FLUSH, level, memLevel, windowBits });
    const key = this.#deflateKey;
    return this.#isSendContextReset ? borrowContext(key, create) : new ZlibContext(create(), key);
  }

  #openInflate(): ZlibContext {
    const windowBits = this.#receiveWindowBits;
    const create = (): zlib.InflateRaw => zlib.createInflateRaw({ flush: zlib.constants.Z_SYNC_FLUSH, windowBits });
    const key = this.#inflateKey;
    return this.#isReceiveContextReset ? borrowContext(key, create) : new ZlibContext(create(), key);
  }

  /** Frees the deflate context (after an error, or on close). */
  #releaseDeflate(): void {
    const context = this.#deflate;
    this.#deflate = null;
    context?.close();
  }

  /** Frees the inflate context (after an error or a bomb, or on close). */
  #releaseInflate(): void {
    const context = this.#inflate;
    this.#inflate = null;
    context?.close();
  }

  #runCompress(task: Task, data: Buffer, done: Done<Buffer>): void {
    const lane = this.#compressLane;
    const context = (this.#deflate ??= this.#openDeflate());
    const chunks: Buffer[] = [];
    let length = 0;
    const collect = (chunk: Buffer): boolean => {
      chunks.push(chunk);
      length += chunk.length;
      return true;
    };
    const fail = (error: Error): void => {
      if (this.#deflate === context) this.#releaseDeflate();
      this.#finish(lane, task, done, error);
    };
    const isCurrent = (): boolean => !task.isFinished && !task.isCancelled && this.#deflate === context;
    const onFlushed = (): void => {
      if (!isCurrent()) return;
      context.isWarm = true;
      context.onData = null;
      context.onError = null;
      let output = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length);
      // RFC 7692 §7.2.1 step 2: drop the 00 00 ff ff the sync flush ended with.
      if (output.length >= 4 && output.subarray(output.length - 4).equals(TRAILER)) {
        output = output.subarray(0, output.length - 4);
      }
      // An empty message right after a flush makes zlib emit nothing at all; the
      // receiver appends 00 00 ff ff, which needs a block-header byte first.
      // RFC 7692 §7.2.3.6: a single 00 byte is a valid empty compressed message.
      if (output.length === 0) output = EMPTY_MESSAGE;
      if (this.#isSendContextReset) {
        this.#deflate = null;
        returnContext(context, this.#options.concurrency);
      }
      this.#finish(lane, task, done, null, output);
    };
    const handle = this.#runsInline(data.length, context) ? syncHandleOf(context.stream) : null;
    if (handle !== null) {
      runInSlices(new SyncZlibRun(handle, data), isCurrent, collect, onFlushed, fail);
      return;
    }
    context.onData = collect;
    context.onError = fail;
    // The stream's default flush is Z_SYNC_FLUSH, so the write's callback means "flushed".
    if (data.length > 0) context.stream.write(data, onFlushed);
    else context.stream.flush(zlib.constants.Z_SYNC_FLUSH, onFlushed);
  }

  #runInflate(task: Task, data: Buffer, isFinal: boolean, maxBytes: number, done: Done<Buffer[]>): void {
    const lane = this.#inflateLane;
    const context = (this.#inflate ??= this.#openInflate());
    const pieces: Buffer[] = [];
    let produced = 0;
    const collect = (chunk: Buffer): boolean => {
      produced += chunk.length;
      if (produced > maxBytes) {
        // Freeing the stream stops zlib between output chunks: the rest is never inflated.
        if (this.#inflate === context) this.#releaseInflate();
        this.#finish(lane, task, done, new MessageTooLargeError(produced, maxBytes));
        return false;
      }
      pieces.push(chunk);
      return true;
    };
    const fail = (error: Error): void => {
      if (this.#inflate === context) this.#releaseInflate();
      this.#finish(
        lane,
        task,
        done,
        new ProtocolError(`invalid compressed data: ${error.message}`, 1002, ErrorCode.EXTENSION),
      );
    };
    const isCurrent = (): boolean => !task.isFinished && !task.isCancelled && this.#inflate === context;
    const onFlushed = (isInputLeft: boolean): void => {
      if (!isCurrent()) return;
      context.isWarm = true;
      context.onData = null;
      context.onError = null;
      if (isInputLeft) {
        // A block with BFINAL set ended the peer's deflate stream (RFC 7692 §7.2.3.4 allows it)
        // and zlib ignored what followed: this inflater has ended and cannot take more input.
        // Free it (never pool it: the next borrower would fail); the next message gets a new one.
        this.#releaseInflate();
      } else if (isFinal && this.#isReceiveContextReset) {
        this.#inflate = null;
        returnContext(context, this.#options.concurrency);
      }
      this.#finish(lane, task, done, null, pieces);
    };
    // RFC 7692 §7.2.2: append 00 00 ff ff to the payload of the message's last frame.
    // One write (a copy of the compressed bytes) costs less than a second zlib call.
    const input = isFinal ? Buffer.concat([data, TRAILER]) : data;
    const handle = this.#runsInline(data.length, context) ? syncHandleOf(context.stream) : null;
    if (handle !== null) {
      const run = new SyncZlibRun(handle, input);
      runInSlices(run, isCurrent, collect, () => onFlushed(run.inputLeft > 0), fail);
      return;
    }
    context.onData = collect;
    context.onError = fail;
    const consumedBefore = context.stream.bytesWritten;
    const onWritten = (): void => onFlushed(context.stream.bytesWritten - consumedBefore < input.length);
    // The stream's default flush is Z_SYNC_FLUSH: all output is produced before the callback.
    if (input.length > 0) context.stream.write(input, onWritten);
    else context.stream.flush(zlib.constants.Z_SYNC_FLUSH, onWritten);
  }
}

/**
 * The compressor for a connection whose handshake agreed `params`. `role` is
 * our side. Options supply level, memLevel, threshold and concurrency.
 */
export function createDeflateCompressor(
  params: DeflateParams,
  role: 'client' | 'server',
  o: PerMessageDeflateOptions | ResolvedDeflateOptions = {},
): DeflateCompressor {
  return new DeflateCompressor(params, role, o);
}
