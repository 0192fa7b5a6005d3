/**
 * The few places where sockwave reads Node's stream internals, in one file so
 * a Node upgrade has one place to check. Each caller falls back to public
 * API when what it looks for is not there (see end-listener.ts,
 * no-delay.ts, receive.ts, transport.ts, close.ts).
 */

/** One of Node's internal symbols on `target` (e.g. a net.Socket's `kSetNoDelay`), found by its description. */
export function findInternalSymbol(target: object, description: string): symbol | undefined {
  for (const symbol of Object.getOwnPropertySymbols(target)) {
    if (symbol.description === description) return symbol;
  }
  return undefined;
}

/**
 * What an EventEmitter holds for `event` in its own table (`_events`): a
 * function, an array of them, or undefined. Read directly: `listeners()`
 * copies into a new array on every call.
 */
export function listenerEntry(emitter: object, event: string): unknown {
  return (emitter as { _events?: Record<string, unknown> })._events?.[event];
}

/** True when `fn` is among `emitter`'s `event` listeners (its own table: no array copy). */
export function hasListener(emitter: object, event: string, fn: unknown): boolean {
  const listeners = listenerEntry(emitter, event);
  return listeners === fn || (Array.isArray(listeners) && listeners.includes(fn));
}

/**
 * Puts `to` in the place of `from` when `from` is `emitter`'s only `event`
 * listener (one table write instead of a removeListener and an on); false,
 * and nothing changed, otherwise. No 'removeListener'/'newListener' events:
 * for listeners of our own that nobody else watches.
 */
export function replaceOnlyListener(emitter: object, event: string, from: unknown, to: unknown): boolean {
  const events = (emitter as { _events?: Record<string, unknown> })._events;
  if (events === undefined || events[event] !== from) return false;
  events[event] = to;
  return true;
}

/** A libuv TCP handle, as far as socket/ reads it (its members may be missing on another Node). */
export interface TcpHandle {
  readonly useUserBuffer?: unknown;
}

/**
 * The handle of a bare TCP socket: a net.Socket's `_handle` made by libuv's
 * `TCP` class. Undefined for anything else, whose bytes do not go straight
 * between that handle and the kernel: a TLS socket (a `TLSWrap`), a pipe, an
 * HTTP/2 stream or other Duplex, a socket whose handle is gone.
 */
export function bareTcpHandle(transport: object): TcpHandle | undefined {
  const handle = (transport as { _handle?: (TcpHandle & { constructor?: { name?: string } }) | null })._handle;
  return handle != null && handle.constructor?.name === 'TCP' ? handle : undefined;
}
