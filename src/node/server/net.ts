/**
 * The standalone server (`new WebSocketServer({ port })`) on node:net: the
 * request head is read by the core's RequestHeadParser instead of Node's
 * HTTP server, which adds work and memory to every connection (an HTTP
 * parser, per-socket closures and properties that stay on the socket after
 * the upgrade): measured with the bench's
 * handshakes and idle-memory workloads, about 10% CPU per handshake and
 * 0.2 KiB per idle connection.
 *
 * What the HTTP server did is kept: the 'connection' listeners get an
 * `http.IncomingMessage` (method, url, httpVersion, headers, rawHeaders,
 * socket), a head over maxHeaderBytes / maxHeaderCount is answered 431, a
 * malformed head 400, a request that asks for no upgrade (no `Upgrade` header
 * or no `upgrade` token in `Connection`, as Node decides) 426, and a client
 * that does not finish its head within handshakeTimeoutMs is dropped by the
 * HandshakeGuard (slowloris).
 *
 * A bare TCP socket of a root-entry server (not 'sockwave/ws', whose apps
 * may listen to the socket's 'data' as with ws) is read into the process's
 * scratch buffer from the start (socket/scratch-reads.ts): the head is parsed from borrowed bytes, and
 * after it the socket's reads go to its WebSocket (attachTransport) or, for
 * whoever takes the socket otherwise, into its stream as copies.
 */
import type { IncomingMessage } from 'node:http';
import net, { type Socket } from 'node:net';
import { HandshakeError } from '../../core/errors.js';
import { equalsIgnoringCase, listHasToken } from '../../core/handshake/header-tokens.js';
import { RequestHeadParser, type ParsedRequestHead } from '../../core/handshake/request-head.js';
import { pushIntoStream, readCallbackOf, readIntoUserBuffers, setReadCallback } from '../socket/scratch-reads.js';
import { ignoreTransportError, isAttached } from '../socket/transport.js';
import { replaceOnlyListener } from '../socket/node-internals.js';
import type { ResolvedServerOptions } from './options.js';
import { toIncomingMessage } from './lazy-request.js';
import { useLeanAccept } from './lean-accept.js';

export interface NetServerHooks {
  /** A new TCP connection (before its request head arrived). */
  onConnection(socket: Socket): void;
  /** The head was refused (400 malformed, 431 over a limit) or the socket failed while sending it. */
  onHeadError(socket: Socket, status: number, reason: string): void;
  /** A complete head that asks for no upgrade. */
  onPlainRequest(req: IncomingMessage, socket: Socket): void;
  /** A complete upgrade request; `head` = the bytes after it. */
  onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void;
}

/** The head parser of a socket whose request head is still arriving (absent once it is done or refused). */
const kHeadParser = Symbol('sockwave.headParser');
type ReadingSocket = Socket & { [kHeadParser]?: RequestHeadParser };

export function createOwnNetServer(o: ResolvedServerOptions, hooks: NetServerHooks): net.Server {
  const limits = { maxHeaderBytes: o.maxHeaderBytes, maxHeaderCount: o.maxHeaderCount };
  const readsIntoScratch = !o.isWsFlavour;
  // The listeners are made once per server, not per connection (`this` is
  // the socket, its parser sits under a symbol): closures per accepted
  // connection showed in the handshake cycle's allocations and GC time.
  /**
   * Head done or refused: our listeners go; a refused socket keeps a no-op 'error' listener until it closes.
   * A socket read into scratch (`isBorrowed`) has no 'data' listener; its later reads are dropped
   * while the parser is gone, until the socket is handed over (see onHead).
   */
  const stopReading = (socket: ReadingSocket, isHandedOver: boolean, isBorrowed: boolean): void => {
    socket[kHeadParser] = undefined;
    if (!isBorrowed) socket.removeListener('data', onData);
    // Our 'error' listener gives way to a no-op: the one handleUpgrade keeps for the open socket, or ours.
    if (replaceOnlyListener(socket, 'error', onError, isHandedOver ? ignoreTransportError : ignoreError)) return;
    socket.removeListener('error', onError);
    if (!isHandedOver) socket.on('error', ignoreError);
  };
  // ECONNRESET and friends while the head arrives: reported, then dropped.
  function onError(this: ReadingSocket, error: NodeJS.ErrnoException): void {
    stopReading(this, false, readCallbackOf(this) === onScratchRead);
    hooks.onHeadError(this, 400, error.code ?? 'socket error');
  }
  function onData(this: ReadingSocket, chunk: Buffer): void {
    onHead(this, chunk, false);
  }
  /** The read callback of a socket read into scratch (`buffer` is lent until this returns). */
  function onScratchRead(this: ReadingSocket, nread: number, buffer: Buffer): boolean {
    onHead(this, buffer.subarray(0, nread), true);
    return true;
  }
  function onHead(socket: ReadingSocket, chunk: Buffer, isBorrowed: boolean): void {
    const parser = socket[kHeadParser];
    if (parser === undefined) return;
    let parsed: ParsedRequestHead | null;
    try {
      parsed = parser.push(chunk, isBorrowed);
    } catch (error) {
      stopReading(socket, false, isBorrowed);
      if (!(error instanceof HandshakeError)) throw error;
      hooks.onHeadError(socket, error.status, error.message);
      return;
    }
    if (parsed === null) return;
    const isUpgrade = isUpgradeRequest(parsed.rawHeaders);
    // handleUpgrade takes over error handling for upgrade requests.
    stopReading(socket, isUpgrade, isBorrowed);
    // From here whoever takes the socket reads it: its WebSocket takes the
    // reads over (attachTransport); anyone else gets them through the stream.
    if (isBorrowed) {
      setReadCallback(socket, pushIntoStream);
      if (parsed.rest.length > 0) parsed.rest = Buffer.from(parsed.rest);
    }
    // As Node's HTTP server does before 'upgrade': whoever takes the socket
    // next starts the flow with its own 'data' listener; until then bytes
    // wait in the stream's buffer. Except for an upgrade with nothing after
    // its head: if it is accepted synchronously (no async verify hook), the
    // socket's 'data' listener is attached before anything more can be read,
    // so the stream keeps flowing and is spared a pause and a resume on the
    // next tick. Bytes after the head are replayed (unshift) into a paused
    // stream, as before.
    const rest = parsed.rest;
    if (!isUpgrade || rest.length > 0) pauseFlow(socket);
    const req = toIncomingMessage(socket, parsed, isUpgrade);
    if (isUpgrade) {
      hooks.onUpgrade(req, socket, rest);
      // Not taken now (an async verify hook, or refused): bytes wait, as above.
      if (socket.readableFlowing === true && !isAttached(socket)) pauseFlow(socket);
    } else hooks.onPlainRequest(req, socket);
  }
  const server = net.createServer((socket: ReadingSocket) => {
    hooks.onConnection(socket);
    socket[kHeadParser] = new RequestHeadParser(limits);
    // A 'sockwave/ws' server reads as ws does, through the stream: apps (and ws's own tests) listen to
    // `ws._socket`'s 'data'. The root entry's server reads by callback (scratch-reads.ts).
    if (!readsIntoScratch || !readIntoUserBuffers(socket, onScratchRead)) socket.on('data', onData);
    socket.on('error', onError);
  });
  if (o.leanAccept) useLeanAccept(server);
  return server;
}

/** Neither flowing nor paused: the next 'data' listener starts the flow. */
function pauseFlow(socket: Socket): void {
  (socket as { readableFlowing: boolean | null }).readableFlowing = null;
}

function ignoreError(): void {
  // A refused connection simply goes away ('close' cleans up).
}

/** Node's rule for 'upgrade' vs 'request': an Upgrade header and the `upgrade` token in Connection. */
function isUpgradeRequest(rawHeaders: readonly string[]): boolean {
  let hasUpgrade = false;
  let hasConnectionUpgrade = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (name.length === 7 && equalsIgnoringCase(name, 'upgrade')) hasUpgrade = true;
    else if (name.length === 10 && equalsIgnoringCase(name, 'connection') && listHasToken(rawHeaders[i + 1], 'upgrade')) {
      hasConnectionUpgrade = true;
    }
  }
  return hasUpgrade && hasConnectionUpgrade;
}
