/**
 * Frame header decoding helpers and the rules that need only the first two
 * bytes, so the FrameParser can fail a frame before its extended length and
 * masking key arrive.
 */
import { Opcode } from './frame.js';

/** Header bytes a frame needs, from its second byte (7-bit length code and mask bit). */
export function headerBytesFor(b1: number): number {
  const len7 = b1 & 0x7f;
  return (len7 < 126 ? 2 : len7 === 126 ? 4 : 10) + (b1 & 0x80 ? 4 : 0);
}

/**
 * The payload length of the complete header at `buf[o]` (RFC 6455 §5.2):
 * -1 when the 64-bit form has its most significant bit set (a protocol
 * error), Infinity when it exceeds what a JavaScript number holds exactly.
 */
export function readPayloadLength(buf: Buffer, o: number): number {
  const len7 = buf[o + 1] & 0x7f;
  if (len7 < 126) return len7;
  if (len7 === 126) return buf.readUInt16BE(o + 2);
  const high = buf.readUInt32BE(o + 2);
  // RFC 6455 §5.2: "the most significant bit MUST be 0".
  if (high >= 0x80000000) return -1;
  if (high > 0x1fffff) return Infinity;
  return high * 0x100000000 + buf.readUInt32BE(o + 6);
}

/**
 * The rules the first two header bytes decide (RFC 6455 §5.2, §5.4, §5.5;
 * RFC 7692 §6), given the fragment state (`isInMessage`: a fragmented
 * message is in progress). Returns the violation, or
 * undefined.
 * The control frame length is checked with the full header (non-minimal
 * length encodings are accepted, as for data frames).
 */
export function firstBytesViolation(b0: number, b1: number, isClient: boolean, isInMessage: boolean, hasCompressor: boolean): string | undefined {
  const opcode = b0 & 0x0f;
  const rsv1 = (b0 & 0x40) !== 0;
  if ((b0 & 0x30) !== 0) return 'RSV2 or RSV3 set without a negotiated extension';
  // RFC 6455 §5.1: servers fail unmasked frames, clients fail masked ones.
  if ((b1 & 0x80) !== 0 === isClient) {
    return isClient ? 'server sent a masked frame' : 'client sent an unmasked frame';
  }
  if (opcode >= 8) {
    if (opcode > 10) return `reserved opcode ${opcode}`;
    // RFC 6455 §5.5: control frames are final, and RFC 7692 §6: never compressed.
    if ((b0 & 0x80) === 0) return 'fragmented control frame';
    if (rsv1) return 'RSV1 set on a control frame';
    return undefined;
  }
  if (opcode > 2) return `reserved opcode ${opcode}`;
  if (opcode === Opcode.CONTINUATION) {
    if (!isInMessage) return 'continuation frame without a message to continue';
    if (rsv1) return 'RSV1 set on a continuation frame';
  } else {
    if (isInMessage) return 'new data frame inside a fragmented message';
    if (rsv1 && !hasCompressor) return 'RSV1 set without a negotiated extension';
  }
  return undefined;
}
