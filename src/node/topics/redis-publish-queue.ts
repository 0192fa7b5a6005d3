/**
 * The ordered, bounded queue of publishes that have not been stored yet.
 *
 * While Redis is reachable a publish passes straight through (and stays
 * counted until its reply arrives). While it is not, publishes wait here in
 * order and go out when the connection returns; a publish whose reply was
 * lost is sent again, and the publish script recognises the retry by
 * (node id, publish id), so it is stored once. Past `maxQueuedPublishes` or
 * `maxQueuedBytes`, publish rejects with BackplaneQueueFullError: the caller
 * learns at once instead of a message vanishing.
 */
import type { Position, PublishMeta } from './backplane.js';
import { BackplaneError, BackplaneQueueFullError, TopicErrorCode } from './errors.js';

interface Entry {
  readonly topic: string;
  readonly payload: Buffer;
  readonly meta: PublishMeta;
  /** The connection generation it was last sent on; -1 while waiting. */
  sentOn: number;
  /** The previous and next unstored publishes of the same topic. */
  previous: Entry | undefined;
  next: Entry | undefined;
  readonly resolve: (position: Position) => void;
  readonly reject: (error: unknown) => void;
}

export interface PublishQueueOptions {
  maxQueuedPublishes: number;
  maxQueuedBytes: number;
  /** Publishes sent before replies come back (pipelining bound). */
  maxInFlight: number;
  /**
   * Sends one publish; rejects with a transient error when Redis was not
   * reachable. `previousId` is the id of the same topic's previous publish
   * when that one is not stored yet (else 0): the script refuses to store
   * this one first, so a publish that failed and is retried can never be
   * overtaken by a later one that went through (node-redis may hold a
   * command for a reconnecting cluster node while failing the one before).
   */
  send(topic: string, payload: Buffer, meta: PublishMeta, previousId: number): Promise<Position>;
  isTransient(error: unknown): boolean;
  /** Whether commands can be sent now. */
  isReady(): boolean;
  /** Delay before retrying after a transient error reply while connected (LOADING, TRYAGAIN). */
  retryDelayMs: number;
  /**
   * Runs before the first send on a new connection, and after any failure,
   * once nothing is in flight (loads the scripts: an EVALSHA that fails with
   * NOSCRIPT while later ones succeed would reorder publishes).
   */
  prepare(): Promise<void>;
}

export class PublishQueue {
  readonly #options: PublishQueueOptions;
  // Insertion order is publish order; entries leave when stored (or refused).
  readonly #entries = new Set<Entry>();
  /** The newest unstored publish per topic (the tail of its chain). */
  readonly #lastByTopic = new Map<string, Entry>();
  #bytes = 0;
  #inFlight = 0;
  #generation = 0;
  /** In-flight publishes sent on an older generation: nothing is sent until they settle. */
  #staleInFlight = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #isClosed = false;
  #needsPrepare = true;
  #isPreparing = false;

  constructor(options: PublishQueueOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  enqueue(topic: string, payload: Buffer, meta: PublishMeta): Promise<Position> {
    if (this.#isClosed) return Promise.reject(new BackplaneError(TopicErrorCode.CLOSED, 'the backplane is closed', topic));
    const { maxQueuedPublishes, maxQueuedBytes } = this.#options;
    if (this.#entries.size >= maxQueuedPublishes) {
      return Promise.reject(new BackplaneQueueFullError(topic, this.#entries.size, this.#bytes, `maxQueuedPublishes (${maxQueuedPublishes})`));
    }
    if (this.#bytes + payload.length > maxQueuedBytes && this.#entries.size > 0) {
      return Promise.reject(new BackplaneQueueFullError(topic, this.#entries.size, this.#bytes, `maxQueuedBytes (${maxQueuedBytes})`));
    }
    return new Promise<Position>((resolve, reject) => {
      const previous = this.#lastByTopic.get(topic);
      const entry: Entry = { topic, payload, meta, sentOn: -1, previous, next: undefined, resolve, reject };
      if (previous !== undefined) previous.next = entry;
      this.#lastByTopic.set(topic, entry);
      this.#entries.add(entry);
      this.#bytes += payload.length;
      this.pump();
    });
  }

  /** The connection was lost: replies of what is in flight will not come. */
  connectionLost(): void {
    this.#generation++;
    this.#staleInFlight = this.#inFlight;
    this.#needsPrepare = true;
  }

  /** Sends waiting publishes, in order, while the connection is ready. */
  pump(): void {
    // Something sent on an older connection has not failed yet: wait for it,
    // so nothing after it can overtake it on the new connection.
    if (this.#isClosed || this.#staleInFlight > 0 || !this.#options.isReady()) return;
    if (this.#needsPrepare) {
      if (this.#isPreparing || this.#entries.size === 0) return;
      this.#isPreparing = true;
      this.#options.prepare().then(
        () => {
          this.#isPreparing = false;
          this.#needsPrepare = false;
          this.pump();
        },
        () => {
          this.#isPreparing = false;
          this.#retryLater();
        },
      );
      return;
    }
    for (const entry of this.#entries) {
      if (this.#inFlight >= this.#options.maxInFlight) return;
      if (entry.sentOn < 0) this.#send(entry);
    }
  }

  /** Rejects everything still queued. */
  close(): void {
    this.#isClosed = true;
    clearTimeout(this.#retryTimer);
    for (const entry of this.#entries) {
      entry.reject(new BackplaneError(TopicErrorCode.CLOSED, 'the backplane closed before this publish was stored', entry.topic));
    }
    this.#entries.clear();
    this.#lastByTopic.clear();
    this.#bytes = 0;
  }

  #remove(entry: Entry): boolean {
    if (!this.#entries.delete(entry)) return false;
    this.#bytes -= entry.payload.length;
    if (entry.next !== undefined) entry.next.previous = entry.previous;
    if (entry.previous !== undefined) entry.previous.next = entry.next;
    if (this.#lastByTopic.get(entry.topic) === entry) {
      if (entry.previous !== undefined) this.#lastByTopic.set(entry.topic, entry.previous);
      else this.#lastByTopic.delete(entry.topic);
    }
    return true;
  }

  #retryLater(): void {
    this.#retryTimer ??= setTimeout(() => {
      this.#retryTimer = undefined;
      this.pump();
    }, this.#options.retryDelayMs);
  }

  #send(entry: Entry): void {
    entry.sentOn = this.#generation;
    this.#inFlight++;
    const settled = (): void => {
      this.#inFlight--;
      if (entry.sentOn < this.#generation && this.#staleInFlight > 0) this.#staleInFlight--;
    };
    this.#options.send(entry.topic, entry.payload, entry.meta, entry.previous?.meta.id ?? 0).then(
      (position) => {
        settled();
        if (!this.#remove(entry)) return;
        entry.resolve(position);
        this.pump();
      },
      (error: unknown) => {
        settled();
        if (!this.#entries.has(entry)) return;
        if (this.#options.isTransient(error)) {
          const wasCurrent = entry.sentOn === this.#generation;
          entry.sentOn = -1;
          // Whatever was sent after it must not overtake it: let the rest settle, then resend in order.
          if (wasCurrent) this.connectionLost();
          // Connected but refused for now (LOADING after a restart, TRYAGAIN, NOSCRIPT): retry shortly.
          if (this.#options.isReady()) this.#retryLater();
          this.pump();
          return;
        }
        this.#remove(entry);
        entry.reject(new BackplaneError(TopicErrorCode.FAILED, `publish failed: ${(error as Error)?.message ?? String(error)}`, entry.topic, { cause: error }));
        this.pump();
      },
    );
  }
}
