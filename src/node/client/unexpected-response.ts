/**
 * A handshake answered with something other than 101: the app (and a CLI
 * user) needs the status, the headers and what the server said, e.g. the
 * body of a 401 that explains which token expired. The body is read only as
 * far as a small excerpt, and never longer than a short wait, so a server
 * that keeps the connection open cannot stall the failure.
 */
import type net from 'node:net';
import { HandshakeError } from '../../core/errors.js';

/** At most this many body bytes are kept: enough for an error message or a JSON error object. */
export const BODY_EXCERPT_BYTES = 1024;
/** How long to wait for the body after the head; the handshake timer still bounds the total. */
export const BODY_WAIT_MS = 500;

/** A non-101 answer to the opening handshake: HandshakeError with the response's status, headers and body excerpt. */
export class UnexpectedResponseError extends HandshakeError {
  readonly statusText: string;
  /** The first BODY_EXCERPT_BYTES bytes of the body (chunked coding removed), possibly empty. */
  readonly body: Buffer;

  constructor(status: number, statusText: string, headers: Record<string, string>, body: Buffer) {
    const text = printableExcerpt(body);
    super(`server answered ${status}${statusText ? ` ${statusText}` : ''}${text ? `: ${text}` : ''}`, status, headers);
    this.statusText = statusText;
    this.body = body;
  }
}

/**
 * The end of an attempt whose non-101 answer an 'unexpected-response'
 * listener took: the socket closes (1006) without an 'error' event, since
 * the app has already been told (ws emits none either).
 */
export class ResponseHandledError extends HandshakeError {
  constructor(status: number) {
    super(`Unexpected server response: ${status}`, status);
  }
}

/** Lower-cased names, repeated headers joined with ", ". */
export function headerRecord(headers: ReadonlyArray<[string, string]>): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    record[key] = key in record ? `${record[key]}, ${value}` : value;
  }
  return record;
}

/**
 * Reads what the body excerpt needs from `socket` (after `rest`, the bytes
 * that came with the head) and calls `done` once with it. Stops at
 * Content-Length, at the end of a chunked body, at BODY_EXCERPT_BYTES, at
 * the end of the stream, or after BODY_WAIT_MS.
 */
export function readBodyExcerpt(
  socket: net.Socket,
  headers: Record<string, string>,
  rest: Buffer,
  done: (body: Buffer) => void,
): void {
  const isChunked = /(?:^|,)\s*chunked\s*$/i.test(headers['transfer-encoding'] ?? '');
  const declared = Number(headers['content-length']);
  const expected = isChunked ? BODY_EXCERPT_BYTES : Number.isFinite(declared) ? Math.min(declared, BODY_EXCERPT_BYTES) : BODY_EXCERPT_BYTES;
  let raw = rest;
  let isDone = false;
  const excerpt = (): Buffer => (isChunked ? decodeChunked(raw) : raw).subarray(0, expected);
  const isComplete = (): boolean =>
    isChunked ? raw.includes('\r\n0\r\n') || raw.subarray(0, 3).toString('latin1') === '0\r\n' || raw.length >= 2 * BODY_EXCERPT_BYTES : raw.length >= expected;
  const finish = (): void => {
    if (isDone) return;
    isDone = true;
    clearTimeout(timer);
    socket.removeListener('data', onData);
    socket.removeListener('end', finish);
    socket.removeListener('close', finish);
    socket.removeListener('error', finish);
    done(excerpt());
  };
  const onData = (chunk: Buffer): void => {
    raw = Buffer.concat([raw, chunk]);
    if (isComplete()) finish();
  };
  const timer = setTimeout(finish, BODY_WAIT_MS);
  if (isComplete() || expected === 0) {
    finish();
    return;
  }
  socket.on('data', onData);
  socket.once('end', finish);
  socket.once('close', finish);
  socket.once('error', finish);
  socket.resume();
}

/** Best-effort chunked decoding of the bytes received so far (RFC 9112 §7.1); stops at anything malformed. */
function decodeChunked(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', offset, 'latin1');
    if (lineEnd === -1) break;
    const size = parseInt(raw.subarray(offset, lineEnd).toString('latin1').split(';')[0], 16);
    if (!Number.isFinite(size) || size <= 0) break;
    parts.push(raw.subarray(lineEnd + 2, Math.min(raw.length, lineEnd + 2 + size)));
    offset = lineEnd + 2 + size + 2;
    if (offset > raw.length) break;
  }
  return Buffer.concat(parts);
}

/** The body as one short line for a message: printable text, at most 120 characters; "" for binary or empty bodies. */
function printableExcerpt(body: Buffer): string {
  const text = body.toString('utf8').replace(/\s+/g, ' ').trim();
  if (text === '' || /[\u0000-\u0008\u000e-\u001f\ufffd]/.test(text)) return '';
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
