/**
 * The Sec-WebSocket-Key / Sec-WebSocket-Accept pair (RFC 6455 §4.1, §4.2.2).
 * node:crypto is allowed in the core: it does no I/O.
 */
import * as crypto from 'node:crypto';
import { createHash, randomBytes } from 'node:crypto';

/** RFC 6455 §1.3: the GUID appended to the key before hashing. */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** crypto.hash where the running Node has it (looked up, so older Node 20 releases still load this module). */
const oneShotHash = (crypto as { hash?: (algorithm: string, data: string, outputEncoding: 'base64') => string }).hash;

/**
 * RFC 6455 §4.2.2 step 5.4: base64(SHA-1(key + GUID)). The key is used as
 * sent (already trimmed of surrounding whitespace by the header parser).
 */
export function computeAcceptKey(key: string): string {
  const input = key + WEBSOCKET_GUID;
  // crypto.hash (Node 20.12+) hashes in one call, without a Hash object: a
  // third of the time, and one allocation less per handshake. It encodes a
  // string as UTF-8, which equals latin1 only for ASCII (every valid key).
  if (oneShotHash !== undefined && isAscii(key)) return oneShotHash('sha1', input, 'base64');
  return createHash('sha1').update(input, 'latin1').digest('base64');
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
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
