/**
 * ws's argument checks, with ws's error classes and texts, for the classes
 * of 'sockwave/ws' (src/ws.ts). sockwave's own checks run after these and
 * still apply; these only make the first error a ws app sees the one ws
 * would throw (code that matches on the text, or on SyntaxError).
 */
import type { SendData } from './send-data.js';

/** ws's: the URL must parse, use ws:, wss:, http:, https: or ws+unix:, have no fragment. */
export function checkWsUrl(address: string | URL): void {
  let url: URL;
  try {
    url = address instanceof URL ? address : new URL(String(address));
  } catch {
    throw new SyntaxError(`Invalid URL: ${String(address)}`);
  }
  const protocol = url.protocol;
  if (protocol !== 'ws:' && protocol !== 'wss:' && protocol !== 'http:' && protocol !== 'https:' && protocol !== 'ws+unix:') {
    throw new SyntaxError('The URL\'s protocol must be one of "ws:", "wss:", "http:", "https:", or "ws+unix:"');
  }
  if (protocol === 'ws+unix:' && url.pathname === '') throw new SyntaxError("The URL's pathname is empty");
  if (url.hash !== '') throw new SyntaxError('The URL contains a fragment identifier');
}

/** RFC 6455 §4.1: a subprotocol is an HTTP token (RFC 7230 §3.2.6). */
const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`|a-z~]+$/;

/** ws's: every subprotocol a token, none twice (ws reads a lone value, even null, as a one-element list). */
export function checkWsProtocols(protocols: unknown): void {
  if (protocols === undefined) return;
  if (typeof protocols === 'object' && protocols !== null && !Array.isArray(protocols)) return; // the options object
  const list: unknown[] = Array.isArray(protocols) ? protocols : [protocols];
  const seen = new Set<string>();
  for (const protocol of list) {
    if (typeof protocol !== 'string' || !TOKEN.test(protocol) || seen.has(protocol)) {
      throw new SyntaxError('An invalid or duplicated subprotocol was specified');
    }
    seen.add(protocol);
  }
}

/** ws's text for send/ping/pong while CONNECTING (sockwave throws the same text in a SockwaveError). */
export function notOpenError(): Error {
  return new Error('WebSocket is not open: readyState 0 (CONNECTING)');
}

/** The payload size of send/ping/pong data, as ws counts it (0 for none). */
export function byteLengthOf(data: unknown): number {
  if (typeof data === 'string') return Buffer.byteLength(data);
  if (typeof data === 'number') return String(data).length;
  if (typeof Blob === 'function' && data instanceof Blob) return data.size;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  if (typeof SharedArrayBuffer === 'function' && data instanceof SharedArrayBuffer) return data.byteLength;
  return 0;
}

/** ws's RangeError for a ping/pong payload over 125 bytes (RFC 6455 §5.5), or undefined. */
export function controlPayloadError(data: SendData | Blob | undefined): RangeError | undefined {
  return byteLengthOf(data) > 125 ? new RangeError('The data size must not be greater than 125 bytes') : undefined;
}
