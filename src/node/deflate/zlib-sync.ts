/**
 * zlib on the calling thread, on a stream that keeps its context.
 *
 * Each write to a node:zlib stream runs on libuv's thread pool. For a small
 * message the round trip (hand the job to a worker, wake the main thread,
 * run the callback) costs more than the compression itself: deflate +
 * inflate of a 2 KiB JSON text take 19 µs on one core this way and 41 µs
 * through the stream API (node /tmp bench, Node 20.20, level 1). Node's
 * public sync functions (zlib.deflateRawSync) start a fresh context on every
 * call, which permessage-deflate with context takeover cannot use, and
 * _processChunk() closes the stream after one call.
 *
 * So this drives the stream's native handle as Node's own sync path does:
 * `handle.writeSync(flush, in, inOffset, inLength, out, outOffset, outLength)`
 * runs zlib to completion and leaves [output space left, input left] in
 * `stream._writeState`; a zlib error is reported from inside that call, after
 * which the stream is destroyed and `stream.errored` holds the error.
 *
 * Those fields are not public API, so `syncHandleOf()` checks their shape and
 * answers null when they do not look as expected; callers then use the
 * stream's async API (test/node/deflate/zlib-sync.test.ts fails loudly instead if a
 * supported Node version stops matching).
 *
 * Work is done in slices: a run stops after SLICE_OUTPUT_BYTES of output and
 * the caller continues it later, so even a message that inflates to many
 * megabytes never blocks the event loop for long.
 */
import * as zlib from 'node:zlib';
import type { RawStream } from './zlib-pool.js';

/** Output bytes produced in one synchronous slice before the run yields. */
export const SLICE_OUTPUT_BYTES = 256 * 1024;

interface NativeZlibHandle {
  writeSync(
    flush: number,
    input: Buffer,
    inOffset: number,
    inLength: number,
    output: Buffer,
    outOffset: number,
    outLength: number,
  ): void;
}

/** The non-public parts of a node:zlib stream that the sync path uses. */
interface StreamInternals {
  _handle?: NativeZlibHandle | null;
  _writeState?: unknown;
}

/** What a sync run needs of one stream. */
export interface SyncHandle {
  readonly stream: RawStream;
  readonly native: NativeZlibHandle;
  /** [output space left, input bytes left] after each writeSync. */
  readonly state: Uint32Array;
}

/** The stream's native handle if it can be driven synchronously; null if not (the async API then). */
export function syncHandleOf(stream: RawStream): SyncHandle | null {
  const internals = stream as unknown as StreamInternals;
  const native = internals._handle;
  const state = internals._writeState;
  if (native === null || native === undefined || typeof native.writeSync !== 'function') return null;
  if (!(state instanceof Uint32Array) || state.length !== 2) return null;
  return { stream, native, state };
}

/**
 * Output goes to this scratch buffer and is copied out in exact-size pieces:
 * runs never interleave (each slice is synchronous), and a small message
 * then holds a small buffer, not a 16 KiB output chunk.
 */
const scratch = Buffer.allocUnsafe(64 * 1024);

/** How a slice ended. */
export type SliceResult = 'done' | 'more' | 'stopped';

/**
 * One write of `input` with a Z_SYNC_FLUSH, resumable between slices. After
 * 'done', `inputLeft` > 0 means zlib stopped consuming input: an inflater
 * reached the end of the peer's deflate stream (a block with BFINAL set).
 */
export class SyncZlibRun {
  readonly #handle: SyncHandle;
  readonly #input: Buffer;
  #inOffset = 0;
  #inputLeft: number;

  constructor(handle: SyncHandle, input: Buffer) {
    this.#handle = handle;
    this.#input = input;
    this.#inputLeft = input.length;
  }

  get inputLeft(): number {
    return this.#inputLeft;
  }

  /**
   * Runs zlib until all output for the input is out ('done'), until
   * SLICE_OUTPUT_BYTES were produced ('more': call again later), or until
   * `onOutput` returns false ('stopped'). Throws zlib's error (the stream is
   * destroyed by then).
   */
  slice(onOutput: (chunk: Buffer) => boolean): SliceResult {
    const { stream, native, state } = this.#handle;
    let produced = 0;
    for (;;) {
      native.writeSync(zlib.constants.Z_SYNC_FLUSH, this.#input, this.#inOffset, this.#inputLeft, scratch, 0, scratch.length);
      if (stream.destroyed) throw stream.errored ?? new Error('zlib stream closed during a write');
      const outputLeft = state[0] as number;
      const inputLeft = state[1] as number;
      this.#inOffset += this.#inputLeft - inputLeft;
      this.#inputLeft = inputLeft;
      const length = scratch.length - outputLeft;
      if (length > 0) {
        const chunk = Buffer.allocUnsafe(length);
        scratch.copy(chunk, 0, 0, length);
        if (!onOutput(chunk)) return 'stopped';
        produced += length;
      }
      // Space left over means zlib has flushed everything it can for this input.
      if (outputLeft !== 0) return 'done';
      if (produced >= SLICE_OUTPUT_BYTES) return 'more';
    }
  }
}

let isAvailable: boolean | undefined;

/** Whether this Node's zlib streams have the internals the sync path needs (checked once, on a probe stream). */
export function isSyncZlibAvailable(): boolean {
  if (isAvailable === undefined) {
    const probe = zlib.createInflateRaw();
    isAvailable = syncHandleOf(probe) !== null;
    probe.close();
  }
  return isAvailable;
}

/**
 * Runs a sync zlib job slice by slice, yielding to the event
 * loop between slices; stops quietly once `isCurrent()` turns false (the
 * task was cancelled, failed or its context freed).
 */
export function runInSlices(
  run: SyncZlibRun,
  isCurrent: () => boolean,
  collect: (chunk: Buffer) => boolean,
  onDone: () => void,
  fail: (error: Error) => void,
): void {
  const step = (): void => {
    if (!isCurrent()) return;
    let result: SliceResult;
    try {
      result = run.slice(collect);
    } catch (error) {
      // The task already ended: an application handler threw from its callback (a bomb's 1009).
      if (!isCurrent()) throw error;
      fail(error as Error);
      return;
    }
    if (result === 'done') onDone();
    else if (result === 'more') setImmediate(step);
  };
  step();
}
