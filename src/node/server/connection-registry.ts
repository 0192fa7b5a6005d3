/**
 * The server's open connections: the `clients` set, the traffic counters
 * they share, `stats()` and `broadcast()` (one encoded frame for all).
 *
 * The open sockets are a list threaded through their states
 * (`registryPrev`/`registryNext`, in the order they opened); the `Set` that
 * `wss.clients` returns is made from it when first asked for and kept in
 * step from then on, so what an app sees is the same Set as before.
 * Why not a Set from the start: a Set that sockets keep joining and leaving
 * gets a new hash table every few dozen connections, and the replaced
 * table, by then in V8's old generation, still points at the sockets it
 * held. Until the next full GC those sockets, and all they reach (their
 * net.Socket, the core, the app's listeners), survived every young-generation
 * GC: in the handshake-close cycle 19% of the young generation's bytes
 * survived each scavenge instead of 9%, and scavenges took 3-4x as long
 * (issue 16 target 1). A list unlinks a socket and leaves no pointer behind.
 */
import { encodeFrame, Opcode } from '../../core/frame.js';
import { ReadyState } from '../../core/events.js';
import type { NodeWebSocket } from '../socket/websocket.js';
import { kState, type SocketState } from '../socket/state.js';
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
  readonly counters = new TrafficCounters();
  /** The oldest and newest open socket (their states); the list runs through `registryNext`. */
  #first: SocketState | undefined = undefined;
  #last: SocketState | undefined = undefined;
  #count = 0;
  /** `wss.clients`, once asked for. */
  #clients: Set<NodeWebSocket> | undefined = undefined;
  /** Called when the last socket left after whenEmpty() was asked for. */
  #onEmpty: (() => void) | undefined;

  /**
   * The open sockets as a Set (`wss.clients`, shutdown): made on first use
   * from the list, in the order the sockets opened, then kept up to date.
   */
  get sockets(): Set<NodeWebSocket> {
    let clients = this.#clients;
    if (clients === undefined) {
      clients = this.#clients = new Set();
      for (let s = this.#first; s !== undefined; s = s.registryNext) clients.add(s.ws as NodeWebSocket);
    }
    return clients;
  }

  /** Open sockets (the Set's size once it exists: an app may edit `wss.clients`, as with ws). */
  get size(): number {
    return this.#clients === undefined ? this.#count : this.#clients.size;
  }

  /** The server's topics: every accepted socket gets it as its TopicPort (through socketConfig) and leaves its topics on close. */
  topics: TopicFanout | undefined = undefined;

  /** What the server's sockets share (server/open-socket.ts makes it with the first socket). */
  socketConfig: SocketConfig | undefined = undefined;

  add(ws: NodeWebSocket): void {
    const s = ws[kState];
    const last = this.#last;
    s.registryPrev = last;
    if (last === undefined) this.#first = s;
    else last.registryNext = s;
    this.#last = s;
    this.#count++;
    this.#clients?.add(ws);
  }

  /** Passed to each socket as its onClose hook. */
  readonly remove = (ws: object): void => {
    this.#unlink((ws as NodeWebSocket)[kState]);
    this.#clients?.delete(ws as NodeWebSocket);
    this.topics?.removeSocket(ws as NodeWebSocket);
    if (this.#onEmpty !== undefined && this.size === 0) {
      const onEmpty = this.#onEmpty;
      this.#onEmpty = undefined;
      onEmpty();
    }
  };

  #unlink(s: SocketState): void {
    const { registryPrev: prev, registryNext: next } = s;
    // Not in the list (never added, or already removed).
    if (prev === undefined && this.#first !== s) return;
    if (prev === undefined) this.#first = next;
    else prev.registryNext = next;
    if (next === undefined) this.#last = prev;
    else next.registryPrev = prev;
    s.registryPrev = undefined;
    s.registryNext = undefined;
    this.#count--;
  }

  /** Calls `done` once the last open socket closed. */
  whenEmpty(done: () => void): void {
    this.#onEmpty = done;
  }

  /** Each open socket, oldest first (the Set once it exists). */
  #forEach(visit: (ws: NodeWebSocket) => void): void {
    const clients = this.#clients;
    if (clients !== undefined) {
      for (const ws of clients) visit(ws);
      return;
    }
    for (let s = this.#first; s !== undefined; ) {
      // Read before the visit: a socket that leaves the list loses its links.
      const next = s.registryNext;
      visit(s.ws as NodeWebSocket);
      s = next;
    }
  }

  stats(pendingHandshakes: number): ServerStats {
    let queuedBytes = 0;
    this.#forEach((ws) => {
      queuedBytes += ws.bufferedAmount;
    });
    const c = this.counters;
    return {
      connections: this.size,
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
    this.#forEach((ws) => {
      if (ws === except || ws.readyState !== ReadyState.OPEN) return;
      if (filter !== undefined && !filter(ws)) return;
      sendPrepared(ws[kState], frame, body, isBinary);
      count++;
    });
    return count;
  }
}
