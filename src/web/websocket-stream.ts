/**
 * `WebSocketStream`, the streams-based WebSocket API that Chrome ships
 * (https://github.com/whatwg/websockets/pull/48, explainer:
 * https://github.com/ricea/websocketstream-explainer), over the Node client
 * socket of connect().
 *
 * Backpressure both ways, which is the point of the API:
 * - reading: the readable has the streams' default high-water mark (one
 *   message). When its queue is full the socket is paused, so the kernel's
 *   receive buffer fills and TCP flow control slows the server; pull()
 *   resumes it. Messages already parsed from a chunk are still queued (at
 *   most one chunk's worth past the mark).
 * - writing: a write resolves when send()'s callback runs, i.e. when the
 *   frame was handed to the kernel, not when it was queued in user space;
 *   WritableStream holds the next write until then.
 *
 * Close semantics (the tests in WPT websockets/stream/tentative): a clean
 * close resolves `closed` with { closeCode, reason }, closes the readable
 * and errors the writable with an "InvalidStateError"; an unclean one
 * (no closing handshake, or writes still pending) rejects `closed` with a
 * WebSocketError, and errors both streams with that same object.
 */
import { connect } from '../node/socket/connect.js';
import type { ClientOptions } from '../node/client/options.js';
import type { NodeWebSocket } from '../node/socket/websocket.js';
import { getWebSocketUrlRecord } from '../core/url.js';
import { normalizeProtocols } from './arguments.js';
import { toUSVString } from './webidl.js';
import { validateCloseInfo, WebSocketError, type WebSocketCloseInfo } from './websocket-error.js';

/** `WebSocketStreamOptions` (protocols, signal) plus the Node client's options (headers, tls, proxy, ...). */
export interface WebSocketStreamOptions extends Omit<ClientOptions, 'protocols' | 'signal'> {
  protocols?: readonly string[];
  signal?: AbortSignal;
}

export interface WebSocketOpenInfo {
  readable: ReadableStream<string | Uint8Array>;
  writable: WritableStream<unknown>;
  extensions: string;
  protocol: string;
}

export type { WebSocketCloseInfo };

export class WebSocketStream {
  readonly #url: string;
  readonly #socket: NodeWebSocket | undefined;
  readonly #opened: Promise<WebSocketOpenInfo>;
  readonly #closed: Promise<{ closeCode: number; reason: string }>;
  #resolveOpened!: (info: WebSocketOpenInfo) => void;
  #rejectOpened!: (error: unknown) => void;
  #resolveClosed!: (info: { closeCode: number; reason: string }) => void;
  #rejectClosed!: (error: unknown) => void;
  #readableController: ReadableStreamDefaultController<string | Uint8Array> | undefined;
  #writableController: WritableStreamDefaultController | undefined;
  #isOpen = false;
  #isCloseStarted = false;
  #isReadableDone = false;
  #pendingWrites = 0;
  /** A write failed (the transport closed under it): the peer did not get everything. */
  #hasLostWrite = false;
  #failure: unknown;
  #closeWaiters: Array<() => void> = [];

  constructor(url: string | URL, options: WebSocketStreamOptions = {}) {
    if (arguments.length === 0) throw new TypeError("Failed to construct 'WebSocketStream': 1 argument required");
    if (options === null || (typeof options !== 'object' && typeof options !== 'function')) {
      // WebIDL dictionary: undefined and null are {}, a primitive is a TypeError.
      if (options !== null) throw new TypeError('options must be an object');
      options = {};
    }
    const urlRecord = getWebSocketUrlRecord(toUSVString(url));
    const { protocols: rawProtocols, signal, ...nodeOptions } = options;
    if (rawProtocols !== undefined && (typeof rawProtocols !== 'object' || rawProtocols === null || !(Symbol.iterator in rawProtocols))) {
      throw new TypeError('options.protocols must be a sequence of strings');
    }
    const protocols = normalizeProtocols(rawProtocols);
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError('options.signal must be an AbortSignal');
    this.#url = urlRecord.href;
    this.#opened = new Promise((resolve, reject) => {
      this.#resolveOpened = resolve;
      this.#rejectOpened = reject;
    });
    this.#closed = new Promise((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    });
    // Rejections an app never awaits must not crash the process (browsers report them only on the console).
    this.#opened.catch(() => {});
    this.#closed.catch(() => {});
    if (signal?.aborted) {
      // Aborted before construction: no connection is attempted.
      this.#rejectOpened(signal.reason);
      this.#rejectClosed(signal.reason);
      this.#socket = undefined;
      return;
    }
    // The signal aborts the handshake only; connect() ignores it once open, as the proposal says.
    const socket = connect(urlRecord, { ...nodeOptions, protocols, signal });
    this.#socket = socket;
    socket.on('open', () => this.#onOpen(socket));
    socket.on('message', (data: Buffer, isBinary: boolean) => this.#onMessage(socket, data, isBinary));
    socket.on('error', (error: Error) => {
      this.#failure ??= error;
    });
    socket.on('close', (code: number, reason: Buffer) => this.#onClose(code, reason.toString('utf8'), signal));
  }

  get url(): string {
    return this.#url;
  }

  get opened(): Promise<WebSocketOpenInfo> {
    return this.#opened;
  }

  get closed(): Promise<{ closeCode: number; reason: string }> {
    return this.#closed;
  }

  /**
   * Starts the closing handshake with `closeInfo` ({ closeCode, reason });
   * during the handshake, fails the connection (`opened` and `closed`
   * reject). Throws for a code other than 1000 or 3000-4999
   * ("InvalidAccessError") or a reason over 123 UTF-8 bytes ("SyntaxError").
   */
  close(closeInfo?: WebSocketCloseInfo): void {
    const { closeCode, reason } = validateCloseInfo(closeInfo);
    this.#startClose(closeCode, reason);
  }

  #startClose(closeCode: number | null, reason: string): void {
    const socket = this.#socket;
    if (socket === undefined || this.#isCloseStarted) return;
    this.#isCloseStarted = true;
    if (!this.#isOpen) {
      socket.terminate();
      return;
    }
    if (closeCode === null) socket.close();
    else socket.close(closeCode, reason);
  }

  /** readable.cancel(reason) / writable.abort(reason): a WebSocketError chooses the close frame; anything else sends none. */
  #closeWithReason(reason: unknown): void {
    if (reason instanceof WebSocketError) this.#startClose(reason.closeCode, reason.reason);
    else this.#startClose(null, '');
  }

  #onOpen(socket: NodeWebSocket): void {
    this.#isOpen = true;
    const readable = new ReadableStream<string | Uint8Array>({
      start: (controller) => {
        this.#readableController = controller;
      },
      pull: () => {
        if (socket.isPaused) socket.resume();
      },
      cancel: (reason) => {
        this.#isReadableDone = true;
        this.#closeWithReason(reason);
      },
    });
    const writable = new WritableStream<unknown>({
      start: (controller) => {
        this.#writableController = controller;
      },
      write: (chunk) => this.#write(socket, chunk),
      close: () => {
        this.#startClose(null, '');
        return this.#waitForClose();
      },
      abort: (reason) => {
        this.#closeWithReason(reason);
      },
    });
    this.#resolveOpened({ readable, writable, extensions: socket.extensions, protocol: socket.protocol });
  }

  #write(socket: NodeWebSocket, chunk: unknown): Promise<void> {
    let data: Buffer | string;
    let isBinary: boolean;
    if (chunk instanceof ArrayBuffer || ArrayBuffer.isView(chunk) || isSharedArrayBuffer(chunk)) {
      data = toBytes(chunk as ArrayBuffer | ArrayBufferView);
      isBinary = true;
    } else {
      data = toUSVString(chunk);
      isBinary = false;
    }
    if (socket.readyState !== 1) return Promise.reject(new DOMException('The WebSocket is not open', 'InvalidStateError'));
    this.#pendingWrites++;
    return new Promise((resolve, reject) => {
      socket.send(data, { binary: isBinary }, (error) => {
        this.#pendingWrites--;
        // Still being written when the peer's close frame arrived: the peer
        // stopped reading messages there (RFC 6455 §1.4: data after its Close
        // is discarded), so this write did not complete, as the proposal's
        // "incomplete at close time" (WPT remote-close, write) expects.
        const isAfterPeerClose = socket.readyState !== 1 && !this.#isCloseStarted;
        if (error || isAfterPeerClose) {
          this.#hasLostWrite = true;
          reject(new DOMException(`The message was not sent: ${error?.message ?? 'the peer closed the connection'}`, 'InvalidStateError'));
        } else resolve();
      });
    });
  }

  #onMessage(socket: NodeWebSocket, data: Buffer, isBinary: boolean): void {
    const controller = this.#readableController;
    if (controller === undefined || this.#isReadableDone) return;
    // Text was validated as UTF-8 by the core. Binary: a copy, since `data` may be a view of a pooled chunk.
    controller.enqueue(isBinary ? new Uint8Array(data) : data.toString('utf8'));
    // The readable's queue is full: stop reading until pull() asks for more.
    if ((controller.desiredSize ?? 0) <= 0 && !socket.isPaused) socket.pause();
  }

  #waitForClose(): Promise<void> {
    return new Promise((resolve) => this.#closeWaiters.push(resolve));
  }

  #onClose(code: number, reason: string, signal: AbortSignal | undefined): void {
    const socket = this.#socket as NodeWebSocket;
    for (const resolve of this.#closeWaiters.splice(0)) resolve();
    if (!this.#isOpen) {
      // The handshake failed, was aborted by the signal, or close() was called during it.
      if (signal?.aborted) {
        this.#rejectOpened(signal.reason);
        this.#rejectClosed(signal.reason);
        return;
      }
      // As Chromium does: no connection existed, so `opened` carries no close
      // code; `closed` reports the abnormal closure (1006) like any unclean end.
      const message = `The WebSocket connection could not be established${failureText(this.#failure)}`;
      this.#rejectOpened(new WebSocketError(message));
      this.#rejectClosed(WebSocketError.fromClose(message, 1006, ''));
      return;
    }
    // Writes still pending, or dropped when the transport closed, mean the peer did not get everything: not clean.
    const isClean = socket.wasClean && this.#pendingWrites === 0 && !this.#hasLostWrite;
    if (isClean) {
      if (!this.#isReadableDone) {
        this.#isReadableDone = true;
        this.#readableController?.close();
      }
      this.#writableController?.error(new DOMException('The WebSocket is closed', 'InvalidStateError'));
      this.#resolveClosed({ closeCode: code, reason });
      return;
    }
    const error = WebSocketError.fromClose(`The WebSocket closed uncleanly (${code})${failureText(this.#failure)}`, code, reason);
    if (!this.#isReadableDone) {
      this.#isReadableDone = true;
      this.#readableController?.error(error);
    }
    this.#writableController?.error(error);
    this.#rejectClosed(error);
  }
}

function failureText(error: unknown): string {
  return error instanceof Error ? `: ${error.message}` : '';
}

function isSharedArrayBuffer(value: unknown): boolean {
  return typeof SharedArrayBuffer === 'function' && value instanceof SharedArrayBuffer;
}

/**
 * BufferSource without [AllowShared] or [AllowResizable] (WebIDL): a
 * SharedArrayBuffer, a view on one, or a resizable buffer is a TypeError.
 * The bytes are copied, since the script may reuse its buffer once write()
 * returns while the frame is still queued.
 */
function toBytes(chunk: ArrayBuffer | ArrayBufferView): Buffer {
  const buffer = ArrayBuffer.isView(chunk) ? chunk.buffer : chunk;
  if (isSharedArrayBuffer(buffer)) throw new TypeError('write() does not accept shared memory');
  if ((buffer as ArrayBuffer & { resizable?: boolean }).resizable === true) throw new TypeError('write() does not accept a resizable ArrayBuffer');
  const view = ArrayBuffer.isView(chunk) ? new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength) : new Uint8Array(chunk);
  return Buffer.from(view);
}
