/**
 * Conversions between what the WebSocket interface exchanges with scripts
 * (USVString, ArrayBuffer, ArrayBufferView, Blob) and the Buffers of the
 * Node layer.
 */

export type BinaryType = 'blob' | 'arraybuffer';

/** What send() accepts: `(BufferSource or Blob or USVString)`; anything else becomes a string. */
export type WebSocketSendData = string | ArrayBufferLike | ArrayBufferView | Blob;

export type SendItem =
  | { kind: 'text'; data: string; size: number }
  | { kind: 'binary'; data: Buffer; size: number }
  | { kind: 'blob'; blob: Blob; size: number };

/**
 * Turns the argument of send() into a queued item. Bytes are copied now,
 * because the script may reuse its buffer as soon as send() returns while the
 * message is still queued.
 */
export function toSendItem(data: unknown): SendItem {
  if (data instanceof ArrayBuffer || isSharedArrayBuffer(data)) {
    const copy = Buffer.from(new Uint8Array(data as ArrayBufferLike));
    return { kind: 'binary', data: copy, size: copy.byteLength };
  }
  if (ArrayBuffer.isView(data)) {
    const copy = Buffer.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return { kind: 'binary', data: copy, size: copy.byteLength };
  }
  if (data instanceof Blob) {
    return { kind: 'blob', blob: data, size: data.size };
  }
  // USVString: the UTF-8 encoder (here and in the socket) writes U+FFFD for a
  // lone surrogate, like the WebIDL conversion, so the byte count matches the wire.
  const text = String(data);
  return { kind: 'text', data: text, size: Buffer.byteLength(text, 'utf8') };
}

function isSharedArrayBuffer(value: unknown): boolean {
  return typeof SharedArrayBuffer === 'function' && value instanceof SharedArrayBuffer;
}

/** An ArrayBuffer holding exactly `data`, without copying when `data` already owns its whole buffer. */
export function toArrayBuffer(data: Buffer): ArrayBuffer {
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer) {
    return data.buffer;
  }
  return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
}

/**
 * Data for a `message` event (https://websockets.spec.whatwg.org/#feedback-from-the-protocol,
 * "a WebSocket message has been received", step 2).
 */
export function messageEventData(data: Buffer, isBinary: boolean, binaryType: BinaryType): string | ArrayBuffer | Blob {
  // Text was already validated as UTF-8 by the core (1007 otherwise), so decoding cannot lose bytes.
  if (!isBinary) return data.toString('utf8');
  if (binaryType === 'arraybuffer') return toArrayBuffer(data);
  // Blob copies the bytes, so the Buffer (possibly a slice of a pooled chunk) is not retained.
  return new Blob([data as unknown as BlobPart]);
}
