/**
 * The Redis backplane: topics across processes and machines, with history
 * and recovery, on one Redis server or a Redis Cluster (sharded pub/sub).
 *
 * Model (after Centrifugo's): per topic, a meta hash (epoch, offset), a stream
 * with the bounded history and a channel, all under one hash tag (see
 * redis-scripts.ts). A Lua script numbers, stores and publishes each message
 * atomically. Each process holds one channel subscription per topic,
 * reference-counted, whatever the number of local subscribers; a sequencer
 * per topic turns pub/sub (at most once) plus the stream into an ordered,
 * gap-reported feed, and catches every topic up after a reconnection.
 *
 * Loaded only through `sockwave/redis`: `@redis/client` is an optional peer
 * dependency, never imported by `sockwave` itself.
 */
import { randomBytes } from 'node:crypto';
import {
  integerOption,
  validatePosition,
  type Backplane,
  type BackplaneListener,
  type BackplaneState,
  type HistoryResult,
  type Position,
  type PublishMeta,
} from './backplane.js';
import { BackplaneError, TopicErrorCode } from './errors.js';
import { createRedisLink, isNoScript, isTransient, type RedisLink } from './redis-link.js';
import { PublishQueue } from './redis-publish-queue.js';
import {
  HISTORY_SCRIPT,
  HISTORY_SHA,
  PUBLISH_SCRIPT,
  PUBLISH_SHA,
  parseChannelMessage,
  parseHistoryReply,
  parsePublishReply,
  topicKeys,
  type HistoryReply,
  type TopicKeys,
} from './redis-scripts.js';
import { TopicSequencer } from './topic-sequencer.js';
import { rejectIfInvalid, validateMaxTopicBytes, validateTopic } from './topic-name.js';

export interface RedisBackplaneOptions {
  /** `redis://host:port` of a single server. Give this or `rootNodes`. */
  url?: string;
  /** Some nodes of a Redis Cluster (7.0+, for sharded pub/sub); the rest are discovered. */
  rootNodes?: readonly { url: string }[];
  /** Prefix of every key and channel; must not contain `{` or `}`. Default `sockwave:`. */
  keyPrefix?: string;
  /**
   * Messages kept per topic in Redis for recovery. Default 1000 (trimmed
   * approximately, so slightly more may stay). 0 keeps no history.
   */
  historySize?: number;
  /**
   * How long messages stay in the history, in milliseconds. Default 300000
   * (5 minutes); an idle topic's stream expires after it. Infinity: size only.
   */
  historyMaxAgeMs?: number;
  /**
   * How long a topic's epoch and offset survive without publishes, in
   * milliseconds. Default 86400000 (a day); after it the topic starts a new
   * epoch (positions from before answer "not recovered"). Must be at least
   * historyMaxAgeMs. Infinity: forever (one small hash per topic ever used).
   */
  metaTtlMs?: number;
  /**
   * Publishes waiting while Redis is unreachable (and in flight). Default
   * 10000, a few seconds of a busy process's traffic; past it publish rejects
   * with BackplaneQueueFullError (code SW_BACKPLANE_QUEUE_FULL).
   */
  maxQueuedPublishes?: number;
  /** Bytes of payload waiting likewise. Default 33554432 (32 MiB). */
  maxQueuedBytes?: number;
  /** Longest wait between reconnection attempts, in milliseconds. Default 1000. */
  reconnectDelayMaxMs?: number;
  /** Longest topic name in UTF-8 bytes. Default 256. */
  maxTopicBytes?: number;
}

interface TopicEntry {
  refs: number;
  readonly keys: TopicKeys;
  readonly sequencer: TopicSequencer;
  /** Resolves once the channel subscription is active and the baseline read. */
  ready: Promise<void> | undefined;
  /** Receives the channel's messages (one per topic entry, removed with it). */
  readonly listener: (raw: Buffer) => void;
  /** Serialises subscribe/unsubscribe of the channel. */
  chain: Promise<void>;
}

const RETRY_DELAY_MS = 50;

export class RedisBackplane implements Backplane {
  readonly nodeId = randomBytes(8).toString('hex');
  readonly keyPrefix: string;
  readonly historySize: number;
  readonly historyMaxAgeMs: number;
  readonly metaTtlMs: number;
  readonly maxTopicBytes: number;
  readonly #link: RedisLink;
  readonly #queue: PublishQueue;
  readonly #topics = new Map<string, TopicEntry>();
  #listener: BackplaneListener | null = null;
  #state: BackplaneState = 'down';
  /**
   * Whether the current 'down' was announced. A backplane starts 'down'
   * without saying so (it is connecting); the first failure is announced,
   * so an app whose Redis is unreachable from the start hears about it
   * instead of queueing publishes in silence. Retries stay quiet.
   */
  #isDownAnnounced = false;
  #lastId = 0;
  #epochCounter = 0;
  readonly #keyCache = new Map<string, TopicKeys>();
  /** historySize, historyMaxAgeMs, metaTtlMs and the retry-recognition TTL, as script arguments. */
  readonly #limitArguments: readonly [string, string, string, string];
  #isClosed = false;
  #readyWaiters: (() => void)[] = [];

  constructor(options: RedisBackplaneOptions) {
    if ((options?.url === undefined) === (options?.rootNodes === undefined)) {
      throw new TypeError('RedisBackplane needs either url or rootNodes');
    }
    this.keyPrefix = options.keyPrefix ?? 'sockwave:';
    if (typeof this.keyPrefix !== 'string' || /[{}]/.test(this.keyPrefix)) {
      throw new RangeError('keyPrefix must be a string without { or } (they would break the hash tag)');
    }
    this.historySize = integerOption(options.historySize, 'historySize', 1000, 0, false);
    this.historyMaxAgeMs = integerOption(options.historyMaxAgeMs, 'historyMaxAgeMs', 300_000, 1);
    this.metaTtlMs = integerOption(options.metaTtlMs, 'metaTtlMs', 86_400_000, 1);
    if (this.metaTtlMs < this.historyMaxAgeMs) {
      throw new RangeError('metaTtlMs must be at least historyMaxAgeMs (the offsets must outlive the history)');
    }
    this.maxTopicBytes = validateMaxTopicBytes(options.maxTopicBytes);
    // A retried publish is recognised for 10 minutes, or as long as the history if longer.
    const dedupeTtlMs = Math.max(this.historyMaxAgeMs === Infinity ? 0 : this.historyMaxAgeMs, 600_000);
    this.#limitArguments = [String(this.historySize), ttlArgument(this.historyMaxAgeMs), ttlArgument(this.metaTtlMs), String(dedupeTtlMs)];
    const maxQueuedPublishes = integerOption(options.maxQueuedPublishes, 'maxQueuedPublishes', 10_000, 1);
    const maxQueuedBytes = integerOption(options.maxQueuedBytes, 'maxQueuedBytes', 32 * 1024 * 1024, 1);
    const reconnectDelayMaxMs = integerOption(options.reconnectDelayMaxMs, 'reconnectDelayMaxMs', 1000, 1, false);
    this.#link = createRedisLink(
      { url: options.url, rootNodes: options.rootNodes, reconnectDelayMaxMs, connectTimeoutMs: 5000 },
      {
        onCommandReady: () => this.#onCommandReady(),
        onSubscriberReady: () => this.#onSubscriberReady(),
        onDown: (cause) => this.#onDown(cause),
      },
    );
    this.#queue = new PublishQueue({
      maxQueuedPublishes,
      maxQueuedBytes,
      maxInFlight: 512,
      retryDelayMs: RETRY_DELAY_MS,
      isTransient,
      isReady: () => this.#link.isCommandReady,
      send: (topic, payload, meta, previousId) => this.#publishNow(topic, payload, meta, previousId),
      prepare: () => this.#link.loadScripts([PUBLISH_SCRIPT, HISTORY_SCRIPT]),
    });
  }

  get state(): BackplaneState {
    return this.#state;
  }

  /** Publishes waiting for Redis (queued or in flight). */
  get queuedPublishes(): number {
    return this.#queue.size;
  }

  /** Resolves once both connections are up (publishes and subscribes work before, they wait). */
  ready(): Promise<void> {
    if (this.#state === 'up') return Promise.resolve();
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  setListener(listener: BackplaneListener | null): void {
    this.#listener = listener;
  }

  publish(topic: string, payload: Buffer, meta: PublishMeta): Promise<Position> {
    const invalid = rejectIfInvalid(() => {
      validateTopic(topic, this.maxTopicBytes);
      if (!Buffer.isBuffer(payload)) throw new TypeError('payload must be a Buffer');
      if (!Number.isSafeInteger(meta?.id) || meta.id <= this.#lastId) {
        throw new RangeError(`meta.id must be an integer greater than the previous one (${this.#lastId})`);
      }
    });
    if (invalid !== undefined) return invalid;
    this.#lastId = meta.id;
    return this.#queue.enqueue(topic, payload, { isBinary: meta.isBinary === true, id: meta.id });
  }

  subscribe(topic: string): Promise<Position> {
    const invalid = rejectIfInvalid(() => {
      this.#checkOpen();
      validateTopic(topic, this.maxTopicBytes);
    });
    if (invalid !== undefined) return invalid;
    let entry = this.#topics.get(topic);
    if (entry === undefined) {
      const keys = this.#keys(topic);
      const sequencer = new TopicSequencer(topic, {
        emit: (message) => this.#listener?.onMessage(message),
        gap: (gap) => this.#listener?.onGap(gap),
        readHistory: (since) => this.#retrying(() => this.#readHistory(topic, keys, since, this.historySize)),
      });
      const listener = (raw: Buffer): void => {
        const message = parseChannelMessage(topic, raw);
        if (message !== undefined) sequencer.accept(message);
      };
      entry = { refs: 0, keys, sequencer, listener, ready: undefined, chain: Promise.resolve() };
      this.#topics.set(topic, entry);
    }
    entry.refs++;
    if (entry.ready === undefined) {
      const current = entry;
      const ready = current.chain.then(() => this.#open(topic, current));
      current.ready = ready;
      current.chain = ready.catch(() => {});
    }
    const { sequencer } = entry;
    return entry.ready!.then(() => sequencer.position);
  }

  unsubscribe(topic: string): Promise<void> {
    const entry = this.#topics.get(topic);
    if (entry === undefined || entry.refs === 0) return Promise.resolve();
    entry.refs--;
    if (entry.refs > 0) return Promise.resolve();
    const closing = entry.chain.then(async () => {
      // Someone subscribed again meanwhile: keep the channel.
      if (entry.refs > 0 || this.#topics.get(topic) !== entry) return;
      this.#topics.delete(topic);
      entry.sequencer.close();
      if (!this.#isClosed) await this.#link.unsubscribe(entry.keys.channel, entry.listener).catch(() => {});
    });
    entry.chain = closing;
    return closing;
  }

  position(topic: string): Promise<Position> {
    const invalid = rejectIfInvalid(() => {
      validateTopic(topic, this.maxTopicBytes);
    });
    if (invalid !== undefined) return invalid;
    const keys = this.#keys(topic);
    return this.#retrying(() => this.#readHistory(topic, keys, { epoch: '', offset: -1 }, 0)).then((h) => h.position);
  }

  async history(topic: string, since: Position, limit: number = this.historySize): Promise<HistoryResult> {
    validateTopic(topic, this.maxTopicBytes);
    validatePosition(since);
    const keys = this.#keys(topic);
    const reply = await this.#retrying(() => this.#readHistory(topic, keys, since, limit));
    return { ...reply, recovered: isRecovered(reply, since, limit) };
  }

  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#queue.close();
    for (const entry of this.#topics.values()) entry.sequencer.close();
    this.#topics.clear();
    for (const resolve of this.#readyWaiters.splice(0)) resolve();
    await this.#link.close();
  }

  async #open(topic: string, entry: TopicEntry): Promise<void> {
    await this.#retrying(() => this.#link.subscribe(entry.keys.channel, entry.listener));
    // Subscribed first, then read: every message after the baseline reaches the channel.
    const { position } = await this.#retrying(() => this.#readHistory(topic, entry.keys, { epoch: '', offset: -1 }, 0));
    if (!entry.sequencer.hasBaseline) entry.sequencer.setBaseline(position);
  }

  async #publishNow(topic: string, payload: Buffer, meta: PublishMeta, previousId: number): Promise<Position> {
    const keys = this.#keys(topic);
    const [historySize, historyMaxAge, metaTtl, dedupeTtl] = this.#limitArguments;
    // EVALSHA only: the queue loaded the script on this connection, and a
    // NOSCRIPT here is retried in order by the queue rather than re-sent as
    // EVAL past publishes that are already in flight.
    const reply = await this.#link.call(keys.meta, [
      'EVALSHA', PUBLISH_SHA, '3', keys.meta, keys.stream, keys.dedupe + this.nodeId,
      this.#link.publishCommand, keys.channel, payload, meta.isBinary ? '1' : '0', this.nodeId, String(meta.id),
      this.#epochCandidate(), historySize, historyMaxAge, metaTtl, dedupeTtl, String(previousId),
    ]);
    return parsePublishReply(reply);
  }

  /** Key names per topic, cached: building them (escaping included) per publish showed up in profiles. */
  #keys(topic: string): TopicKeys {
    let keys = this.#keyCache.get(topic);
    if (keys === undefined) {
      // A bounded cache, emptied when full: cheap, and hot topics come straight back.
      if (this.#keyCache.size >= 10_000) this.#keyCache.clear();
      keys = topicKeys(this.keyPrefix, topic);
      this.#keyCache.set(topic, keys);
    }
    return keys;
  }

  /**
   * The epoch a topic gets if this publish finds none: unique because the
   * node id is random per backplane and the counter never repeats within it
   * (cheaper than fresh random bytes per publish; it is only used when the
   * meta key is missing).
   */
  #epochCandidate(): string {
    return `${this.nodeId.slice(0, 10)}${(++this.#epochCounter).toString(36)}`;
  }

  async #readHistory(topic: string, keys: TopicKeys, since: Position, limit: number): Promise<HistoryReply> {
    const args = ['2', keys.meta, keys.stream, since.epoch, String(since.offset), String(limit), ttlArgument(this.historyMaxAgeMs)];
    return parseHistoryReply(topic, await this.#script(keys.meta, HISTORY_SHA, HISTORY_SCRIPT, args));
  }

  /** EVALSHA, falling back to EVAL when the server does not know the script (reads only: no order to keep). */
  async #script(key: string, sha: string, source: string, args: (string | Buffer)[]): Promise<unknown> {
    try {
      return await this.#link.call(key, ['EVALSHA', sha, ...args]);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return this.#link.call(key, ['EVAL', source, ...args]);
    }
  }

  /** Runs `operation` until it succeeds, waiting out outages; rejects once the backplane is closed. */
  async #retrying<T>(operation: () => Promise<T>): Promise<T> {
    for (;;) {
      this.#checkOpen();
      if (this.#link.isCommandReady) {
        try {
          return await operation();
        } catch (error) {
          if (!isTransient(error)) throw error;
          this.#checkOpen();
        }
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
    }
  }

  #onCommandReady(): void {
    this.#queue.pump();
    this.#updateState();
  }

  #onSubscriberReady(): void {
    // Subscriptions are active again: anything published while they were not
    // is in the streams, so every topic reads from its last offset.
    for (const entry of this.#topics.values()) entry.sequencer.sync();
    this.#updateState();
  }

  #onDown(cause: unknown): void {
    this.#queue.connectionLost();
    if (this.#state === 'down' && this.#isDownAnnounced) return;
    this.#state = 'down';
    this.#isDownAnnounced = true;
    this.#listener?.onStateChange?.('down', cause);
  }

  #updateState(): void {
    if (this.#state === 'up' || !this.#link.isCommandReady || !this.#link.isSubscriberReady) return;
    this.#state = 'up';
    this.#isDownAnnounced = false;
    this.#listener?.onStateChange?.('up');
    for (const resolve of this.#readyWaiters.splice(0)) resolve();
  }

  #checkOpen(): void {
    if (this.#isClosed) throw new BackplaneError(TopicErrorCode.CLOSED, 'the backplane is closed');
  }
}

function ttlArgument(ms: number): string {
  return ms === Infinity ? '0' : String(ms);
}

/** All or nothing: every offset after `since` up to the position is in the reply. */
function isRecovered(reply: HistoryReply, since: Position, limit: number): boolean {
  const { position, messages } = reply;
  if (since.epoch === '' && since.offset === 0) {
    // "From the start": recovered when the stream still begins at offset 1.
    return position.offset === 0 || (messages.length === position.offset && messages[0].offset === 1);
  }
  if (position.epoch !== since.epoch || since.offset > position.offset) return false;
  const missing = position.offset - since.offset;
  return missing <= limit && messages.length === missing && (missing === 0 || messages[0].offset === since.offset + 1);
}
