/**
 * The RFC 6455 state machine: bytes in -> events, calls -> bytes out.
 * Imports nothing from Node I/O and owns no timers: the adapter arms the close
 * timer when told `shutdown`, and reports the transport's end with
 * `receiveEof()` / `transportClosed()`.
 *
 * SKELETON: the public surface below is the contract adapters code against.
 */
import type { ConnectionSink, MaskSource, MessageCompressor, ReadyState } from './events.js';

export interface ConnectionOptions {
  /** 'client' masks outgoing frames and fails masked incoming ones; 'server' the reverse. */
  role: 'client' | 'server';
  /** See DEFAULTS.maxMessageBytes. */
  maxMessageBytes?: number;
  /** See DEFAULTS.maxFragments. */
  maxFragments?: number;
  /** Negotiated permessage-deflate, or undefined (then RSV1 is a protocol error). */
  compressor?: MessageCompressor;
  /** Messages smaller than this many bytes are sent uncompressed. */
  compressThresholdBytes?: number;
  /** Masking key source for clients (default: crypto-random keys, batched). */
  maskSource?: MaskSource;
  /** Start OPEN (the adapter completed the handshake). Default true. */
  isOpen?: boolean;
}

export interface SendOptions {
  /** Send as binary (opcode 2) instead of text (opcode 1). */
  isBinary?: boolean;
  /** Compress when an extension is negotiated (default true, subject to the threshold). */
  compress?: boolean;
  /** False sends a non-final fragment; the next send continues the message (opcode 0). */
  fin?: boolean;
}

export declare class Connection {
  constructor(options: ConnectionOptions, sink: ConnectionSink);
  readonly role: 'client' | 'server';
  readonly readyState: ReadyState;
  /** Bytes accepted by send()/ping()/pong() not yet handed to sink.write (e.g. waiting for compression). */
  readonly pendingBytes: number;
  /** Feed bytes from the transport. Never throws on peer faults. */
  receive(chunk: Buffer): void;
  /** The peer half-closed or the transport ended (EOF). */
  receiveEof(): void;
  /** The transport is gone; emits the final `closed` event if not yet emitted. */
  transportClosed(): void;
  /** Queue a data message. Throws ConnectionClosedError unless OPEN. */
  send(data: Buffer | string, options?: SendOptions, cb?: (error?: Error | null) => void): void;
  ping(data?: Buffer | string, cb?: (error?: Error | null) => void): void;
  pong(data?: Buffer | string, cb?: (error?: Error | null) => void): void;
  /** Start the closing handshake. Throws RangeError/TypeError on a bad code or a reason over 123 bytes. */
  close(code?: number, reason?: string): void;
  /** Fail the WebSocket Connection (RFC 6455 §7.1.7) with `closeCode`. */
  fail(closeCode: number, reason?: string): void;
  /** True when the reader should pause (e.g. waiting on async decompression). */
  readonly isReceivePaused: boolean;
}
