/**
 * Event classes of the WHATWG WebSocket interface.
 *
 * Node 20 has global Event, EventTarget and MessageEvent but no CloseEvent or
 * ErrorEvent, so those two are defined here on top of the global Event.
 * MessageEvent is the platform's own, re-exported so `event instanceof
 * MessageEvent` holds for events from our WebSocket and from MessagePort alike.
 *
 * CloseEvent: https://websockets.spec.whatwg.org/#the-closeevent-interface
 * ErrorEvent: https://html.spec.whatwg.org/multipage/webappapis.html#errorevent
 */

import { toUnsignedShort, toUSVString } from './webidl.js';

export const MessageEvent: typeof globalThis.MessageEvent = globalThis.MessageEvent;
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

  get [Symbol.toStringTag](): string {
    return 'CloseEvent';
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

  get [Symbol.toStringTag](): string {
    return 'ErrorEvent';
  }
}
