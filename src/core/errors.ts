/**
 * Error classes shared by every layer. Peer faults never throw out of the core:
 * they become an `error` event carrying one of these, plus the right close frame.
 * Local misuse (sending after close, an over-long reason) throws one at once.
 *
 * Each class has a stable `code` string (documented in README.md) and a
 * `Symbol.for` brand so `instanceof` keeps working when two copies of sockwave
 * are installed side by side.
 */

const BRAND = Symbol.for('sockwave.error');

/** Stable machine-readable codes; the README's error table lists the same set. */
export const ErrorCode = {
  /** The peer broke RFC 6455 framing or closing rules (close code 1002). */
  PROTOCOL: 'SW_PROTOCOL',
  /** A text message or close reason was not valid UTF-8 (close code 1007). */
  INVALID_UTF8: 'SW_INVALID_UTF8',
  /** A message exceeded `maxMessageBytes` (close code 1009). */
  MESSAGE_TOO_LARGE: 'SW_MESSAGE_TOO_LARGE',
  /** The opening handshake failed (HTTP status on the server, precise reason on the client). */
  HANDSHAKE: 'SW_HANDSHAKE',
  /** The operation needs an open connection but it is closing or closed. */
  CONNECTION_CLOSED: 'SW_CONNECTION_CLOSED',
  /** The operation needs an open connection but it is still opening (send/ping/pong while CONNECTING). */
  NOT_OPEN_YET: 'SW_NOT_OPEN_YET',
  /** A policy hook or limit refused the peer (close code 1008). */
  POLICY: 'SW_POLICY',
  /** A timer ran out (handshake, close handshake, heartbeat). */
  TIMEOUT: 'SW_TIMEOUT',
  /** The caller passed something the API does not accept. */
  INVALID_ARGUMENT: 'SW_INVALID_ARGUMENT',
  /** Permessage-deflate negotiation or (de)compression failed. */
  EXTENSION: 'SW_EXTENSION',
  /** A failure inside sockwave or the platform; the peer sees 1011 with no details. */
  INTERNAL: 'SW_INTERNAL',
  /** Topics: a publish was refused because the backplane's outage queue is full (nothing is dropped silently). */
  BACKPLANE_QUEUE_FULL: 'SW_BACKPLANE_QUEUE_FULL',
  /** Topics: the backplane or the server's topics were closed; pending publishes reject with it. */
  BACKPLANE_CLOSED: 'SW_BACKPLANE_CLOSED',
  /** Topics: the backing store (Redis) refused an operation for a reason retrying will not fix. */
  BACKPLANE_FAILED: 'SW_BACKPLANE_FAILED',
  /** Client: the proxy could not be reached, refused the tunnel or the credentials. */
  PROXY: 'SW_PROXY',
  /** Client: the server's host name did not resolve. */
  DNS: 'SW_DNS',
  /** Client: the TCP connection to the server was refused, reset or unreachable. */
  CONNECT: 'SW_CONNECT',
  /** Client: TLS with the server failed (certificate, protocol, or a plain port). */
  TLS: 'SW_TLS',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class SockwaveError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    // Brand check first so errors from a duplicate install still match;
    // subclasses fall back to the prototype chain for their own identity.
    if (this === SockwaveError) {
      return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
    }
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }
}
Object.defineProperty(SockwaveError.prototype, BRAND, { value: true });

/** The peer violated the protocol; `closeCode` is what we send (1002, 1007, 1008, ...). */
export class ProtocolError extends SockwaveError {
  readonly closeCode: number;
  constructor(message: string, closeCode = 1002, code: ErrorCode = ErrorCode.PROTOCOL) {
    super(code, message);
    this.closeCode = closeCode;
  }
}

/** A message (or its decompressed form) is larger than the configured limit. */
export class MessageTooLargeError extends ProtocolError {
  readonly size: number;
  readonly limit: number;
  constructor(size: number, limit: number) {
    super(`message of at least ${size} bytes exceeds the limit of ${limit} bytes`, 1009, ErrorCode.MESSAGE_TOO_LARGE);
    this.size = size;
    this.limit = limit;
  }
}

/** The opening handshake failed. On the server, `status` is the HTTP answer we send. */
export class HandshakeError extends SockwaveError {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  constructor(message: string, status = 400, headers: Record<string, string> = {}) {
    super(ErrorCode.HANDSHAKE, message);
    this.status = status;
    this.headers = headers;
  }
}

/** Close frame as sent or received: `code` 1005 means "no code present". */
export interface CloseFrameInfo {
  readonly code: number;
  readonly reason: string;
}

/** An operation that needs an open connection was attempted after closing began. */
export class ConnectionClosedError extends SockwaveError {
  /** Close frame we sent, if any. */
  readonly sent: CloseFrameInfo | null;
  /** Close frame we received, if any. */
  readonly received: CloseFrameInfo | null;
  /** True when the peer's close frame arrived before ours was sent. */
  readonly isReceivedFirst: boolean;
  constructor(
    message: string,
    sent: CloseFrameInfo | null = null,
    received: CloseFrameInfo | null = null,
    isReceivedFirst = false,
  ) {
    super(ErrorCode.CONNECTION_CLOSED, message);
    this.sent = sent;
    this.received = received;
    this.isReceivedFirst = isReceivedFirst;
  }
}

/** A timer ran out; `phase` says which one. */
export class TimeoutError extends SockwaveError {
  readonly phase: 'handshake' | 'close' | 'heartbeat' | 'idle';
  constructor(phase: TimeoutError['phase'], ms: number) {
    super(ErrorCode.TIMEOUT, `${phase} timed out after ${ms} ms`);
    this.phase = phase;
  }
}
