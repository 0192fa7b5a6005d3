/**
 * Close codes and the close frame payload (RFC 6455 §5.5.1, §7.4).
 */
import { ProtocolError, ErrorCode } from './errors.js';
import { isValidUtf8 } from './utf8.js';

export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  /** Reserved: never on the wire; reported when a close frame had no code. */
  NO_STATUS: 1005,
  /** Reserved: never on the wire; reported when no close frame was received. */
  ABNORMAL: 1006,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  MANDATORY_EXTENSION: 1010,
  INTERNAL_ERROR: 1011,
  SERVICE_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
  BAD_GATEWAY: 1014,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** RFC 6455 §7.4.1: the reason is at most 123 bytes (125 minus the code). */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * Codes that may appear in a close frame: the registered 1000-1003 and
 * 1007-1014 (§7.4.1, IANA registry; 1004/1005/1006/1015 are reserved), and
 * 3000-4999 for libraries, frameworks and applications (§7.4.2).
 */
export function isValidWireCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999))
  );
}

export interface ClosePayload {
  /** 1005 when the frame carried no code. */
  code: number;
  reason: string;
}

/**
 * Parses a received close payload. Throws ProtocolError: 1002 for a 1-byte
 * payload or an invalid code, 1007 for a reason that is not UTF-8.
 */
export function parseClosePayload(payload: Buffer): ClosePayload {
  if (payload.length === 0) return { code: CloseCode.NO_STATUS, reason: '' };
  // RFC 6455 §5.5.1: a body starts with a 2-byte code, so 1 byte is malformed.
  if (payload.length === 1) throw new ProtocolError('close frame payload of 1 byte', 1002);
  const code = (payload[0] << 8) | payload[1];
  if (!isValidWireCloseCode(code)) throw new ProtocolError(`invalid close code ${code}`, 1002);
  // A code alone (the usual close): no view, no UTF-8 check, no string.
  if (payload.length === 2) return { code, reason: '' };
  const reasonBytes = payload.subarray(2);
  if (!isValidUtf8(reasonBytes)) {
    throw new ProtocolError('close reason is not valid UTF-8', 1007, ErrorCode.INVALID_UTF8);
  }
  return { code, reason: reasonBytes.toString('utf8') };
}

/**
 * Checks arguments of a local close(): throws RangeError for a code that may
 * not be sent, a reason without a code, or a reason over 123 UTF-8 bytes.
 * (The WHATWG layer checks first and throws its own DOMExceptions.)
 * Returns the reason's byte length.
 */
export function validateCloseArguments(code: number | undefined, reason: string | undefined): number {
  if (code !== undefined && !isValidWireCloseCode(code)) {
    throw new RangeError(`close code must be 1000-1003, 1007-1014 or 3000-4999, got ${String(code)}`);
  }
  if (reason === undefined || reason === '') return 0;
  if (typeof reason !== 'string') throw new TypeError('close reason must be a string');
  if (code === undefined) throw new RangeError('a close reason needs a close code');
  const bytes = Buffer.byteLength(reason);
  if (bytes > MAX_CLOSE_REASON_BYTES) {
    throw new RangeError(`close reason is ${bytes} bytes, the limit is ${MAX_CLOSE_REASON_BYTES} UTF-8 bytes`);
  }
  return bytes;
}

/** Serializes a close payload; code undefined (or 1005) gives an empty body. */
export function encodeClosePayload(code?: number, reason = ''): Buffer {
  if (code === undefined || code === CloseCode.NO_STATUS) return Buffer.alloc(0);
  const reasonBytes = Buffer.byteLength(reason);
  const payload = Buffer.allocUnsafe(2 + reasonBytes);
  payload.writeUInt16BE(code, 0);
  if (reasonBytes > 0) payload.write(reason, 2, 'utf8');
  return payload;
}
