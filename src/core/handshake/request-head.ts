/**
 * Incremental parser for the HTTP/1.1 request head a server receives in the
 * opening handshake (RFC 6455 §4.2.1, RFC 7230 §3). The Node adapter uses it
 * for a standalone server (`new WebSocketServer({ port })`) instead of
 * Node's HTTP server, which costs more per connection than the handshake.
 *
 * The byte scan (linear time, CRLF only, no obs-fold, limits) is shared with
 * the response parser (head-scanner.ts); this file reads the request line.
 * No whitespace before a colon, no control characters in values.
 * A head over `maxHeaderBytes` (the final CRLFCRLF included) or with more than
 * `maxHeaderCount` header lines fails with status 431 while scanning;
 * anything malformed with 400.
 */
import { HandshakeError } from '../errors.js';
import { DEFAULTS, validateLimit } from '../options.js';
import { isTokenChar } from './header-tokens.js';
import { HeadScanner, isDigit, pushHeaderField, type HeadFault } from './head-scanner.js';

export interface ParsedRequestHead {
  method: string;
  /** The request-target as sent. */
  url: string;
  /** "1.1" for HTTP/1.1. */
  httpVersion: string;
  /** Alternating names (as sent) and values (OWS trimmed), duplicates kept. */
  rawHeaders: string[];
  /** Bytes received after the head (the first frames); may be empty. */
  rest: Buffer;
}

function malformed(message: string): HandshakeError {
  return new HandshakeError(`malformed request: ${message}`, 400);
}

function refused(fault: HeadFault, message: string): HandshakeError {
  if (fault === 'too-large') return new HandshakeError(`request ${message}`, 431);
  if (fault === 'too-many-lines') return new HandshakeError(message, 431);
  return malformed(message);
}

export class RequestHeadParser {
  readonly #scanner: HeadScanner;

  constructor(limits: { maxHeaderBytes?: number; maxHeaderCount?: number } = {}) {
    this.#scanner = new HeadScanner(
      validateLimit('maxHeaderBytes', limits.maxHeaderBytes ?? DEFAULTS.maxHeaderBytes),
      validateLimit('maxHeaderCount', limits.maxHeaderCount ?? DEFAULTS.maxHeaderCount),
      'request line',
      refused,
    );
  }

  /** Bytes of head received so far. */
  get size(): number {
    return this.#scanner.size;
  }

  /**
   * Feeds the next chunk. Returns null while the head is incomplete, the
   * parsed head once the blank line arrives. Throws a HandshakeError (400 or
   * 431) when the head is malformed or over a limit. `isBorrowed`: `chunk`'s memory
   * is reused after this returns (the parser copies what it keeps; `rest` stays a view).
   */
  push(chunk: Buffer, isBorrowed = false): ParsedRequestHead | null {
    if (this.#scanner.isDone) throw new Error('RequestHeadParser already returned the head');
    const head = this.#scanner.push(chunk, isBorrowed);
    if (head === null) return null;
    const text = head.text;
    let lineEnd = text.indexOf('\r\n');
    if (lineEnd === -1) lineEnd = text.length;
    const parsed = parseRequestLine(text, lineEnd, head.rest);
    const rawHeaders = parsed.rawHeaders;
    // The scanner allows no empty line inside the head: every line here is a header field.
    for (let start = lineEnd + 2; start < text.length; start = lineEnd + 2) {
      lineEnd = text.indexOf('\r\n', start);
      if (lineEnd === -1) lineEnd = text.length;
      pushHeaderField(text, start, lineEnd, rawHeaders, malformed);
    }
    return parsed;
  }
}

/**
 * RFC 7230 §3.1.1: method SP request-target SP HTTP-version, the line
 * text[0, lineEnd). Read in place (no line string) into the head the parser
 * returns, whose rawHeaders the caller fills.
 */
function parseRequestLine(text: string, lineEnd: number, rest: Buffer): ParsedRequestHead {
  const firstSpace = text.indexOf(' ');
  const lastSpace = text.lastIndexOf(' ', lineEnd - 1);
  if (firstSpace <= 0 || firstSpace >= lineEnd || lastSpace === firstSpace) throw malformed('invalid request line');
  for (let i = 0; i < firstSpace; i++) {
    if (!isTokenChar(text.charCodeAt(i))) throw malformed('invalid method');
  }
  const urlStart = firstSpace + 1;
  if (lastSpace === urlStart) throw malformed('empty request-target');
  for (let i = urlStart; i < lastSpace; i++) {
    const c = text.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) throw malformed('invalid request-target');
  }
  // "HTTP/" DIGIT "." DIGIT
  const v = lastSpace + 1;
  if (
    lineEnd - v !== 8 ||
    !text.startsWith('HTTP/', v) ||
    !isDigit(text.charCodeAt(v + 5)) ||
    text.charCodeAt(v + 6) !== 0x2e ||
    !isDigit(text.charCodeAt(v + 7))
  ) {
    throw malformed('invalid HTTP version');
  }
  return {
    method: text.slice(0, firstSpace),
    url: text.slice(urlStart, lastSpace),
    httpVersion: text.slice(v + 5, lineEnd),
    rawHeaders: [],
    rest,
  };
}
