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

  /**
   * Runs `job` now if a slot is free, else queues it. A job run from here is
   * the caller's own: if its callback throws (an application handler, when
   * the job ran inline), the caller gets the exception.
   */
  add(job: QueuedJob): void {
    if (this.#running < this.concurrency && this.#head === this.#jobs.length && !this.#isDraining) {
      this.#running++;
      job.run();
      return;
    }
    this.#jobs.push(job);
    this.#drain();
  }

  /** A running job finished or was cancelled: start the next live one. Never throws. */
  release(): void {
    this.#running--;
    this.#drain();
  }

  /**
   * Starts queued jobs while slots are free. A job may finish inside run()
   * (it ran inline, see compressor.ts) and release its slot from there: that
   * release only counts, and this loop starts the next job, so the stack
   * does not grow with the queue.
   *
   * The jobs started here belong to other connections than the one whose
   * job just finished, so an exception from one of their callbacks (an
   * application handler) must not unwind through that connection's stack:
   * it is rethrown on the next tick, as an uncaught exception, like one
   * from a thread-pool callback, and the loop goes on then.
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
      process.nextTick(() => this.#drain());
      process.nextTick(() => {
        throw error;
      });
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

