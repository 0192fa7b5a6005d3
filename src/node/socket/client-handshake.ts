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
import type { EstablishedTransport, HandshakeAttempt, UnexpectedResponseHook } from '../client/transport.js';
import { openTransport } from '../client/h2-session-pool.js';
import { openHttpUpgrade, splitWsRequestOptions, wsUrlRecord, type WsRequestOptions } from '../client/http-upgrade.js';
import { fromWsOptions } from '../client/ws-options.js';
import { NetworkError } from '../client/errors.js';
import { Readable } from 'node:stream';
import type { Socket } from 'node:net';
import type { ParsedResponseHead } from '../../core/handshake/response-head.js';
import { planRedirect, type RedirectStep } from '../client/redirect.js';
import { planWsRedirect, startWsRedirects, type WsRedirectStep } from '../client/ws-redirect.js';
import { ResponseHandledError } from '../client/unexpected-response.js';
import { createDeflateCompressor } from '../deflate/compressor.js';
import { channels } from '../diagnostics.js';
import { TrafficCounters } from '../stats.js';
import { socketConfig } from '../socket-config.js';
import type { SocketSink } from './sink.js';
import { attachTransport } from './transport.js';
import { failConnecting, setConnecting } from './close.js';
import { toWsHandshakeError } from './ws-errors.js';

/**
 * Starts the handshake for `socket` (CONNECTING). Throws synchronously for an
 * invalid URL (SyntaxError DOMException) or invalid options (RangeError/
 * TypeError naming the option); later failures are 'error' then 'close'.
 */
export function startClient(
  s: SocketSink,
  address: string | URL,
  options: ClientOptions,
  hooks: {
    /** ws's request options: the handshake then runs over http.request (client/http-upgrade.ts). */
    ws?: WsRequestOptions;
    reportError?: (error: Error) => Error;
    onUnexpectedResponse?: UnexpectedResponseHook;
  } = {},
): void {
  const reportError = hooks.reportError ?? ((error: Error) => error);
  const ws = hooks.ws;
  const url = ws === undefined ? getWebSocketUrlRecord(address) : wsUrlRecord(address);
  const resolved = resolveClientOptions(options);
  const signal = resolved.signal;
  let current = url;
  let currentOptions = resolved;
  let currentWs = ws;
  let redirects = 0;
  // The ws client follows redirects by ws's rules (client/ws-redirect.ts) and
  // shows the count as ws does, in `_redirects` (beside `_req`).
  const wsRedirects = ws === undefined ? undefined : startWsRedirects(url, resolved, ws);
  if (wsRedirects !== undefined) showRedirectCount(s.ws, 0);
  const onAbort = (): void => attempt.abort(abortError(signal!));
  const fail = (error: Error): void => {
    signal?.removeEventListener('abort', onAbort);
    // Deferred so an abort from close() reports after close() returns.
    const reported = reportError(error);
    // An 'unexpected-response' listener already has the answer: 'close' only.
    const shown = error instanceof ResponseHandledError ? null : s.isWsFlavour ? toWsHandshakeError(reported) : reported;
    process.nextTick(failConnecting, s, shown);
  };
  const onDone = (error: Error | null, established?: EstablishedTransport): void => {
    if (error || !established) {
      const failure = error ?? new Error('handshake failed');
      let next: RedirectStep | WsRedirectStep | Error | null;
      if (wsRedirects === undefined) {
        next = planRedirect(current, failure, currentOptions, redirects);
      } else {
        next = planWsRedirect(wsRedirects, current, failure, currentOptions, currentWs!, s.ws.listenerCount('redirect') > 0);
        showRedirectCount(s.ws, wsRedirects.count);
      }
      if (next === null || next instanceof Error) {
        fail(next ?? failure);
        return;
      }
      redirects++;
      current = next.url;
      currentOptions = next.options;
      if ('ws' in next) currentWs = next.ws;
      // Like ws: the app sees each hop (and socket.url follows it). The ws
      // client emits it with the new request, from open().
      if (ws === undefined) s.ws.emit('redirect', current.href);
      try {
        attempt = open(current, currentOptions);
      } catch (startError) {
        // e.g. a proxy variable that is unusable for the new URL's scheme.
        fail(startError as Error);
        return;
      }
      setConnecting(s, { url: current.href, abort: (abortWith) => attempt.abort(abortWith) });
      return;
    }
    signal?.removeEventListener('abort', onAbort);
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
    const response = toUpgradeResponse(established.response);
    if (ws === undefined) {
      // Like ws's 'upgrade' event: lets the app read response headers (cookies,
      // server info) before 'open'. close()/terminate() in a listener abort the
      // connection, and an exception from a listener fails it (then surfaces,
      // as ws lets it), instead of leaving it CONNECTING forever.
      let aborted: Error | undefined;
      setConnecting(s, { url: current.href, abort: (abortError) => (aborted ??= abortError) });
      try {
        s.ws.emit('upgrade', response);
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
        url: current.href,
        protocol: established.protocol,
        extensions: established.extensions,
        compressor,
        compressThresholdBytes: resolved.perMessageDeflate === false ? undefined : resolved.perMessageDeflate.threshold,
        maxMessageBytes: resolved.maxMessageBytes,
        maxFragments: resolved.maxFragments,
        config: socketConfig({ closeTimeoutMs: resolved.closeTimeoutMs, heartbeat: resolved.keepalive, counters: new TrafficCounters() }),
        maskSource: resolved.maskSource,
      });
      // The same channel as server sockets (issue #12): request is undefined on
      // this side, response is the 101 the server sent.
      if (channels.connectionOpen.hasSubscribers) {
        channels.connectionOpen.publish({
          socket: s.ws,
          request: undefined,
          response,
          protocol: established.protocol,
          extensions: established.extensions,
        });
      }
    } finally {
      // client/transport.ts paused the transport so no byte was read before the
      // socket's listener; it stays paused only if the app paused the socket.
      // In a finally: an 'open' listener that throws must not stall the connection.
      if (!s.isUserPaused) established.socket.resume();
    }
  };
  const open = (target: URL, targetOptions: typeof resolved): HandshakeAttempt =>
    currentWs === undefined
      ? openTransport(target, targetOptions, onDone, hooks.onUnexpectedResponse)
      : openHttpUpgrade(target, targetOptions, currentWs, {
          socket: s.ws,
          onUpgrade: (response) => s.ws.emit('upgrade', response),
          onUnexpectedResponse: (request, response) => s.ws.emit('unexpected-response', request, response),
          onRequest: (request, abort) => {
            if (redirects === 0) return;
            // As ws: 'redirect' (url, request) before the request is sent, so
            // a listener can edit its headers; close()/terminate() there end it.
            setConnecting(s, { url: target.href, abort });
            s.ws.emit('redirect', target.href, request);
          },
        }, onDone);
  let attempt = open(url, resolved);
  setConnecting(s, { url: url.href, abort: (error) => attempt.abort(error) });
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
}

/** ws's `_redirects` (its tests and some apps read it), hidden from enumeration as `_req` is. */
function showRedirectCount(socket: object, count: number): void {
  Object.defineProperty(socket, '_redirects', { value: count, writable: true, configurable: true, enumerable: false });
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
  const { ws, rest } = splitWsRequestOptions(options as Record<string, unknown> | undefined);
  const clientOptions = fromWsOptions(rest);
  // ws's autoPong: false: the app answers pings with pong() itself.
  if (rest !== undefined && rest !== null && rest.autoPong === false) s.isAutoPongOff = true;
  if (protocols !== undefined) clientOptions.protocols = protocols as string | string[];
  // A `proxy` (a sockwave extra) needs the raw handshake, which tunnels with CONNECT.
  const wantsProxy = rest !== undefined && rest !== null && rest.proxy !== undefined && rest.proxy !== false;
  // ws reports DNS, TCP and TLS failures as the Node error itself (apps test
  // `error.code === 'ECONNREFUSED'`): the ws-compatible class keeps that, the
  // others explain it (NetworkError, with the Node error as cause).
  startClient(s, address, clientOptions, {
    ws: wantsProxy ? undefined : ws,
    reportError: (error) => (error instanceof NetworkError && error.cause instanceof Error ? error.cause : error),
    onUnexpectedResponse: (head, transport) => emitUnexpectedResponse(s, head, transport),
  });
}

/**
 * ws's 'unexpected-response' (request, response): with a listener, a non-101
 * answer is handed to the app, which reads the body from `response` (a
 * Readable with statusCode, statusMessage, headers, rawHeaders) and ends the
 * attempt with `request.destroy()` or `socket.terminate()`; the socket stays
 * CONNECTING until then (or until the handshake timeout). Without a
 * listener the connection fails as usual.
 */
function emitUnexpectedResponse(s: SocketSink, head: ParsedResponseHead, transport: Socket): boolean {
  if (s.ws.listenerCount('unexpected-response') === 0) return false;
  const fields = toUpgradeResponse({ status: head.status, statusText: head.statusText, headers: head.headers });
  const response = Object.assign(new Readable({ read: () => transport.resume() }), fields, { httpVersion: '1.1' });
  if (head.rest.length > 0) response.push(head.rest);
  transport.on('data', (chunk: Buffer) => {
    if (!response.push(chunk)) transport.pause();
  });
  transport.once('end', () => response.push(null));
  transport.once('close', () => response.push(null));
  transport.on('error', (error) => response.destroy(error));
  const request = {
    method: 'GET',
    path: new URL(s.url).pathname + new URL(s.url).search,
    /** Ends the attempt: 'close' 1006, with an 'error' only when one is given (the app already has the answer). */
    destroy: (error?: Error): void => s.connecting?.abort(error ?? new ResponseHandledError(head.status)),
    abort: (): void => request.destroy(),
  };
  s.ws.emit('unexpected-response', request, response);
  return true;
}
