/**
 * The byte scan shared by the request-head and response-head parsers: finds
 * the blank line that ends an HTTP/1.1 head, incrementally and in linear
 * time (each byte is examined once; the state inside a line and after a CR
 * survives between chunks, so a head sent byte by byte costs the same as one
 * sent whole). Nothing past the head is scanned: those bytes (early frames)
 * come back as `rest`.
 *
 * The strictness both sides share (RFC 7230): CRLF line ends only (a bare LF
 * or a CR without LF is refused, so two parsers cannot disagree on where a
 * header is), no obs-fold, at most `maxHeaderBytes` bytes (the final CRLFCRLF
 * included, checked while scanning, so an endless head is refused after
 * maxHeaderBytes + 1 bytes) and at most `maxHeaderCount` header lines.
 * What the lines mean is the caller's business.
 */
import { EMPTY_BUFFER } from '../buffer-view.js';
import { HTAB, isOws, isTokenChar, SP, trimOws } from './header-tokens.js';

export const CR = 0x0d;
export const LF = 0x0a;

/** Why a head was refused: over the byte or line limit, or malformed. */
export type HeadFault = 'too-large' | 'too-many-lines' | 'malformed';

/** Builds the error the caller throws (each side has its own statuses). */
export type HeadFailure = (fault: HeadFault, message: string) => Error;

export interface ScannedHead {
  /** The head without its final CRLFCRLF, lines joined by CRLF, the start line first (latin1: one char per byte). */
  text: string;
  /** Bytes received after the head; may be empty. */
  rest: Buffer;
}

export class HeadScanner {
  readonly #maxHeaderBytes: number;
  readonly #maxHeaderCount: number;
  readonly #startLineName: string;
  readonly #fail: HeadFailure;
  #chunks: Buffer[] | undefined;
  /** Head bytes scanned so far (all of them belong to the head). */
  #scanned = 0;
  /** Bytes in the current line, excluding its CR. */
  #lineLength = 0;
  /** Lines completed so far (the start line included). */
  #lines = 0;
  #isAfterCr = false;
  #isDone = false;

  constructor(maxHeaderBytes: number, maxHeaderCount: number, startLineName: string, fail: HeadFailure) {
    this.#maxHeaderBytes = maxHeaderBytes;
    this.#maxHeaderCount = maxHeaderCount;
    this.#startLineName = startLineName;
    this.#fail = fail;
  }

  /** Bytes of head received so far. */
  get size(): number {
    return this.#scanned;
  }

  get isDone(): boolean {
    return this.#isDone;
  }

  /**
   * Null while the head is incomplete; its lines once the blank line arrived. Throws what `fail` builds.
   * `isBorrowed`: the caller reuses `chunk`'s memory after this returns, so a chunk kept for later is copied
   * (`rest` is always a view of the last chunk: the caller copies it if needed).
   */
  push(chunk: Buffer, isBorrowed = false): ScannedHead | null {
    const limit = this.#maxHeaderBytes;
    const scanned = this.#scanned;
    for (let i = 0; i < chunk.length; i++) {
      if (scanned + i >= limit) throw this.#refuse('too-large', `head exceeds ${limit} bytes`);
      const byte = chunk[i];
      if (this.#isAfterCr) {
        if (byte !== LF) throw this.#refuse('malformed', 'CR not followed by LF');
        this.#isAfterCr = false;
        if (this.#lineLength === 0) {
          if (this.#lines === 0) throw this.#refuse('malformed', `empty ${this.#startLineName}`);
          return this.#finish(chunk, i + 1);
        }
        this.#lines++;
        // Lines after the start line are headers.
        if (this.#lines - 1 > this.#maxHeaderCount) {
          throw this.#refuse('too-many-lines', `more than ${this.#maxHeaderCount} header lines`);
        }
        this.#lineLength = 0;
      } else if (byte === CR) {
        this.#isAfterCr = true;
      } else if (byte === LF) {
        throw this.#refuse('malformed', 'bare LF line ending');
      } else {
        if (this.#lineLength === 0 && this.#lines > 0 && (byte === SP || byte === HTAB)) {
          throw this.#refuse('malformed', 'obsolete line folding');
        }
        this.#lineLength++;
      }
    }
    this.#scanned = scanned + chunk.length;
    (this.#chunks ??= []).push(isBorrowed ? Buffer.from(chunk) : chunk);
    return null;
  }

  #refuse(fault: HeadFault, message: string): Error {
    this.#isDone = true;
    this.#chunks = undefined;
    return this.#fail(fault, message);
  }

  #finish(lastChunk: Buffer, headEndInChunk: number): ScannedHead {
    this.#isDone = true;
    const chunks = this.#chunks;
    this.#chunks = undefined;
    // latin1 maps each byte to one char, so obs-text survives and offsets match bytes.
    // The scan guaranteed CRLF line ends; the head ends with CRLFCRLF. A head that
    // came in one chunk (nearly all) is read from it in place: no view, no copy.
    const head = chunks === undefined ? lastChunk : Buffer.concat([...chunks, lastChunk.subarray(0, headEndInChunk)]);
    const headEnd = chunks === undefined ? headEndInChunk : head.length;
    const text = head.toString('latin1', 0, headEnd - 4);
    // Usually nothing follows the head: one shared empty view instead of a new one per handshake.
    const rest = headEndInChunk === lastChunk.length ? EMPTY_BUFFER : lastChunk.subarray(headEndInChunk);
    return { text, rest };
  }
}

/**
 * `name: value` with a token name (which also refuses whitespace before the
 * colon, RFC 7230 §3.2.4) and a value free of control characters; the value
 * is trimmed of optional whitespace.
 */
export function parseHeaderField(line: string, malformed: (message: string) => Error): [string, string] {
  const colon = line.indexOf(':');
  if (colon <= 0) throw malformed('header line without a field name');
  for (let i = 0; i < colon; i++) {
    if (!isTokenChar(line.charCodeAt(i))) throw malformed('invalid header field name');
  }
  const value = trimOws(line.slice(colon + 1));
  checkFieldValue(value, 'header field value', malformed);
  return [line.slice(0, colon), value];
}

/**
 * parseHeaderField for the line text[start, end), pushing name and value
 * onto `out` (rawHeaders order): no line string and no pair array per
 * header, which the request parser would otherwise build on every handshake.
 */
export function pushHeaderField(text: string, start: number, end: number, out: string[], malformed: (message: string) => Error): void {
  const colon = text.indexOf(':', start);
  if (colon <= start || colon >= end) throw malformed('header line without a field name');
  for (let i = start; i < colon; i++) {
    if (!isTokenChar(text.charCodeAt(i))) throw malformed('invalid header field name');
  }
  let first = colon + 1;
  let last = end;
  while (first < last && isOws(text.charCodeAt(first))) first++;
  while (last > first && isOws(text.charCodeAt(last - 1))) last--;
  const value = text.slice(first, last);
  checkFieldValue(value, 'header field value', malformed);
  out.push(text.slice(start, colon), value);
}

/** field-vchar / SP / HTAB / obs-text: anything but NUL, CR, LF, DEL and the other controls. */
export function isFieldValueChar(code: number): boolean {
  return code >= 0x20 ? code !== 0x7f : code === HTAB;
}

/** field-vchar / SP / HTAB / obs-text only: no NUL or other controls. */
export function checkFieldValue(value: string, what: string, malformed: (message: string) => Error): void {
  for (let i = 0; i < value.length; i++) {
    if (!isFieldValueChar(value.charCodeAt(i))) throw malformed(`control character in ${what}`);
  }
}

export function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}
