/**
 * TCP_NODELAY, set when it first matters instead of at attach.
 *
 * Nagle's algorithm only holds back a small segment while earlier bytes are
 * unacknowledged. The 101 is the first write of a connection, so nothing
 * waits behind it; the option matters from the next frame on. A short
 * connection whose only later write is the close reply followed by our FIN
 * never needs it (the FIN pushes queued bytes out whatever Nagle says), and
 * the setsockopt() was ~2.5% of the server's CPU in the handshake cycle.
 *
 * What the app sees is unchanged: at attach the socket records "no delay on"
 * exactly as `setNoDelay(true)` does (Node's own `kSetNoDelay` field, found by
 * its description), so `ws._socket.setNoDelay(false)` from a 'connection'
 * listener still reaches the handle and wins, and `setNoDelay(true)` stays a
 * no-op. Before the first frame write (write-batch.ts) the option is applied
 * if the socket still wants it. When the field or the handle's method is not
 * there (another Node, a TLS or test stream), `setNoDelay(true)` is called
 * at attach as before.
 */
import type { SocketState, Transport } from './state.js';
import { findInternalSymbol } from './node-internals.js';

type NoDelayHandle = { setNoDelay?: (enable: boolean) => unknown };
type NoDelaySocket = Transport & { _handle?: NoDelayHandle | null } & Record<symbol, unknown>;

/** Node's `kSetNoDelay` symbol; undefined until looked up, null when this Node has none. */
let kSetNoDelay: symbol | null | undefined;

/** At attach: turns TCP_NODELAY on now, or promises it for the first frame write. */
export function deferNoDelay(s: SocketState, transport: Transport): void {
  const t = transport as NoDelaySocket;
  if (typeof t.setNoDelay !== 'function') return;
  const handle = t._handle;
  if (kSetNoDelay === undefined && handle != null) kSetNoDelay = findInternalSymbol(t, 'kSetNoDelay') ?? null;
  const key = kSetNoDelay;
  if (key == null || handle == null || typeof handle.setNoDelay !== 'function' || typeof t[key] !== 'boolean') {
    t.setNoDelay(true);
    return;
  }
  // Already on (a server with `noDelay`, e.g. Node's HTTP server by default).
  if (t[key] === true) return;
  t[key] = true;
  s.isNoDelayPending = true;
}

/** Before a frame write: the promised TCP_NODELAY, unless the app turned it off meanwhile. */
export function applyNoDelay(s: SocketState, transport: Transport): void {
  s.isNoDelayPending = false;
  const t = transport as NoDelaySocket;
  if (t[kSetNoDelay as symbol] !== true) return;
  const handle = t._handle;
  if (handle != null && typeof handle.setNoDelay === 'function') handle.setNoDelay(true);
}
