/**
 * DOM-style listeners on the EventEmitter-based Node socket, so code written
 * for the browser API (`addEventListener('message', e => e.data)`, `onclose`)
 * runs unchanged on a server or `connect()` socket. Each DOM listener is
 * wrapped once; the wrapper remembers the original for removal.
 */
import type { EventEmitter } from 'node:events';

const kOriginal = Symbol('sockwave.originalListener');
const kIsAttribute = Symbol('sockwave.isOnAttribute');

export type DomEventType = 'open' | 'message' | 'close' | 'error';

/** The small event objects handed to DOM-style listeners. */
export interface NodeSocketEvent {
  readonly type: string;
  readonly target: unknown;
  readonly data?: unknown;
  readonly code?: number;
  readonly reason?: string;
  readonly wasClean?: boolean;
  readonly error?: unknown;
  readonly message?: string;
}

export type DomListener = ((event: NodeSocketEvent) => void) | { handleEvent(event: NodeSocketEvent): void };

type Wrapper = ((...args: unknown[]) => void) & { [kOriginal]?: DomListener; [kIsAttribute]?: boolean };

interface Target extends EventEmitter {
  readonly wasClean?: boolean;
}

function call(listener: DomListener, target: unknown, event: NodeSocketEvent): void {
  if (typeof listener === 'function') listener.call(target, event);
  else listener.handleEvent(event);
}

/** A text message's data as a string, from any binaryType's shape (Buffer, ArrayBuffer, Buffer[]). */
function textOf(data: unknown): unknown {
  if (Buffer.isBuffer(data)) return data.toString();
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString();
  if (Array.isArray(data) && data.every((part) => Buffer.isBuffer(part))) return Buffer.concat(data).toString();
  return data;
}

function makeWrapper(type: DomEventType, listener: DomListener): Wrapper | undefined {
  switch (type) {
    case 'message':
      return function (this: Target, data: unknown, isBinary: unknown) {
        // Text arrives as UTF-8 bytes; the DOM API hands strings to listeners,
        // whatever binaryType says (it applies to binary messages only).
        const value = isBinary === false ? textOf(data) : data;
        call(listener, this, { type, target: this, data: value });
      } as Wrapper;
    case 'close':
      return function (this: Target, code: unknown, reason: unknown) {
        call(listener, this, {
          type,
          target: this,
          code: code as number,
          reason: String(reason),
          wasClean: this.wasClean === true,
        });
      } as Wrapper;
    case 'error':
      return function (this: Target, error: unknown) {
        const message = error instanceof Error ? error.message : String(error);
        call(listener, this, { type, target: this, error, message });
      } as Wrapper;
    case 'open':
      return function (this: Target) {
        call(listener, this, { type, target: this });
      } as Wrapper;
    default:
      return undefined;
  }
}

export function addDomListener(
  emitter: EventEmitter,
  type: string,
  listener: DomListener | null | undefined,
  options?: { once?: boolean } | boolean,
  isAttribute = false,
): void {
  if (listener == null) return;
  for (const existing of emitter.listeners(type) as Wrapper[]) {
    // DOM semantics: adding the same listener twice is a no-op.
    if (!isAttribute && existing[kOriginal] === listener && !existing[kIsAttribute]) return;
  }
  const wrapper = makeWrapper(type as DomEventType, listener);
  if (wrapper === undefined) return;
  wrapper[kOriginal] = listener;
  wrapper[kIsAttribute] = isAttribute;
  if (typeof options === 'object' && options?.once) emitter.once(type, wrapper);
  else emitter.on(type, wrapper);
}

export function removeDomListener(emitter: EventEmitter, type: string, listener: DomListener | null | undefined): void {
  for (const existing of emitter.listeners(type) as Wrapper[]) {
    if (existing[kOriginal] === listener && !existing[kIsAttribute]) {
      emitter.removeListener(type, existing);
      return;
    }
  }
}

/** Reads the `on<type>` attribute handler. */
export function getAttributeListener(emitter: EventEmitter, type: DomEventType): DomListener | null {
  for (const existing of emitter.listeners(type) as Wrapper[]) {
    if (existing[kIsAttribute]) return existing[kOriginal] ?? null;
  }
  return null;
}

/** Replaces the `on<type>` attribute handler (null removes it). */
export function setAttributeListener(emitter: EventEmitter, type: DomEventType, listener: unknown): void {
  for (const existing of emitter.listeners(type) as Wrapper[]) {
    if (existing[kIsAttribute]) {
      emitter.removeListener(type, existing);
      break;
    }
  }
  if (typeof listener === 'function') addDomListener(emitter, type, listener as DomListener, undefined, true);
}

/** Defines the `onopen`/`onmessage`/`onclose`/`onerror` accessors on an EventEmitter prototype. */
export function defineEventAttributes(prototype: EventEmitter): void {
  for (const type of ['open', 'message', 'close', 'error'] as const) {
    Object.defineProperty(prototype, `on${type}`, {
      configurable: true,
      enumerable: true,
      get(this: EventEmitter) {
        return getAttributeListener(this, type);
      },
      set(this: EventEmitter, listener: unknown) {
        setAttributeListener(this, type, listener);
      },
    });
  }
}
