/**
 * Tracks connections that have not finished the opening handshake: counts
 * them (maxPendingHandshakes, stats) and drops those that take longer than
 * `handshakeTimeoutMs` (slowloris: a client sending its request byte by byte,
 * or an async `verify` hook that never settles).
 *
 * Every pending handshake of a guard has the same timeout, so the order in
 * which they were tracked (the Map's order) is the order of their deadlines:
 * the guard keeps ONE entry in the shared timer wheel, for the oldest, and
 * sweeps from the front when it fires. A handshake costs a Map set and
 * delete, not a wheel schedule and cancel (they showed in the handshake
 * cycle's profile).
 */
import type { Socket } from 'node:net';
import { isScheduled, sharedWheel, type TimerEntry } from '../timer-wheel.js';

export interface PendingHandshake {
  readonly socket: Socket;
  /** Accepted while the server was at maxPendingHandshakes: answer 503. */
  isOverCapacity: boolean;
}

export class HandshakeGuard {
  /** In tracking order, which is deadline order. */
  readonly #pending = new Map<Socket, PendingEntry>();
  /** The guard's wheel entry: due when the oldest pending handshake is. */
  readonly #sweeper: TimerEntry;
  readonly #timeoutMs: number;
  readonly #maxPending: number;
  readonly #onTimeout: (socket: Socket) => void;

  /** One listener per guard, not per socket (and no property added to the socket). */
  readonly #onSocketClose: (this: Socket) => void;

  constructor(timeoutMs: number, maxPending: number, onTimeout: (socket: Socket) => void) {
    const guard = this;
    this.#onSocketClose = function onSocketClose(this: Socket): void {
      guard.untrack(this);
    };
    this.#sweeper = { wheelPrev: undefined, wheelNext: undefined, onTimer: () => this.#sweep() };
    this.#timeoutMs = timeoutMs;
    this.#maxPending = maxPending;
    this.#onTimeout = onTimeout;
  }

  #counted = 0;

  /** Pending handshakes counted against maxPendingHandshakes. */
  get size(): number {
    return this.#counted;
  }

  /** Starts tracking `socket` (idempotent). Over the cap, the entry is marked isOverCapacity. */
  track(socket: Socket): PendingHandshake {
    const existing = this.#pending.get(socket);
    if (existing !== undefined) return existing;
    const isOverCapacity = this.#counted >= this.#maxPending;
    const timeoutMs = this.#timeoutMs;
    const entry = new PendingEntry(socket, isOverCapacity, performance.now() + timeoutMs);
    // Over capacity the connection is not counted: it only waits for its 503.
    if (!isOverCapacity) this.#counted++;
    this.#pending.set(socket, entry);
    // `on`, not `once`: once() allocates a wrapper per socket; untrack() removes it.
    socket.on('close', this.#onSocketClose);
    // Older entries are due first: the sweeper, if scheduled, is early enough.
    if (!isScheduled(this.#sweeper)) sharedWheel.schedule(this.#sweeper, timeoutMs);
    return entry;
  }

  /** Times out every handshake whose deadline passed, then waits for the next oldest. */
  #sweep(): void {
    const now = performance.now();
    for (const entry of this.#pending.values()) {
      if (entry.deadline > now) {
        sharedWheel.schedule(this.#sweeper, entry.deadline - now);
        return;
      }
      try {
        this.timedOut(entry.socket);
      } catch (error) {
        // As the wheel does: one throwing callback must not stop the other timeouts.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  /** The handshake timeout fired for `socket`. */
  timedOut(socket: Socket): void {
    this.untrack(socket);
    this.#onTimeout(socket);
  }

  /** Stops tracking (handshake done, rejected, or socket gone). */
  untrack(socket: Socket): void {
    const tracked = this.#pending.get(socket);
    if (tracked === undefined) return;
    // The sweeper stays scheduled: it fires at most once for nothing.
    this.#pending.delete(socket);
    if (!tracked.isOverCapacity) this.#counted--;
    socket.removeListener('close', this.#onSocketClose);
  }

  /** Destroys every pending connection (shutdown). */
  destroyAll(): void {
    for (const socket of [...this.#pending.keys()]) {
      this.untrack(socket);
      socket.destroy();
    }
    sharedWheel.cancel(this.#sweeper);
  }
}

/** A pending handshake: plain data (the guard's sweep times it out). */
class PendingEntry implements PendingHandshake {
  readonly socket: Socket;
  isOverCapacity: boolean;
  /** performance.now() at which the handshake times out. */
  readonly deadline: number;

  constructor(socket: Socket, isOverCapacity: boolean, deadline: number) {
    this.socket = socket;
    this.isOverCapacity = isOverCapacity;
    this.deadline = deadline;
  }
}
