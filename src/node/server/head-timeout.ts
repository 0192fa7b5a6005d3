/**
 * A deadline for the request head on a Node `http.Server` / `https.Server`.
 *
 * When sockwave is attached to such a server (`{ server }`, the CLI, Express,
 * Fastify), Node's HTTP parser reads the request head, and sockwave's
 * handshake guard only sees the connection once the head is complete. Until
 * then Node's own limits apply: `headersTimeout` (60 s), checked only every
 * `connectionsCheckingInterval` (30 s), and nothing at all for a connection
 * that never sends a byte. A slowloris client can hold a socket for a minute
 * or more (issue #12, section 3).
 *
 * `limitRequestHeadTime(server, ms)` gives every new connection `ms` to
 * deliver its first complete request head (a WebSocket upgrade or a plain
 * request), then destroys it. Later heads on a kept-alive connection fall
 * under `server.headersTimeout`, which it lowers to `ms` as well.
 */
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { validateLimit } from '../../core/options.js';

/**
 * Arms a `timeoutMs` timer per connection; a connection whose first request
 * head has not arrived by then is destroyed. `Infinity` turns it off. Returns
 * a function that removes the listeners (timers already armed still run).
 */
export function limitRequestHeadTime(server: HttpServer, timeoutMs: number): () => void {
  const limit = validateLimit('timeoutMs', timeoutMs);
  if (limit === Infinity) return () => {};
  // Node requires headersTimeout <= requestTimeout (when the latter is on).
  server.headersTimeout = server.requestTimeout > 0 ? Math.min(limit, server.requestTimeout) : limit;
  const timers = new WeakMap<Socket, NodeJS.Timeout>();
  const onConnection = (socket: Socket): void => {
    const timer = setTimeout(() => {
      // Node frees the socket's HTTP parser (socket.parser = null) when it hands
      // the socket to an 'upgrade' or 'connect' listener: the head arrived, and
      // the listener (sockwave's handshake guard) owns the socket now.
      if ((socket as { parser?: unknown }).parser === null) return;
      // An HTTP/2 connection (ALPN h2 on an http2 server with allowHTTP1) has
      // no HTTP/1 head: its streams, WebSocket ones included, have their own deadlines.
      if ((socket as { alpnProtocol?: unknown }).alpnProtocol === 'h2') return;
      socket.destroy();
    }, limit);
    timer.unref();
    timers.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
  };
  // Only 'request' is listened to: a listener on 'upgrade', 'connect' or
  // 'checkContinue' would change how Node answers those requests.
  const onRequest = (req: IncomingMessage): void => {
    clearTimeout(timers.get(req.socket));
    timers.delete(req.socket);
  };
  // https.Server reads heads from the TLS socket 'secureConnection' hands out;
  // the TLS handshake before it has its own limit (the `handshakeTimeout` option).
  const isTls = typeof (server as { addContext?: unknown }).addContext === 'function';
  const connectionEvent = isTls ? 'secureConnection' : 'connection';
  server.on(connectionEvent, onConnection);
  server.on('request', onRequest);
  return () => {
    server.off(connectionEvent, onConnection);
    server.off('request', onRequest);
  };
}
