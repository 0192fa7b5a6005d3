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
import { HandshakeError, TimeoutError } from '../../core/errors.js';
import { buildClientRequest, generateKey, ResponseHeadParser, validateServerResponse } from '../../core/handshake/rules.js';
import type { ResolvedClientOptions } from './options.js';
import { requestTarget } from '../../core/url.js';
import { decodeUserinfo, openProxyTunnel, stripBrackets } from './proxy.js';

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
  const parser = new ResponseHeadParser({ maxHeaderBytes: options.maxHeaderBytes, maxHeaderCount: options.maxHeaderCount });
  let socket: net.Socket | undefined;
  let isDone = false;

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
  const timer = setTimeout(() => finish(new TimeoutError('handshake', options.handshakeTimeoutMs)), options.handshakeTimeoutMs);

  const onError = (error: Error): void => finish(error);
  const onClose = (): void => finish(new HandshakeError('connection closed before the handshake response was complete', 0));
  const onData = (chunk: Buffer): void => {
    let head;
    try {
      head = parser.push(chunk);
      if (head === null) return;
      const deflate = options.perMessageDeflate === false ? false : options.perMessageDeflate;
      const accepted = validateServerResponse(head, { key, protocols: options.protocols, deflate });
      const transport = socket!;
      transport.pause();
      finish(null, {
        socket: transport,
        head: head.rest,
        protocol: accepted.protocol,
        extensions: accepted.extensions,
        deflate: accepted.deflate,
        response: { status: head.status, statusText: head.statusText, headers: head.headers },
      });
    } catch (error) {
      finish(error as Error);
    }
  };

  const startHandshake = (transport: net.Socket): void => {
    transport.on('data', onData);
    transport.write(request);
  };

  const attachTransport = (transport: net.Socket, readyEvent: 'connect' | 'secureConnect' | null): void => {
    socket = transport;
    transport.on('error', onError);
    transport.on('close', onClose);
    if (transport instanceof net.Socket && !(transport instanceof tls.TLSSocket)) transport.setNoDelay(true);
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

  const openTunnel = (proxy: URL): net.Socket =>
    openProxyTunnel(proxy, { host, port }, { maxHeaderBytes: options.maxHeaderBytes }, options.tls, (error, tunnel) => {
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
    });

  try {
    // Until the tunnel is up, aborting destroys the proxy connection.
    if (connected !== undefined) {
      attachTransport(connected, null);
      connected.resume();
    } else if (options.proxy) socket = openTunnel(options.proxy);
    else if (isSecure) attachTransport(connectTls(undefined), 'secureConnect');
    else attachTransport(net.connect({ host, port }), 'connect');
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
