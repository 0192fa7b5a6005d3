/**
 * A Node `WebSocket` on its net/tls socket: attaching after a valid 101, and
 * the transport listeners. The listeners are shared functions (`this` = the
 * transport, the socket's state found through a symbol): no closure per
 * socket or per message.
 */
import type { Socket as NetSocket } from 'node:net';
import { Connection } from '../../core/connection.js';
import type { MaskSource } from '../../core/events.js';
import type { MessageCompressor } from '../../core/deflate/compressor.js';
import { startLiveness } from '../heartbeat.js';
import type { SocketConfig } from '../socket-config.js';
import { kSocket, type Transport } from './state.js';
import { discardBatch } from './write-batch.js';
import { onTransportData, onUserBufferRead } from './receive.js';
import { pushIntoStream, readCallbackOf, readIntoUserBuffers, setReadCallback } from './scratch-reads.js';
import { emitClose } from './close.js';
import { listenForEnd } from './end-listener.js';
import { hasListener, listenerEntry } from './node-internals.js';
import { deferNoDelay } from './no-delay.js';
import type { SocketSink } from './sink.js';

export interface AttachOptions {
  role: 'client' | 'server';
  protocol?: string;
  extensions?: string;
  compressor?: MessageCompressor;
  compressThresholdBytes?: number;
  maxMessageBytes?: number;
  maxFragments?: number;
  /** Timeouts, backpressure, counters, topics: one object a server shares among its sockets (state.ts). */
  config: SocketConfig;
  maskSource?: MaskSource;
  url?: string;
  /** False: pings are not answered automatically (ws's `autoPong`); also off when the socket's state says so. */
  autoPong?: boolean;
}

/** True when `transport` already carries a WebSocket (handleUpgrade called twice for one socket). */
export function isAttached(transport: object): boolean {
  return (transport as Transport)[kSocket] !== undefined;
}

/**
 * After a valid 101: state OPEN, then 'open'. `head` = bytes read after the
 * 101 head (the first frames); they are replayed through the transport so
 * they are parsed only after the caller attached its listeners.
 */
export function attachTransport(s: SocketSink, transport: NetSocket, head: Buffer, options: AttachOptions): void {
  if (s.conn !== undefined) throw new Error('socket already attached');
  const t = transport as Transport;
  s.connecting = undefined;
  s.transport = t;
  s.protocol = options.protocol ?? '';
  s.extensions = options.extensions ?? '';
  if (options.url !== undefined) s.url = options.url;
  const config = options.config;
  s.config = config;
  // The state is the core's sink (sink.ts): one object per socket.
  s.conn = new Connection(
    {
      role: options.role,
      maxMessageBytes: options.maxMessageBytes,
      maxFragments: options.maxFragments,
      compressor: options.compressor,
      compressThresholdBytes: options.compressThresholdBytes,
      maskSource: options.maskSource,
      isOpen: true,
      autoPong: options.autoPong !== false && !s.isAutoPongOff,
      receiveAfterClose: s.isWsFlavour,
    },
    s,
  );
  const { heartbeat, idleTimeoutMs } = config;
  startLiveness(s, heartbeat, idleTimeoutMs);
  t[kSocket] = s;
  // handleUpgrade() takes any Duplex (as ws does: a stream between the
  // net.Socket and us, a test pair, an HTTP/2 stream (RFC 8441));
  // only a net.Socket has these. TCP_NODELAY is applied at the first frame write (no-delay.ts).
  deferNoDelay(s, t);
  // Clears an idle timeout the HTTP server set; a socket that has none is left alone (a timer lookup saved per connection).
  if (typeof t.setTimeout === 'function' && (t as { timeout?: number }).timeout) t.setTimeout(0);
  // A server's handshake (upgrade.ts) already added this very listener and left it: one no-op, not a swap.
  if (!hasListener(t, 'error', ignoreTransportError)) t.on('error', ignoreTransportError);
  listenForEnd(t, onTransportEnd);
  t.on('close', onTransportClose);
  // A socket a standalone server reads into scratch (scratch-reads.ts) with
  // nothing waiting in its stream: its reads come straight here. A bare TCP
  // socket an HTTP server handed over (root entry) switches to that now, so
  // `{ server }` apps read as cheaply. Otherwise through 'data', and the first
  // frames are replayed through the stream: they are parsed on a later tick,
  // after the caller attached its 'message' listeners.
  const isStreamEmpty = head.length === 0 && t.readableLength === 0;
  if (isStreamEmpty && readCallbackOf(t) === pushIntoStream) setReadCallback(t, onUserBufferRead);
  else if (isStreamEmpty && switchesToCallbackReads(s, t, options.role)) {
    // As adding a 'data' listener would: start reading unless someone paused the socket.
    if (t.readableFlowing !== false) t.resume();
  } else {
    if (head.length > 0) t.unshift(head);
    t.on('data', onTransportData);
  }
  if (s.isUserPaused) t.pause();
  if (s.isUnref) t.unref();
  if (t.destroyed) process.nextTick(onTransportClose.bind(t));
  // A server's socket has no listener yet (the app gets it after this): skip emit()'s generic path.
  if (listenerEntry(s.ws, 'open') !== undefined) s.ws.emit('open');
}

/**
 * A server socket of the root entry that nobody reads through the stream
 * switches to callback reads (scratch-reads.ts). Not a 'sockwave/ws' one: ws
 * apps and ws's own suite listen to `ws._socket`'s 'data'.
 */
function switchesToCallbackReads(s: SocketSink, t: Transport, role: AttachOptions['role']): boolean {
  return role === 'server' && !s.isWsFlavour && t.listenerCount('data') === 0 && readIntoUserBuffers(t, onUserBufferRead);
}

// Transport listeners: `this` is the transport ('data' is in receive.ts).
function onTransportEnd(this: Transport): void {
  const s = this[kSocket];
  if (s !== undefined) (s.conn as Connection).receiveEof();
}

function onTransportClose(this: Transport): void {
  const s = this[kSocket];
  if (s === undefined) return;
  discardBatch(s);
  const conn = s.conn as Connection;
  try {
    conn.transportClosed();
  } finally {
    // The core reports 'closed' from transportClosed(); make sure the app
    // hears 'close' even if it did not (e.g. a core bug), with 1006.
    // (Not while the core finishes a decompression of bytes received before the close.)
    if (!s.isClosedEmitted && !conn.isTransportCloseDeferred) emitClose(s, 1006, '');
  }
}

/**
 * ECONNRESET and friends: 'close' follows and reports 1006. A transport
 * error is not the app's fault and must not crash it. Also the server's
 * listener while a handshake is pending (upgrade.ts), kept after it.
 */
export function ignoreTransportError(): void {}

