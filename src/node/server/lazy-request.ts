/**
 * The `http.IncomingMessage` the standalone server (net.ts) hands to
 * 'connection' listeners, verifyClient and handleProtocols, with its stream
 * half made on first use.
 *
 * Why: almost nobody reads an upgrade request as a stream (it has no body);
 * apps read `url`, `headers`, `rawHeaders`, `method`, `socket`. Yet
 * `new IncomingMessage(socket)` builds a Readable: a ReadableState, an
 * `_events` table and EventEmitter.init, about 0.5 KB and a couple of µs of
 * every handshake-close cycle (issue 16 target 1).
 *
 * The request made here is an IncomingMessage (`instanceof`, every
 * IncomingMessage and Readable method through its prototype chain) with the
 * message's own fields set at once, as Node's constructor sets them. The
 * fields the Readable constructor adds (`_readableState`, `_events`, ...)
 * are accessors on a prototype between it and IncomingMessage.prototype: the
 * first read or write of any of them (any stream or emitter call, `readable`,
 * `destroyed`, `on()`) runs the Readable constructor on the request, as
 * `new IncomingMessage(socket)` would have, and from then on they are plain
 * own fields. Only the prototype shows the difference
 * (`Object.getPrototypeOf(req) !== IncomingMessage.prototype`).
 *
 * The layout is checked against a real IncomingMessage once: when this Node
 * gives its messages other fields than the ones known here, every request is
 * made with `new IncomingMessage(socket)` as before.
 */
import { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { findInternalSymbol } from '../socket/node-internals.js';

/** What the request is built from (ParsedRequestHead's fields). */
export interface RequestHead {
  method: string;
  url: string;
  httpVersion: string;
  rawHeaders: string[];
}

type Fields = Record<PropertyKey, unknown>;

const probe = new IncomingMessage(undefined as unknown as Socket) as unknown as Fields;
const kHeaders = findInternalSymbol(probe, 'kHeaders');
const kHeadersCount = findInternalSymbol(probe, 'kHeadersCount');
const kTrailers = findInternalSymbol(probe, 'kTrailers');
const kTrailersCount = findInternalSymbol(probe, 'kTrailersCount');

/** IncomingMessage's own fields (Node 20.x), in its constructor's order; the symbols as found on the probe. */
const MESSAGE_FIELDS: readonly PropertyKey[] = [
  'socket', 'httpVersionMajor', 'httpVersionMinor', 'httpVersion', 'complete',
  kHeaders as symbol, kHeadersCount as symbol, 'rawHeaders', kTrailers as symbol, kTrailersCount as symbol, 'rawTrailers',
  'joinDuplicateHeaders', 'aborted', 'upgrade', 'url', 'method', 'statusCode', 'statusMessage', 'client', '_consuming', '_dumped',
];

/** The fields Readable's constructor gives an object (`_readableState`, `_events`, the emitter's), found by running it on one. */
const streamProbe = Object.create(IncomingMessage.prototype) as Fields;
Readable.call(streamProbe as unknown as Readable, { highWaterMark: 16 * 1024 });
const STREAM_FIELDS: readonly PropertyKey[] = Reflect.ownKeys(streamProbe);

const isKnownLayout =
  kHeaders !== undefined &&
  kHeadersCount !== undefined &&
  kTrailers !== undefined &&
  kTrailersCount !== undefined &&
  STREAM_FIELDS.includes('_readableState') &&
  Reflect.ownKeys(probe).length === MESSAGE_FIELDS.length + STREAM_FIELDS.length &&
  MESSAGE_FIELDS.every((key) => Object.hasOwn(probe, key)) &&
  STREAM_FIELDS.every((key) => Object.hasOwn(probe, key)) &&
  (probe._readableState as { readingMore?: unknown }).readingMore === true;

/** Runs what `new IncomingMessage(socket)` does for the stream half (once per request). */
function makeStream(req: Fields): void {
  if (Object.hasOwn(req, '_readableState')) return;
  // Own data fields in place of the prototype's accessors, so the constructor's writes land on the request.
  for (const key of STREAM_FIELDS) {
    const descriptor = Object.getOwnPropertyDescriptor(streamProbe, key) as PropertyDescriptor;
    Object.defineProperty(req, key, { value: undefined, writable: true, enumerable: descriptor.enumerable, configurable: true });
  }
  const socket = req.socket as Socket | undefined;
  Readable.call(req as unknown as Readable, socket ? { highWaterMark: socket.readableHighWaterMark } : undefined);
  (req._readableState as { readingMore: boolean }).readingMore = true;
}

/** Between a lazy request and IncomingMessage.prototype: the stream fields as accessors that make the stream. */
const lazyPrototype = Object.create(IncomingMessage.prototype) as Fields;
for (const key of STREAM_FIELDS) {
  Object.defineProperty(lazyPrototype, key, {
    configurable: true,
    enumerable: false,
    get(this: Fields): unknown {
      // Read on the prototype itself (EventEmitter.init compares `_events` with its prototype's): what lies beyond it.
      if (this === lazyPrototype) return Reflect.get(IncomingMessage.prototype, key);
      makeStream(this);
      return this[key];
    },
    set(this: Fields, value: unknown): void {
      if (this === lazyPrototype) {
        Object.defineProperty(lazyPrototype, key, { value, writable: true, enumerable: true, configurable: true });
        return;
      }
      makeStream(this);
      this[key] = value;
    },
  });
}

/** IncomingMessage's constructor for the message half, with the parsed head's values (see MESSAGE_FIELDS). */
const LazyRequest = function LazyRequest(this: Fields, socket: Socket, head: RequestHead, isUpgrade: boolean): void {
  this.socket = socket;
  this.httpVersionMajor = head.httpVersion.charCodeAt(0) - 0x30;
  this.httpVersionMinor = head.httpVersion.charCodeAt(2) - 0x30;
  this.httpVersion = head.httpVersion;
  this.complete = true;
  // Null: the `headers` getter builds the object from rawHeaders when first read.
  this[kHeaders as symbol] = null;
  this[kHeadersCount as symbol] = head.rawHeaders.length;
  this.rawHeaders = head.rawHeaders;
  this[kTrailers as symbol] = null;
  this[kTrailersCount as symbol] = 0;
  this.rawTrailers = [];
  this.joinDuplicateHeaders = false;
  this.aborted = false;
  this.upgrade = isUpgrade;
  this.url = head.url;
  this.method = head.method;
  this.statusCode = null;
  this.statusMessage = null;
  this.client = socket;
  this._consuming = false;
  this._dumped = false;
} as unknown as new (socket: Socket, head: RequestHead, isUpgrade: boolean) => IncomingMessage;
(LazyRequest as unknown as { prototype: object }).prototype = lazyPrototype;

/** The request as Node's HTTP server would have presented it to 'upgrade' listeners. */
export function toIncomingMessage(socket: Socket, head: RequestHead, isUpgrade: boolean): IncomingMessage {
  if (isKnownLayout) return new LazyRequest(socket, head, isUpgrade);
  const req = new IncomingMessage(socket);
  req.method = head.method;
  req.url = head.url;
  req.httpVersion = head.httpVersion;
  req.httpVersionMajor = head.httpVersion.charCodeAt(0) - 0x30;
  req.httpVersionMinor = head.httpVersion.charCodeAt(2) - 0x30;
  // Sets rawHeaders and the count the lazy `headers` getter reads.
  (req as IncomingMessage & { _addHeaderLines(headers: string[], n: number): void })._addHeaderLines(head.rawHeaders, head.rawHeaders.length);
  req.complete = true;
  (req as IncomingMessage & { upgrade: boolean }).upgrade = isUpgrade;
  return req;
}

/** True when requests are made lazily on this Node (tests). */
export const isLazyRequest = isKnownLayout;
