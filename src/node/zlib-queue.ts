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
    if (this.#running < this.concurrency) {
      this.#running++;
      job.run();
    } else {
      this.#jobs.push(job);
    }
  }

  /** A running job finished or was cancelled: start the next live one. */
  release(): void {
    this.#running--;
    while (this.#running < this.concurrency && this.#head < this.#jobs.length) {
      const job = this.#jobs[this.#head];
      this.#jobs[this.#head] = undefined as unknown as QueuedJob;
      this.#head++;
      if (job.isCancelled) continue;
      this.#running++;
      job.run();
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

