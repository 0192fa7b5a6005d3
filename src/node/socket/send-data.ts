/**
 * What send() accepts and how it becomes a frame payload: strings stay
 * strings (the core encodes them to UTF-8 straight into the frame), binary
 * views are wrapped without copying, numbers become text as in ws.
 */
export type SendData = string | Buffer | ArrayBuffer | SharedArrayBuffer | ArrayBufferView | number;

const EMPTY = Buffer.alloc(0);

export function toPayload(data: SendData): Buffer | string {
  if (typeof data === 'string') return data;
  // ws: send() with no data sends an empty binary message.
  if (data === undefined || data === null) return EMPTY;
  if (Buffer.isBuffer(data)) return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && data instanceof SharedArrayBuffer)) {
    return Buffer.from(data);
  }
  if (typeof data === 'number') return String(data);
  throw new TypeError('send() takes a string, Buffer, ArrayBuffer, TypedArray or DataView');
}

/** Size estimate for the high-water-mark check (UTF-16 length for strings: cheap, close enough). */
export function payloadLength(payload: Buffer | string): number {
  return payload.length;
}

/** ws's default: strings (and numbers) are text, everything else binary, unless `binary` says otherwise. */
export function isBinaryMessage(data: SendData, binary: boolean | undefined): boolean {
  return typeof data === 'string' || typeof data === 'number' ? binary === true : binary !== false;
}
