/**
 * The client side of the opening handshake over a real transport:
 * (proxy tunnel) -> TCP or TLS -> request -> 101 response validated by the
 * sans-I/O core. Everything before the first frame lives here; afterwards the
 * transport is handed to the shared Node socket (socket/client-handshake.ts
 * attaches it). Nothing here knows the socket.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { DeflateParams } from '../../core/deflate/index.js';
import { buildClientOffer } from '../../core/deflate/index.js';
import { ErrorCode, HandshakeError, TimeoutError } from '../../core/errors.js';
import type { ParsedResponseHead } from '../../core/handshake/response-head.js';
import { buildClientRequest, generateKey, ResponseHeadParser, validateServerResponse } from '../../core/handshake/rules.js';
import type { ResolvedClientOptions } from './options.js';
import { requestTarget } from '../../core/url.js';
import { decodeUserinfo, openProxyTunnel, stripBrackets } from './proxy.js';
import { describeProxy, proxyFromEnvironment } from './proxy-env.js';
import { openSocksTunnel } from './socks.js';
import { explainNetworkError, NetworkError } from './errors.js';
import { headerRecord, readBodyExcerpt, UnexpectedResponseError } from './unexpected-response.js';
import { plainConnectOptions } from './tcp-connect.js';

export interface EstablishedTransport {
  /** The connected transport, paused; no 'data' listener attached. */
  socket: net.Socket;
  /** Bytes received after the response head: the first frames. */
  head: Buffer;
  /** Selected subprotocol or "". */
  protocol: string;
  /** Sec-WebSocket-Extensions of the response or "". */
  extensions: string;
  /** Negotiated permessage-deflate parameters, or null. */
  deflate: DeflateParams | null;
  /** The status line and headers of the 101 response (the 200 over HTTP/2: httpVersion '2.0'). */
  response: { status: number; statusText: string; headers: Array<[string, string]>; httpVersion?: '1.1' | '2.0' };
}

/**
 * Called with a non-101 answer before it becomes an error. Returning true
 * takes the transport over (its listeners are removed, the rest of the body
 * is the caller's to read): the attempt then stays pending until abort() or
 * the handshake timeout, as ws's 'unexpected-response' requires.
 */
export type UnexpectedResponseHook = (head: ParsedResponseHead, transport: net.Socket) => boolean;

export interface HandshakeAttempt {
  /** Stops the attempt: destroys the transport and reports `error` through `done`. */
  abort(error: Error): void;
}

/**
 * Starts the opening handshake for `url` (already a ws:/wss: URL). Calls
 * `done` exactly once, asynchronously. `connected`: a TLS connection already
 * open to the server (the HTTP/2 probe's, whose ALPN chose http/1.1).
 */
export function openClientTransport(
  url: URL,
  options: ResolvedClientOptions,
  done: (error: Error | null, result?: EstablishedTransport) => void,
  onUnexpectedResponse?: UnexpectedResponseHook,
  connected?: tls.TLSSocket,
): HandshakeAttempt {
  const isSecure = url.protocol === 'wss:';
  const host = stripBrackets(url.hostname);
  const port = Number(url.port || (isSecure ? 443 : 80));
  const key = generateKey();
  // Credentials in the URL become Basic authentication, as fetch does for a
  // request URL that includes credentials (and as ws does); an explicit
  // Authorization header wins.
  const headers = { ...options.headers };
  if ((url.username || url.password) && !Object.keys(headers).some((name) => name.toLowerCase() === 'authorization')) {
    const credentials = `${decodeUserinfo(url.username)}:${decodeUserinfo(url.password)}`;
    headers.Authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  // Built before any I/O so a bad header or path throws from connect() itself.
  const request = buildClientRequest({
    host: url.host,
    path: requestTarget(url),
    key,
    protocols: options.protocols,
    extensions: options.perMessageDeflate === false ? undefined : buildClientOffer(options.perMessageDeflate),
    origin: options.origin,
    headers,
  });
  // Read here, not in resolveClientOptions: the choice depends on the URL,
  // and a bad variable throws from connect() like a bad option.
  const proxy = options.proxy === undefined ? proxyFromEnvironment(url) : options.proxy || undefined;
  const parser = new ResponseHeadParser({ maxHeaderBytes: options.maxHeaderBytes, maxHeaderCount: options.maxHeaderCount });
  let socket: net.Socket | undefined;
  let isDone = false;
  const authority = `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
  /** What the handshake waits for now, for timeout messages. */
  let stage = proxy ? `the proxy ${describeProxy(proxy)}` : `the TCP connection to ${authority}`;

  const finish = (error: Error | null, result?: EstablishedTransport): void => {
    if (isDone) return;
    isDone = true;
    clearTimeout(timer);
    if (socket) {
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
    }
    if (error) {
      socket?.destroy();
      // Swallow late transport errors (e.g. ECONNRESET after destroy) that have no listener now.
      socket?.on('error', () => {});
    }
    done(error, result);
  };

  // RFC 6455 §4.1: the client may abandon a handshake that takes too long;
  // the timer covers proxy, TCP, TLS and the response.
  const timer = setTimeout(() => {
    const error = new TimeoutError('handshake', options.handshakeTimeoutMs);
    // Which step hung tells a user whether to look at the proxy, the network or the server.
    error.message += ` while waiting for ${stage}`;
    finish(error);
  }, options.handshakeTimeoutMs);

  // Transport errors after the tunnel (or on a direct connection) concern the WebSocket server.
  const onError = (error: Error): void => finish(explainNetworkError(error, { host, port }, isSecure, stage === 'the TLS handshake'));
  let hasReceived = false;
  const onClose = (): void => {
    // A TLS server reading a plain HTTP request typically hangs up without a byte (Node, Go).
    const hint = !isSecure && !hasReceived && stage === 'the handshake response' ? ' (no byte received: if the port speaks TLS, use wss://)' : '';
    finish(new HandshakeError(`connection closed before the handshake response was complete${hint}`, 0));
  };
  const onData = (chunk: Buffer): void => {
    hasReceived = true;
    let established: EstablishedTransport;
    try {
      const head = parser.push(chunk);
      if (head === null) return;
      if (head.status !== 101) {
        const transport = socket!;
        transport.removeListener('data', onData);
        transport.removeListener('close', onClose);
        if (onUnexpectedResponse?.(head, transport)) return;
        readUnexpectedResponse(head);
        return;
      }
      const deflate = options.perMessageDeflate === false ? false : options.perMessageDeflate;
      const accepted = validateServerResponse(head, { key, protocols: options.protocols, deflate });
      established = {
        socket: socket!,
        head: head.rest,
        protocol: accepted.protocol,
        extensions: accepted.extensions,
        deflate: accepted.deflate,
        response: { status: head.status, statusText: head.statusText, headers: head.headers },
      };
    } catch (error) {
      // A TLS record (alert 0x15, handshake 0x16) where an HTTP answer belongs: the port speaks TLS.
      if (!isSecure && error instanceof HandshakeError && (chunk[0] === 0x15 || chunk[0] === 0x16)) {
        finish(
          new NetworkError(ErrorCode.TLS, `${authority} answered with TLS: use wss:// for this port`, { host, port }, {
            hint: 'use wss:// for this port',
            cause: error,
          }),
        );
        return;
      }
      finish(error as Error);
      return;
    }
    established.socket.pause();
    // Outside the try: what the app's 'upgrade' and 'open' listeners throw
    // must surface, not be taken for a handshake failure (finish() would
    // ignore it, being done already) and leave the connection hanging.
    finish(null, established);
  };

  const readUnexpectedResponse = (head: ParsedResponseHead): void => {
    const transport = socket!;
    // The body reader owns the socket now (onData and onClose were removed): a close after the body is the normal end.
    stage = 'the response body';
    const headers = headerRecord(head.headers);
    readBodyExcerpt(transport, headers, head.rest, (body) =>
      finish(new UnexpectedResponseError(head.status, head.statusText, headers, body)),
    );
  };

  const startHandshake = (transport: net.Socket): void => {
    stage = 'the handshake response';
    transport.on('data', onData);
    transport.write(request);
  };

  const attachTransport = (transport: net.Socket, readyEvent: 'connect' | 'secureConnect' | null): void => {
    socket = transport;
    transport.on('error', onError);
    transport.on('close', onClose);
    if (transport instanceof net.Socket && !(transport instanceof tls.TLSSocket)) transport.setNoDelay(true);
    if (readyEvent === 'secureConnect') stage = 'the TLS handshake';
    if (readyEvent === null) startHandshake(transport);
    else transport.once(readyEvent, () => startHandshake(transport));
  };

  const connectTls = (tunnel: net.Socket | undefined): tls.TLSSocket => {
    const tlsOptions: tls.ConnectionOptions = { ALPNProtocols: ['http/1.1'], ...options.tls };
    // SNI carries host names only (RFC 6066 §3); an IP address is not sent.
    if (tlsOptions.servername === undefined && net.isIP(host) === 0) tlsOptions.servername = host;
    // Through a tunnel, `host` names the target for the certificate check;
    // without it Node would check against the proxy's host name.
    if (tunnel) return tls.connect({ ...tlsOptions, host, socket: tunnel });
    return tls.connect({ ...tlsOptions, host, port });
  };

  const onTunnel = (error: Error | null, tunnel?: net.Socket): void => {
    if (isDone) {
      tunnel?.destroy();
      return;
    }
    if (error || !tunnel) {
      finish(error ?? new Error('proxy tunnel failed'));
      return;
    }
    if (isSecure) {
      // Invalid tls options throw synchronously; here that would be inside a socket callback.
      let secure: tls.TLSSocket;
      try {
        secure = connectTls(tunnel);
      } catch (tlsError) {
        tunnel.destroy();
        finish(tlsError as Error);
        return;
      }
      attachTransport(secure, 'secureConnect');
    } else {
      // Listener first, then resume: the tunnel was paused with any early bytes unshifted.
      attachTransport(tunnel, null);
      tunnel.resume();
    }
  };

  const openTunnel = (via: URL): net.Socket =>
    via.protocol === 'http:' || via.protocol === 'https:'
      ? openProxyTunnel(via, { host, port }, { maxHeaderBytes: options.maxHeaderBytes }, options.tls, onTunnel)
      : openSocksTunnel(via, { host, port }, onTunnel);

  try {
    // Until the tunnel is up, aborting destroys the proxy connection.
    if (connected !== undefined) {
      // A TLS connection the HTTP/2 attempt opened and the server answered with ALPN http/1.1.
      attachTransport(connected, null);
      connected.resume();
    } else if (proxy) socket = openTunnel(proxy);
    else if (isSecure) attachTransport(connectTls(undefined), 'secureConnect');
    else attachTransport(net.connect(plainConnectOptions(host, port)), 'connect');
  } catch (error) {
    // Invalid tls options (or a port Node refuses) throw here: connect()
    // rethrows them, and no timer may keep the process alive afterwards.
    isDone = true;
    clearTimeout(timer);
    throw error;
  }

  return {
    abort(error: Error): void {
      finish(error);
    },
  };
}
