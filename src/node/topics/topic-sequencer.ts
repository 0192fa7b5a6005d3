/**
 * Puts one topic's messages in order for the hub, whatever the wire did.
 *
 * Pub/sub delivers at most once: a message published while the subscriber
 * connection was down is simply not sent to it. The history stream has every
 * message, numbered. So the sequencer passes a message on only when its
 * offset follows the last one; anything else (a hole, a new epoch, a
 * reconnection) starts a catch-up that reads the stream from the last offset
 * while newer live messages wait, then merges the two by offset. What the
 * stream no longer holds is reported as a gap, before the messages after it.
 *
 * It also drops a message seen before under another offset: a publish
 * retried after Redis lost its data is stored again in the new epoch, and
 * (origin, id) recognises it.
 */
import type { BackplaneMessage, GapInfo, Position } from './backplane.js';

export interface SequencerHistory {
  readonly position: Position;
  /** Oldest first: after `since` in the same epoch, else the current epoch's retained tail. */
  readonly messages: readonly BackplaneMessage[];
}

export interface SequencerHooks {
  emit(message: BackplaneMessage): void;
  gap(gap: GapInfo): void;
  /** Reads the stream after `since`; retries by itself until Redis answers (or rejects when closed). */
  readHistory(since: Position): Promise<SequencerHistory>;
}

/** Origins remembered per topic for retry dedupe; older ones are forgotten first. */
const MAX_ORIGINS = 64;
/** Live messages held during a catch-up; past it they are dropped and re-read from the stream. */
const MAX_PENDING = 10_000;

export class TopicSequencer {
  readonly topic: string;
  readonly #hooks: SequencerHooks;
  /** '' until the topic has an epoch (a topic nobody has published to yet). */
  #epoch = '';
  #offset = 0;
  #hasBaseline = false;
  #isSyncing = false;
  #needsAnotherSync = false;
  #isOverflowed = false;
  #pending: BackplaneMessage[] = [];
  readonly #lastIdByOrigin = new Map<string, number>();
  #isClosed = false;

  constructor(topic: string, hooks: SequencerHooks) {
    this.topic = topic;
    this.#hooks = hooks;
  }

  get position(): Position {
    return { epoch: this.#epoch, offset: this.#offset };
  }

  get hasBaseline(): boolean {
    return this.#hasBaseline;
  }

  /** Sets the starting point: nothing at or before it is emitted. */
  setBaseline(position: Position): void {
    this.#epoch = position.epoch;
    this.#offset = position.offset;
    this.#hasBaseline = true;
    this.#releasePending();
  }

  /** A message from the live channel. */
  accept(message: BackplaneMessage): void {
    if (this.#isClosed) return;
    if (!this.#hasBaseline || this.#isSyncing) {
      if (this.#pending.length < MAX_PENDING) this.#pending.push(message);
      else this.#isOverflowed = true;
      return;
    }
    if (message.epoch === this.#epoch) {
      if (message.offset <= this.#offset) return;
      if (message.offset === this.#offset + 1) {
        this.#emit(message);
        return;
      }
    } else if (this.#epoch === '' && this.#offset === 0 && message.offset === 1) {
      this.#emit(message);
      return;
    }
    this.#pending.push(message);
    this.sync();
  }

  /** Catches up from the stream (after a reconnection, or on a hole). */
  sync(): void {
    if (this.#isClosed || !this.#hasBaseline) return;
    if (this.#isSyncing) {
      this.#needsAnotherSync = true;
      return;
    }
    this.#isSyncing = true;
    this.#needsAnotherSync = false;
    this.#isOverflowed = false;
    this.#hooks.readHistory(this.position).then(
      (history) => {
        if (this.#isClosed) return;
        this.#applyHistory(history);
        this.#isSyncing = false;
        if (this.#needsAnotherSync || this.#isOverflowed) {
          this.#pending = [];
          this.sync();
        } else {
          this.#releasePending();
        }
      },
      () => {
        // Only a closed backplane rejects; nothing more to deliver.
        this.#isSyncing = false;
      },
    );
  }

  close(): void {
    this.#isClosed = true;
    this.#pending = [];
  }

  #applyHistory(history: SequencerHistory): void {
    const { position, messages } = history;
    if (position.epoch !== this.#epoch) {
      if (this.#epoch !== '') {
        // The history was reset: whatever followed our last offset in the old epoch is gone with it.
        this.#hooks.gap({
          topic: this.topic,
          reason: 'epoch',
          epoch: this.#epoch,
          fromOffset: this.#offset + 1,
          toOffset: null,
          nextEpoch: position.epoch,
        });
      }
      this.#epoch = position.epoch;
      this.#offset = 0;
    } else if (position.offset < this.#offset) {
      // Same epoch but the store is behind what we delivered: a failover to a
      // replica that missed the last writes, whose offsets new messages now
      // reuse. Report it, then read the stream again from its start: (origin,
      // id) tells the messages we delivered from the ones that took their offsets.
      this.#hooks.gap({
        topic: this.topic,
        reason: 'epoch',
        epoch: this.#epoch,
        fromOffset: position.offset + 1,
        toOffset: null,
        nextEpoch: position.epoch,
      });
      this.#offset = 0;
      this.#needsAnotherSync = true;
      return;
    }
    const firstKept = messages.length > 0 ? messages[0].offset : position.offset + 1;
    if (firstKept > this.#offset + 1 && position.offset > this.#offset) {
      this.#hooks.gap({
        topic: this.topic,
        reason: 'missed',
        epoch: this.#epoch,
        fromOffset: this.#offset + 1,
        toOffset: Math.min(firstKept - 1, position.offset),
      });
      this.#offset = Math.min(firstKept - 1, position.offset);
    }
    for (const message of messages) if (message.offset > this.#offset) this.#emit(message);
  }

  #releasePending(): void {
    const pending = this.#pending;
    this.#pending = [];
    for (let i = 0; i < pending.length; i++) {
      this.accept(pending[i]);
      if (this.#isSyncing) {
        // A new catch-up started: keep the rest for after it, in order.
        this.#pending.push(...pending.slice(i + 1));
        return;
      }
    }
  }

  #emit(message: BackplaneMessage): void {
    this.#epoch = message.epoch;
    this.#offset = message.offset;
    const last = this.#lastIdByOrigin.get(message.origin);
    if (last !== undefined && message.id <= last) return;
    this.#lastIdByOrigin.delete(message.origin);
    this.#lastIdByOrigin.set(message.origin, message.id);
    if (this.#lastIdByOrigin.size > MAX_ORIGINS) {
      this.#lastIdByOrigin.delete(this.#lastIdByOrigin.keys().next().value!);
    }
    this.#hooks.emit(message);
  }
}
