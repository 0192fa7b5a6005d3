/**
 * The client role of a Node `WebSocket`: runs the opening handshake
 * (client/transport.ts: TCP/TLS, proxy, request, 101 check) for a socket in
 * CONNECTING state and, once the 101 is valid, attaches the transport with
 * role 'client'. Any failure before that is reported as 'error' then
 * 'close' 1006 (RFC 6455 §7.1.7: Fail the WebSocket Connection; §7.4.1:
 * 1006 when no close frame was received).
 *
 * Used by connect() (connect.ts) and by `new WebSocket(url, protocols,
 * options)` (websocket.ts), as with `ws`: the class imports this file
 * directly, no registration needed.
 */
import type { MessageCompressor } from '../../core/deflate/compressor.js';
import { getWebSocketUrlRecord } from '../../core/url.js';
import { resolveClientOptions, type ClientOptions } from '../client/options.js';
import type { EstablishedTransport } from '../client/transport.js';
import { openTransport } from '../client/h2-session-pool.js';
import { fromWsOptions } from '../client/ws-options.js';
import { createDeflateCompressor } from '../deflate/compressor.js';
import type { SocketSink } from './sink.js';
import { attachTransport } from './transport.js';
import { failConnecting, setConnecting } from './close.js';

/**
 * Starts the handshake for `socket` (CONNECTING). Throws synchronously for an
 * invalid URL (SyntaxError DOMException) or invalid options (RangeError/
 * TypeError naming the option); later failures are 'error' then 'close'.
 */
export function startClient(s: SocketSink, address: string | URL, options: ClientOptions): void {
  const url = getWebSocketUrlRecord(address);
  const resolved = resolveClientOptions(options);
  const signal = resolved.signal;
  const onAbort = (): void => attempt.abort(abortError(signal!));
  const attempt = openTransport(url, resolved, (error, established) => {
    signal?.removeEventListener('abort', onAbort);
    if (error || !established) {
      // Deferred so an abort from close() reports after close() returns.
      process.nextTick(failConnecting, s, error ?? new Error('handshake failed'));
      return;
    }
    let compressor: MessageCompressor | undefined;
    try {
      if (established.deflate !== null && resolved.perMessageDeflate !== false) {
        compressor = createDeflateCompressor(established.deflate, 'client', resolved.perMessageDeflate);
      }
    } catch (compressorError) {
      // Never thrown into the socket callback this runs in: the connection fails instead.
      established.socket.destroy();
      failConnecting(s, compressorError as Error);
      return;
    }
    // Like ws's 'upgrade' event: lets the app read response headers (cookies, server info) before 'open'.
    s.ws.emit('upgrade', toUpgradeResponse(established.response));
    attachTransport(s, established.socket, established.head, {
      role: 'client',
      url: url.href,
      protocol: established.protocol,
      extensions: established.extensions,
      compressor,
      compressThresholdBytes: resolved.perMessageDeflate === false ? undefined : resolved.perMessageDeflate.threshold,
      maxMessageBytes: resolved.maxMessageBytes,
      maxFragments: resolved.maxFragments,
      closeTimeoutMs: resolved.closeTimeoutMs,
      heartbeat: resolved.keepalive,
      maskSource: resolved.maskSource,
    });
    // client/transport.ts paused the transport so no byte was read before the
    // socket's listener; it stays paused only if the app paused the socket.
    if (!s.isUserPaused) established.socket.resume();
  });
  setConnecting(s, { url: url.href, abort: (error) => attempt.abort(error) });
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
}

/** The signal's reason when it is an Error, else an AbortError DOMException (as fetch reports it). */
function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new DOMException('The handshake was aborted', 'AbortError');
}

/** The 101 response as handed to 'upgrade' listeners, shaped like the fields of http.IncomingMessage apps read. */
export interface UpgradeResponse {
  statusCode: number;
  statusMessage: string;
  /** Lower-cased names; repeated headers joined with ", " (set-cookie kept as an array, as node:http does). */
  headers: Record<string, string | string[]>;
  /** Names and values alternating, as received. */
  rawHeaders: string[];
  /** '2.0' when the socket is a stream of an HTTP/2 session (RFC 8441), else '1.1'. */
  httpVersion: '1.1' | '2.0';
}

function toUpgradeResponse(response: EstablishedTransport['response']): UpgradeResponse {
  const headers: Record<string, string | string[]> = {};
  const rawHeaders: string[] = [];
  for (const [name, value] of response.headers) {
    rawHeaders.push(name, value);
    const key = name.toLowerCase();
    const previous = headers[key];
    if (key === 'set-cookie') headers[key] = [...((previous as string[] | undefined) ?? []), value];
    else headers[key] = previous === undefined ? value : `${previous as string}, ${value}`;
  }
  return { statusCode: response.status, statusMessage: response.statusText, headers, rawHeaders, httpVersion: response.httpVersion ?? '1.1' };
}

/** `new WebSocket(url, protocols, options)` on the ws-style class: ws's argument shapes and option names. */
export function startWsClient(s: SocketSink, address: string | URL, protocols: unknown, options: unknown): void {
  // ws accepts the options object in place of protocols: new WebSocket(url, { headers }).
  if (typeof protocols === 'object' && protocols !== null && !Array.isArray(protocols)) {
    options = protocols;
    protocols = undefined;
  }
  const clientOptions = fromWsOptions(options as Record<string, unknown> | undefined);
  if (protocols !== undefined) clientOptions.protocols = protocols as string | string[];
  startClient(s, address, clientOptions);
}
