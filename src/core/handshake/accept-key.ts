/**
 * The Sec-WebSocket-Key / Sec-WebSocket-Accept pair (RFC 6455 §4.1, §4.2.2).
 * node:crypto is allowed in the core: it does no I/O.
 */
import { createHash, randomBytes } from 'node:crypto';

/** RFC 6455 §1.3: the GUID appended to the key before hashing. */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/**
 * RFC 6455 §4.2.2 step 5.4: base64(SHA-1(key + GUID)). The key is used as
 * sent (already trimmed of surrounding whitespace by the header parser).
 */
export function computeAcceptKey(key: string): string {
  return createHash('sha1').update(key + WEBSOCKET_GUID, 'latin1').digest('base64');
}

/** RFC 6455 §4.1: a nonce of 16 random bytes, base64-encoded (24 characters). */
export function generateKey(): string {
  return randomBytes(16).toString('base64');
}

/** 22 base64 digits then "==" is exactly the encoding of 16 bytes. */
const KEY_SHAPE = /^[A-Za-z0-9+/]{22}==$/;

/**
 * RFC 6455 §4.2.1 item 5: the key "when decoded, is 16 bytes in length".
 * Non-canonical trailing bits (e.g. "...B==") still decode to 16 bytes and
 * are accepted, as base64 decoders do.
 */
export function isValidKey(key: string): boolean {
  return KEY_SHAPE.test(key);
}
