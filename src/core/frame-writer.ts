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
import { applyMask, copyMasked, readKey } from './mask.js';

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
  const length = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (maskSource !== undefined || length < COPY_THRESHOLD_BYTES) {
    writeCopiedFrame(sink, opcode, NO_CLOSE_CODE, data, length, fin, rsv1, maskSource, cb);
    return;
  }
  const header = Buffer.allocUnsafe(headerLength(length, false));
  writeHeader(header, 0, opcode, length, fin, rsv1, false);
  sink.write(header);
  sink.write(asBuffer(data), cb);
}

/** writeCopiedFrame's `closeCode` for every frame but a close frame with a code. */
const NO_CLOSE_CODE = -1;

/**
 * Writes a frame whose payload is copied next to its header, so the frame
 * is one write: straight into the sink's output buffer when it has one and
 * the frame is small, else into one new buffer; masked there for a client.
 * A `closeCode` other than NO_CLOSE_CODE goes first, as the two bytes a close
 * body starts with (RFC 6455 §5.5.1), and `data` (its reason) after it: so a
 * close frame needs no payload buffer of its own. `dataBytes`: the length of
 * `data` in bytes (UTF-8 for a string).
 */
function writeCopiedFrame(
  sink: ConnectionSink,
  opcode: number,
  closeCode: number,
  data: FramePayload,
  dataBytes: number,
  fin: boolean,
  rsv1: boolean,
  maskSource: MaskSource | undefined,
  cb: WriteCallback | undefined,
): void {
  const isMasked = maskSource !== undefined;
  const length = closeCode === NO_CLOSE_CODE ? dataBytes : 2 + dataBytes;
  const headerBytes = headerLength(length, isMasked);
  const frameBytes = headerBytes + length;
  const isReserved = frameBytes <= MAX_RESERVED_FRAME_BYTES && sink.reserve !== undefined;
  const out = isReserved ? (sink.reserve as NonNullable<ConnectionSink['reserve']>)(frameBytes, cb) : Buffer.allocUnsafe(frameBytes);
  const at = isReserved ? (sink.reservedOffset as number) : 0;
  const keyOffset = writeHeader(out, at, opcode, length, fin, rsv1, isMasked);
  const payloadAt = at + headerBytes;
  let dataAt = payloadAt;
  if (closeCode !== NO_CLOSE_CODE) {
    out[payloadAt] = closeCode >>> 8;
    out[payloadAt + 1] = closeCode & 0xff;
    dataAt += 2;
  }
  if (isMasked) {
    maskSource(out, keyOffset);
    const key = readKey(out, keyOffset);
    if (typeof data !== 'string') {
      // The close code's two bytes (if any) are masked with the key's first two; the data then starts at phase 2.
      copyMasked(data, 0, out, dataAt, dataBytes, key, dataAt - payloadAt);
      applyMask(out, payloadAt, dataAt, key, 0);
    } else {
      if (dataBytes !== 0) out.write(data, dataAt, 'utf8');
      applyMask(out, payloadAt, payloadAt + length, key, 0);
    }
  } else if (typeof data !== 'string') out.set(data, dataAt);
  else if (dataBytes !== 0) out.write(data, dataAt, 'utf8');
  if (!isReserved) sink.write(out, cb);
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
    writeCopiedFrame(sink, Opcode.CLOSE, NO_CLOSE_CODE, EMPTY_BUFFER, 0, true, false, maskSource, undefined);
    return;
  }
  // At most 2 + 4 + 125 bytes: always within MAX_RESERVED_FRAME_BYTES.
  writeCopiedFrame(sink, Opcode.CLOSE, code, reason, reason === '' ? 0 : Buffer.byteLength(reason), true, false, maskSource, undefined);
}
