/**
 * connect(url, options): the Node client's entry point. It returns the same
 * ws-style socket the server hands out, in CONNECTING state; the handshake
 * runs in client-handshake.ts (over client/transport.ts) and ends in 'open',
 * or in 'error' then 'close' 1006.
 */
import type { ClientOptions } from '../client/options.js';
import { kState } from './state.js';
import { startClient } from './client-handshake.js';
import { NodeWebSocket } from './websocket.js';

export type { ClientOptions, ClientKeepaliveOptions } from '../client/options.js';
export type { UpgradeResponse } from './client-handshake.js';

/**
 * Opens a WebSocket connection to `url` (ws:, wss:, or http(s): mapped to
 * them). Returns at once with a CONNECTING socket that emits 'open', or
 * 'error' then 'close' (1006) when the handshake fails. Throws synchronously
 * for an invalid URL (SyntaxError DOMException) or invalid options
 * (RangeError/TypeError naming the option).
 */
export function connect(url: string | URL, options: ClientOptions = {}): NodeWebSocket {
  const socket = new NodeWebSocket(null);
  startClient(socket[kState], url, options);
  return socket;
}
