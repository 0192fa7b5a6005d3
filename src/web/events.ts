/**
 * Event classes of the WHATWG WebSocket interface.
 *
 * Node 20 has global Event, EventTarget and MessageEvent but no CloseEvent or
 * ErrorEvent, so those two are defined here on top of the global Event.
 * MessageEvent extends the platform's own only to give it its class string
 * (Node 20's prints as "[object Event]"), so `event instanceof
 * globalThis.MessageEvent` still holds for the events our WebSocket fires.
 *
 * CloseEvent: https://websockets.spec.whatwg.org/#the-closeevent-interface
 * ErrorEvent: https://html.spec.whatwg.org/multipage/webappapis.html#errorevent
 */

import { defineClassString, makeMembersEnumerable, toUnsignedShort, toUSVString } from './webidl.js';

class SockwaveMessageEvent<T = unknown> extends globalThis.MessageEvent<T> {}
defineClassString(SockwaveMessageEvent.prototype, 'MessageEvent');
Object.defineProperty(SockwaveMessageEvent, 'name', { value: 'MessageEvent' });

export const MessageEvent: typeof globalThis.MessageEvent = SockwaveMessageEvent;
export type MessageEvent<T = unknown> = globalThis.MessageEvent<T>;

export interface CloseEventInit extends EventInit {
  wasClean?: boolean;
  code?: number;
  reason?: string;
}

export class CloseEvent extends Event {
  readonly #wasClean: boolean;
  readonly #code: number;
  readonly #reason: string;

  constructor(type: string, init: CloseEventInit = {}) {
    super(type, init);
    this.#wasClean = Boolean(init.wasClean);
    // WebIDL: `unsigned short code = 0` (modular conversion), `USVString reason = ""`.
    this.#code = toUnsignedShort(init.code ?? 0);
    this.#reason = toUSVString(init.reason ?? '');
  }

  /** True when the closing handshake completed (RFC 6455 §7.1.4 and §7.1.5). */
  get wasClean(): boolean {
    return this.#wasClean;
  }

  /** The WebSocket Connection Close Code: 1005 when none was sent, 1006 on abnormal closure. */
  get code(): number {
    return this.#code;
  }

  get reason(): string {
    return this.#reason;
  }
}

export interface ErrorEventInit extends EventInit {
  message?: string;
  filename?: string;
  lineno?: number;
  colno?: number;
  error?: unknown;
}

/**
 * The standard fires a plain `error` Event at a WebSocket; we fire this
 * subclass so Node applications also get the cause (`error`, a SockwaveError
 * with a stable `code`) and a `message`. Code that only expects Event works.
 */
export class ErrorEvent extends Event {
  readonly #message: string;
  readonly #filename: string;
  readonly #lineno: number;
  readonly #colno: number;
  readonly #error: unknown;

  constructor(type: string, init: ErrorEventInit = {}) {
    super(type, init);
    this.#message = String(init.message ?? '');
    this.#filename = String(init.filename ?? '');
    this.#lineno = (Number(init.lineno ?? 0) >>> 0);
    this.#colno = (Number(init.colno ?? 0) >>> 0);
    this.#error = init.error;
  }

  get message(): string {
    return this.#message;
  }

  get filename(): string {
    return this.#filename;
  }

  get lineno(): number {
    return this.#lineno;
  }

  get colno(): number {
    return this.#colno;
  }

  get error(): unknown {
    return this.#error;
  }
}

// WebIDL interface shape: enumerable attributes, "[object CloseEvent]" / "[object ErrorEvent]".
makeMembersEnumerable(CloseEvent.prototype, ['wasClean', 'code', 'reason']);
defineClassString(CloseEvent.prototype, 'CloseEvent');
makeMembersEnumerable(ErrorEvent.prototype, ['message', 'filename', 'lineno', 'colno', 'error']);
defineClassString(ErrorEvent.prototype, 'ErrorEvent');
