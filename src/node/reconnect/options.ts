/**
 * Options of the reconnecting client (reconnecting-websocket.ts): the
 * backoff, the attempt limit, the outgoing queue while disconnected and the
 * close codes that end the client instead of reconnecting. Validated once,
 * at construction, with a RangeError/TypeError naming the option.
 */
import type { ClientOptions } from '../client/options.js';

export type QueueOverflowPolicy = 'reject' | 'drop-oldest';

/** What the client knows about a connection that ended, handed to `shouldReconnect`. */
export interface DisconnectInfo {
  /** The close code (1006 when the handshake failed or the TCP connection dropped). */
  code: number;
  reason: string;
  /** The error reported before the close, if any (handshake failure, timeout). */
  error: Error | undefined;
  /** False when the handshake never completed. */
  wasOpen: boolean;
}

export interface ReconnectOptions {
  /**
   * Lowest delay before an attempt, in ms. Default 1,000: a server that is
   * restarting gets a second to come back, and a fleet of clients that lost
   * the same server does not hammer it at once. 0 is allowed (retry at once).
   */
  minDelayMs?: number;
  /**
   * Highest delay before an attempt, in ms. Default 30,000: a long outage
   * costs each client one attempt per ~30 s. Must be >= minDelayMs.
   */
  maxDelayMs?: number;
  /**
   * Growth of the delay ceiling per failed attempt. Default 2. The delay
   * before retry n (n = 0 first) is drawn uniformly from
   * [minDelayMs, min(maxDelayMs, minDelayMs * factor^(n+1))] ("full jitter",
   * offset by the minimum), so clients that dropped together spread out.
   */
  factor?: number;
  /**
   * Consecutive failed attempts after which the client gives up and emits
   * 'close' (code 1006). Default Infinity: a client reconnects until closed.
   */
  maxAttempts?: number;
  /**
   * How long a connection must stay open before the backoff resets, in ms.
   * Default 5,000: a server that accepts and then drops at once (crash loop,
   * rejected token) still sees growing delays instead of a reconnect storm.
   */
  minUptimeMs?: number;
  /**
   * Messages kept while disconnected, sent in order once a connection opens.
   * Default 1,000. Infinity keeps everything (memory is then the app's
   * concern); 0 queues nothing (every send while disconnected overflows).
   */
  maxQueuedMessages?: number;
  /**
   * Bytes kept while disconnected (strings counted as UTF-8). Default 1 MiB,
   * so a long outage costs a bounded amount of memory.
   */
  maxQueuedBytes?: number;
  /**
   * Past either bound: 'reject' (default) refuses the new message, 'drop-oldest'
   * discards queued messages from the front until it fits. Either way the
   * client emits 'dropped' (data, reason) for each message not sent, and
   * send() returns false for a refused one.
   */
  queueOverflow?: QueueOverflowPolicy;
  /**
   * Decides whether a connection that ended should be followed by another
   * attempt. Default: yes, except after close codes 1003 (unsupported data),
   * 1008 (policy violation) and 4000-4999 (application codes): those are the
   * server saying "do not come back like this". Not consulted after the
   * app's own close().
   */
  shouldReconnect?: (info: DisconnectInfo) => boolean;
  /** Source of randomness for the jitter, in [0, 1). Default Math.random (tests pass a fixed one). */
  random?: () => number;
}

/**
 * The reconnecting client's options: the Node client's options for every
 * attempt, plus the reconnection policy. `signal` aborts the whole client
 * (like close(), without a close frame when not open).
 */
export interface ReconnectingClientOptions extends ClientOptions, ReconnectOptions {}

export interface ResolvedReconnectOptions {
  minDelayMs: number;
  maxDelayMs: number;
  factor: number;
  maxAttempts: number;
  minUptimeMs: number;
  maxQueuedMessages: number;
  maxQueuedBytes: number;
  queueOverflow: QueueOverflowPolicy;
  shouldReconnect: (info: DisconnectInfo) => boolean;
  random: () => number;
}

export const RECONNECT_DEFAULTS = {
  minDelayMs: 1000,
  maxDelayMs: 30_000,
  factor: 2,
  maxAttempts: Infinity,
  minUptimeMs: 5000,
  maxQueuedMessages: 1000,
  maxQueuedBytes: 1024 * 1024,
  queueOverflow: 'reject' as QueueOverflowPolicy,
} as const;

/** The default `shouldReconnect`: everything but the "do not come back" close codes. */
export function isReconnectable(info: DisconnectInfo): boolean {
  const { code } = info;
  return code !== 1003 && code !== 1008 && !(code >= 4000 && code <= 4999);
}

function nonNegative(name: string, value: unknown, fallback: number, allowInfinity: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (!allowInfinity && !Number.isFinite(value))) {
    throw new RangeError(`option ${name} must be a number >= 0${allowInfinity ? ' (or Infinity)' : ''}, got ${String(value)}`);
  }
  return value;
}

/** Splits the reconnect options from the per-attempt client options and validates them. */
export function resolveReconnectOptions(options: ReconnectingClientOptions = {}): {
  reconnect: ResolvedReconnectOptions;
  client: ClientOptions;
  signal: AbortSignal | undefined;
} {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const {
    minDelayMs,
    maxDelayMs,
    factor,
    maxAttempts,
    minUptimeMs,
    maxQueuedMessages,
    maxQueuedBytes,
    queueOverflow,
    shouldReconnect,
    random,
    signal,
    ...client
  } = options;
  const reconnect: ResolvedReconnectOptions = {
    minDelayMs: nonNegative('minDelayMs', minDelayMs, RECONNECT_DEFAULTS.minDelayMs, false),
    maxDelayMs: nonNegative('maxDelayMs', maxDelayMs, RECONNECT_DEFAULTS.maxDelayMs, false),
    factor: nonNegative('factor', factor, RECONNECT_DEFAULTS.factor, false),
    maxAttempts: nonNegative('maxAttempts', maxAttempts, RECONNECT_DEFAULTS.maxAttempts, true),
    minUptimeMs: nonNegative('minUptimeMs', minUptimeMs, RECONNECT_DEFAULTS.minUptimeMs, false),
    maxQueuedMessages: nonNegative('maxQueuedMessages', maxQueuedMessages, RECONNECT_DEFAULTS.maxQueuedMessages, true),
    maxQueuedBytes: nonNegative('maxQueuedBytes', maxQueuedBytes, RECONNECT_DEFAULTS.maxQueuedBytes, true),
    queueOverflow: queueOverflow ?? RECONNECT_DEFAULTS.queueOverflow,
    shouldReconnect: shouldReconnect ?? isReconnectable,
    random: random ?? Math.random,
  };
  if (reconnect.maxDelayMs < reconnect.minDelayMs) {
    throw new RangeError(`option maxDelayMs (${reconnect.maxDelayMs}) must be >= minDelayMs (${reconnect.minDelayMs})`);
  }
  if (reconnect.factor < 1) throw new RangeError(`option factor must be >= 1, got ${reconnect.factor}`);
  if (!Number.isInteger(reconnect.maxAttempts) && reconnect.maxAttempts !== Infinity) {
    throw new RangeError(`option maxAttempts must be an integer, got ${reconnect.maxAttempts}`);
  }
  if (reconnect.queueOverflow !== 'reject' && reconnect.queueOverflow !== 'drop-oldest') {
    throw new TypeError(`option queueOverflow must be 'reject' or 'drop-oldest', got ${String(queueOverflow)}`);
  }
  if (typeof reconnect.shouldReconnect !== 'function') throw new TypeError('option shouldReconnect must be a function');
  if (typeof reconnect.random !== 'function') throw new TypeError('option random must be a function');
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('option signal must be an AbortSignal');
  // The signal belongs to the whole client, not to one attempt's handshake.
  return { reconnect, client, signal };
}

/**
 * The delay before attempt `n` (0 = the first attempt after a disconnect):
 * full jitter over [min, min(max, min * factor^(n+1))]: even the first
 * retry is spread over [min, 2 min], since clients dropped by one server
 * restart would otherwise all come back at the same moment.
 */
export function backoffDelayMs(options: ResolvedReconnectOptions, n: number): number {
  const { minDelayMs, maxDelayMs, factor } = options;
  // min * factor^n overflows to Infinity for large n, which the cap absorbs.
  const ceiling = Math.min(maxDelayMs, Math.max(minDelayMs, 1) * factor ** (n + 1));
  const low = Math.min(minDelayMs, ceiling);
  return low + options.random() * (ceiling - low);
}
