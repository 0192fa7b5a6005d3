/**
 * One shared timer for every socket's deadlines (close timeouts, heartbeats,
 * idle and handshake timeouts). A timer per socket costs a native handle and a
 * closure each; with tens of thousands of sockets the shared wheel keeps idle
 * sockets small and the event loop's timer list short.
 *
 * Deadlines are rounded UP to `granularityMs` buckets, so a timer never fires
 * early and at most `granularityMs` late. Exactly one Node timer is armed, for
 * the earliest non-empty bucket, and it is unref'd: the wheel never keeps the
 * process alive by itself (the sockets it watches do). When the wheel is
 * empty no timer exists at all.
 */

/** A scheduled item. `bucket` is internal bookkeeping (-1 when not scheduled). */
export interface TimerEntry {
  bucket: number;
  onTimer(): void;
}

export class TimerWheel {
  readonly #granularityMs: number;
  readonly #buckets = new Map<number, Set<TimerEntry>>();
  #timer: NodeJS.Timeout | undefined;
  #timerBucket = Infinity;

  constructor(granularityMs = 25) {
    this.#granularityMs = granularityMs;
  }

  /** Number of scheduled entries (tests and stats). */
  get size(): number {
    let n = 0;
    for (const set of this.#buckets.values()) n += set.size;
    return n;
  }

  /** True while a Node timer is armed. */
  get isArmed(): boolean {
    return this.#timer !== undefined;
  }

  /** (Re)schedules `entry` to fire once, `delayMs` from now. */
  schedule(entry: TimerEntry, delayMs: number): void {
    if (entry.bucket !== -1) this.cancel(entry);
    if (delayMs === Infinity) return;
    const bucket = Math.ceil((performance.now() + delayMs) / this.#granularityMs);
    let set = this.#buckets.get(bucket);
    if (set === undefined) {
      set = new Set();
      this.#buckets.set(bucket, set);
    }
    set.add(entry);
    entry.bucket = bucket;
    if (bucket < this.#timerBucket) this.#arm(bucket);
  }

  cancel(entry: TimerEntry): void {
    const bucket = entry.bucket;
    if (bucket === -1) return;
    entry.bucket = -1;
    const set = this.#buckets.get(bucket);
    if (set === undefined) return;
    set.delete(entry);
    if (set.size === 0) {
      this.#buckets.delete(bucket);
      // Leave an armed timer for an emptied bucket in place unless the wheel
      // is empty: firing once for nothing is cheaper than re-arming on every
      // cancel (close timers are usually cancelled).
      if (this.#buckets.size === 0) this.#disarm();
    }
  }

  #arm(bucket: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerBucket = bucket;
    const delay = Math.max(0, bucket * this.#granularityMs - performance.now());
    this.#timer = setTimeout(this.#fire, delay);
    this.#timer.unref();
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerBucket = Infinity;
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#timerBucket = Infinity;
    const now = performance.now() / this.#granularityMs;
    let next = Infinity;
    // Collect due buckets first: callbacks may schedule or cancel entries.
    const due: Set<TimerEntry>[] = [];
    for (const [bucket, set] of this.#buckets) {
      if (bucket <= now) {
        due.push(set);
        this.#buckets.delete(bucket);
      } else if (bucket < next) {
        next = bucket;
      }
    }
    for (const set of due) {
      for (const entry of set) {
        if (entry.bucket === -1) continue;
        entry.bucket = -1;
        try {
          entry.onTimer();
        } catch (error) {
          // A throwing callback must not stop other deadlines from firing.
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    }
    // Callbacks may have armed an earlier bucket already.
    if (this.#timer === undefined) {
      let min = Infinity;
      for (const bucket of this.#buckets.keys()) if (bucket < min) min = bucket;
      if (min !== Infinity) this.#arm(min);
    } else if (next < this.#timerBucket) {
      this.#arm(next);
    }
  };
}

/** The process-wide wheel used by sockets and servers. */
export const sharedWheel = new TimerWheel(25);
