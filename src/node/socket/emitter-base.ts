/**
 * The EventEmitter under every Node `WebSocket` (websocket.ts), set up
 * without going through `EventEmitter.init`.
 *
 * Why: init is shared by every emitter in the process (net.Socket, streams,
 * IncomingMessage, servers), so its property loads and stores are
 * megamorphic, and it makes `_events` a `{ __proto__: null }` object that V8
 * keeps in dictionary mode, which the socket then replaced at once. In the
 * handshake cycle's profile init cost the socket ~1 µs (issue 16). This
 * constructor gives the socket the same own fields, in the same order, with
 * the same values, from one call site that sees only sockets.
 *
 * `_events` is an instance of a function whose prototype has no prototype:
 * a fast object that still inherits no keys ('constructor', 'toString' stay
 * free as event names), as Node's EventEmitter itself did before v14. A
 * dictionary `_events` was about 170 bytes per socket, most of an idle
 * socket's own heap after the core.
 *
 * The prototype is EventEmitter.prototype itself, so the socket's prototype
 * chain is what `class extends EventEmitter` gives. When this Node's emitter
 * has other own fields than the ones known here (another version), the
 * constructor runs EventEmitter as before and only swaps `_events`.
 */
import { EventEmitter } from 'node:events';
import { findInternalSymbol } from './node-internals.js';

const EventMap = function EventMap() {} as unknown as { new (): object; prototype: object };
EventMap.prototype = Object.create(null) as object;

const probe = new EventEmitter();
const kCapture = findInternalSymbol(probe, 'kCapture');
const kShapeMode = findInternalSymbol(probe, 'shapeMode');
const KNOWN_FIELDS = ['_events', '_eventsCount', '_maxListeners'];

/** True when EventEmitter.init gives exactly the fields set below (Node 20.x / 22.x). */
const isKnownLayout =
  kCapture !== undefined &&
  kShapeMode !== undefined &&
  Reflect.ownKeys(probe).length === KNOWN_FIELDS.length + 2 &&
  KNOWN_FIELDS.every((name) => Object.hasOwn(probe, name));

type Fields = Record<PropertyKey, unknown>;
const prototypeFields = EventEmitter.prototype as unknown as Fields;

function SocketEmitter(this: Fields): void {
  if (isKnownLayout) {
    // EventEmitter.init's fields and order, for an emitter made without options.
    this._events = new EventMap();
    this._eventsCount = 0;
    this[kShapeMode as symbol] = false;
    this._maxListeners = undefined;
    // Read per socket, as init does: EventEmitter.captureRejections may change.
    this[kCapture as symbol] = prototypeFields[kCapture as symbol];
    return;
  }
  (EventEmitter as unknown as (this: Fields) => void).call(this);
  this._events = new EventMap();
}
SocketEmitter.prototype = EventEmitter.prototype;
// Statics (EventEmitter.once, defaultMaxListeners, ...) stay reachable through subclasses.
Object.setPrototypeOf(SocketEmitter, EventEmitter);

/** Extend this instead of EventEmitter (same prototype chain, see the file comment). */
export const SocketEmitterBase = SocketEmitter as unknown as typeof EventEmitter;
