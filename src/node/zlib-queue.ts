/**
 * The process-wide bound on concurrent zlib operations (permessage-deflate).
 *
 * Async zlib work runs on libuv's thread pool (4 threads by default, shared
 * with fs and dns); letting every connection start an operation at once piles
 * up buffers and memory fragmentation (ws#1202) without finishing anything
 * sooner. One FIFO queue per `concurrency` setting (option `concurrency`,
 * default 10) runs at most that many jobs; cancelled jobs are skipped without
 * taking a slot, so thousands of connections closing together cannot stall
 * the queue (ws#1617).
 */

export interface QueuedJob {
  run(): void;
  isCancelled: boolean;
}

/** FIFO with a bounded number of running jobs. Cancelled jobs are skipped without taking a slot. */
export class ZlibQueue {
  readonly concurrency: number;
  #running = 0;
  #jobs: QueuedJob[] = [];
  #head = 0;
  #isDraining = false;

  constructor(concurrency: number) {
    this.concurrency = concurrency;
  }

  get running(): number {
    return this.#running;
  }

  /** Jobs waiting for a slot (cancelled ones not yet skipped included). */
  get queued(): number {
    return this.#jobs.length - this.#head;
  }

  add(job: QueuedJob): void {
    this.#jobs.push(job);
    this.#drain();
  }

  /** A running job finished or was cancelled: start the next live one. */
  release(): void {
    this.#running--;
    this.#drain();
  }

  /**
   * Starts queued jobs while slots are free. A job may finish inside run()
   * (it ran inline, see deflate.ts) and release its slot from there: that
   * release only counts, and this loop starts the next job, so the stack
   * does not grow with the queue.
   */
  #drain(): void {
    if (this.#isDraining) return;
    this.#isDraining = true;
    try {
      while (this.#running < this.concurrency && this.#head < this.#jobs.length) {
        const job = this.#jobs[this.#head];
        this.#jobs[this.#head] = undefined as unknown as QueuedJob;
        this.#head++;
        if (job.isCancelled) continue;
        this.#running++;
        job.run();
      }
    } catch (error) {
      // An application handler threw from a job's callback: the rest start on the next tick.
      process.nextTick(() => this.#drain());
      throw error;
    } finally {
      this.#isDraining = false;
    }
    // Compact now and then so the array does not grow without bound.
    if (this.#head > 1024 && this.#head * 2 > this.#jobs.length) {
      this.#jobs = this.#jobs.slice(this.#head);
      this.#head = 0;
    }
  }
}

const queues = new Map<number, ZlibQueue>();

export function queueFor(concurrency: number): ZlibQueue {
  let queue = queues.get(concurrency);
  if (!queue) {
    queue = new ZlibQueue(concurrency);
    queues.set(concurrency, queue);
  }
  return queue;
}

/** Running and queued zlib jobs, summed over all concurrency settings (for tests and stats). */
export function zlibQueueStats(): { running: number; queued: number } {
  let running = 0;
  let queued = 0;
  for (const queue of queues.values()) {
    running += queue.running;
    queued += queue.queued;
  }
  return { running, queued };
}

