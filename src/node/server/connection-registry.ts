/**
 * The server's open connections: the `clients` set, the traffic counters
 * they share, `stats()` and `broadcast()` (one encoded frame for all).
 */
import { encodeFrame, Opcode } from '../../core/frame.js';
import { ReadyState } from '../../core/events.js';
import type { NodeWebSocket } from '../socket/websocket.js';
import { kState } from '../socket/state.js';
import type { SocketConfig } from '../socket-config.js';
import { sendPrepared } from '../socket/send.js';
import { isBinaryMessage, toPayload, type SendData } from '../socket/send-data.js';
import { TrafficCounters, type ServerStats } from '../stats.js';
import type { TopicFanout } from '../topics/fanout.js';

export interface BroadcastOptions {
  /** Binary frame (default: false for strings, true otherwise). */
  binary?: boolean;
  /** Skip this socket (typically the sender). */
  except?: NodeWebSocket;
  /** Send only to sockets for which this returns true. */
  filter?: (socket: NodeWebSocket) => boolean;
}

export class ConnectionRegistry {
  readonly sockets = new Set<NodeWebSocket>();
  readonly counters = new TrafficCounters();
  /** Called when the last socket left after whenEmpty() was asked for. */
  #onEmpty: (() => void) | undefined;

  get size(): number {
    return this.sockets.size;
  }

  /** The server's topics: every accepted socket gets it as its TopicPort (through socketConfig) and leaves its topics on close. */
  topics: TopicFanout | undefined = undefined;

  /** What the server's sockets share (server/open-socket.ts makes it with the first socket). */
  socketConfig: SocketConfig | undefined = undefined;

  add(ws: NodeWebSocket): void {
    this.sockets.add(ws);
  }

  /** Passed to each socket as its onClose hook. */
  readonly remove = (ws: object): void => {
    this.sockets.delete(ws as NodeWebSocket);
    this.topics?.removeSocket(ws as NodeWebSocket);
    if (this.#onEmpty !== undefined && this.sockets.size === 0) {
      const onEmpty = this.#onEmpty;
      this.#onEmpty = undefined;
      onEmpty();
    }
  };

  /** Calls `done` once the last open socket closed. */
  whenEmpty(done: () => void): void {
    this.#onEmpty = done;
  }

  stats(pendingHandshakes: number): ServerStats {
    let queuedBytes = 0;
    for (const ws of this.sockets) queuedBytes += ws.bufferedAmount;
    const c = this.counters;
    return {
      connections: this.sockets.size,
      pendingHandshakes,
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      messagesIn: c.messagesIn,
      messagesOut: c.messagesOut,
      queuedBytes,
    };
  }

  /**
   * Sends one message to every open socket, encoding the frame once (never
   * compressed: one encoding must fit every peer). Backpressure policy
   * applies per socket. Returns how many sockets it was handed to.
   */
  broadcast(data: SendData, options: BroadcastOptions = {}): number {
    const payload = toPayload(data);
    const isBinary = isBinaryMessage(data, options.binary);
    const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const frame = encodeFrame(isBinary ? Opcode.BINARY : Opcode.TEXT, body);
    const { except, filter } = options;
    let count = 0;
    for (const ws of this.sockets) {
      if (ws === except || ws.readyState !== ReadyState.OPEN) continue;
      if (filter !== undefined && !filter(ws)) continue;
      sendPrepared(ws[kState], frame, body, isBinary);
      count++;
    }
    return count;
  }
}
