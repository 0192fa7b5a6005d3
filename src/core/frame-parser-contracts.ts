/**
 * What the frame parser (frame-parser.ts) needs from the layers around it:
 * the message layer above it for data frames (message-reader.ts), the
 * connection that owns it for control frames and faults (connection-lifecycle.ts),
 * and the policy fixed at the handshake.
 */
import type { ProtocolError } from './errors.js';

/** What the parser asks of the message layer, for data frames (opcodes 0, 1, 2). */
export interface DataFrameHandler {
  /** The limits a data frame header must meet before its payload is read; fails and returns false. */
  checkDataFrame(opcode: number, fin: boolean, rsv1: boolean, length: number): boolean;
  /** A payload starts arriving in pieces: true to have each piece go through validatePiece(). */
  startPieces(): boolean;
  /** Validates one piece as it arrives; fails and returns false. */
  validatePiece(piece: Buffer): boolean;
  /** A complete data frame payload (unmasked). `isValidated`: its pieces went through validatePiece(). */
  onDataFrame(payload: Buffer, isValidated: boolean): void;
}

/** What the parser tells the connection that owns it. */
export interface FrameOwner {
  /** A complete, valid control frame (ping, pong or close). */
  onControlFrame(opcode: number, payload: Buffer): void;
  /** A peer fault: fail the connection with `error.closeCode`. */
  failWith(error: ProtocolError): void;
  /**
   * A handler threw while we were parsing (an application bug): the rest of
   * the input can no longer be parsed in step, so the connection must end.
   * Called before the exception propagates.
   */
  abortAfterThrow(): void;
  /** A pause ended and everything stored meanwhile was parsed (called outside receive()). */
  onReceiveResumed(): void;
}

export interface FramePolicy {
  /** Clients fail masked frames, servers unmasked ones (RFC 6455 §5.1). */
  isClient: boolean;
  /** RSV1 on a new data frame is allowed only with a negotiated compressor (RFC 7692 §6). */
  hasCompressor: boolean;
  /** Reported as the limit when a frame claims a length past 2^53 (see DEFAULTS.maxMessageBytes). */
  maxMessageBytes: number;
}
