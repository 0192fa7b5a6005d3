/**
 * What a Connection is configured with, and what one send() may ask for.
 */
import type { MaskSource } from './events.js';
import type { MessageCompressor } from './deflate/compressor.js';

export interface ConnectionOptions {
  /** 'client' masks outgoing frames and fails masked incoming ones; 'server' the reverse. */
  role: 'client' | 'server';
  /** See DEFAULTS.maxMessageBytes. */
  maxMessageBytes?: number;
  /** See DEFAULTS.maxFragments. */
  maxFragments?: number;
  /** See DEFAULTS.fragmentOverheadBytes (0 allowed, Infinity not). */
  fragmentOverheadBytes?: number;
  /** Negotiated permessage-deflate, or undefined (then RSV1 is a protocol error). */
  compressor?: MessageCompressor;
  /**
   * Messages smaller than this many bytes are sent uncompressed. See
   * DEFLATE_DEFAULTS.threshold (1024).
   */
  compressThresholdBytes?: number;
  /** Masking key source for clients (default: crypto-random keys, batched). */
  maskSource?: MaskSource;
  /** Start OPEN (the adapter completed the handshake). Default true. */
  isOpen?: boolean;
}

export interface SendOptions {
  /** Send as binary (opcode 2) instead of text (opcode 1). Default: binary for Buffers, text for strings. */
  isBinary?: boolean;
  /** Compress when an extension is negotiated (default true, subject to the threshold). */
  compress?: boolean;
  /**
   * False sends a non-final fragment; the next send continues the message
   * (opcode 0). Fragmented messages are never compressed.
   */
  fin?: boolean;
}
