/**
 * Errors of the topic layer. They extend SockwaveError so `instanceof` and the
 * `code` field work like everywhere else in sockwave.
 */
import { SockwaveError, type ErrorCode } from '../../core/errors.js';

/** Stable codes of the topic layer (to be listed with the others in the README's error table). */
export const TopicErrorCode = {
  /** The backplane could not take the publish: its outage queue is full (count or bytes). */
  QUEUE_FULL: 'SW_BACKPLANE_QUEUE_FULL',
  /** The backplane or hub was closed; pending publishes reject with this. */
  CLOSED: 'SW_BACKPLANE_CLOSED',
  /** The backing store refused the operation for a reason that retrying will not fix. */
  FAILED: 'SW_BACKPLANE_FAILED',
} as const;
export type TopicErrorCode = (typeof TopicErrorCode)[keyof typeof TopicErrorCode];

export class BackplaneError extends SockwaveError {
  declare readonly code: ErrorCode;
  /** The topic concerned, when there is one. */
  readonly topic: string | undefined;
  constructor(code: TopicErrorCode, message: string, topic?: string, options?: { cause?: unknown }) {
    // The core's ErrorCode union does not list the topic codes yet (src/core is
    // owned by another change); the cast keeps the field's type until it does.
    super(code as unknown as ErrorCode, message, options);
    this.topic = topic;
  }
}

/** Publish refused because the outage queue reached `maxQueuedPublishes` or `maxQueuedBytes`. */
export class BackplaneQueueFullError extends BackplaneError {
  readonly queuedPublishes: number;
  readonly queuedBytes: number;
  constructor(topic: string, queuedPublishes: number, queuedBytes: number, limitName: string) {
    super(
      TopicErrorCode.QUEUE_FULL,
      `publish refused: ${queuedPublishes} publishes (${queuedBytes} bytes) already wait for the backplane, at ${limitName}`,
      topic,
    );
    this.queuedPublishes = queuedPublishes;
    this.queuedBytes = queuedBytes;
  }
}
