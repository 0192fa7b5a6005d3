/**
 * Incremental parser for the HTTP/1.1 request head a server receives in the
 * opening handshake (RFC 6455 §4.2.1, RFC 7230 §3). The Node adapter uses it
 * for a standalone server (`new WebSocketServer({ port })`) instead of
 * Node's HTTP server, which costs more per connection than the handshake.
 *
 * Linear time: each byte is examined once, and the scan keeps its state
 * between chunks, so a head sent byte by byte costs the same as a whole one.
 * Bytes after the head (early frames) are returned as `rest`.
 *
 * Same strictness as the response parser (http-head.ts): CRLF line ends only,
 * no obs-fold, no whitespace before a colon, no control characters in values.
 * A head over `maxHeaderBytes` (the final CRLFCRLF included) or with more than
 * `maxHeaderCount` header lines fails with status 431 while scanning;
 * anything malformed with 400.
 */
import { HandshakeError } from './errors.js';
import { DEFAULTS, validateLimit } from './options.js';
import { isTokenChar, trimOws } from './header-tokens.js';

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

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;

function malformed(message: string): HandshakeError {
  return new HandshakeError(`malformed request: ${message}`, 400);
}

export class RequestHeadParser {
  readonly #maxHeaderBytes: number;
  readonly #maxHeaderCount: number;
  #chunks: Buffer[] | undefined;
  #scanned = 0;
  #lineLength = 0;
  #lines = 0;
  #isAfterCr = false;
  #isDone = false;

  constructor(limits: { maxHeaderBytes?: number; maxHeaderCount?: number } = {}) {
    this.#maxHeaderBytes = validateLimit('maxHeaderBytes', limits.maxHeaderBytes ?? DEFAULTS.maxHeaderBytes);
    this.#maxHeaderCount = validateLimit('maxHeaderCount', limits.maxHeaderCount ?? DEFAULTS.maxHeaderCount);
  }

  /** Bytes of head received so far. */
  get size(): number {
    return this.#scanned;
  }

  /**
   * Feeds the next chunk. Returns null while the head is incomplete, the
   * parsed head once the blank line arrives. Throws a HandshakeError (400 or
   * 431) when the head is malformed or over a limit.
   */
  push(chunk: Buffer): ParsedRequestHead | null {
    if (this.#isDone) throw new Error('RequestHeadParser already returned the head');
    const limit = this.#maxHeaderBytes;
    const scanned = this.#scanned;
    for (let i = 0; i < chunk.length; i++) {
      if (scanned + i >= limit) {
        this.#isDone = true;
        throw new HandshakeError(`request head exceeds ${limit} bytes`, 431);
      }
      const byte = chunk[i];
      if (this.#isAfterCr) {
        if (byte !== LF) {
          this.#isDone = true;
          throw malformed('CR not followed by LF');
        }
        this.#isAfterCr = false;
        if (this.#lineLength === 0) {
          if (this.#lines === 0) {
            this.#isDone = true;
            throw malformed('empty request line');
          }
          return this.#finish(chunk, i + 1);
        }
        this.#lines++;
        // Lines after the request line are headers.
        if (this.#lines - 1 > this.#maxHeaderCount) {
          this.#isDone = true;
          throw new HandshakeError(`more than ${this.#maxHeaderCount} header lines`, 431);
        }
        this.#lineLength = 0;
      } else if (byte === CR) {
        this.#isAfterCr = true;
      } else if (byte === LF) {
        this.#isDone = true;
        throw malformed('bare LF line ending');
      } else {
        if (this.#lineLength === 0 && this.#lines > 0 && (byte === SP || byte === HTAB)) {
          this.#isDone = true;
          throw malformed('obsolete line folding');
        }
        this.#lineLength++;
      }
    }
    this.#scanned = scanned + chunk.length;
    (this.#chunks ??= []).push(chunk);
    return null;
  }

  #finish(lastChunk: Buffer, headEndInChunk: number): ParsedRequestHead {
    this.#isDone = true;
    const last = lastChunk.subarray(0, headEndInChunk);
    const head = this.#chunks === undefined ? last : Buffer.concat([...this.#chunks, last]);
    const rest = lastChunk.subarray(headEndInChunk);
    this.#chunks = undefined;
    // latin1 maps each byte to one char, so obs-text survives and offsets match bytes.
    const text = head.toString('latin1', 0, head.length - 4);
    // The scan guaranteed CRLF line ends; the head ends with CRLFCRLF.
    const lines = text.split('\r\n');
    const { method, url, httpVersion } = parseRequestLine(lines[0]);
    const rawHeaders: string[] = [];
    for (let index = 1; index < lines.length; index++) parseHeaderLine(lines[index], rawHeaders);
    return { method, url, httpVersion, rawHeaders, rest };
  }
}

/** RFC 7230 §3.1.1: method SP request-target SP HTTP-version. */
function parseRequestLine(line: string): { method: string; url: string; httpVersion: string } {
  const firstSpace = line.indexOf(' ');
  const lastSpace = line.lastIndexOf(' ');
  if (firstSpace <= 0 || lastSpace === firstSpace) throw malformed('invalid request line');
  for (let i = 0; i < firstSpace; i++) {
    if (!isTokenChar(line.charCodeAt(i))) throw malformed('invalid method');
  }
  const url = line.slice(firstSpace + 1, lastSpace);
  if (url.length === 0) throw malformed('empty request-target');
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) throw malformed('invalid request-target');
  }
  const version = line.slice(lastSpace + 1);
  if (
    version.length !== 8 ||
    !version.startsWith('HTTP/') ||
    !isDigit(version.charCodeAt(5)) ||
    version[6] !== '.' ||
    !isDigit(version.charCodeAt(7))
  ) {
    throw malformed('invalid HTTP version');
  }
  return { method: line.slice(0, firstSpace), url, httpVersion: version.slice(5) };
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function parseHeaderLine(line: string, into: string[]): void {
  const colon = line.indexOf(':');
  if (colon <= 0) throw malformed('header line without a field name');
  for (let i = 0; i < colon; i++) {
    // Also rejects whitespace before the colon (RFC 7230 §3.2.4).
    if (!isTokenChar(line.charCodeAt(i))) throw malformed('invalid header field name');
  }
  const value = trimOws(line.slice(colon + 1));
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== HTAB) || c === 0x7f) throw malformed('control character in a header field value');
  }
  into.push(line.slice(0, colon), value);
}
