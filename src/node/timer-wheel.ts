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

/** A link of a bucket's list: an entry, or the list's head. */
export interface TimerLink {
  wheelPrev: TimerLink | undefined;
  wheelNext: TimerLink | undefined;
}

/**
 * A scheduled item. The links are the wheel's (undefined when not
 * scheduled): each bucket is a circular doubly-linked list through its
 * entries, so an entry costs its two fields and no Set slot, and is removed
 * in O(1). The heartbeat's entry is the socket's state itself.
 */
export interface TimerEntry extends TimerLink {
  onTimer(): void;
}

/** True while `entry` is scheduled on a wheel. */
export function isScheduled(entry: TimerLink): boolean {
  return entry.wheelPrev !== undefined;
}

/** A bucket's list head: `wheelNext` is the first entry, `wheelPrev` the last; itself when empty. */
class BucketHead implements TimerLink {
  wheelPrev: TimerLink;
  wheelNext: TimerLink;
  readonly bucket: number;

  constructor(bucket: number) {
    this.wheelPrev = this;
    this.wheelNext = this;
    this.bucket = bucket;
  }
}

export class TimerWheel {
  readonly #granularityMs: number;
  readonly #buckets = new Map<number, BucketHead>();
  #timer: NodeJS.Timeout | undefined;
  #timerBucket = Infinity;

  constructor(granularityMs = 25) {
    this.#granularityMs = granularityMs;
  }

  /** Number of scheduled entries (tests and stats: walks the lists). */
  get size(): number {
    let n = 0;
    for (const head of this.#buckets.values()) {
      for (let link = head.wheelNext; link !== head; link = link.wheelNext as TimerLink) n++;
    }
    return n;
  }

  /** True while a Node timer is armed. */
  get isArmed(): boolean {
    return this.#timer !== undefined;
  }

  /** (Re)schedules `entry` to fire once, `delayMs` from now. */
  schedule(entry: TimerEntry, delayMs: number): void {
    if (entry.wheelPrev !== undefined) this.cancel(entry);
    if (delayMs === Infinity) return;
    const bucket = Math.ceil((performance.now() + delayMs) / this.#granularityMs);
    let head = this.#buckets.get(bucket);
    if (head === undefined) {
      head = new BucketHead(bucket);
      this.#buckets.set(bucket, head);
    }
    // Appended last: a bucket fires in scheduling order.
    const last = head.wheelPrev;
    entry.wheelPrev = last;
    entry.wheelNext = head;
    last.wheelNext = entry;
    head.wheelPrev = entry;
    if (bucket < this.#timerBucket) this.#arm(bucket);
  }

  cancel(entry: TimerEntry): void {
    const prev = entry.wheelPrev;
    const next = entry.wheelNext;
    if (prev === undefined || next === undefined) return;
    entry.wheelPrev = undefined;
    entry.wheelNext = undefined;
    prev.wheelNext = next;
    next.wheelPrev = prev;
    // The list was the head and this entry: the bucket is empty now. (A due
    // bucket being fired is no longer in the map; then there is nothing to delete.)
    if (prev === next && this.#buckets.get((prev as BucketHead).bucket) === prev) {
      this.#buckets.delete((prev as BucketHead).bucket);
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
    const due: BucketHead[] = [];
    for (const [bucket, head] of this.#buckets) {
      if (bucket <= now) {
        due.push(head);
        this.#buckets.delete(bucket);
      } else if (bucket < next) {
        next = bucket;
      }
    }
    for (const head of due) {
      // Always the current first entry: a callback may cancel (unlink) later ones.
      while (head.wheelNext !== head) {
        const entry = head.wheelNext as TimerEntry;
        this.cancel(entry);
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
