/**
 * Writing frames to the sink, the send hot path: header and a small payload
 * share one allocation and one write; a large server payload goes out as
 * header + the caller's buffer, uncopied. Client payloads are always copied
 * next to their header, because masking (RFC 6455 §5.3) must not touch the
 * caller's bytes.
 */
import type { ConnectionSink, MaskSource } from './events.js';
import { COPY_THRESHOLD_BYTES, Opcode, headerLength, writeHeader } from './frame.js';
import { EMPTY_BUFFER } from './buffer-view.js';
import { CloseCode } from './close.js';
import { applyMask, readKey } from './mask.js';

/** Frames up to this size may go into the sink's own buffer (ConnectionSink.reserve). */
export const MAX_RESERVED_FRAME_BYTES = 1024;

export type WriteCallback = (error?: Error | null) => void;

export type FramePayload = Buffer | Uint8Array | string;

export function asBuffer(data: FramePayload): Buffer {
  if (typeof data === 'string') return Buffer.from(data);
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
}

/** Writes one frame; `maskSource` is set for clients only. `cb` goes with the frame's last write. */
export function writeFrame(
  sink: ConnectionSink,
  opcode: number,
  data: FramePayload,
  fin: boolean,
  rsv1: boolean,
  maskSource: MaskSource | undefined,
  cb: WriteCallback | undefined,
): void {
  const isMasked = maskSource !== undefined;
  const isString = typeof data === 'string';
  const length = isString ? Buffer.byteLength(data) : data.length;
  const headerBytes = headerLength(length, isMasked);
  if (isMasked || length < COPY_THRESHOLD_BYTES) {
    const frameBytes = headerBytes + length;
    // A small frame goes straight into the sink's output buffer when it has one.
    const isReserved = frameBytes <= MAX_RESERVED_FRAME_BYTES && sink.reserve !== undefined;
    const out = isReserved ? (sink.reserve as NonNullable<ConnectionSink['reserve']>)(frameBytes, cb) : Buffer.allocUnsafe(frameBytes);
    const at = isReserved ? (sink.reservedOffset as number) : 0;
    const keyOffset = writeHeader(out, at, opcode, length, fin, rsv1, isMasked);
    const payloadAt = at + headerBytes;
    if (isString) out.write(data, payloadAt, 'utf8');
    else out.set(data, payloadAt);
    if (isMasked) {
      maskSource(out, keyOffset);
      applyMask(out, payloadAt, payloadAt + length, readKey(out, keyOffset), 0);
    }
    if (!isReserved) sink.write(out, cb);
    return;
  }
  const header = Buffer.allocUnsafe(headerBytes);
  writeHeader(header, 0, opcode, length, fin, rsv1, false);
  sink.write(header);
  sink.write(asBuffer(data), cb);
}

/** Writes an already encoded frame (see encodeFrame); `cb` goes with the last buffer. */
export function writeBuffers(sink: ConnectionSink, buffers: Buffer[], cb: WriteCallback | undefined): void {
  const last = buffers.length - 1;
  for (let i = 0; i < last; i++) sink.write(buffers[i]);
  sink.write(buffers[last], cb);
}

/**
 * Writes a close frame (RFC 6455 §5.5.1) with `code` and `reason` (already
 * checked: a code that may go on the wire, at most 123 bytes of reason)
 * straight into the sink's buffer when it has one: no payload buffer, no
 * frame buffer, no array, which encodeFrame(encodeClosePayload()) cost every
 * closing handshake (issue 16). `code` undefined or 1005: an empty body.
 */
export function writeCloseFrame(sink: ConnectionSink, code: number | undefined, reason: string, maskSource: MaskSource | undefined): void {
  if (code === undefined || code === CloseCode.NO_STATUS) {
    writeFrame(sink, Opcode.CLOSE, EMPTY_BUFFER, true, false, maskSource, undefined);
    return;
  }
  const reasonBytes = reason === '' ? 0 : Buffer.byteLength(reason);
  const length = 2 + reasonBytes;
  const isMasked = maskSource !== undefined;
  const headerBytes = headerLength(length, isMasked);
  // At most 2 + 4 + 125 bytes: always within MAX_RESERVED_FRAME_BYTES.
  const isReserved = sink.reserve !== undefined;
  const out = isReserved ? (sink.reserve as NonNullable<ConnectionSink['reserve']>)(headerBytes + length, undefined) : Buffer.allocUnsafe(headerBytes + length);
  const at = isReserved ? (sink.reservedOffset as number) : 0;
  const keyOffset = writeHeader(out, at, Opcode.CLOSE, length, true, false, isMasked);
  const payloadAt = at + headerBytes;
  out[payloadAt] = code >>> 8;
  out[payloadAt + 1] = code & 0xff;
  if (reasonBytes > 0) out.write(reason, payloadAt + 2, 'utf8');
  if (maskSource !== undefined) {
    maskSource(out, keyOffset);
    applyMask(out, payloadAt, payloadAt + length, readKey(out, keyOffset), 0);
  }
  if (!isReserved) sink.write(out, undefined);
}
