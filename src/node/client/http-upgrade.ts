/**
 * The opening handshake of the `sockwave/ws` client, made the way `ws` makes
 * it: with `http.request` / `https.request`. Code written for ws hands the
 * request options to Node (`agent` for proxy agents, `createConnection`,
 * `lookup`, `family`, `localAddress`, `auth`, `socketPath` through `ws+unix:`
 * URLs) and expects ws's hooks (`finishRequest(request, socket)`, the
 * `'upgrade'` event with the `http.IncomingMessage` before the response is
 * checked, `'unexpected-response'`); only Node's HTTP client gives all of them
 * their exact meaning. The 101 is still checked by the sans-I/O core, so both
 * client paths accept and refuse the same responses.
 *
 * `connect()` and the WHATWG class keep the raw handshake of
 * client-transport.ts (its own head limits, proxies with CONNECT).
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { buildClientOffer } from '../../core/deflate/index.js';
import { HandshakeError, TimeoutError } from '../../core/errors.js';
import { generateKey, validateServerResponse, type ParsedResponseHead } from '../../core/handshake/rules.js';
import type { ResolvedClientOptions } from './options.js';
import { getWebSocketUrlRecord } from '../../core/url.js';
import type { EstablishedTransport, HandshakeAttempt } from './transport.js';
import { decodeUserinfo, stripBrackets } from './proxy.js';
import { ResponseHandledError, UnexpectedResponseError, headerRecord } from './unexpected-response.js';

/** The ws client options that are `http.request` options, or ws hooks around the request. */
export interface WsRequestOptions {
  /** Passed to http(s).request as they are (agent, createConnection, lookup, family, auth, ...). */
  request: Record<string, unknown>;
  /** ws: called with the request instead of `request.end()`, to add headers or delay the request. */
  finishRequest?: (request: http.ClientRequest, socket: unknown) => void;
  /** 13 (RFC 6455) or 8 (the last hybi draft, which differs only in Sec-WebSocket-Origin). */
  protocolVersion: 8 | 13;
  /**
   * After a redirect, client/ws-redirect.ts has already decided which
   * credentials go along (`request.auth`, the headers): the URL's userinfo
   * is then not read again.
   */
  isUrlAuthSettled?: boolean;
}

/** ws's request option names that only Node's HTTP client understands. */
export const WS_REQUEST_KEYS = [
  'agent', 'auth', 'createConnection', 'defaultPort', 'family', 'hints', 'insecureHTTPParser', 'joinDuplicateHeaders',
  'localAddress', 'localPort', 'lookup', 'maxHeaderSize', 'setHost', 'uniqueHeaders',
] as const;

const PROTOCOL_VERSIONS = [8, 13] as const;

/** Takes ws's request options and hooks out of a ws-style options object; the rest are ClientOptions. */
export function splitWsRequestOptions(options: Record<string, unknown> | undefined): {
  ws: WsRequestOptions;
  rest: Record<string, unknown> | undefined;
} {
  const request: Record<string, unknown> = {};
  const ws: WsRequestOptions = { request, protocolVersion: 13 };
  if (options === undefined || options === null) return { ws, rest: options };
  const rest: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(options)) {
    if ((WS_REQUEST_KEYS as readonly string[]).includes(name)) {
      if (value !== undefined) request[name] = value;
    } else if (name === 'finishRequest') {
      if (value !== undefined && typeof value !== 'function') throw new TypeError('option finishRequest must be a function');
      ws.finishRequest = value as WsRequestOptions['finishRequest'];
    } else if (name === 'protocolVersion') {
      if (value === undefined) continue;
      if (!(PROTOCOL_VERSIONS as readonly unknown[]).includes(value)) {
        // ws's wording, so code that matches on it keeps working.
        throw new RangeError(`Unsupported protocol version: ${String(value)} (supported versions: ${PROTOCOL_VERSIONS.join(', ')})`);
      }
      ws.protocolVersion = value as 8 | 13;
    } else {
      rest[name] = value;
    }
  }
  return { ws, rest };
}

/**
 * The URL as ws reads it: what the WHATWG parser accepts, plus
 * `ws+unix:/path/to/socket:/request/path` for a Unix domain socket.
 */
export function wsUrlRecord(address: string | URL): URL {
  let url: URL | undefined;
  try {
    url = new URL(address instanceof URL ? address.href : String(address));
  } catch {
    // getWebSocketUrlRecord reports it
  }
  if (url?.protocol !== 'ws+unix:') return getWebSocketUrlRecord(address);
  if (url.pathname === '') throw new SyntaxError("The URL's pathname is empty");
  if (url.hash !== '') throw new SyntaxError('The URL contains a fragment identifier');
  return url;
}

/** `ws+unix:/path/to/socket:/request/path` -> the socket's path and the request path. */
export function splitIpcPath(url: URL): { socketPath: string; path: string } {
  const full = `${url.pathname}${url.search}`;
  const separator = full.indexOf(':');
  if (separator === -1) return { socketPath: full, path: '/' };
  return { socketPath: full.slice(0, separator), path: full.slice(separator + 1) || '/' };
}

export interface HttpUpgradeHooks {
  /** The socket the app sees: finishRequest's second argument, and where `_req` lives. */
  socket: object;
  /** ws's 'upgrade' event, before the response is checked. */
  onUpgrade(response: http.IncomingMessage): void;
  /** ws's 'unexpected-response': true when the app listens (it then owns the request). */
  onUnexpectedResponse(request: http.ClientRequest, response: http.IncomingMessage): boolean;
  /**
   * The request exists and is not sent yet (ws emits 'redirect' (url,
   * request) here, so listeners can edit headers); `abort` ends the attempt
   * before it is sent (close()/terminate() in such a listener).
   */
  onRequest?(request: http.ClientRequest, abort: (error: Error) => void): void;
}

/**
 * Starts the handshake for `url` (ws:, wss: or ws+unix:) over http(s).request.
 * Calls `done` at most once; `http.request` runs synchronously, so an agent's
 * `addRequest` sees the request before this returns (as with ws).
 */
export function openHttpUpgrade(
  url: URL,
  options: ResolvedClientOptions,
  ws: WsRequestOptions,
  hooks: HttpUpgradeHooks,
  done: (error: Error | null, result?: EstablishedTransport) => void,
): HandshakeAttempt {
  const isSecure = url.protocol === 'wss:';
  const isIpc = url.protocol === 'ws+unix:';
  const key = generateKey();
  const headers: Record<string, string | number> = { ...options.headers };
  headers['Sec-WebSocket-Version'] = ws.protocolVersion;
  headers['Sec-WebSocket-Key'] = key;
  headers.Connection = 'Upgrade';
  headers.Upgrade = 'websocket';
  if (options.perMessageDeflate !== false) headers['Sec-WebSocket-Extensions'] = buildClientOffer(options.perMessageDeflate);
  if (options.protocols.length > 0) headers['Sec-WebSocket-Protocol'] = options.protocols.join(',');
  if (options.origin !== undefined) headers[ws.protocolVersion === 8 ? 'Sec-WebSocket-Origin' : 'Origin'] = options.origin;

  const defaultPort = isSecure ? 443 : 80;
  const requestOptions: https.RequestOptions & Record<string, unknown> = {
    ...options.tls,
    ...ws.request,
    method: 'GET',
    headers,
    defaultPort: (ws.request.defaultPort as number | undefined) ?? defaultPort,
    host: stripBrackets(url.hostname),
    // As ws passes it: the URL's port string, or the default port as a number (createConnection hooks see either).
    port: url.port === '' ? defaultPort : url.port,
    path: `${url.pathname}${url.search}`,
    timeout: undefined,
  };
  // Credentials in the URL win over the `auth` option, as in ws.
  if (!ws.isUrlAuthSettled && (url.username !== '' || url.password !== '')) {
    requestOptions.auth = `${decodeUserinfo(url.username)}:${decodeUserinfo(url.password)}`;
  }
  if (isIpc) {
    const target = splitIpcPath(url);
    requestOptions.socketPath = target.socketPath;
    requestOptions.path = target.path;
  }
  // Without an agent, a connection of our own: never a pooled keep-alive
  // socket of Node's global agent, which an upgrade would take over.
  if (requestOptions.createConnection === undefined) {
    requestOptions.createConnection = (isSecure ? connectTls : connectNet) as unknown as http.RequestOptions['createConnection'];
  }

  let isDone = false;
  let upgraded: Duplex | undefined;
  const request = (isSecure ? https.request : http.request)(requestOptions);
  const finish = (error: Error | null, result?: EstablishedTransport): void => {
    if (isDone) return;
    isDone = true;
    clearTimeout(timer);
    (hooks.socket as { _req?: unknown })._req = null;
    if (error !== null) {
      // request.destroy() leaves alone a keep-alive socket already handed
      // back to the agent (a non-101 answer read to its end): close it too, as ws does.
      const requestSocket = request.socket;
      request.destroy();
      const owner = (requestSocket as { _httpMessage?: unknown } | null | undefined)?._httpMessage;
      if (requestSocket && !requestSocket.destroyed && (owner === null || owner === undefined || owner === request)) requestSocket.destroy();
      upgraded?.destroy();
      // A late ECONNRESET after destroy() has nobody to tell.
      upgraded?.on('error', () => {});
    }
    done(error, result);
  };
  // ws exposes the request as `_req` until the handshake ends (finishRequest's callers compare it).
  Object.defineProperty(hooks.socket, '_req', { value: request, writable: true, configurable: true, enumerable: false });

  // RFC 6455 §4.1: the client may abandon a handshake that takes too long.
  const timer = setTimeout(() => finish(new TimeoutError('handshake', options.handshakeTimeoutMs)), options.handshakeTimeoutMs);

  request.on('error', (error) => finish(error));
  request.on('response', (response) => {
    if (isDone) return;
    const status = response.statusCode ?? 0;
    // A redirect the options allow, checked first as ws does (its listeners
    // of 'unexpected-response' never see one): socket/client-handshake.ts
    // follows it (client/ws-redirect.ts reads the Location from this error).
    if (options.followRedirects && status >= 300 && status < 400 && response.headers.location !== undefined) {
      response.resume();
      finish(new UnexpectedResponseError(status, response.statusMessage ?? '', headerRecord(toHead(response, Buffer.alloc(0)).headers), Buffer.alloc(0)));
      return;
    }
    if (hooks.onUnexpectedResponse(request, response)) {
      // The app owns the response now. When it destroys the request, or the
      // exchange ends, the attempt ends too (ws would stay CONNECTING for
      // ever): 'close' 1006 without an 'error', since the app already has
      // the answer, as ws emits none here.
      request.once('close', () => finish(new ResponseHandledError(status)));
      return;
    }
    response.resume();
    // A status other than 101: the core's check names it (HandshakeError with `status`).
    let error: Error = new HandshakeError(`server answered ${response.statusCode}`, response.statusCode ?? 0);
    try {
      validateServerResponse(toHead(response, Buffer.alloc(0)), { key, protocols: options.protocols });
    } catch (thrown) {
      error = thrown as Error;
    }
    finish(error);
  });
  request.on('upgrade', (response: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    upgraded = socket;
    if (isDone) {
      socket.destroy();
      return;
    }
    // Like ws: the app sees the response first, and close()/terminate() in
    // its listener abort the handshake (`isDone` is then set).
    try {
      hooks.onUpgrade(response);
    } catch (listenerError) {
      // Surfaces as in ws (an uncaught exception), and the connection fails instead of hanging.
      finish(listenerError as Error);
      throw listenerError;
    }
    if (isDone) {
      socket.destroy();
      return;
    }
    let accepted;
    try {
      const deflate = options.perMessageDeflate === false ? false : options.perMessageDeflate;
      accepted = validateServerResponse(toHead(response, head), { key, protocols: options.protocols, deflate });
      // ws's rule, stricter than RFC 6455 and WHATWG (which accept no
      // subprotocol): a client that offered some needs the server to pick one.
      if (options.protocols.length > 0 && accepted.protocol === '') {
        throw new HandshakeError('server sent no subprotocol', response.statusCode ?? 101);
      }
    } catch (error) {
      finish(error as Error);
      return;
    }
    socket.pause();
    const parsed = toHead(response, head);
    finish(null, {
      socket: socket as net.Socket,
      head,
      protocol: accepted.protocol,
      extensions: accepted.extensions,
      deflate: accepted.deflate,
      response: { status: parsed.status, statusText: parsed.statusText, headers: parsed.headers },
    });
  });

  if (hooks.onRequest !== undefined) {
    try {
      hooks.onRequest(request, (error) => finish(error));
    } catch (listenerError) {
      finish(listenerError as Error);
      throw listenerError;
    }
    // close()/terminate() in the listener ended the attempt: send nothing.
    if (isDone) return { abort: () => {} };
  }
  if (ws.finishRequest !== undefined) ws.finishRequest(request, hooks.socket);
  else request.end();

  return {
    abort(error: Error): void {
      finish(error);
    },
  };
}

/** The response as the core's handshake check reads it (names and values as received). */
function toHead(response: http.IncomingMessage, rest: Buffer): ParsedResponseHead {
  const headers: Array<[string, string]> = [];
  for (let i = 0; i + 1 < response.rawHeaders.length; i += 2) headers.push([response.rawHeaders[i], response.rawHeaders[i + 1]]);
  return {
    httpVersion: response.httpVersion,
    status: response.statusCode ?? 0,
    statusText: response.statusMessage ?? '',
    headers,
    rest,
  };
}

function connectNet(options: net.NetConnectOpts & { socketPath?: string }): net.Socket {
  if (options.socketPath !== undefined) return net.connect({ ...options, path: options.socketPath } as net.IpcNetConnectOpts);
  return net.connect(options as net.TcpNetConnectOpts);
}

function connectTls(options: tls.ConnectionOptions & { host?: string }): tls.TLSSocket {
  // SNI carries host names only (RFC 6066 §3); an IP address is not sent.
  const servername = options.servername ?? (net.isIP(options.host ?? '') === 0 ? options.host : undefined);
  return tls.connect({ ALPNProtocols: ['http/1.1'], ...options, servername });
}
