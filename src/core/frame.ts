/**
 * Frame header layout (RFC 6455 §5.2), opcodes, and the frame encoder.
 *
 *  0               1               2               3
 *  FIN RSV1-3 opcode | MASK len7 | [16- or 64-bit length] | [masking key]
 *
 * Decoding lives in frame-parser.ts (the hot path parses straight out of
 * the incoming chunk) with the header rules in frame-header-rules.ts; this
 * file holds what encoder and decoder share.
 */
import { copyMasked, randomMaskSource } from './mask.js';
import type { MaskSource } from './events.js';

/** RFC 6455 §5.2 / §11.8 opcodes. 3-7 and 0xB-0xF are reserved. */
export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** RFC 6455 §5.5: control frames carry at most 125 bytes of payload. */
export const MAX_CONTROL_PAYLOAD_BYTES = 125;

/** True for opcodes RFC 6455 defines (everything else is reserved: 1002). */
export function isKnownOpcode(opcode: number): boolean {
  return opcode <= 2 || (opcode >= 8 && opcode <= 10);
}

/** RFC 6455 §5.5: opcodes with the high bit set are control frames. */
export function isControlOpcode(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}

/** Bytes a header needs for a payload of `length` bytes, with or without a masking key. */
export function headerLength(length: number, isMasked: boolean): number {
  return (length < 126 ? 2 : length < 65536 ? 4 : 10) + (isMasked ? 4 : 0);
}

/**
 * Writes a frame header into `target` at `offset` and returns the offset of
 * the masking key (when `isMasked`) or of the payload. The masking key bytes
 * are left for the caller to fill.
 */
export function writeHeader(
  target: Buffer,
  offset: number,
  opcode: number,
  length: number,
  fin: boolean,
  rsv1: boolean,
  isMasked: boolean,
): number {
  target[offset] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  const maskBit = isMasked ? 0x80 : 0;
  if (length < 126) {
    target[offset + 1] = maskBit | length;
    return offset + 2;
  }
  if (length < 65536) {
    target[offset + 1] = maskBit | 126;
    target[offset + 2] = length >>> 8;
    target[offset + 3] = length & 0xff;
    return offset + 4;
  }
  // RFC 6455 §5.2: 64-bit length, most significant bit 0. JS lengths stay below 2^53.
  target[offset + 1] = maskBit | 127;
  target.writeUInt32BE(Math.floor(length / 0x100000000), offset + 2);
  target.writeUInt32BE(length >>> 0, offset + 6);
  return offset + 10;
}

/** Payloads below this size are copied next to their header so a frame is one write. */
export const COPY_THRESHOLD_BYTES = 16 * 1024;

export interface EncodeFrameOptions {
  /** Default true. */
  fin?: boolean;
  /** Set RSV1 (first frame of a permessage-deflate message). Default false. */
  rsv1?: boolean;
  /**
   * Client frames must be masked (RFC 6455 §5.3): pass `true` for random keys
   * or a MaskSource for deterministic ones. Default false (server frames).
   */
  mask?: boolean | MaskSource;
}

/**
 * Encodes one frame as one or two buffers (header + unmodified payload for
 * large unmasked payloads, so the payload is never copied). The server uses
 * this to encode a broadcast once and write the same buffers to many sockets.
 */
export function encodeFrame(opcode: number, payload: Buffer | Uint8Array, options: EncodeFrameOptions = {}): Buffer[] {
  const fin = options.fin !== false;
  const rsv1 = options.rsv1 === true;
  const maskSource = options.mask === true ? randomMaskSource : options.mask || undefined;
  const length = payload.length;
  const isMasked = maskSource !== undefined;
  const headerBytes = headerLength(length, isMasked);
  if (!isMasked && length >= COPY_THRESHOLD_BYTES) {
    const header = Buffer.allocUnsafe(headerBytes);
    writeHeader(header, 0, opcode, length, fin, rsv1, false);
    const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.length);
    return [header, body];
  }
  const out = Buffer.allocUnsafe(headerBytes + length);
  const keyOffset = writeHeader(out, 0, opcode, length, fin, rsv1, isMasked);
  if (maskSource !== undefined) {
    maskSource(out, keyOffset);
    copyMasked(payload, 0, out, headerBytes, length, out.readInt32LE(keyOffset), 0);
  } else out.set(payload, headerBytes);
  return [out];
}
