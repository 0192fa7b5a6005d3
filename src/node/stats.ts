/**
 * Counters shared by a server and its sockets. Sockets hold a reference and
 * bump plain number fields (no allocation per message); `stats()` copies them.
 */
export class TrafficCounters {
  bytesIn = 0;
  bytesOut = 0;
  messagesIn = 0;
  messagesOut = 0;
}

/** Snapshot returned by `WebSocketServer#stats()`. */
export interface ServerStats {
  /** Open WebSocket connections (after the 101, before 'close'). */
  connections: number;
  /** Connections that have not finished the opening handshake. */
  pendingHandshakes: number;
  /** Bytes read from / written to sockets since the server started (frames, after the handshake). */
  bytesIn: number;
  bytesOut: number;
  /** Complete data messages received / accepted by send() and broadcast(). */
  messagesIn: number;
  messagesOut: number;
  /** Sum of `bufferedAmount` over open connections right now. */
  queuedBytes: number;
}
