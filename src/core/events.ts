/**
 * The contract between the sans-I/O core and its adapters: what the core tells
 * the adapter (events, bytes to write, transport instructions). The
 * compression interface is in deflate/compressor.ts.
 */
import type { SockwaveError } from './errors.js';

export const ReadyState = {
  CONNECTING: 0,
  OPEN: 1,
  CLOSING: 2,
  CLOSED: 3,
} as const;
export type ReadyState = (typeof ReadyState)[keyof typeof ReadyState];

/** Events the core reports, a discriminated union on `type`. */
export type CoreEvent =
  /** A complete, validated message. Text data is valid UTF-8 bytes (not yet decoded). */
  | { type: 'message'; data: Buffer; isBinary: boolean }
  /**
   * A ping arrived; the core already wrote the pong with the same payload
   * (or, with sink.callsWriteCallbacks, deferred it behind a pong not yet
   * written out: see that field).
   */
  | { type: 'ping'; data: Buffer }
  | { type: 'pong'; data: Buffer }
  /**
   * The peer's close frame arrived (state is now CLOSING or CLOSED). `code` is
   * 1005 when the frame had no payload. The core already queued the echo.
   */
  | { type: 'close-frame'; code: number; reason: string }
  /**
   * The peer broke the protocol or a limit. The core has already queued the
   * close frame with `error.closeCode` (when one may still be sent) and moved
   * to CLOSING; the adapter should report the error, then follow `shutdown`.
   */
  | { type: 'error'; error: SockwaveError }
  /**
   * Transport instruction. `end`: half-close our side now (server after the
   * closing handshake: RFC 6455 §7.1.1 says the server closes TCP first).
   * `await-peer-close`: we are done; expect the peer to close TCP, and destroy
   * the transport when `closeTimeoutMs` runs out.
   */
  | { type: 'shutdown'; mode: 'end' | 'await-peer-close' }
  /** Final event, exactly once: state is CLOSED. 1006 when no close frame was received. */
  | { type: 'closed'; code: number; reason: string; wasClean: boolean };

export type CoreEventType = CoreEvent['type'];

/**
 * Where the core puts its output. Called synchronously, in wire order, from
 * inside `receive()` and the send/ping/close calls (and from extension
 * callbacks when compression is asynchronous).
 */
export interface ConnectionSink {
  /**
   * Bytes for the wire, in order. A frame may arrive as two calls (header,
   * then an unmodified payload buffer) so large payloads are never copied.
   * `cb`, when given, is for the caller of `send` and runs once the adapter
   * has handed the bytes to the transport. The core itself waits for no
   * callback unless `callsWriteCallbacks` says it may.
   */
  write(data: Buffer, cb?: (error?: Error | null) => void): void;
  /** An event for the application (or the adapter). */
  event(event: CoreEvent): void;
  /**
   * Optional: receives messages instead of event({ type: 'message' }), so
   * no event object is made per message.
   */
  message?(data: Buffer, isBinary: boolean): void;
  /**
   * Optional, for adapters that batch output: room for one small frame
   * (at most MAX_RESERVED_FRAME_BYTES) in the sink's own output buffer,
   * instead of a buffer per frame. Returns that buffer; the frame goes at
   * `reservedOffset` and counts as written (in order) once the core filled
   * it, which it does before any other call to the sink. `cb` as for write.
   */
  reserve?(bytes: number, cb?: (error?: Error | null) => void): Buffer;
  /** Where the bytes from the last reserve() start. */
  readonly reservedOffset?: number;
  /**
   * Optional: called (outside receive()) when an asynchronous decompression
   * finished and everything received meanwhile has been parsed, i.e. when
   * `isReceivePaused` turned false: the adapter may read the transport again.
   */
  receiveResumed?(): void;
  /**
   * Optional, read once: true promises that the sink calls every write
   * callback once the bytes are handed to the transport (or with an error).
   * The core then keeps at most one automatic pong in flight and answers
   * the pings that arrive meanwhile with one pong for the latest (RFC 6455
   * §5.5.3), which bounds a ping flood from a peer that does not read. Unset,
   * every ping is answered at once and no callback is waited for; bound a
   * flood by not reading while the transport is backed up.
   */
  readonly callsWriteCallbacks?: boolean;
}

/** Generates masking keys. Passed in so tests can be deterministic. */
export type MaskSource = (target: Buffer, offset: number) => void;
