/**
 * Accepting a connection without fresh hidden classes for it (issue 16).
 *
 * Node's net.Server turns each accepted handle into a net.Socket in
 * `onconnection` (lib/net.js), passing an options object literal. The Socket
 * constructor copies it with an object spread and then adds `emitClose`,
 * `autoDestroy` and `decodeStrings` to the copy. V8 does not cache the
 * property transitions that start from a spread copy's map, so each of those
 * three stores makes a new map and descriptor array: ~830 bytes per
 * connection that survive the next young-generation GC (reachable from old
 * space) and are only freed by a full one. Of the ~4,200 bytes a plain
 * net.Server allocates per connection that reads, writes and closes, that is
 * nearly all of what survives a scavenge (1,000 connections, then
 * `gc({ type: 'minor' })`: test/node/server/fixtures/accept-survivors-child.ts,
 * bench/RESULTS.md session 11).
 *
 * When the copy already has those fields, the constructor's stores find
 * them and the maps are shared. So this replaces the listening handle's
 * `onconnection` with the same steps (socket, counters, 'connection',
 * the `net.server.socket` diagnostics channel) whose options literal carries
 * the three fields, with the values the constructor sets anyway.
 *
 * It copies Node internals, so it is installed only on a Node whose own
 * `onconnection` is one this file was checked against (a digest of its
 * source, whitespace-normalised): on any other, Node's stays. Anything off
 * the common path (an accept error, `maxConnections` set to any number,
 * `keepAlive`, `pauseOnConnect`) is handed to Node's own function, checked
 * on every call, so changing the server later keeps Node's behaviour;
 * `noDelay` (on by default in an HTTP server) is applied as Node applies it.
 * (Newer Node versions drop every connection at `maxConnections: 0`; should
 * their digest be added, that case already goes to their function.)
 *
 * Used by the standalone server and, unless `leanAccept: false`, on the
 * HTTP server a WebSocketServer is attached to (`{ server }`): its plain
 * HTTP connections are accepted the same way, and Node's accept comes back
 * when the last WebSocketServer attached to it closes.
 */
import { createHash } from 'node:crypto';
import { channel } from 'node:diagnostics_channel';
import net from 'node:net';

/** SHA-256 (base64) of `onconnection`'s source with whitespace runs made one space: Node 20.20 (lib/net.js). */
const KNOWN_SOURCES = new Set(['0nH92dU7VhMXSHpFbhbLLJ1HyzbVJyJd6Br2O6Vh6EY=']);

type AcceptCallback = (this: object, error: number, clientHandle: object) => void;
interface ListeningHandle {
  onconnection?: AcceptCallback;
}
/** The net.Server fields Node's `onconnection` reads (some are not in @types/node). */
type AcceptingServer = net.Server & {
  _handle?: ListeningHandle | null;
  _connections: number;
  allowHalfOpen?: boolean;
  pauseOnConnect?: boolean;
  highWaterMark?: number;
  noDelay?: boolean;
  keepAlive?: boolean;
};

const serverSocketChannel = channel('net.server.socket');
/** Each handle the lean accept was installed on: Node's own `onconnection`, and ours. */
const installed = new WeakMap<ListeningHandle, { nodeAccept: AcceptCallback; leanAccept: AcceptCallback }>();
/** How many users (WebSocketServers) asked for the lean accept on an app's server: Node's comes back when the last one leaves. */
const users = new WeakMap<net.Server, number>();

/** True when `fn` is Node's `onconnection` as this file knows it. */
function isKnownAccept(fn: AcceptCallback): boolean {
  const source = Function.prototype.toString.call(fn).replace(/\s+/g, ' ');
  return KNOWN_SOURCES.has(createHash('sha256').update(source).digest('base64'));
}

/**
 * Installs the lean accept on `server`'s listening handle now (if it
 * listens) and each time it starts listening; nothing changes on a Node
 * whose `onconnection` is not a known one, or for a server that is not a
 * net.Server. The returned function undoes it for a server that belongs
 * to the app: once every user has undone it, Node's accept is back on the
 * current handle (unless the app put another function there since).
 */
export function useLeanAccept(server: object): () => void {
  if (!(server instanceof net.Server)) return () => {};
  const accepting = server as AcceptingServer;
  const onListening = (): void => void install(accepting);
  server.on('listening', onListening);
  if (server.listening) install(accepting);
  users.set(server, (users.get(server) ?? 0) + 1);
  let isUndone = false;
  return () => {
    if (isUndone) return;
    isUndone = true;
    server.removeListener('listening', onListening);
    const left = (users.get(server) ?? 1) - 1;
    users.set(server, left);
    if (left === 0) uninstall(accepting);
  };
}

/** Exported for tests: installs now if the server listens; the result says whether the lean accept is on. */
export function install(server: AcceptingServer): boolean {
  const handle = server._handle;
  if (handle == null) return false;
  if (installed.has(handle)) return true;
  const nodeAccept = handle.onconnection;
  if (typeof nodeAccept !== 'function' || !isKnownAccept(nodeAccept)) return false;
  handle.onconnection = function leanAccept(this: object, error: number, clientHandle: object): void {
    if (error || server.maxConnections != null || server.keepAlive || server.pauseOnConnect) {
      nodeAccept.call(this, error, clientHandle);
      return;
    }
    const socket = new net.Socket({
      handle: clientHandle,
      allowHalfOpen: server.allowHalfOpen,
      pauseOnCreate: false,
      readable: true,
      writable: true,
      readableHighWaterMark: server.highWaterMark,
      writableHighWaterMark: server.highWaterMark,
      // What the constructor sets on its copy anyway; present here, they are overwritten instead of added.
      emitClose: false,
      autoDestroy: true,
      decodeStrings: false,
    } as net.SocketConstructorOpts);
    // As Node's accept does for a server with noDelay (an HTTP server's default): the public call
    // records the flag on the socket and sets the option on the handle, the two steps Node takes.
    if (server.noDelay) socket.setNoDelay(true);
    server._connections++;
    const internal = socket as net.Socket & { server: net.Server; _server: net.Server };
    internal.server = server;
    internal._server = server;
    server.emit('connection', socket);
    if (serverSocketChannel.hasSubscribers) serverSocketChannel.publish({ socket });
  };
  installed.set(handle, { nodeAccept, leanAccept: handle.onconnection });
  return true;
}

/**
 * Node's own accept back on the server's current handle, if ours is still
 * there (an app that wrapped it since keeps its wrapper).
 */
function uninstall(server: AcceptingServer): void {
  const handle = server._handle;
  const record = handle == null ? undefined : installed.get(handle);
  if (handle == null || record === undefined) return;
  if (handle.onconnection === record.leanAccept) handle.onconnection = record.nodeAccept;
  installed.delete(handle);
}
