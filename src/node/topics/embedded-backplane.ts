/**
 * The in-process backplane, the default: no Redis, no network. Messages are
 * numbered per topic and kept in a bounded in-memory history so that a client
 * that reconnects to this process can recover what it missed.
 *
 * Epochs: each topic record gets a fresh epoch (a per-process random part and
 * a counter) when it is created. A new process, or a topic record dropped
 * after its history aged out, therefore never answers "recovered" for
 * positions it did not issue.
 */
import { randomBytes } from 'node:crypto';
import {
  integerOption,
  validatePosition,
  type Backplane,
  type BackplaneListener,
  type BackplaneMessage,
  type BackplaneState,
  type HistoryResult,
  type Position,
  type PublishMeta,
} from './backplane.js';
import { BackplaneError, TopicErrorCode } from './errors.js';
import { rejectIfInvalid, validateMaxTopicBytes, validateTopic } from './topic-name.js';

export interface EmbeddedBackplaneOptions {
  /**
   * Messages kept per topic for recovery. Default 100: enough for a client
   * that drops for a few seconds on a busy topic; memory is at most this many
   * messages per topic that published recently. 0 keeps no history (every
   * recovery with a gap answers not recovered).
   */
  historySize?: number;
  /**
   * How long a message stays in the history, in milliseconds. Default 120000
   * (2 minutes), longer than a typical reconnect; topics without subscribers
   * whose history is empty are forgotten, so idle topics cost nothing.
   * Infinity keeps messages until `historySize` pushes them out.
   */
  historyMaxAgeMs?: number;
  /** Longest topic name in UTF-8 bytes. Default 256. */
  maxTopicBytes?: number;
  /** For tests: the clock, in milliseconds. Default Date.now. */
  now?: () => number;
}

interface TopicRecord {
  readonly epoch: string;
  offset: number;
  refs: number;
  /** Oldest first; `times[i]` is when `history[i]` was published. */
  history: BackplaneMessage[];
  times: number[];
  /** Last publish, subscribe, unsubscribe or read: an idle record is forgotten historyMaxAgeMs after it. */
  usedAt: number;
}

const DEFAULT_HISTORY_SIZE = 100;
const DEFAULT_HISTORY_MAX_AGE_MS = 120_000;

export class EmbeddedBackplane implements Backplane {
  readonly nodeId = randomBytes(6).toString('hex');
  readonly state: BackplaneState = 'up';
  readonly historySize: number;
  readonly historyMaxAgeMs: number;
  readonly maxTopicBytes: number;
  readonly #now: () => number;
  readonly #processEpoch = randomBytes(4).toString('hex');
  #epochCounter = 0;
  readonly #topics = new Map<string, TopicRecord>();
  #listener: BackplaneListener | null = null;
  #lastId = 0;
  #isClosed = false;
  // Delivery is queued and drained in one loop so a listener that publishes
  // from inside onMessage cannot interleave the new message into a fan-out
  // that is still running (every subscriber sees the same order).
  readonly #outbox: BackplaneMessage[] = [];
  #isDraining = false;
  #sweepTimer: NodeJS.Timeout | undefined;

  constructor(options: EmbeddedBackplaneOptions = {}) {
    this.historySize = integerOption(options.historySize, 'historySize', DEFAULT_HISTORY_SIZE, 0);
    this.historyMaxAgeMs = integerOption(options.historyMaxAgeMs, 'historyMaxAgeMs', DEFAULT_HISTORY_MAX_AGE_MS, 1);
    this.maxTopicBytes = validateMaxTopicBytes(options.maxTopicBytes);
    this.#now = options.now ?? Date.now;
    if (this.historyMaxAgeMs !== Infinity) {
      // Forget idle topics; unref'd so an idle backplane never keeps the process alive.
      this.#sweepTimer = setInterval(() => this.sweep(), Math.max(1000, Math.min(this.historyMaxAgeMs, 60_000)));
      this.#sweepTimer.unref();
    }
  }

  setListener(listener: BackplaneListener | null): void {
    this.#listener = listener;
  }

  publish(topic: string, payload: Buffer, meta: PublishMeta): Promise<Position> {
    const invalid = rejectIfInvalid(() => {
      this.#checkOpen();
      validateTopic(topic, this.maxTopicBytes);
      if (!Buffer.isBuffer(payload)) throw new TypeError('payload must be a Buffer');
      if (!Number.isSafeInteger(meta.id) || meta.id <= this.#lastId) {
        throw new RangeError(`meta.id must be an integer greater than the previous one (${this.#lastId})`);
      }
    });
    if (invalid !== undefined) return invalid;
    this.#lastId = meta.id;
    const record = this.#record(topic);
    const offset = ++record.offset;
    const message: BackplaneMessage = {
      topic,
      payload,
      isBinary: meta.isBinary,
      offset,
      epoch: record.epoch,
      origin: this.nodeId,
      id: meta.id,
    };
    if (this.historySize > 0) {
      const now = this.#now();
      record.history.push(message);
      record.times.push(now);
      this.#trim(record, now);
    }
    if (record.refs > 0) {
      this.#outbox.push(message);
      this.#drain();
    }
    return Promise.resolve({ offset, epoch: record.epoch });
  }

  subscribe(topic: string): Promise<Position> {
    const invalid = rejectIfInvalid(() => {
      this.#checkOpen();
      validateTopic(topic, this.maxTopicBytes);
    });
    if (invalid !== undefined) return invalid;
    const record = this.#record(topic);
    record.refs++;
    return Promise.resolve({ offset: record.offset, epoch: record.epoch });
  }

  unsubscribe(topic: string): Promise<void> {
    const record = this.#topics.get(topic);
    if (record !== undefined && record.refs > 0) {
      record.refs--;
      // Kept until the sweep: a client that comes back soon with a position
      // in this epoch still recovers, even on a topic that had no message.
      record.usedAt = this.#now();
    }
    return Promise.resolve();
  }

  position(topic: string): Promise<Position> {
    const invalid = rejectIfInvalid(() => {
      validateTopic(topic, this.maxTopicBytes);
    });
    if (invalid !== undefined) return invalid;
    const record = this.#record(topic);
    return Promise.resolve({ offset: record.offset, epoch: record.epoch });
  }

  history(topic: string, since: Position, limit: number = this.historySize): Promise<HistoryResult> {
    const invalid = rejectIfInvalid(() => {
      validateTopic(topic, this.maxTopicBytes);
      validatePosition(since);
    });
    if (invalid !== undefined) return invalid;
    const record = this.#record(topic);
    this.#trim(record, this.#now());
    return Promise.resolve(readHistory(record, since, limit));
  }

  close(): Promise<void> {
    this.#isClosed = true;
    clearInterval(this.#sweepTimer);
    this.#topics.clear();
    this.#outbox.length = 0;
    return Promise.resolve();
  }

  /** Drops aged messages everywhere and forgets idle topics nobody holds. Runs on a timer; public for tests. */
  sweep(): void {
    const now = this.#now();
    for (const [topic, record] of this.#topics) {
      this.#trim(record, now);
      if (record.refs === 0 && record.history.length === 0 && now - record.usedAt >= this.historyMaxAgeMs) {
        this.#topics.delete(topic);
      }
    }
  }

  /** Topics with a record (subscribed, or with history); for memory tests. */
  get topicCount(): number {
    return this.#topics.size;
  }

  #record(topic: string): TopicRecord {
    const now = this.#now();
    let record = this.#topics.get(topic);
    if (record === undefined) {
      record = { epoch: `${this.#processEpoch}.${++this.#epochCounter}`, offset: 0, refs: 0, history: [], times: [], usedAt: now };
      this.#topics.set(topic, record);
    } else {
      record.usedAt = now;
    }
    return record;
  }

  #trim(record: TopicRecord, now: number): void {
    let drop = Math.max(0, record.history.length - this.historySize);
    const oldest = now - this.historyMaxAgeMs;
    while (drop < record.times.length && record.times[drop] <= oldest) drop++;
    if (drop > 0) {
      record.history.splice(0, drop);
      record.times.splice(0, drop);
    }
  }

  #drain(): void {
    if (this.#isDraining) return;
    this.#isDraining = true;
    try {
      for (let i = 0; i < this.#outbox.length; i++) {
        this.#listener?.onMessage(this.#outbox[i]);
      }
    } finally {
      this.#outbox.length = 0;
      this.#isDraining = false;
    }
  }

  #checkOpen(): void {
    if (this.#isClosed) throw new BackplaneError(TopicErrorCode.CLOSED, 'the backplane is closed');
  }
}

/** All-or-nothing read of a record's history after `since` (see Backplane.history). */
function readHistory(
  record: { epoch: string; offset: number; history: readonly BackplaneMessage[] },
  since: Position,
  limit: number,
): HistoryResult {
  const position = { offset: record.offset, epoch: record.epoch };
  const { history } = record;
  const oldest = history.length > 0 ? history[0].offset : record.offset + 1;
  if (since.epoch !== record.epoch || since.offset > record.offset) {
    return { recovered: false, messages: tail(history, limit), position };
  }
  const missing = record.offset - since.offset;
  if (missing === 0) return { recovered: true, messages: [], position };
  if (missing > limit || since.offset + 1 < oldest) {
    return { recovered: false, messages: tail(history, Math.min(limit, missing)), position };
  }
  return { recovered: true, messages: history.slice(since.offset + 1 - oldest), position };
}

function tail<T>(items: readonly T[], count: number): T[] {
  return count <= 0 ? [] : items.slice(Math.max(0, items.length - count));
}
