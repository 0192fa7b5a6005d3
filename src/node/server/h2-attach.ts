/**
 * Attaching to a `node:http2` server (`{ server }` mode with
 * `http2.createSecureServer()`, `allowHTTP1` or not): advertise
 * SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3) on the sessions that start
 * from now on, take the extended CONNECT streams with `:protocol websocket`,
 * and on close stop advertising and send GOAWAY on the sessions that carried
 * WebSockets. HTTP/1.1 upgrades on an `allowHTTP1` server still arrive as
 * 'upgrade' events (http.ts).
 *
 * The streams are taken on 'stream', not 'request': with a 'request'
 * listener Node's compatibility layer answers every CONNECT with 405 unless
 * the server has a 'connect' listener (nodejs/node#36977), so we add one
 * that leaves our streams alone.
 */
import type { Http2SecureServer, Http2Server, Http2ServerRequest, Http2ServerResponse, Http2Session, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';

export type AnyHttp2Server = Http2SecureServer | Http2Server;

/** True for a node:http2 server (an http(s).Server has no updateSettings()). */
export function isHttp2Server(server: object): server is AnyHttp2Server {
  return typeof (server as { updateSettings?: unknown }).updateSettings === 'function';
}

export type Http2StreamHandler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[] | undefined) => void;

export interface Http2Attachment {
  /** Unsubscribes and stops advertising extended CONNECT on new sessions. */
  detach(): void;
  /**
   * Graceful shutdown, after the close frames: closes the sessions that
   * carried WebSockets (GOAWAY; their other requests in flight finish).
   */
  closeSessions(): void;
}

/** The WebSocketServers attached to one http2 server, in attach order (one per path, typically). */
const attachedTo = new WeakMap<AnyHttp2Server, { wants(path: string): boolean }[]>();
/** Streams one of them took. */
const claimed = new WeakSet<ServerHttp2Stream>();

/**
 * Subscribes to `server` and advertises extended CONNECT on its new
 * sessions. `wants(path)`: whether this WebSocketServer serves the path;
 * with several attached, the first that wants a stream takes it and the
 * last one answers a stream nobody wants (400, as over HTTP/1.1).
 */
export function attachToHttp2Server(server: AnyHttp2Server, onStream: Http2StreamHandler, wants: (path: string) => boolean): Http2Attachment {
  const me = { wants };
  const peers = attachedTo.get(server) ?? [];
  peers.push(me);
  attachedTo.set(server, peers);
  const isLast = (): boolean => peers[peers.length - 1] === me;
  const sessions = new Set<Http2Session>();
  const forget = function (this: Http2Session): void {
    sessions.delete(this);
  };
  const onServerStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders?: string[]): void => {
    const method = headers[':method'];
    if (method !== 'CONNECT') return;
    const protocol = headers[':protocol'];
    if (protocol === undefined) {
      // A plain CONNECT (a tunnel request): not ours. Answer it only when
      // nobody else can, or the stream would hang.
      if (isLast() && server.listenerCount('stream') === peers.length && server.listenerCount('request') === 0) refuseTunnel(stream);
      return;
    }
    if (claimed.has(stream)) return;
    const path = String(headers[':path'] ?? '');
    if (!wants(path) && (!isLast() || peers.some((peer) => peer !== me && peer.wants(path)))) return;
    claimed.add(stream);
    const session = stream.session;
    if (session !== undefined && !sessions.has(session)) {
      sessions.add(session);
      session.once('close', forget);
    }
    onStream(stream, headers, rawHeaders);
  };
  const onConnect = (req: Http2ServerRequest, res: Http2ServerResponse): void => {
    // Extended CONNECT streams were taken (and answered) on 'stream'.
    if (req.headers[':protocol'] !== undefined) return;
    // Only our listeners: do what Node would have done (once).
    if (isLast() && server.listenerCount('connect') === peers.length) {
      res.statusCode = 405;
      res.end();
    }
  };
  // Before the compatibility layer's own 'stream' listener, so a WebSocket
  // stream is ours before Http2ServerRequest/Response objects are made for it.
  server.prependListener('stream', onServerStream);
  server.on('connect', onConnect);
  server.updateSettings({ enableConnectProtocol: true });
  return {
    detach() {
      server.removeListener('stream', onServerStream);
      server.removeListener('connect', onConnect);
      const index = peers.indexOf(me);
      if (index !== -1) peers.splice(index, 1);
      // Advertise only where we serve it (Go's lesson: browsers trust the setting).
      if (peers.length === 0) server.updateSettings({ enableConnectProtocol: false });
    },
    closeSessions() {
      for (const session of sessions) {
        session.removeListener('close', forget);
        if (!session.closed && !session.destroyed) session.close();
      }
      sessions.clear();
    },
  };
}

function refuseTunnel(stream: ServerHttp2Stream): void {
  if (stream.headersSent || stream.destroyed) return;
  stream.respond({ ':status': 405, 'content-type': 'text/plain; charset=utf-8' });
  stream.resume();
  stream.end('405 this server does not tunnel CONNECT');
}
