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
import { isOws, isTokenChar } from './header-tokens.js';
import { EMPTY_BUFFER } from '../buffer-view.js';
import { CR, HeadScanner, isDigit, isFieldValueChar, LF, pushHeaderField, type HeadFault } from './head-scanner.js';

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
  readonly #maxHeaderBytes: number;
  readonly #maxHeaderCount: number;
  /** The head came whole in the first chunk and was read by readWholeHead. */
  #isReadWhole = false;

  constructor(limits: { maxHeaderBytes?: number; maxHeaderCount?: number } = {}) {
    this.#maxHeaderBytes = validateLimit('maxHeaderBytes', limits.maxHeaderBytes ?? DEFAULTS.maxHeaderBytes);
    this.#maxHeaderCount = validateLimit('maxHeaderCount', limits.maxHeaderCount ?? DEFAULTS.maxHeaderCount);
    this.#scanner = new HeadScanner(this.#maxHeaderBytes, this.#maxHeaderCount, 'request line', refused);
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
    if (this.#scanner.isDone || this.#isReadWhole) throw new Error('RequestHeadParser already returned the head');
    if (this.#scanner.size === 0) {
      const whole = readWholeHead(chunk, this.#maxHeaderBytes, this.#maxHeaderCount);
      if (whole !== undefined) {
        this.#isReadWhole = true;
        return whole;
      }
    }
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
 * The common case in one pass: a first chunk that holds a complete, valid
 * head within the limits (a client sends its head in one write). Each byte is
 * checked once, by the rules the scanner and the field parser apply in three
 * passes (CRLF line ends, token names, values without controls, OWS trimmed),
 * and the strings are cut from one latin1 string. Returns undefined at the
 * first doubt (anything malformed, over a limit, or incomplete): the caller
 * then runs the scanner from the start, which gives the canonical answer and
 * error, so this path only ever accepts what the scanner accepts, faster.
 */
function readWholeHead(chunk: Buffer, maxHeaderBytes: number, maxHeaderCount: number): ParsedRequestHead | undefined {
  const n = chunk.length;
  let i = 0;
  // The request line: up to the first CR, which must start a CRLF (parseRequestLine checks the rest).
  while (i < n && chunk[i] !== CR) {
    if (chunk[i] === LF) return undefined;
    i++;
  }
  const lineEnd = i;
  if (lineEnd === 0 || i + 1 >= n || chunk[i + 1] !== LF) return undefined;
  i += 2;
  // Header lines: token ":" value CRLF, until the empty line. Positions: name start, colon, line end.
  const cuts: number[] = [];
  for (;;) {
    if (i + 1 >= n) return undefined;
    if (chunk[i] === CR) {
      if (chunk[i + 1] !== LF) return undefined;
      i += 2;
      break;
    }
    const start = i;
    while (i < n && isTokenChar(chunk[i])) i++;
    if (i === start || i >= n || chunk[i] !== COLON) return undefined;
    const colon = i++;
    while (i < n && isFieldValueChar(chunk[i])) i++;
    if (i + 1 >= n || chunk[i] !== CR || chunk[i + 1] !== LF) return undefined;
    cuts.push(start, colon, i);
    i += 2;
  }
  if (i > maxHeaderBytes || cuts.length / 3 > maxHeaderCount) return undefined;
  const text = chunk.toString('latin1', 0, i);
  let parsed: ParsedRequestHead;
  try {
    parsed = parseRequestLine(text, lineEnd, i === n ? EMPTY_BUFFER : chunk.subarray(i));
  } catch {
    return undefined;
  }
  const rawHeaders = parsed.rawHeaders;
  for (let k = 0; k < cuts.length; k += 3) {
    let first = cuts[k + 1] + 1;
    let last = cuts[k + 2];
    while (first < last && isOws(text.charCodeAt(first))) first++;
    while (last > first && isOws(text.charCodeAt(last - 1))) last--;
    rawHeaders.push(text.slice(cuts[k], cuts[k + 1]), text.slice(first, last));
  }
  return parsed;
}

const COLON = 0x3a;

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
