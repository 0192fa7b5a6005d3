/**
 * Chunks of control frames only, handled without a receive side.
 *
 * A connection makes its receive side (MessageReader + FrameParser, ~370
 * bytes and two constructors) on the first bytes it receives and drops it
 * after a chunk of control frames only. The chunks that most often arrive
 * at a connection without one are exactly such chunks: a heartbeat's ping
 * or pong on an idle socket, the close frame of a connection that sent
 * nothing else. `isControlFramesOnly` checks a whole chunk first, so such a
 * chunk can be handled frame by frame by the connection (connection-lifecycle.ts)
 * and anything else, including every frame the parser would fail, still goes
 * through the parser with its rules and its answers.
 */
import { EMPTY_BUFFER } from './buffer-view.js';
import { MAX_CONTROL_PAYLOAD_BYTES } from './frame.js';
import { readKey, unmaskedPayload } from './mask.js';

/**
 * True when `chunk` is one or more complete control frames and nothing
 * else, each valid by RFC 6455 §5.2 and §5.5 as the parser checks it
 * (frame-header-rules.ts): FIN set, RSV bits clear, opcode close, ping or
 * pong, masked exactly when the peer is a client (`isClient`: we are the
 * client, so frames must be unmasked), a payload of at most 125 bytes in
 * the 7-bit length form.
 */
export function isControlFramesOnly(chunk: Buffer, isClient: boolean): boolean {
  const length = chunk.length;
  const headerBytes = isClient ? 2 : 6;
  const maskBit = isClient ? 0 : 0x80;
  let offset = 0;
  while (offset < length) {
    if (length - offset < 2) return false;
    const b0 = chunk[offset];
    const b1 = chunk[offset + 1];
    // FIN and no RSV bit (0x8_), opcode 8, 9 or 10.
    if (b0 < 0x88 || b0 > 0x8a) return false;
    if ((b1 & 0x80) !== maskBit) return false;
    const payloadBytes = b1 & 0x7f;
    if (payloadBytes > MAX_CONTROL_PAYLOAD_BYTES) return false;
    offset += headerBytes + payloadBytes;
  }
  return offset === length;
}

/**
 * The payload of the control frame at `chunk[offset]` (checked by
 * isControlFramesOnly), unmasked: a view of `chunk` (unmasked in place), or
 * a copy when the chunk is borrowed.
 */
export function controlPayloadAt(chunk: Buffer, offset: number, isClient: boolean, isBorrowed: boolean): Buffer {
  const payloadBytes = chunk[offset + 1] & 0x7f;
  if (payloadBytes === 0) return EMPTY_BUFFER;
  // A client receives unmasked frames: key 0 leaves the payload as it is.
  const key = isClient ? 0 : readKey(chunk, offset + 2);
  return unmaskedPayload(chunk, offset + (isClient ? 2 : 6), payloadBytes, isBorrowed, key, 0);
}

/** Bytes of the control frame at `chunk[offset]` (header and payload). */
export function controlFrameBytesAt(chunk: Buffer, offset: number, isClient: boolean): number {
  return (isClient ? 2 : 6) + (chunk[offset + 1] & 0x7f);
}
