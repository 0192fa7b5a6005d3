/**
 * The Node client: `connect(url, options)` returns the same ws-style socket
 * the server hands out (src/node/socket.ts), in CONNECTING state; the
 * handshake runs in client-transport.ts and, once the 101 is validated, the
 * transport is attached with role 'client'. Any failure before that is
 * reported as 'error' then 'close' 1006 (RFC 6455 §7.1.7: Fail the
 * WebSocket Connection; §7.4.1: 1006 when no close frame was received).
 *
 * Importing this module also makes `new WebSocket(url)` on the ws-style
 * class connect, as with `ws`.
 */
import type { MessageCompressor } from '../core/deflate/compressor.js';
import { getWebSocketUrlRecord } from '../web/url.js';
import { resolveClientOptions, type ClientOptions } from './client-options.js';
import { openClientTransport, type EstablishedTransport } from './client-transport.js';
import { fromWsOptions } from './client-ws-options.js';
import { createDeflateCompressor } from './deflate.js';
import { attachSocket, failConnecting, registerClientStarter, setConnecting, WebSocket } from './socket.js';

export type { ClientOptions, ClientKeepaliveOptions } from './client-options.js';

/**
 * Opens a WebSocket connection to `url` (ws:, wss:, or http(s): mapped to
 * them). Returns at once with a CONNECTING socket that emits 'open', or
 * 'error' then 'close' (1006) when the handshake fails. Throws synchronously
 * for an invalid URL (SyntaxError DOMException) or invalid options
 * (RangeError/TypeError naming the option).
 */
export function connect(url: string | URL, options: ClientOptions = {}): WebSocket {
  const socket = new WebSocket(null);
  startClient(socket, url, options);
  return socket;
}

function startClient(socket: WebSocket, address: string | URL, options: ClientOptions): void {
  const url = getWebSocketUrlRecord(address);
  const resolved = resolveClientOptions(options);
  const signal = resolved.signal;
  const onAbort = (): void => attempt.abort(abortError(signal!));
  const attempt = openClientTransport(url, resolved, (error, established) => {
    signal?.removeEventListener('abort', onAbort);
    if (error || !established) {
      // Deferred so an abort from close() reports after close() returns.
      process.nextTick(failConnecting, socket, error ?? new Error('handshake failed'));
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
      failConnecting(socket, compressorError as Error);
      return;
    }
    // Like ws's 'upgrade' event: lets the app read response headers (cookies, server info) before 'open'.
    socket.emit('upgrade', toUpgradeResponse(established.response));
    attachSocket(socket, established.socket, established.head, {
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
    // client-transport paused the transport so no byte was read before the
    // socket's listener; it stays paused only if the app paused the socket.
    if (!socket.isPaused) established.socket.resume();
  });
  setConnecting(socket, { url: url.href, abort: (error) => attempt.abort(error) });
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
  return { statusCode: response.status, statusMessage: response.statusText, headers, rawHeaders };
}

// `new WebSocket(url, protocols, options)` on the ws-style class, as with `ws`.
registerClientStarter((socket, address, protocols, options) => {
  // ws accepts the options object in place of protocols: new WebSocket(url, { headers }).
  if (typeof protocols === 'object' && protocols !== null && !Array.isArray(protocols)) {
    options = protocols;
    protocols = undefined;
  }
  const clientOptions = fromWsOptions(options as Record<string, unknown> | undefined);
  if (protocols !== undefined) clientOptions.protocols = protocols;
  startClient(socket, address, clientOptions);
});
