/**
 * The few places where sockwave reads Node's stream internals, in one file so
 * a Node upgrade has one place to check. Each caller falls back to public
 * API when what it looks for is not there (see end-listener.ts,
 * no-delay.ts, receive.ts, transport.ts).
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
