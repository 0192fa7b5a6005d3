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
import { openClientTransport, type EstablishedTransport, type HandshakeAttempt } from '../client/transport.js';
import { openHttpUpgrade, splitWsRequestOptions, wsUrlRecord, type WsRequestOptions } from '../client/http-upgrade.js';
import { fromWsOptions } from '../client/ws-options.js';
import { createDeflateCompressor } from '../deflate/compressor.js';
import type { SocketSink } from './sink.js';
import { attachTransport } from './transport.js';
import { failConnecting, setConnecting } from './close.js';
import { toWsHandshakeError } from './ws-errors.js';

/**
 * Starts the handshake for `socket` (CONNECTING). Throws synchronously for an
 * invalid URL (SyntaxError DOMException) or invalid options (RangeError/
 * TypeError naming the option); later failures are 'error' then 'close'.
 */
export function startClient(s: SocketSink, address: string | URL, options: ClientOptions, ws?: WsRequestOptions): void {
  const url = ws === undefined ? getWebSocketUrlRecord(address) : wsUrlRecord(address);
  const resolved = resolveClientOptions(options);
  const signal = resolved.signal;
  const onAbort = (): void => attempt.abort(abortError(signal!));
  const onHandshakeDone = (error: Error | null, established?: EstablishedTransport): void => {
    signal?.removeEventListener('abort', onAbort);
    if (error || !established) {
      // Deferred so an abort from close() reports after close() returns.
      const failure = error ?? new Error('handshake failed');
      process.nextTick(failConnecting, s, s.isWsFlavour ? toWsHandshakeError(failure) : failure);
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
    if (ws === undefined) {
      // Like ws's 'upgrade' event: lets the app read response headers (cookies,
      // server info) before 'open'. close()/terminate() in a listener abort the
      // connection, and an exception from a listener fails it (then surfaces,
      // as ws lets it), instead of leaving it CONNECTING forever.
      let aborted: Error | undefined;
      setConnecting(s, { url: url.href, abort: (abortError) => (aborted ??= abortError) });
      try {
        s.ws.emit('upgrade', toUpgradeResponse(established.response));
      } catch (listenerError) {
        aborted ??= listenerError as Error;
        throw listenerError;
      } finally {
        if (aborted !== undefined) {
          established.socket.destroy();
          process.nextTick(failConnecting, s, aborted);
        }
      }
      if (aborted !== undefined) return;
    }
    try {
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
    } finally {
      // client/transport.ts paused the transport so no byte was read before the
      // socket's listener; it stays paused only if the app paused the socket.
      // In a finally: an 'open' listener that throws must not stall the connection.
      if (!s.isUserPaused) established.socket.resume();
    }
  };
  const attempt: HandshakeAttempt =
    ws === undefined
      ? openClientTransport(url, resolved, onHandshakeDone)
      : openHttpUpgrade(url, resolved, ws, {
          socket: s.ws,
          onUpgrade: (response) => s.ws.emit('upgrade', response),
          onUnexpectedResponse: (request, response) => s.ws.emit('unexpected-response', request, response),
        }, onHandshakeDone);
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

/** `new WebSocket(url, protocols, options)` on the ws-style class: ws's argument shapes and option names. */
export function startWsClient(s: SocketSink, address: string | URL, protocols: unknown, options: unknown): void {
  // ws accepts the options object in place of protocols: new WebSocket(url, { headers }).
  if (typeof protocols === 'object' && protocols !== null && !Array.isArray(protocols)) {
    options = protocols;
    protocols = undefined;
  }
  const { ws, rest } = splitWsRequestOptions(options as Record<string, unknown> | undefined);
  const clientOptions = fromWsOptions(rest);
  // ws's autoPong: false: the app answers pings with pong() itself.
  if (rest !== undefined && rest !== null && rest.autoPong === false) s.isAutoPongOff = true;
  if (protocols !== undefined) clientOptions.protocols = protocols as string | string[];
  // A `proxy` (a sockwave extra) needs the raw handshake, which tunnels with CONNECT.
  startClient(s, address, clientOptions, clientOptions.proxy === undefined ? ws : undefined);
}
