/**
 * One direction (compress or inflate) of one connection's permessage-deflate
 * work: zlib streams are stateful, so a lane runs its jobs one at a time and
 * in order. A job for libuv's thread pool takes a slot of the shared
 * ZlibQueue while it runs; an inline job (small input, zlib-sync.ts) runs on
 * the main thread as soon as it is the lane's turn, without a slot. close()
 * drops the lane's queued jobs and frees its slot at once; every dropped job
 * learns it was cancelled on the next tick.
 */
import { ConnectionClosedError } from '../../core/errors.js';
import type { QueuedJob, ZlibQueue } from './zlib-queue.js';

export type Done<T> = (error: Error | null, result?: T) => void;

/** A job of one lane; `finish` is called exactly once. */
export interface Task extends QueuedJob {
  /** Bytes of zlib input: the lane's owner decides from it whether the task may run inline. */
  readonly inputBytes: number;
  /** Holds a queue slot. */
  isRunning: boolean;
  isFinished: boolean;
  start(): void;
  fail(error: Error): void;
}

/** Jobs of one direction run one at a time and in order (zlib streams are stateful). */
export class Lane {
  readonly #queue: ZlibQueue;
  /** Asked when a task's turn comes: may it run on the main thread (zlib-sync.ts), without a queue slot? */
  readonly #canRunInline: (inputBytes: number) => boolean;
  readonly #tasks: Task[] = [];
  #active: Task | null = null;
  #isClosed = false;
  /** True while #next() starts tasks: a task that finishes inside start() must not start the next one itself. */
  #isStarting = false;

  constructor(queue: ZlibQueue, canRunInline: (inputBytes: number) => boolean) {
    this.#queue = queue;
    this.#canRunInline = canRunInline;
  }

  push(task: Task): void {
    if (this.#isClosed) {
      process.nextTick(() => task.fail(closedError()));
      return;
    }
    this.#tasks.push(task);
    if (this.#active === null) this.#next();
  }

  /** Called by the active task when it finished; frees its slot and starts the next task. */
  done(task: Task): void {
    if (this.#active !== task) return;
    this.#active = null;
    if (task.isRunning) {
      task.isRunning = false;
      this.#queue.release();
    }
    if (!this.#isClosed) this.#next();
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    const dropped = this.#tasks.splice(0);
    const active = this.#active;
    this.#active = null;
    if (active) {
      active.isCancelled = true;
      dropped.unshift(active);
    }
    if (dropped.length > 0) {
      process.nextTick(() => {
        for (const task of dropped) task.fail(closedError());
      });
    }
    // Last: freeing the slot starts other connections' jobs.
    if (active?.isRunning) {
      active.isRunning = false;
      this.#queue.release();
    }
  }

  /**
   * Starts tasks until one is left running (on the thread pool) or none is
   * left. An inline task finishes inside start(); starting the next one from
   * there, as a recursion, would grow the stack by a frame per queued message
   * (a connection that queued a thousand sends overflowed it), so the loop
   * here goes on instead.
   */
  #next(): void {
    if (this.#isStarting) return;
    this.#isStarting = true;
    try {
      while (this.#active === null && !this.#isClosed) {
        const task = this.#tasks.shift();
        if (task === undefined) break;
        this.#active = task;
        if (this.#canRunInline(task.inputBytes)) task.start();
        else this.#queue.add(task);
      }
    } catch (error) {
      // An application handler threw from a task's callback: the error goes up
      // to whoever fed us, and the tasks still queued start on the next tick.
      if (this.#active === null && this.#tasks.length > 0) process.nextTick(() => this.#next());
      throw error;
    } finally {
      this.#isStarting = false;
    }
  }
}

export function closedError(): ConnectionClosedError {
  return new ConnectionClosedError('connection closed before (de)compression finished');
}

