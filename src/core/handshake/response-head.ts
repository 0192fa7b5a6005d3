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
 * The byte scan lives in head-scanner.ts, shared with the request parser.
 */
import { HandshakeError } from '../errors.js';
import { DEFAULTS, validateLimit } from '../options.js';
import { checkFieldValue, HeadScanner, isDigit, parseHeaderField } from './head-scanner.js';

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

/**
 * Status 0 on a HandshakeError from this parser means "no usable status
 * line": the response could not be read at all.
 */
function malformed(message: string): HandshakeError {
  return new HandshakeError(`malformed handshake response: ${message}`, 0);
}

export class ResponseHeadParser {
  readonly #scanner: HeadScanner;

  constructor(limits: { maxHeaderBytes?: number; maxHeaderCount?: number } = {}) {
    this.#scanner = new HeadScanner(
      validateLimit('maxHeaderBytes', limits.maxHeaderBytes ?? DEFAULTS.maxHeaderBytes),
      validateLimit('maxHeaderCount', limits.maxHeaderCount ?? DEFAULTS.maxHeaderCount),
      'status line',
      (_fault, message) => malformed(message),
    );
  }

  /**
   * Feeds the next chunk. Returns null while the head is incomplete, the
   * parsed head once the blank line arrives. Throws a HandshakeError (status
   * 0) when the head is malformed or over a limit.
   */
  push(chunk: Buffer): ParsedResponseHead | null {
    if (this.#scanner.isDone) throw new Error('ResponseHeadParser already returned the head');
    const head = this.#scanner.push(chunk);
    if (head === null) return null;
    const lines = head.text.split('\r\n');
    const rest = head.rest;
    const { httpVersion, status, statusText } = parseStatusLine(lines[0]);
    const headers: Array<[string, string]> = [];
    for (let index = 1; index < lines.length; index++) headers.push(parseHeaderField(lines[index], malformed));
    return { httpVersion, status, statusText, headers, rest };
  }
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
  checkFieldValue(statusText, 'reason phrase', malformed);
  return { httpVersion, status: Number(line.slice(9, 12)), statusText };
}
