/**
 * `WebSocketError`, the error of the WebSocketStream proposal
 * (https://websockets.spec.whatwg.org/#websocketerror, the WebSocketStream
 * PR): a DOMException named "WebSocketError" that carries a close code and
 * reason. Apps pass one to `readable.cancel()` / `writable.abort()` to
 * choose the close frame; `closed` rejects with one after an unclean close.
 */
import { toUSVString } from './webidl.js';

export interface WebSocketCloseInfo {
  closeCode?: number;
  reason?: string;
}

/** `[EnforceRange] unsigned short`: a TypeError for NaN, infinities and values outside 0..65535. */
export function toEnforcedUnsignedShort(value: unknown, what: string): number {
  const x = Number(value);
  if (!Number.isFinite(x)) throw new TypeError(`${what} must be a finite number, got ${String(value)}`);
  const n = Math.trunc(x);
  if (n < 0 || n > 0xffff) throw new TypeError(`${what} must be between 0 and 65535, got ${n}`);
  return n;
}

/**
 * The checks shared by `new WebSocketError(message, init)` and
 * `WebSocketStream#close(closeInfo)`: the dictionary itself (TypeError),
 * the code (1000 or 3000-4999: "InvalidAccessError"), the reason (at most
 * 123 UTF-8 bytes: "SyntaxError"), and a non-empty reason without a code
 * meaning 1000.
 */
export function validateCloseInfo(init: unknown): { closeCode: number | null; reason: string } {
  if (init === undefined || init === null) return { closeCode: null, reason: '' };
  if (typeof init !== 'object' && typeof init !== 'function') throw new TypeError('the close info must be an object');
  const { closeCode: rawCode, reason: rawReason } = init as WebSocketCloseInfo;
  let closeCode: number | null = null;
  if (rawCode !== undefined) {
    closeCode = toEnforcedUnsignedShort(rawCode, 'closeCode');
    if (closeCode !== 1000 && (closeCode < 3000 || closeCode > 4999)) {
      throw new DOMException(`The close code must be either 1000, or between 3000 and 4999. ${closeCode} is neither.`, 'InvalidAccessError');
    }
  }
  const reason = rawReason === undefined ? '' : toUSVString(rawReason);
  const length = Buffer.byteLength(reason, 'utf8');
  if (length > 123) throw new DOMException(`The close reason must not be longer than 123 UTF-8 bytes, got ${length}`, 'SyntaxError');
  if (reason !== '' && closeCode === null) closeCode = 1000;
  return { closeCode, reason };
}

export class WebSocketError extends DOMException {
  readonly #closeCode: number | null;
  readonly #reason: string;

  constructor(message = '', init: WebSocketCloseInfo = {}) {
    const checked = validateCloseInfo(init);
    super(String(message), 'WebSocketError');
    this.#closeCode = checked.closeCode;
    this.#reason = checked.reason;
  }

  /** @internal An error for a close the peer or the network decided, with any code (1006 included). */
  static fromClose(message: string, closeCode: number, reason: string): WebSocketError {
    const error = new WebSocketError(message);
    // The public constructor only takes codes a script may send; a received one may be any.
    received.set(error, { closeCode, reason });
    return error;
  }

  get closeCode(): number | null {
    return received.get(this)?.closeCode ?? this.#closeCode;
  }

  get reason(): string {
    return received.get(this)?.reason ?? this.#reason;
  }
}

const received = new WeakMap<WebSocketError, { closeCode: number; reason: string }>();
