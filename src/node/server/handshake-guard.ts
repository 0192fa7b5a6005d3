/**
 * Tracks connections that have not finished the opening handshake: counts
 * them (maxPendingHandshakes, stats) and drops those that take longer than
 * `handshakeTimeoutMs` (slowloris: a client sending its request byte by byte,
 * or an async `verify` hook that never settles). One shared timer wheel.
 */
import type { Socket } from 'node:net';
import { sharedWheel, type TimerEntry } from '../timer-wheel.js';

export interface PendingHandshake extends TimerEntry {
  readonly socket: Socket;
  /** Accepted while the server was at maxPendingHandshakes: answer 503. */
  isOverCapacity: boolean;
}

export class HandshakeGuard {
  readonly #pending = new Map<Socket, PendingHandshake>();
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
    const entry = new PendingEntry(this, socket, isOverCapacity);
    // Over capacity the connection is not counted: it only waits for its 503.
    if (!isOverCapacity) this.#counted++;
    this.#pending.set(socket, entry);
    // `on`, not `once`: once() allocates a wrapper per socket; untrack() removes it.
    socket.on('close', this.#onSocketClose);
    sharedWheel.schedule(entry, this.#timeoutMs);
    return entry;
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
    sharedWheel.cancel(tracked);
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
  }
}

/** A pending handshake's wheel entry: a method, not a closure per connection. */
class PendingEntry implements PendingHandshake {
  bucket = -1;
  readonly socket: Socket;
  isOverCapacity: boolean;
  readonly #guard: HandshakeGuard;

  constructor(guard: HandshakeGuard, socket: Socket, isOverCapacity: boolean) {
    this.#guard = guard;
    this.socket = socket;
    this.isOverCapacity = isOverCapacity;
  }

  onTimer(): void {
    this.#guard.timedOut(this.socket);
  }
}
