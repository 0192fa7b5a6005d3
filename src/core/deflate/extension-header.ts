/**
 * Reading a Sec-WebSocket-Extensions value for permessage-deflate (RFC 6455
 * §9.1, RFC 7692 §7): the parsed form both negotiation sides work on, and
 * the window-bits value rule.
 */
import { parseParameterizedList, type ParameterizedElement } from '../handshake/header-tokens.js';

export const EXTENSION_NAME = 'permessage-deflate';

/**
 * RFC 7692 defines four parameters; an offer or response with more than this
 * is refused while parsing, before one entry per parameter is allocated.
 */
export const MAX_PARAMS = 16;

export interface ParsedExtension {
  /** Lower-cased extension name. */
  name: string;
  /** Parameters (names lower-cased); `true` for a parameter without a value. Last one wins on duplicates. */
  params: Map<string, string | true>;
  /** Parameter names that appeared more than once (RFC 7692 §7: decline / fail). */
  duplicateParams: string[];
}

/**
 * Parses a Sec-WebSocket-Extensions value (RFC 6455 §9.1, RFC 7230 lists,
 * values as token or quoted-string). Linear time. Throws a SyntaxError on
 * malformed input; duplicates are reported, not thrown, because the server
 * declines only the offer that has them.
 */
export function parseExtensionsHeader(value: string): ParsedExtension[] {
  return parseParameterizedList(value).elements.map(toParsedExtension);
}

export function toParsedExtension({ name, params }: ParameterizedElement): ParsedExtension {
  const map = new Map<string, string | true>();
  // A Set, not duplicates.includes(): many distinct repeated names would make that quadratic.
  const duplicates = new Set<string>();
  for (const [key, paramValue] of params) {
    if (map.has(key)) duplicates.add(key);
    map.set(key, paramValue);
  }
  return { name, params: map, duplicateParams: [...duplicates] };
}

/** RFC 7692 §7.1.2: window bits are a decimal integer 8..15 (canonical digits only). */
export function parseWindowBits(value: string | true): number | null {
  if (value === true) return null;
  if (value.length === 1) return value === '8' || value === '9' ? Number(value) : null;
  if (value.length === 2 && value[0] === '1' && value[1] >= '0' && value[1] <= '5') return Number(value);
  return null;
}
