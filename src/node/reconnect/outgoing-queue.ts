/**
 * Messages the app sent while the reconnecting client had no open
 * connection: kept in order, bounded in count and bytes, flushed into the
 * next connection. What happens past a bound is the caller's policy
 * ('reject' the new message or 'drop-oldest'); every message that will not
 * be sent is returned so the client can tell the app.
 */
import type { SendData } from '../socket/send-data.js';
import type { SocketSendOptions } from '../socket/send.js';
import type { QueueOverflowPolicy } from './options.js';

export interface QueuedMessage {
  data: SendData;
  options: SocketSendOptions | undefined;
  bytes: number;
}

/** The size a message will have on the wire (payload only): what the byte bound counts. */
export function payloadBytes(data: SendData): number {
  if (typeof data === 'string') return Buffer.byteLength(data, 'utf8');
  if (typeof data === 'number') return String(data).length;
  return data.byteLength;
}

export class OutgoingQueue {
  readonly #maxMessages: number;
  readonly #maxBytes: number;
  readonly #policy: QueueOverflowPolicy;
  #messages: QueuedMessage[] = [];
  #bytes = 0;

  constructor(maxMessages: number, maxBytes: number, policy: QueueOverflowPolicy) {
    this.#maxMessages = maxMessages;
    this.#maxBytes = maxBytes;
    this.#policy = policy;
  }

  get length(): number {
    return this.#messages.length;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Queues `message` within the bounds. Returns the messages that will not
   * be sent: the new one itself ('reject', or a message larger than the
   * whole byte bound), or the oldest ones ('drop-oldest').
   */
  push(message: QueuedMessage): { isAccepted: boolean; dropped: QueuedMessage[] } {
    const fitsAlone = this.#maxMessages >= 1 && message.bytes <= this.#maxBytes;
    if (!fitsAlone) return { isAccepted: false, dropped: [message] };
    const isFull = (): boolean =>
      this.#messages.length + 1 > this.#maxMessages || this.#bytes + message.bytes > this.#maxBytes;
    if (!isFull()) {
      this.#append(message);
      return { isAccepted: true, dropped: [] };
    }
    if (this.#policy === 'reject') return { isAccepted: false, dropped: [message] };
    const dropped: QueuedMessage[] = [];
    while (isFull()) {
      const oldest = this.#messages.shift() as QueuedMessage;
      this.#bytes -= oldest.bytes;
      dropped.push(oldest);
    }
    this.#append(message);
    return { isAccepted: true, dropped };
  }

  /** Empties the queue, oldest first. */
  take(): QueuedMessage[] {
    const messages = this.#messages;
    this.#messages = [];
    this.#bytes = 0;
    return messages;
  }

  #append(message: QueuedMessage): void {
    this.#messages.push(message);
    this.#bytes += message.bytes;
  }
}
