/**
 * Drop-in entry for code written against `ws`:
 *
 *   import WebSocket, { WebSocketServer } from 'sockwave/ws';
 *   new WebSocket.Server({ port: 8080 });         // ws 7 style
 *   new WebSocket('ws://localhost:8080');          // ws-style client
 *   new Server({ wsEngine: WebSocket.Server })     // engine.io / socket.io
 */
// The Node socket class is NodeWebSocket; ws's name for it is WebSocket.
import { NodeWebSocket as WebSocket } from './node/socket/websocket.js';
import { WebSocketServer } from './node/server/server.js';
import { createWebSocketStream } from './node/socket/stream.js';

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
