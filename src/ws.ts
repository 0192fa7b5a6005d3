/**
 * Drop-in entry for code written against `ws`:
 *
 *   import WebSocket, { WebSocketServer } from 'sockwave/ws';
 *   new WebSocket.Server({ port: 8080 });         // ws 7 style
 *   new WebSocket('ws://localhost:8080');          // ws-style client
 *   new Server({ wsEngine: WebSocket.Server })     // engine.io / socket.io
 *
 * The classes here are subclasses of sockwave's NodeWebSocket and
 * WebSocketServer that behave as ws does where the two differ on purpose
 * (docs/migrating-from-ws.md, "sockwave/ws follows ws"): messages that
 * arrive after close() are delivered, protocol errors carry ws's `WS_ERR_*`
 * codes and texts, and the server's sockets are of this WebSocket class.
 */
import { ReadyState } from './core/events.js';
import { NodeWebSocket } from './node/socket/websocket.js';
import { kState, kWsFlavour } from './node/socket/state.js';
import { WebSocketServer as NodeWebSocketServer } from './node/server/server.js';
import type { ServerOptions } from './node/server/options.js';
import { createWebSocketStream } from './node/socket/stream.js';
import { isAttached } from './node/socket/transport.js';
import type { SendCallback, SendData, SocketSendOptions } from './node/socket/websocket.js';
import { byteLengthOf, checkWsProtocols, checkWsUrl, controlPayloadError, notOpenError } from './node/socket/ws-arguments.js';
import { flush } from './node/socket/write-batch.js';

class WebSocket extends NodeWebSocket {
  static readonly [kWsFlavour] = true;

  constructor(address: string | URL | null = null, protocols?: string | string[], options?: object) {
    if (address !== null && address !== undefined) {
      checkWsUrl(address);
      checkWsProtocols(protocols);
    }
    super(address, protocols, options);
    // Read when the transport is attached and when an error is reported,
    // both after the constructor returned.
    this[kState].isWsFlavour = true;
  }

  /**
   * ws (and WHATWG) count data given to send/ping/pong once CLOSING or
   * CLOSED in bufferedAmount, though it is never sent.
   */
  #bytesAfterClose = 0;

  override get bufferedAmount(): number {
    return super.bufferedAmount + this.#bytesAfterClose;
  }

  override send(data: SendData | Blob, options?: SocketSendOptions | SendCallback, cb?: SendCallback): boolean {
    const state = this.readyState;
    if (state === ReadyState.CONNECTING) throw notOpenError();
    if (state !== ReadyState.OPEN) this.#bytesAfterClose += byteLengthOf(data);
    return super.send(data, options, cb);
  }

  /** ws: pause()/resume() do nothing while CONNECTING or once CLOSED (the `sockwave` import lets pause() hold the first frames). */
  override pause(): void {
    const state = this.readyState;
    if (state !== ReadyState.CONNECTING && state !== ReadyState.CLOSED) super.pause();
  }

  override resume(): void {
    const state = this.readyState;
    if (state !== ReadyState.CONNECTING && state !== ReadyState.CLOSED) super.resume();
  }

  override close(code?: number, reason?: string | Buffer): void {
    super.close(code, reason);
    // ws writes the close frame at once: bufferedAmount does not count it
    // after close() returns (unless called while a message is handled).
    const s = this[kState];
    if (!s.isReceiving) flush(s);
  }

  override ping(data?: SendData | Blob | SendCallback, mask?: boolean | SendCallback, cb?: SendCallback): void {
    this.#checkControl(data);
    super.ping(data, mask, cb);
  }

  override pong(data?: SendData | Blob | SendCallback, mask?: boolean | SendCallback, cb?: SendCallback): void {
    this.#checkControl(data);
    super.pong(data, mask, cb);
  }

  #checkControl(data: SendData | Blob | SendCallback | undefined): void {
    const state = this.readyState;
    if (state === ReadyState.CONNECTING) throw notOpenError();
    if (typeof data === 'function') return;
    if (state === ReadyState.OPEN) {
      const error = controlPayloadError(data);
      if (error !== undefined) throw error;
    } else {
      this.#bytesAfterClose += byteLengthOf(data);
    }
  }
}

// ws's property shapes, which some code inspects: the ready-state constants
// are read-only and enumerable on the class and its prototype, the
// attributes enumerable accessors (as WebIDL attributes are).
for (const [name, value] of Object.entries(ReadyState)) {
  Object.defineProperty(WebSocket, name, { value, enumerable: true, writable: false, configurable: false });
  Object.defineProperty(WebSocket.prototype, name, { value, enumerable: true, writable: false, configurable: false });
}
for (const name of ['binaryType', 'bufferedAmount', 'extensions', 'isPaused', 'protocol', 'readyState', 'url', 'onclose', 'onerror', 'onmessage', 'onopen']) {
  const descriptor = Object.getOwnPropertyDescriptor(WebSocket.prototype, name) ?? Object.getOwnPropertyDescriptor(NodeWebSocket.prototype, name);
  if (descriptor !== undefined) Object.defineProperty(WebSocket.prototype, name, { ...descriptor, enumerable: true, configurable: true });
}

class WebSocketServer extends NodeWebSocketServer {
  constructor(options: ServerOptions, callback?: () => void) {
    // ws's check and text first (sockwave's own follows in the base class).
    const o = (options ?? {}) as ServerOptions;
    const modes = (o.port !== undefined && o.port !== null ? 1 : 0) + (o.server ? 1 : 0) + (o.noServer ? 1 : 0);
    if (modes !== 1) throw new TypeError('One and only one of the "port", "server", or "noServer" options must be specified');
    // ws's sockets by default; an explicit `WebSocket` option (a subclass) wins.
    const withClass = typeof options === 'object' && options !== null && options.WebSocket === undefined ? { ...options, WebSocket } : options;
    super(withClass, callback);
  }

  override address(): ReturnType<NodeWebSocketServer['address']> {
    if (this.options.noServer) throw new Error('The server is operating in "noServer" mode');
    return super.address();
  }

  override handleUpgrade(...args: Parameters<NodeWebSocketServer['handleUpgrade']>): void {
    if (isAttached(args[1] as object)) {
      throw new Error('server.handleUpgrade() was called more than once with the same socket, possibly due to a misconfiguration');
    }
    super.handleUpgrade(...args);
  }
}

type WsCompatible = typeof WebSocket & {
  Server: typeof WebSocketServer;
  WebSocketServer: typeof WebSocketServer;
  WebSocket: typeof WebSocket;
  createWebSocketStream: typeof createWebSocketStream;
};

const compatible = WebSocket as WsCompatible;
compatible.Server = WebSocketServer;
compatible.WebSocketServer = WebSocketServer;
compatible.WebSocket = WebSocket;
compatible.createWebSocketStream = createWebSocketStream;

export default compatible;
export { WebSocket, WebSocketServer, createWebSocketStream };
