/**
 * Argument checks of the WebSocket constructor and close(), which throw the
 * exact DOMExceptions the WHATWG WebSockets standard names.
 */
import { toClampedUnsignedShort, toUSVString } from './webidl.js';

// RFC 7230 §3.2.6 token characters: visible ASCII except the separators.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Constructor steps 3-4 (https://websockets.spec.whatwg.org/#dom-websocket-websocket):
 * a single string becomes a one-element list; duplicates (ignoring ASCII case) and values that are
 * not RFC 6455 §4.1 subprotocol tokens are a "SyntaxError" DOMException.
 */
export function normalizeProtocols(protocols: string | readonly string[] | undefined): string[] {
  if (protocols === undefined) return [];
  // WebIDL union (DOMString or sequence<DOMString>): an iterable object is a
  // sequence; anything else, null included, is converted to a string.
  const isSequence =
    typeof protocols === 'object' && protocols !== null && typeof (protocols as Iterable<unknown>)[Symbol.iterator] === 'function';
  const list = isSequence ? Array.from(protocols as Iterable<unknown>, (p) => String(p)) : [String(protocols)];
  const seen = new Set<string>();
  for (const protocol of list) {
    if (!TOKEN.test(protocol)) {
      throw new DOMException(`Invalid subprotocol: ${JSON.stringify(protocol)}`, 'SyntaxError');
    }
    // Subprotocol names compare ASCII case-insensitively here ("chat" and "CHAT"
    // repeat each other; WPT Create-protocols-repeated-case-insensitive).
    const folded = protocol.toLowerCase();
    if (seen.has(folded)) {
      throw new DOMException(`Duplicate subprotocol: ${JSON.stringify(protocol)}`, 'SyntaxError');
    }
    seen.add(folded);
  }
  return list;
}

/**
 * close() steps 1-2 (https://websockets.spec.whatwg.org/#dom-websocket-close):
 * `code` is a `[Clamp] unsigned short`, allowed only as 1000 or 3000-4999
 * ("InvalidAccessError"); the reason is a USVString of at most 123 UTF-8
 * bytes ("SyntaxError"), the room left in a control frame after the code.
 */
export function validateCloseArguments(code: unknown, reason: unknown): { code: number | undefined; reason: string | undefined } {
  let checkedCode: number | undefined;
  if (code !== undefined) {
    checkedCode = toClampedUnsignedShort(code);
    if (checkedCode !== 1000 && (checkedCode < 3000 || checkedCode > 4999)) {
      throw new DOMException(
        `The close code must be either 1000, or between 3000 and 4999. ${checkedCode} is neither.`,
        'InvalidAccessError',
      );
    }
  }
  let checkedReason: string | undefined;
  if (reason !== undefined) {
    checkedReason = toUSVString(reason);
    const length = Buffer.byteLength(checkedReason, 'utf8');
    if (length > 123) {
      throw new DOMException(`The close reason must not be longer than 123 UTF-8 bytes, got ${length}`, 'SyntaxError');
    }
  }
  return { code: checkedCode, reason: checkedReason };
}
