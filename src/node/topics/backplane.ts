/**
 * What a TopicHub needs from a transport of messages between processes.
 *
 * A backplane carries each published message to every process subscribed to
 * its topic, numbers it, and keeps a bounded history so that a subscriber that
 * missed messages can ask for them. Two implementations: EmbeddedBackplane
 * (one process, the default) and RedisBackplane (`sockwave/redis`).
 *
 * Positions: each topic has an `epoch` (an opaque string) and an `offset` that
 * grows by exactly one per message. Within one epoch, offsets are gap-free, so
 * "I have everything up to offset n" is a complete statement. A new epoch
 * starts when the history was lost (a Redis restart without persistence, an
 * expired topic, a new process for the embedded backplane): offsets from an
 * older epoch say nothing about the new one.
 *
 * Contract for implementations:
 * - `onMessage` is called in offset order per topic, at most once per offset,
 *   and at most once per (origin, id) even across epochs.
 * - A hole in a subscribed topic (messages the backplane knows it cannot
 *   deliver) is reported through `onGap` before the next message of the topic,
 *   never skipped silently.
 * - `subscribe`/`unsubscribe` are reference-counted per topic: the first
 *   subscribe opens one upstream subscription, the last unsubscribe closes it.
 */

/** Where a message sits in its topic's stream. */
export interface Position {
  /** Per topic, +1 per message; the first message of an epoch has offset 1, 0 means "nothing yet". */
  readonly offset: number;
  /** Changes when the topic's history was lost; compare with ===. */
  readonly epoch: string;
}

/** A message as a backplane delivers it. Shared by every subscriber: never mutate it. */
export interface BackplaneMessage {
  readonly topic: string;
  readonly payload: Buffer;
  /** False for text (the payload is UTF-8). */
  readonly isBinary: boolean;
  readonly offset: number;
  readonly epoch: string;
  /** The `nodeId` of the publishing backplane. */
  readonly origin: string;
  /** The publisher's id for this message (see PublishMeta.id). */
  readonly id: number;
}

export interface PublishMeta {
  readonly isBinary: boolean;
  /**
   * A positive integer, strictly increasing over this backplane's publishes.
   * (origin, id) names the message across retries: a publish retried after a
   * lost reply is stored and delivered once. The hub uses it to recognise its
   * own messages when they come back (to exclude the sender).
   */
  readonly id: number;
}

export interface HistoryResult {
  /**
   * True when every message after `since` up to `position` is in `messages`
   * (all or nothing). False when the epoch changed, `since` is ahead of the
   * topic, or the history no longer reaches back to `since`.
   */
  readonly recovered: boolean;
  /**
   * Messages after `since` in offset order. When not recovered: the newest
   * contiguous part the history still holds in the current epoch (possibly
   * empty), so a caller can deliver what exists and report the rest as a gap.
   */
  readonly messages: readonly BackplaneMessage[];
  /** The topic's latest position when the history was read. */
  readonly position: Position;
}

/** A hole a subscribed topic's stream has and will never fill. */
export interface GapInfo {
  readonly topic: string;
  /**
   * `missed`: offsets lost within one epoch. `epoch`: the history was reset
   * (a new epoch, or the same one rewound by a failover): whatever followed
   * `fromOffset - 1` in `epoch` may be lost, and the stream goes on in `nextEpoch`.
   */
  readonly reason: 'missed' | 'epoch';
  /** The epoch the missing offsets belong to. */
  readonly epoch: string;
  /** First missing offset (inclusive). */
  readonly fromOffset: number;
  /** Last missing offset (inclusive), or null when unknown (the old epoch's end is gone with it). */
  readonly toOffset: number | null;
  /** For `epoch`: the epoch that now follows. */
  readonly nextEpoch?: string;
}

/** `up`: messages flow. `down`: the store is unreachable; publishes queue, subscriptions will catch up. */
export type BackplaneState = 'up' | 'down';

export interface BackplaneListener {
  onMessage(message: BackplaneMessage): void;
  onGap(gap: GapInfo): void;
  onStateChange?(state: BackplaneState, cause?: unknown): void;
}

export interface Backplane {
  /** Identifies this process's messages (random per instance). */
  readonly nodeId: string;
  readonly state: BackplaneState;
  /** One consumer per backplane (the hub); setting another replaces it. */
  setListener(listener: BackplaneListener | null): void;
  /**
   * Stores and sends the message; resolves with its position once the store
   * has it. While the store is unreachable the publish waits in an ordered,
   * bounded queue; past the bound it rejects with BackplaneQueueFullError.
   */
  publish(topic: string, payload: Buffer, meta: PublishMeta): Promise<Position>;
  /**
   * Adds a reference to the topic; the first one opens the upstream
   * subscription. Resolves with the topic's position when messages after it
   * will reach `onMessage` (the baseline: nothing at or before it is delivered).
   */
  subscribe(topic: string): Promise<Position>;
  /** Drops a reference; the last one closes the upstream subscription. */
  unsubscribe(topic: string): Promise<void>;
  /** The topic's current position, without subscribing. */
  position(topic: string): Promise<Position>;
  /**
   * Messages after `since`, at most `limit` of them (default: the history
   * size); more than `limit` missing means not recovered.
   */
  history(topic: string, since: Position, limit?: number): Promise<HistoryResult>;
  /** Rejects queued publishes with a CLOSED error and releases connections. */
  close(): Promise<void>;
}

/** Validates a `since` position given by an application (TypeError on a bad shape). */
export function validatePosition(value: unknown, name = 'since'): asserts value is Position {
  if (typeof value !== 'object' || value === null) throw new TypeError(`${name} must be an object { offset, epoch }`);
  const { offset, epoch } = value as Position;
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw new TypeError(`${name}.offset must be a non-negative integer, got ${String(offset)}`);
  }
  if (typeof epoch !== 'string') throw new TypeError(`${name}.epoch must be a string`);
}

/** Validates an integer option: >= min, or Infinity when allowed. */
export function integerOption(value: unknown, name: string, fallback: number, min: number, allowInfinity = true): number {
  if (value === undefined) return fallback;
  if (allowInfinity && value === Infinity) return Infinity;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}${allowInfinity ? ' or Infinity' : ''}, got ${String(value)}`);
  }
  return value;
}
