/**
 * One 'end' listener per transport instead of two (issue 16: idle memory).
 * net.Socket listens to its own 'end' (Node's `onReadableStreamEnd`: after
 * the peer's FIN, writes fail unless `allowHalfOpen`); a second listener
 * turns the socket's `_events.end` from a function into an array, about 64
 * bytes on every connection. When the only listener is net's own, ours takes
 * its place and calls it first, so the order and what it does stay the same.
 * Anything else (another Node whose listener is named differently, a Duplex
 * that is not a net.Socket, other listeners already there): ours is simply
 * added, as before.
 */
import type { Transport } from './state.js';
import { listenerEntry } from './node-internals.js';

type Listener = (this: Transport) => void;

/** net.Socket's own 'end' listener, found by name on the first socket that has it (shared by all sockets). */
let netEndListener: Listener | undefined;
let ourListener: Listener | undefined;

/** Listens for the transport's 'end' with `listener` (a shared function, `this` = the transport). */
export function listenForEnd(transport: Transport, listener: Listener): void {
  const current = listenerEntry(transport, 'end');
  if (typeof current === 'function' && isNetEndListener(current as Listener) && (ourListener ??= listener) === listener) {
    transport.removeListener('end', current as Listener);
    transport.on('end', onEndAfterNet);
    return;
  }
  transport.on('end', listener);
}

function isNetEndListener(candidate: Listener): boolean {
  if (netEndListener === undefined && candidate.name === 'onReadableStreamEnd') netEndListener = candidate;
  return candidate === netEndListener;
}

/** net.Socket's listener first (as when it was registered first), then ours. */
function onEndAfterNet(this: Transport): void {
  (netEndListener as Listener).call(this);
  (ourListener as Listener).call(this);
}
