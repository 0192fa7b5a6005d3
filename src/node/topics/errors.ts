/**
 * Errors of the topic layer. They extend SockwaveError so `instanceof` and the
 * `code` field work like everywhere else in sockwave.
 */
import { ErrorCode, SockwaveError } from '../../core/errors.js';

/** Stable codes of the topic layer: the SW_BACKPLANE_* entries of the core's ErrorCode, under shorter names. */
export const TopicErrorCode = {
  /** The backplane could not take the publish: its outage queue is full (count or bytes). */
  QUEUE_FULL: ErrorCode.BACKPLANE_QUEUE_FULL,
  /** The backplane or hub was closed; pending publishes reject with this. */
  CLOSED: ErrorCode.BACKPLANE_CLOSED,
  /** The backing store refused the operation for a reason that retrying will not fix. */
  FAILED: ErrorCode.BACKPLANE_FAILED,
} as const;
export type TopicErrorCode = (typeof TopicErrorCode)[keyof typeof TopicErrorCode];

export class BackplaneError extends SockwaveError {
  declare readonly code: ErrorCode;
  /** The topic concerned, when there is one. */
  readonly topic: string | undefined;
  constructor(code: TopicErrorCode, message: string, topic?: string, options?: { cause?: unknown }) {
    super(code, message, options);
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
