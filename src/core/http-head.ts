/**
 * Incremental parser for the HTTP/1.1 response head a client receives during
 * the opening handshake (RFC 6455 §4.1, RFC 7230 §3).
 *
 * Linear time: each pushed byte is examined once. The scan for the blank line
 * that ends the head keeps its state (inside a line, after CR) between chunks,
 * so a head that arrives one byte at a time costs the same as one that
 * arrives whole. Nothing past the head is scanned; those bytes (the first
 * WebSocket frames, if the server sent them early) are returned as `rest`.
 *
 * Strictness, chosen to remove parser-differential ambiguity:
 * - Lines end with CRLF. A bare LF or a CR not followed by LF is rejected
 *   (RFC 7230 §3.5 lets recipients accept bare LF; two parsers that disagree
 *   on line ends disagree on where headers are, so we refuse instead).
 * - obs-fold (a header line starting with SP or HTAB) is rejected, as
 *   RFC 7230 §3.2.4 allows for a user agent.
 * - Whitespace between a field name and its colon is rejected (§3.2.4 MUST).
 * - Field values may not contain control characters other than HTAB.
 * - The head, including the final CRLFCRLF, may not exceed `maxHeaderBytes`,
 *   and at most `maxHeaderCount` header lines are accepted. The check runs
 *   while scanning, so an endless head is refused after maxHeaderBytes + 1 bytes.
 */
import { HandshakeError } from './errors.js';
import { DEFAULTS, validateLimit } from './options.js';
import { isTokenChar, trimOws } from './header-tokens.js';

export interface ParsedResponseHead {
  /** "1.1" (any HTTP/1.x with x >= 1 is accepted). */
  httpVersion: string;
  status: number;
  statusText: string;
  /** Header lines in order, names as sent; values trimmed of OWS. Duplicates kept. */
  headers: Array<[string, string]>;
  /** Bytes received after the head (the first frames); may be empty. */
  rest: Buffer;
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;

/**
 * Status 0 on a HandshakeError from this parser means "no usable status
 * line": the response could not be read at all.
 */
function malformed(message: string): HandshakeError {
  return new HandshakeError(`malformed handshake response: ${message}`, 0);
}

export class ResponseHeadParser {
  readonly #maxHeaderBytes: number;
  readonly #maxHeaderCount: number;
  readonly #chunks: Buffer[] = [];
  /** Head bytes scanned so far (all of them belong to the head). */
  #scanned = 0;
  /** Bytes in the current line, excluding its CR. */
  #lineLength = 0;
  /** Lines completed so far (status line included). */
  #lines = 0;
  #isAfterCr = false;
  #isDone = false;

  constructor(limits: { maxHeaderBytes?: number; maxHeaderCount?: number } = {}) {
    this.#maxHeaderBytes = validateLimit('maxHeaderBytes', limits.maxHeaderBytes ?? DEFAULTS.maxHeaderBytes);
    this.#maxHeaderCount = validateLimit('maxHeaderCount', limits.maxHeaderCount ?? DEFAULTS.maxHeaderCount);
  }

  /**
   * Feeds the next chunk. Returns null while the head is incomplete, the
   * parsed head once the blank line arrives. Throws a HandshakeError (status
   * 0) when the head is malformed or over a limit.
   */
  push(chunk: Buffer): ParsedResponseHead | null {
    if (this.#isDone) throw new Error('ResponseHeadParser already returned the head');
    const limit = this.#maxHeaderBytes;
    for (let i = 0; i < chunk.length; i++) {
      if (this.#scanned + i >= limit) {
        this.#isDone = true;
        throw malformed(`head exceeds ${limit} bytes`);
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
            throw malformed('empty status line');
          }
          return this.#finish(chunk, i + 1);
        }
        this.#lines++;
        // Lines after the status line are headers.
        if (this.#lines - 1 > this.#maxHeaderCount) {
          this.#isDone = true;
          throw malformed(`more than ${this.#maxHeaderCount} header lines`);
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
    this.#scanned += chunk.length;
    this.#chunks.push(chunk);
    return null;
  }

  #finish(lastChunk: Buffer, headEndInChunk: number): ParsedResponseHead {
    this.#isDone = true;
    const parts = [...this.#chunks, lastChunk.subarray(0, headEndInChunk)];
    const rest = lastChunk.subarray(headEndInChunk);
    this.#chunks.length = 0;
    // latin1 maps each byte to one char, so obs-text survives and offsets match bytes.
    const text = Buffer.concat(parts).toString('latin1');
    // The scan guaranteed CRLF line ends; the head ends with CRLFCRLF.
    const lines = text.slice(0, text.length - 4).split('\r\n');
    const { httpVersion, status, statusText } = parseStatusLine(lines[0]);
    const headers: Array<[string, string]> = [];
    for (let index = 1; index < lines.length; index++) headers.push(parseHeaderLine(lines[index]));
    return { httpVersion, status, statusText, headers, rest };
  }
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/** RFC 7230 §3.1.2: HTTP-version SP status-code SP reason-phrase. */
function parseStatusLine(line: string): { httpVersion: string; status: number; statusText: string } {
  // "HTTP/1.1 101" is the shortest acceptable line (reason-phrase may be empty).
  if (
    line.length < 12 ||
    !line.startsWith('HTTP/') ||
    !isDigit(line.charCodeAt(5)) ||
    line[6] !== '.' ||
    !isDigit(line.charCodeAt(7)) ||
    line[8] !== ' ' ||
    !isDigit(line.charCodeAt(9)) ||
    !isDigit(line.charCodeAt(10)) ||
    !isDigit(line.charCodeAt(11)) ||
    (line.length > 12 && line[12] !== ' ')
  ) {
    throw malformed('invalid status line');
  }
  const httpVersion = line.slice(5, 8);
  // RFC 6455 §4.1: the handshake is HTTP/1.1; a 1.x server of higher minor version is compatible.
  if (line[5] !== '1' || line[7] === '0') throw malformed(`unsupported HTTP version ${httpVersion}`);
  const statusText = line.length > 13 ? line.slice(13) : '';
  checkFieldValue(statusText, 'reason phrase');
  return { httpVersion, status: Number(line.slice(9, 12)), statusText };
}

function parseHeaderLine(line: string): [string, string] {
  const colon = line.indexOf(':');
  if (colon <= 0) throw malformed('header line without a field name');
  for (let i = 0; i < colon; i++) {
    // Also rejects whitespace before the colon (RFC 7230 §3.2.4).
    if (!isTokenChar(line.charCodeAt(i))) throw malformed('invalid header field name');
  }
  const value = trimOws(line.slice(colon + 1));
  checkFieldValue(value, 'header field value');
  return [line.slice(0, colon), value];
}

/** field-vchar / SP / HTAB / obs-text only: no NUL or other controls. */
function checkFieldValue(value: string, what: string): void {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== HTAB) || c === 0x7f) throw malformed(`control character in ${what}`);
  }
}
