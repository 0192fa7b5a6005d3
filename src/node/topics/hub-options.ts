/**
 * The hub's options and result types, and the small helpers of its publish
 * and fan-out paths (kept apart so hub.ts holds only the hub's state machine).
 */
import type { Backplane, BackplaneMessage, BackplaneState, GapInfo, Position } from './backplane.js';

/** What a subscriber may publish: text (string) or bytes. */
export type PublishData = string | Buffer | Uint8Array | ArrayBuffer;

export interface TopicHubOptions<S> {
  /** Where messages travel between processes. Default: a new EmbeddedBackplane (this process only). */
  backplane?: Backplane;
  /** Longest topic name in UTF-8 bytes. Default 256. */
  maxTopicBytes?: number;
  /**
   * Live fan-out: called once per message with the topic's subscribers
   * (minus an excluded sender). Frame once, write to each. Must not throw;
   * a throw is rethrown asynchronously and the message still counts as delivered.
   */
  deliver(topic: string, message: BackplaneMessage, subscribers: Iterable<S>): void;
  /** Recovered messages, for one subscriber. Default: `deliver(topic, message, [subscriber])`. */
  deliverTo?(subscriber: S, message: BackplaneMessage): void;
  /** A subscriber's topic has a hole it will not get back (see GapInfo); the app should resync it. */
  onGap?(subscriber: S, gap: GapInfo): void;
  /** The backplane went down (publishes queue) or came back. */
  onStateChange?(state: BackplaneState, cause?: unknown): void;
  /**
   * Live messages held per recovering subscriber while its history is read.
   * Default 10000; past it the recovery answers `recovered: false` and the
   * subscriber joins from the live position (bounded memory, never a silent hole).
   */
  maxRecoveryBufferMessages?: number;
}

export interface SubscribeOptions {
  /** The last position the subscriber has; it gets everything after it (or `recovered: false`). */
  since?: Position;
}

export interface SubscribeResult {
  /** True when nothing was missed: no `since`, or everything after it was delivered. */
  readonly recovered: boolean;
  /** Messages after this position reach the subscriber (recovered ones included). */
  readonly position: Position;
}

export interface HubPublishOptions<S> {
  /** Leave this subscriber out of the fan-out (the sender), even when the message comes back through Redis. */
  exclude?: S;
  /** Send as binary. Default: true for bytes, false for a string. */
  binary?: boolean;
}

/** The topic's subscribers minus the excluded sender, without copying the set. */
export function* without<S>(subscribers: Iterable<S>, excluded: S): Generator<S> {
  for (const subscriber of subscribers) if (subscriber !== excluded) yield subscriber;
}

/** Publish data as a Buffer without copying bytes that already are one (or a view of one). */
export function toBuffer(data: PublishData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  throw new TypeError(`publish data must be a string, Buffer, Uint8Array or ArrayBuffer, got ${data === null ? 'null' : typeof data}`);
}

/** A throwing app callback must not break the delivery loop, nor be swallowed: it surfaces as uncaught, later. */
export function rethrowLater(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}
