/**
 * The topic registry: which subscribers listen to which topics. A plain data
 * structure, generic over the subscriber type; it knows nothing of sockets,
 * backplanes or delivery, so it is tested with plain objects and reused by
 * anything that fans out.
 *
 * Memory: each subscription is one entry in the topic's Set (what fan-out
 * iterates, in subscription order) and one slot in the subscriber's array of
 * topics. Most subscribers hold a handful of topics, where a scanned array is
 * smaller and faster than a second Set; the membership test goes through the
 * topic's Set, so it stays O(1) however many topics a subscriber holds.
 */
import { DEFAULT_MAX_TOPIC_BYTES, validateMaxTopicBytes, validateTopic } from './topic-name.js';

export interface TopicRegistryOptions {
  /** Longest topic name in UTF-8 bytes. Default 256; longer names throw a RangeError. */
  maxTopicBytes?: number;
}

const EMPTY: ReadonlySet<never> = new Set();

export class TopicRegistry<S> {
  readonly maxTopicBytes: number;
  readonly #byTopic = new Map<string, Set<S>>();
  readonly #bySubscriber = new Map<S, string[]>();
  #subscriptionCount = 0;

  constructor(options: TopicRegistryOptions = {}) {
    this.maxTopicBytes = validateMaxTopicBytes(options.maxTopicBytes ?? DEFAULT_MAX_TOPIC_BYTES);
  }

  /** Adds the subscription; returns false when it already existed. */
  subscribe(subscriber: S, topic: string): boolean {
    validateTopic(topic, this.maxTopicBytes);
    let set = this.#byTopic.get(topic);
    if (set === undefined) {
      set = new Set();
      this.#byTopic.set(topic, set);
    } else if (set.has(subscriber)) {
      return false;
    }
    set.add(subscriber);
    const topics = this.#bySubscriber.get(subscriber);
    if (topics === undefined) this.#bySubscriber.set(subscriber, [topic]);
    else topics.push(topic);
    this.#subscriptionCount++;
    return true;
  }

  /** Removes the subscription; returns false when there was none. */
  unsubscribe(subscriber: S, topic: string): boolean {
    validateTopic(topic, this.maxTopicBytes);
    const set = this.#byTopic.get(topic);
    if (set === undefined || !set.delete(subscriber)) return false;
    if (set.size === 0) this.#byTopic.delete(topic);
    const topics = this.#bySubscriber.get(subscriber)!;
    if (topics.length === 1) {
      this.#bySubscriber.delete(subscriber);
    } else {
      // Order among a subscriber's topics carries no meaning: swap-remove.
      const index = topics.indexOf(topic);
      topics[index] = topics[topics.length - 1];
      topics.pop();
    }
    this.#subscriptionCount--;
    return true;
  }

  /** Removes every subscription of the subscriber (a socket closed); returns the topics it held. */
  removeSubscriber(subscriber: S): string[] {
    const topics = this.#bySubscriber.get(subscriber);
    if (topics === undefined) return [];
    this.#bySubscriber.delete(subscriber);
    for (const topic of topics) {
      const set = this.#byTopic.get(topic)!;
      set.delete(subscriber);
      if (set.size === 0) this.#byTopic.delete(topic);
    }
    this.#subscriptionCount -= topics.length;
    return topics;
  }

  /** True when the subscriber holds at least one subscription. */
  hasSubscriptions(subscriber: S): boolean {
    return this.#bySubscriber.has(subscriber);
  }

  isSubscribed(subscriber: S, topic: string): boolean {
    return this.#byTopic.get(topic)?.has(subscriber) ?? false;
  }

  /** The subscriber's topics (a copy, in no particular order). */
  topicsOf(subscriber: S): string[] {
    return this.#bySubscriber.get(subscriber)?.slice() ?? [];
  }

  /**
   * The topic's subscribers in subscription order. A live view: do not
   * subscribe or unsubscribe on this topic while iterating it (copy first).
   */
  subscribers(topic: string): ReadonlySet<S> {
    return this.#byTopic.get(topic) ?? EMPTY;
  }

  subscriberCount(topic: string): number {
    return this.#byTopic.get(topic)?.size ?? 0;
  }

  hasTopic(topic: string): boolean {
    return this.#byTopic.has(topic);
  }

  /** Topics with at least one subscriber. */
  topics(): IterableIterator<string> {
    return this.#byTopic.keys();
  }

  get topicCount(): number {
    return this.#byTopic.size;
  }

  get subscriberTotal(): number {
    return this.#bySubscriber.size;
  }

  get subscriptionCount(): number {
    return this.#subscriptionCount;
  }
}
