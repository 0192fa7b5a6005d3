/**
 * The WHATWG `WebSocket` interface (https://websockets.spec.whatwg.org/),
 * so sockwave can stand in for the browser's (and Node 22's) global class.
 *
 * It is a thin layer over the Node client socket returned by `connect()`:
 * that socket runs the protocol; this class adds the standard's argument
 * checks, ready-state rules, event objects and bufferedAmount accounting.
 * Step numbers in comments refer to the standard's algorithms.
 */
import type { EventEmitter } from 'node:events';
import { connect } from '../node/socket/connect.js';
import { resolveClientOptions, type ClientOptions } from '../node/client/options.js';
import { normalizeProtocols, validateCloseArguments } from './arguments.js';
import { messageEventData, toSendItem, type BinaryType, type SendItem } from './binary.js';
import { EventHandlers } from './event-handlers.js';
import { CloseEvent, ErrorEvent, MessageEvent } from './events.js';
import { enqueueEstablish, establishKey, type QueueTicket } from './establish-queue.js';
import { currentLocation, getWebSocketUrlRecord, pageOrigin } from '../core/url.js';
import { defineClassString, makeMembersEnumerable } from './webidl.js';

/** Node extras accepted as the third constructor argument (or the second, as an object with `protocols`). */
export interface WebSocketOptions extends ClientOptions {
  /**
   * Base URL that relative URLs ("/chat", "?room=1") are resolved against, as
   * a page's URL is in a browser. Default: `globalThis.location.href` when the
   * runtime defines `location`, else none, and a relative URL is a SyntaxError.
   */
  baseUrl?: string | URL;
}

/** What this class needs from the Node client socket (src/node/socket/websocket.ts). */
interface NodeClientSocket extends EventEmitter {
  readonly readyState: number;
  readonly protocol: string;
  readonly extensions: string;
  /** True once the closing handshake completed both ways. */
  readonly wasClean: boolean;
  binaryType: string;
  send(data: Buffer | string, options: { binary: boolean }, cb?: (error?: Error | null) => void): unknown;
  close(code?: number, reason?: string): void;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

export class WebSocket extends EventTarget {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;
  declare readonly CONNECTING: typeof CONNECTING;
  declare readonly OPEN: typeof OPEN;
  declare readonly CLOSING: typeof CLOSING;
  declare readonly CLOSED: typeof CLOSED;

  readonly #url: URL;
  /** Serialized origin of the URL, the `origin` of every MessageEvent (computed once). */
  readonly #origin: string;
  /** Null while this connection waits for another one to the same host to leave CONNECTING. */
  #socket: NodeClientSocket | null = null;
  readonly #ticket: QueueTicket;
  readonly #handlers = new EventHandlers(this);
  #readyState: number = CONNECTING;
  #protocol = '';
  #extensions = '';
  #binaryType: BinaryType = 'blob';
  #bufferedAmount = 0;
  /** Messages waiting behind a Blob being read, so they leave in send() order. */
  readonly #outbox: SendItem[] = [];
  #isReadingBlob = false;
  /** close() arguments held until the outbox drains, so queued messages precede the close frame. */
  #pendingClose: { code: number | undefined; reason: string | undefined } | null = null;
  /** The error that made the connection fail, reported as `error` before `close`. */
  #failure: Error | null = null;

  constructor(url: string | URL, protocols?: string | readonly string[] | WebSocketOptions, options?: WebSocketOptions) {
    super();
    // WebIDL: the url argument is required (an explicit undefined is converted to "undefined").
    if (arguments.length === 0) throw new TypeError("Failed to construct 'WebSocket': 1 argument required, but only 0 present");
    // WebIDL ignores arguments past the declared ones: a third argument is
    // sockwave's options only when it is an object (WPT passes strings there).
    if (typeof options !== 'object' || options === null) options = undefined;
    // Node extra, like undici: new WebSocket(url, { protocols, headers, ... }).
    if (typeof protocols === 'object' && protocols !== null && !isIterable(protocols)) {
      options = { ...(protocols as WebSocketOptions), ...options };
      protocols = (protocols as WebSocketOptions).protocols;
    }
    const { baseUrl, ...clientOptions } = options ?? {};
    // Constructor steps 1-2: URL record, parsed against the base URL: the
    // `baseUrl` option, else `globalThis.location` where a runtime defines it
    // (Deno, browsers, test environments), else none and relative URLs fail.
    const pageLocation = currentLocation();
    const urlRecord = getWebSocketUrlRecord(url, baseUrl ?? pageLocation?.href);
    // Steps 3-4: protocols.
    const protocolList = normalizeProtocols(protocols as string | readonly string[] | undefined);
    // Step 5.
    this.#url = urlRecord;
    this.#origin = urlRecord.origin;
    // A page's WebSocket sends the page's origin; an explicit option wins.
    if (clientOptions.origin === undefined) clientOptions.origin = pageOrigin(pageLocation);
    // The WebSocket standard fetches with redirect mode "error": a 3xx fails the connection.
    const connectOptions: ClientOptions = { ...clientOptions, protocols: protocolList, followRedirects: false };
    // Invalid options throw here, even when the connection has to wait its turn.
    resolveClientOptions(connectOptions);
    // Step 7: establish the connection, after any other one to the same host
    // has left CONNECTING (events arrive in later tasks either way).
    this.#ticket = enqueueEstablish(establishKey(urlRecord), () => this.#start(urlRecord, connectOptions));
  }

  /** WebIDL: an operation or setter called on anything but a WebSocket throws TypeError before looking at its arguments. */
  static #checkThis(self: unknown): void {
    if (typeof self !== 'object' || self === null || !(#readyState in self)) throw new TypeError('Illegal invocation');
  }

  /** The socket on paths that run only once the connection opened, where it always exists. */
  get #live(): NodeClientSocket {
    return this.#socket!;
  }

  #start(url: URL, options: ClientOptions): void {
    if (this.#readyState !== CONNECTING) return;
    try {
      this.#socket = connect(url, options) as unknown as NodeClientSocket;
    } catch (error) {
      // Options were checked in the constructor; anything else fails this connection, not the next one's caller.
      this.#ticket.release();
      this.#failWithoutSocket(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.#socket.binaryType = 'nodebuffer';
    this.#attach(this.#socket);
  }

  /** "Fail the WebSocket connection" before any socket existed: error, then close 1006, in a later task. */
  #failWithoutSocket(error: Error | null): void {
    setImmediate(() => {
      this.#readyState = CLOSED;
      this.dispatchEvent(
        new ErrorEvent('error', { message: error?.message ?? 'WebSocket connection closed before it was established', error }),
      );
      this.dispatchEvent(new CloseEvent('close', { wasClean: false, code: 1006, reason: '' }));
    });
  }

  #attach(socket: NodeClientSocket): void {
    // "When the WebSocket connection is established" steps 1-4.
    socket.on('open', () => {
      this.#ticket.release();
      this.#readyState = OPEN;
      this.#extensions = socket.extensions ?? '';
      this.#protocol = socket.protocol ?? '';
      this.dispatchEvent(new Event('open'));
    });
    // "When a WebSocket message has been received" steps 1-3.
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (this.readyState !== OPEN) return;
      this.dispatchEvent(
        new MessageEvent('message', { data: messageEventData(data, isBinary, this.#binaryType), origin: this.#origin }),
      );
    });
    socket.on('error', (error: Error) => {
      this.#failure ??= error;
    });
    // "When the WebSocket connection is closed" steps 1-3.
    socket.on('close', (code: number, reason: Buffer | string) => {
      this.#ticket.release();
      this.#readyState = CLOSED;
      this.#outbox.length = 0;
      const reasonText = typeof reason === 'string' ? reason : reason.toString('utf8');
      // RFC 6455 §7.1.5/§7.4.1: 1006 means the closing handshake did not complete.
      const wasClean = socket.wasClean && this.#failure === null && code !== 1006;
      // Step 2: the connection failed (we failed it, or it ended without a closing handshake).
      if (this.#failure !== null || code === 1006) {
        const error = this.#failure;
        this.dispatchEvent(
          new ErrorEvent('error', { message: error?.message ?? 'WebSocket connection closed abnormally (1006)', error }),
        );
      }
      this.dispatchEvent(new CloseEvent('close', { wasClean, code, reason: reasonText }));
    });
  }

  /** The URL, serialized (ws: or wss:). */
  get url(): string {
    return this.#url.href;
  }

  get readyState(): number {
    // "When the WebSocket closing handshake is started" (by the peer's close frame): CLOSING.
    if (this.#readyState === OPEN && this.#socket !== null && this.#socket.readyState >= CLOSING) return CLOSING;
    return this.#readyState;
  }

  /**
   * Bytes passed to send() not yet handed to the network. Counts messages
   * sent after closing started forever, as the standard says, so scripts that
   * poll it see that the data never left.
   */
  get bufferedAmount(): number {
    return this.#bufferedAmount;
  }

  /** Extensions the server selected (the Sec-WebSocket-Extensions response value), or "". */
  get extensions(): string {
    return this.#extensions;
  }

  /** Subprotocol the server selected, or "". */
  get protocol(): string {
    return this.#protocol;
  }

  get binaryType(): BinaryType {
    return this.#binaryType;
  }

  set binaryType(value: BinaryType) {
    // WebIDL: a setter called on another object throws, like the getters' private-field access does.
    WebSocket.#checkThis(this);
    // WebIDL enumeration attribute: values outside the enumeration are ignored.
    if (value === 'blob' || value === 'arraybuffer') this.#binaryType = value;
  }

  get onopen(): ((this: WebSocket, event: Event) => unknown) | null {
    return this.#handlers.get('open') as never;
  }
  set onopen(value: ((this: WebSocket, event: Event) => unknown) | null) {
    this.#handlers.set('open', value);
  }
  get onmessage(): ((this: WebSocket, event: MessageEvent) => unknown) | null {
    return this.#handlers.get('message') as never;
  }
  set onmessage(value: ((this: WebSocket, event: MessageEvent) => unknown) | null) {
    this.#handlers.set('message', value);
  }
  get onerror(): ((this: WebSocket, event: Event) => unknown) | null {
    return this.#handlers.get('error') as never;
  }
  set onerror(value: ((this: WebSocket, event: Event) => unknown) | null) {
    this.#handlers.set('error', value);
  }
  get onclose(): ((this: WebSocket, event: CloseEvent) => unknown) | null {
    return this.#handlers.get('close') as never;
  }
  set onclose(value: ((this: WebSocket, event: CloseEvent) => unknown) | null) {
    this.#handlers.set('close', value);
  }

  /** https://websockets.spec.whatwg.org/#dom-websocket-close */
  close(code?: number, reason?: string): void {
    WebSocket.#checkThis(this);
    // Steps 1-2: argument checks throw before any state change.
    const checked = validateCloseArguments(code, reason);
    // Step 3, first matching branch.
    const state = this.readyState;
    if (state === CLOSING || state === CLOSED) return;
    this.#readyState = CLOSING;
    if (state === CONNECTING) {
      // Not yet established: fail the connection; the socket reports error, then close 1006.
      if (this.#socket !== null) this.#socket.close();
      else {
        // Still waiting for its turn: give the turn up and never connect.
        this.#ticket.release();
        this.#failWithoutSocket(null);
      }
      return;
    }
    if (this.#outbox.length > 0) {
      this.#pendingClose = checked;
      return;
    }
    this.#startClosingHandshake(checked);
  }

  #startClosingHandshake({ code, reason }: { code: number | undefined; reason: string | undefined }): void {
    // A reason without a code is sent with 1000, the only frame that can carry it.
    if (code === undefined && reason !== undefined) this.#live.close(1000, reason);
    else if (code === undefined) this.#live.close();
    else this.#live.close(code, reason);
  }

  /** https://websockets.spec.whatwg.org/#dom-websocket-send */
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    WebSocket.#checkThis(this);
    // WebIDL checks the argument count before the method's steps run.
    if (arguments.length === 0) throw new TypeError("Failed to execute 'send': 1 argument required");
    // Step 1.
    if (this.#readyState === CONNECTING) {
      throw new DOMException('Cannot send before the connection is open (readyState CONNECTING)', 'InvalidStateError');
    }
    // Step 2: every send that does not throw adds its size, even when the
    // closing handshake has started and the data will never be sent.
    const item = toSendItem(data);
    this.#bufferedAmount += item.size;
    if (this.readyState !== OPEN || this.#pendingClose !== null) return;
    if (this.#outbox.length === 0 && item.kind !== 'blob') {
      this.#transmit(item.data, item.kind === 'binary', item.size);
      return;
    }
    this.#outbox.push(item);
    this.#flush();
  }

  /** Hands one message to the socket; its bytes leave bufferedAmount once written. */
  #transmit(data: Buffer | string, isBinary: boolean, size: number): void {
    this.#live.send(data, { binary: isBinary }, (error) => {
      if (!error) this.#bufferedAmount -= size;
    });
  }

  /** Sends queued items in order; a Blob stalls the queue until its bytes are read. */
  #flush(): void {
    while (this.#outbox.length > 0 && !this.#isReadingBlob) {
      const item = this.#outbox[0];
      if (item.kind === 'blob') {
        this.#isReadingBlob = true;
        item.blob.arrayBuffer().then(
          (buffer) => {
            this.#isReadingBlob = false;
            if (this.#outbox[0] !== item) return; // the connection closed meanwhile
            this.#outbox[0] = { kind: 'binary', data: Buffer.from(buffer), size: item.size };
            this.#flush();
          },
          (error: unknown) => {
            this.#isReadingBlob = false;
            if (this.#outbox[0] !== item) return;
            this.#outbox.shift();
            this.#failure ??= error instanceof Error ? error : new Error(String(error));
            // A Blob that cannot be read cannot be sent; the message would be lost silently otherwise.
            this.#outbox.length = 0;
            this.#pendingClose = null;
            this.#live.close(1011);
          },
        );
        return;
      }
      this.#outbox.shift();
      if (this.#live.readyState !== OPEN) continue; // stays counted in bufferedAmount
      this.#transmit(item.data, item.kind === 'binary', item.size);
    }
    if (this.#outbox.length === 0 && this.#pendingClose !== null) {
      const pending = this.#pendingClose;
      this.#pendingClose = null;
      if (this.#live.readyState === OPEN) this.#startClosingHandshake(pending);
    }
  }

}

// The constants are on the interface object and on the prototype (WebIDL §3.7.5 "constants").
for (const [name, value] of Object.entries({ CONNECTING, OPEN, CLOSING, CLOSED })) {
  Object.defineProperty(WebSocket.prototype, name, { value, enumerable: true });
  Object.defineProperty(WebSocket, name, { value, enumerable: true, writable: false, configurable: false });
}

// WebIDL interface shape (https://webidl.spec.whatwg.org/#es-interfaces):
// the constructor's length counts required arguments only (url), attributes
// and operations are enumerable, and the class string is "WebSocket".
Object.defineProperty(WebSocket, 'length', { value: 1 });
// close()'s arguments are both optional: length 0.
Object.defineProperty(WebSocket.prototype.close, 'length', { value: 0 });
makeMembersEnumerable(WebSocket.prototype, [
  'url', 'readyState', 'bufferedAmount', 'extensions', 'protocol', 'binaryType',
  'onopen', 'onmessage', 'onerror', 'onclose', 'close', 'send',
]);
defineClassString(WebSocket.prototype, 'WebSocket');

function isIterable(value: object): boolean {
  return typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
}
