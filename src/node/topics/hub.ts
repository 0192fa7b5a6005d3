/**
 * TopicHub: the registry of who listens to what, joined to a backplane that
 * numbers and carries the messages. Socket-agnostic: it hands each message to
 * one `deliver(topic, message, subscribers)` callback, where the socket layer
 * frames it once and writes it to each subscriber.
 *
 * Ordering: every message reaches the hub through the backplane, in the
 * backplane's topic order, including this process's own publishes. A local
 * publish is never short-cut past messages from other processes, so all
 * subscribers of a topic, everywhere, see one order, and one publisher's
 * messages arrive in its publish order.
 *
 * Recovery: `subscribe(s, topic, { since })` delivers what `s` missed after
 * `since` to `s` alone (through `deliverTo`), in order and without duplicates,
 * then the live messages that arrived meanwhile, then joins `s` to the live
 * fan-out. When the history no longer covers the gap, or `since` is from
 * another epoch, it answers `recovered: false` and joins `s` from the current
 * position; the application resyncs from its own source of truth.
 */
import type { Backplane, BackplaneMessage, BackplaneState, GapInfo, Position } from './backplane.js';
import { integerOption, validatePosition } from './backplane.js';
import {
  rethrowLater,
  toBuffer,
  without,
  type HubPublishOptions,
  type PublishData,
  type SubscribeOptions,
  type SubscribeResult,
  type TopicHubOptions,
} from './hub-options.js';
import { EmbeddedBackplane } from './embedded-backplane.js';
import { BackplaneError, TopicErrorCode } from './errors.js';
import { TopicRegistry } from './registry.js';
import { validateTopic } from './topic-name.js';

export type { HubPublishOptions, PublishData, SubscribeOptions, SubscribeResult, TopicHubOptions } from './hub-options.js';

type Buffered = BackplaneMessage | { readonly gap: GapInfo };

interface Recovery {
  readonly buffer: Buffered[];
  /** Set once the history was delivered: live messages up to here are duplicates. */
  cursor?: Position;
  isOverflowed: boolean;
  isCancelled: boolean;
  readonly result: Promise<SubscribeResult>;
}

interface TopicState<S> {
  /** The backplane baseline; undefined until the upstream subscription is live. */
  baseline: Position | undefined;
  readonly ready: Promise<Position>;
  /** Messages that arrived before `baseline` was known. */
  early: BackplaneMessage[];
  /** The last message delivered live (or the baseline). */
  position: Position | undefined;
  readonly recovering: Map<S, Recovery>;
}

export class TopicHub<S> {
  readonly registry: TopicRegistry<S>;
  readonly backplane: Backplane;
  readonly maxRecoveryBufferMessages: number;
  readonly #options: TopicHubOptions<S>;
  readonly #topics = new Map<string, TopicState<S>>();
  /** Topics each subscriber is recovering (so a closing socket does not scan every topic). */
  readonly #recoveringTopics = new Map<S, Set<string>>();
  /** Publish id → the subscriber to leave out when the message comes back. */
  readonly #excludes = new Map<number, S>();
  #nextId = 0;
  #isClosed = false;

  constructor(options: TopicHubOptions<S>) {
    if (typeof options?.deliver !== 'function') throw new TypeError('TopicHub needs a deliver(topic, message, subscribers) callback');
    this.#options = options;
    this.registry = new TopicRegistry<S>({ maxTopicBytes: options.maxTopicBytes });
    this.backplane = options.backplane ?? new EmbeddedBackplane({ maxTopicBytes: this.registry.maxTopicBytes });
    this.maxRecoveryBufferMessages = integerOption(options.maxRecoveryBufferMessages, 'maxRecoveryBufferMessages', 10_000, 0);
    this.backplane.setListener({
      onMessage: (message) => this.#onMessage(message),
      onGap: (gap) => this.#onGap(gap),
      onStateChange: (state, cause) => options.onStateChange?.(state, cause),
    });
  }

  get nodeId(): string {
    return this.backplane.nodeId;
  }

  get state(): BackplaneState {
    return this.backplane.state;
  }

  /**
   * Subscribes; without `since` the subscriber is in the fan-out when this
   * returns (the promise says from which position). With `since`, it joins
   * after its missed messages were delivered.
   */
  subscribe(subscriber: S, topic: string, options: SubscribeOptions = {}): Promise<SubscribeResult> {
    validateTopic(topic, this.registry.maxTopicBytes);
    const { since } = options;
    if (since !== undefined) validatePosition(since);
    if (this.#isClosed) return Promise.reject(new BackplaneError(TopicErrorCode.CLOSED, 'the hub is closed', topic));
    let state = this.#topics.get(topic);
    const pending = state?.recovering.get(subscriber);
    if (pending !== undefined) return pending.result;
    if (state !== undefined && this.registry.isSubscribed(subscriber, topic)) {
      return Promise.resolve({ recovered: true, position: state.position ?? { offset: 0, epoch: '' } });
    }
    state ??= this.#openTopic(topic);
    if (since === undefined) {
      this.registry.subscribe(subscriber, topic);
      if (state.position !== undefined) return Promise.resolve({ recovered: true, position: state.position });
      return state.ready.then((baseline) => ({ recovered: true, position: baseline }));
    }
    return this.#recover(subscriber, topic, state, since);
  }

  /** Returns false when the subscriber was not subscribed (nor recovering). */
  unsubscribe(subscriber: S, topic: string): boolean {
    validateTopic(topic, this.registry.maxTopicBytes);
    const state = this.#topics.get(topic);
    const recovery = state?.recovering.get(subscriber);
    let removed = false;
    if (recovery !== undefined) {
      recovery.isCancelled = true;
      this.#endRecovery(state!, subscriber, topic);
      removed = true;
    }
    removed = this.registry.unsubscribe(subscriber, topic) || removed;
    this.#releaseIfIdle(topic);
    return removed;
  }

  /** Drops every subscription of the subscriber (call it when its socket closes). */
  removeSubscriber(subscriber: S): void {
    // A subscriber with no topic, no recovery and no publish in flight (every
    // socket of a server that does not use topics) costs three lookups: no
    // arrays or iterators made for nothing on every close (issue 16).
    if (!this.registry.hasSubscriptions(subscriber) && !this.#recoveringTopics.has(subscriber) && this.#excludes.size === 0) return;
    const topics = this.registry.removeSubscriber(subscriber);
    for (const topic of this.#recoveringTopics.get(subscriber) ?? []) {
      const state = this.#topics.get(topic);
      const recovery = state?.recovering.get(subscriber);
      if (recovery !== undefined) {
        recovery.isCancelled = true;
        this.#endRecovery(state!, subscriber, topic);
        topics.push(topic);
      }
    }
    for (const topic of topics) this.#releaseIfIdle(topic);
    for (const [id, excluded] of this.#excludes) if (excluded === subscriber) this.#excludes.delete(id);
  }

  isSubscribed(subscriber: S, topic: string): boolean {
    return this.registry.isSubscribed(subscriber, topic);
  }

  topicsOf(subscriber: S): string[] {
    return this.registry.topicsOf(subscriber);
  }

  /** Subscribers in this process (recovering ones not yet counted). */
  subscriberCount(topic: string): number {
    return this.registry.subscriberCount(topic);
  }

  /**
   * Publishes to every subscriber of the topic in every process on the
   * backplane; resolves with the message's position once stored. Rejects
   * (never drops silently) when the backplane's outage queue is full.
   */
  publish(topic: string, data: PublishData, options: HubPublishOptions<S> = {}): Promise<Position> {
    validateTopic(topic, this.registry.maxTopicBytes);
    const payload = toBuffer(data);
    const isBinary = options.binary ?? typeof data !== 'string';
    if (typeof isBinary !== 'boolean') throw new TypeError('options.binary must be a boolean');
    const id = ++this.#nextId;
    const { exclude } = options;
    // Only worth remembering when the message will come back to this process.
    const isExcluding = exclude !== undefined && this.registry.isSubscribed(exclude, topic);
    if (isExcluding) this.#excludes.set(id, exclude);
    const published = this.backplane.publish(topic, payload, { isBinary, id });
    if (isExcluding) {
      published.then(
        (position) => {
          // Delivered already, or will never come (topic released): forget it.
          const state = this.#topics.get(topic);
          const at = state?.position;
          if (state === undefined || (at !== undefined && at.epoch === position.epoch && at.offset >= position.offset)) {
            this.#excludes.delete(id);
          }
        },
        () => this.#excludes.delete(id),
      );
    }
    return published;
  }

  /** Closes the backplane; pending publishes reject. */
  async close(): Promise<void> {
    this.#isClosed = true;
    for (const state of this.#topics.values()) for (const recovery of state.recovering.values()) recovery.isCancelled = true;
    this.#topics.clear();
    this.#recoveringTopics.clear();
    this.#excludes.clear();
    this.backplane.setListener(null);
    await this.backplane.close();
  }

  #openTopic(topic: string): TopicState<S> {
    const state: TopicState<S> = {
      baseline: undefined,
      ready: this.backplane.subscribe(topic),
      early: [],
      position: undefined,
      recovering: new Map(),
    };
    this.#topics.set(topic, state);
    state.ready.then(
      (baseline) => {
        if (this.#topics.get(topic) !== state) return;
        state.baseline = baseline;
        state.position = baseline;
        const early = state.early;
        state.early = [];
        for (const message of early) this.#onMessage(message);
      },
      () => {
        // The subscription failed (backplane closed): forget the topic so a later subscribe retries.
        if (this.#topics.get(topic) === state) this.#topics.delete(topic);
      },
    );
    return state;
  }

  #releaseIfIdle(topic: string): void {
    const state = this.#topics.get(topic);
    if (state === undefined || state.recovering.size > 0 || this.registry.hasTopic(topic)) return;
    this.#topics.delete(topic);
    state.ready.then(
      () => this.backplane.unsubscribe(topic),
      () => {},
    ).catch(() => {});
  }

  async #recover(subscriber: S, topic: string, state: TopicState<S>, since: Position): Promise<SubscribeResult> {
    let settle!: (result: Promise<SubscribeResult>) => void;
    const recovery: Recovery = {
      buffer: [],
      isOverflowed: false,
      isCancelled: false,
      result: new Promise<SubscribeResult>((resolve) => (settle = resolve)),
    };
    this.#beginRecovery(state, subscriber, topic, recovery);
    settle(this.#runRecovery(subscriber, topic, state, since, recovery));
    return recovery.result;
  }

  async #runRecovery(subscriber: S, topic: string, state: TopicState<S>, since: Position, recovery: Recovery): Promise<SubscribeResult> {
    try {
      await state.ready;
      const history = await this.backplane.history(topic, since);
      if (recovery.isCancelled || this.#topics.get(topic) !== state) {
        return { recovered: false, position: history.position };
      }
      // From here to the end nothing awaits: no live message can slip between
      // the recovered ones, the buffered ones and the join.
      this.#endRecovery(state, subscriber, topic);
      if (recovery.isOverflowed) {
        this.registry.subscribe(subscriber, topic);
        return { recovered: false, position: state.position ?? history.position };
      }
      let cursor: Position = history.position;
      if (history.recovered) {
        for (const message of history.messages) this.#deliverTo(subscriber, message);
      }
      for (const item of recovery.buffer) {
        if ('gap' in item) {
          this.#options.onGap?.(subscriber, item.gap);
          continue;
        }
        if (item.epoch === cursor.epoch && item.offset <= cursor.offset) continue;
        this.#deliverTo(subscriber, item);
        cursor = item;
      }
      recovery.buffer.length = 0;
      const live = state.position;
      if (live !== undefined && (live.epoch !== cursor.epoch || live.offset >= cursor.offset)) {
        this.registry.subscribe(subscriber, topic);
      } else {
        // The history can be ahead of the live feed (the stream is read before
        // the channel delivers the same messages): skip live messages up to
        // the cursor, then join.
        recovery.cursor = cursor;
        this.#beginRecovery(state, subscriber, topic, recovery);
      }
      return { recovered: history.recovered, position: history.position };
    } catch (error) {
      if (state.recovering.get(subscriber) === recovery) this.#endRecovery(state, subscriber, topic);
      this.#releaseIfIdle(topic);
      throw error;
    }
  }

  #onMessage(message: BackplaneMessage): void {
    const state = this.#topics.get(message.topic);
    if (state === undefined) return;
    if (state.baseline === undefined) {
      state.early.push(message);
      return;
    }
    const base = state.baseline;
    if (message.epoch === base.epoch && message.offset <= base.offset) return;
    state.position = message;
    let excluded: S | undefined;
    if (message.origin === this.backplane.nodeId && this.#excludes.size > 0) {
      excluded = this.#excludes.get(message.id);
      if (excluded !== undefined) this.#excludes.delete(message.id);
    }
    const subscribers = this.registry.subscribers(message.topic);
    if (subscribers.size > 0) {
      try {
        this.#options.deliver(message.topic, message, excluded === undefined ? subscribers : without(subscribers, excluded));
      } catch (error) {
        rethrowLater(error);
      }
    }
    // After the fan-out, so a subscriber that joins here does not get this message twice.
    if (state.recovering.size > 0) this.#feedRecoveries(state, message);
  }

  #feedRecoveries(state: TopicState<S>, message: BackplaneMessage): void {
    for (const [subscriber, recovery] of state.recovering) {
      const { cursor } = recovery;
      if (cursor !== undefined) {
        if (message.epoch === cursor.epoch && message.offset < cursor.offset) continue;
        if (message.epoch !== cursor.epoch || message.offset > cursor.offset) this.#deliverTo(subscriber, message);
        this.#endRecovery(state, subscriber, message.topic);
        this.registry.subscribe(subscriber, message.topic);
        continue;
      }
      if (recovery.isOverflowed) continue;
      if (recovery.buffer.length >= this.maxRecoveryBufferMessages) {
        recovery.isOverflowed = true;
        recovery.buffer.length = 0;
      } else {
        recovery.buffer.push(message);
      }
    }
  }

  #beginRecovery(state: TopicState<S>, subscriber: S, topic: string, recovery: Recovery): void {
    state.recovering.set(subscriber, recovery);
    let topics = this.#recoveringTopics.get(subscriber);
    if (topics === undefined) this.#recoveringTopics.set(subscriber, (topics = new Set()));
    topics.add(topic);
  }

  #endRecovery(state: TopicState<S>, subscriber: S, topic: string): void {
    state.recovering.delete(subscriber);
    const topics = this.#recoveringTopics.get(subscriber);
    if (topics !== undefined && topics.delete(topic) && topics.size === 0) this.#recoveringTopics.delete(subscriber);
  }

  #onGap(gap: GapInfo): void {
    const state = this.#topics.get(gap.topic);
    if (state === undefined) return;
    for (const [subscriber, recovery] of state.recovering) {
      if (recovery.cursor !== undefined) this.#options.onGap?.(subscriber, gap);
      else if (!recovery.isOverflowed) recovery.buffer.push({ gap });
    }
    const onGap = this.#options.onGap;
    if (onGap === undefined) return;
    for (const subscriber of [...this.registry.subscribers(gap.topic)]) {
      try {
        onGap(subscriber, gap);
      } catch (error) {
        rethrowLater(error);
      }
    }
  }

  #deliverTo(subscriber: S, message: BackplaneMessage): void {
    try {
      if (this.#options.deliverTo !== undefined) this.#options.deliverTo(subscriber, message);
      else this.#options.deliver(message.topic, message, [subscriber]);
    } catch (error) {
      rethrowLater(error);
    }
  }
}
