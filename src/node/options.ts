/**
 * The Node layer's defaults, in one place, and the one validation of the
 * limits that the client and the server share. The protocol limits
 * themselves (message size, fragments, head sizes, timeouts) default to the
 * core's DEFAULTS (core/options.ts); this file adds what only exists where
 * there are sockets and timers: heartbeats, capacity, backpressure and
 * shutdown. Every entry point validates once, at construction, and throws a
 * RangeError naming the option; `Infinity` disables a limit, `0` never
 * means "no limit".
 */
import { rejectUnknownOptions, resolveSharedLimits, validateLimit } from '../core/options.js';
import type { BackpressurePolicy } from './backpressure.js';
import type { HeartbeatOptions } from './heartbeat.js';

const MiB = 1024 * 1024;

export const NODE_DEFAULTS = {
  /**
   * Server heartbeat, in ms: ping a peer silent for `intervalMs`, terminate
   * it when nothing arrives within `timeoutMs` more. 30 s stays below the
   * idle timeouts of common NATs and load balancers (60 s and up), so
   * mappings stay alive, and a dead peer (half-open TCP) is gone within 40 s
   * instead of TCP's many minutes. A socket with traffic is never pinged.
   */
  heartbeat: { intervalMs: 30_000, timeoutMs: 10_000 },
  /**
   * Client keepalive, in ms, used when `keepalive: true`: the same rhythm as
   * the server heartbeat. Off unless asked for, since servers normally run
   * the heartbeat; on expiry 'error' (TimeoutError) then 'close' 1006.
   */
  keepalive: { intervalMs: 30_000, timeoutMs: 10_000 },
  /**
   * Handshakes in flight (TCP accepted, 101 not yet written), a count. 1024
   * bounds the memory a flood of half-finished handshakes can pin (each holds
   * at most maxHeaderBytes) while far above what honest clients need at once.
   * Over it: 503 with Retry-After.
   */
  maxPendingHandshakes: 1024,
  /**
   * Open WebSocket connections, a count. Infinity: the right number depends
   * on the machine (each idle socket costs about 5 KiB); set it to shed load
   * before memory runs out. Over it: 503 with Retry-After.
   */
  maxConnections: Infinity,
  /**
   * Per-socket send queue bound (bufferedAmount), in bytes. 16 MiB holds a
   * full-size message plus slack, so a peer that stops reading costs a
   * bounded amount of memory when the policy is 'drop' or 'close'.
   */
  highWaterMarkBytes: 16 * MiB,
  /**
   * What send() does above highWaterMarkBytes. 'queue' (ws's behaviour):
   * keep queuing and return false, so existing apps behave as before; 'drop'
   * and 'close' make the bound hard (backpressure.ts).
   */
  backpressurePolicy: 'queue' as BackpressurePolicy,
  /**
   * Close with 1001 after this long without data messages, in ms. Infinity
   * (off): many apps hold quiet connections on purpose, and the heartbeat
   * already removes dead ones.
   */
  idleTimeoutMs: Infinity,
  /** Seconds in the Retry-After header of a 503 (capacity) refusal: long enough to spread reconnect storms. */
  retryAfterSeconds: 5,
  /**
   * Graceful shutdown (`server.close({ code, timeoutMs })`): close code 1001
   * (going away, RFC 6455 §7.4.1), and ms to wait for the closing handshakes
   * before terminating what is left; the same 10 s as a single close.
   */
  shutdown: { code: 1001, timeoutMs: 10_000 },
  /**
   * Opt-in: servers read large payloads into their message buffers and have
   * glibc reuse freed ones (node/socket/receive.ts, node/malloc-reuse.ts).
   * 1 MiB echoes then cost about half the CPU and no fresh kernel pages per
   * message, but the malloc change is process-wide and one-way: freed memory
   * stays with the process (a burst of 500 compressed connections left RSS at
   * its peak, and a second burst added 40 MiB more), so it is not a default
   * (docs/api.md "Large messages and memory").
   */
  ownReadBuffers: false as boolean,
} as const;

/** The limits both the client and the server take (their options interfaces extend this). */
export interface ConnectionLimitOptions {
  /**
   * Largest incoming message in bytes, after reassembly and decompression,
   * enforced while the message arrives (and while inflating). Default
   * 16 MiB (DEFAULTS.maxMessageBytes): enough for files and JSON documents,
   * small enough that a few hundred hostile peers cannot exhaust memory.
   * Over it: 'error' (MessageTooLargeError) then close 1009.
   */
  maxMessageBytes?: number;
  /**
   * Fragments allowed in one incoming message. Default 1,048,576
   * (DEFAULTS.maxFragments): split uploads pass, a flood of tiny fragments
   * does not. Over it: close 1009.
   */
  maxFragments?: number;
  /**
   * Time for the peer to answer our close frame (and end TCP), in ms. Default
   * 10 s: a slow but reading peer still finishes; a silent one cannot hold
   * the socket. On expiry: 'error' (TimeoutError) and the transport is destroyed.
   */
  closeTimeoutMs?: number;
  /**
   * Time for the whole opening handshake, in ms: for the server from TCP
   * accept (own server) or handleUpgrade() to the 101; for the client from
   * the proxy tunnel and TCP/TLS connect to the validated 101. Default 10 s:
   * slow links pass, a slowloris cannot hold a socket. On expiry the server
   * drops the socket; the client reports 'error' (TimeoutError) then 'close' 1006.
   */
  handshakeTimeoutMs?: number;
  /**
   * Largest HTTP head in the handshake (request or response line plus
   * headers), in bytes. Default 16 KiB, more than any browser sends. Over it:
   * the server answers 431; the client fails the handshake.
   */
  maxHeaderBytes?: number;
  /** Most header lines in the handshake's HTTP head. Default 100. Over it: as maxHeaderBytes. */
  maxHeaderCount?: number;
}

export type ResolvedConnectionLimits = Required<ConnectionLimitOptions>;

/** Validates and defaults the shared limits: the one validation lives in core (resolveSharedLimits). */
export function resolveConnectionLimits(o: ConnectionLimitOptions): ResolvedConnectionLimits {
  return resolveSharedLimits(o);
}

/**
 * The server's heartbeat and the client's keepalive have the same shape:
 * `name` is the option ('heartbeat' or 'keepalive') for the error message.
 */
export function resolveLiveness(name: string, value: Partial<HeartbeatOptions>, defaults: HeartbeatOptions): HeartbeatOptions {
  rejectUnknownOptions(value, ['intervalMs', 'timeoutMs'], `${name}.`);
  return {
    intervalMs: validateLimit(`${name}.intervalMs`, value.intervalMs ?? defaults.intervalMs),
    timeoutMs: validateLimit(`${name}.timeoutMs`, value.timeoutMs ?? defaults.timeoutMs),
  };
}
