/**
 * One WebSocket connection at a time per host and port while CONNECTING.
 *
 * https://websockets.spec.whatwg.org/#concept-websocket-establish defers to
 * RFC 6455 §4.1 (client requirements, item 2): "If the client already has a
 * WebSocket connection to the remote host ... that is still in the CONNECTING
 * state, the client MUST wait until that connection has succeeded or failed"
 * before opening the next one, which keeps a page from flooding one server
 * with simultaneous handshakes. Different hosts never wait for each other.
 * (WPT websockets/constructor/014.)
 */

export interface QueueTicket {
  /** The connection left CONNECTING (opened or failed): the next one may start. Idempotent. */
  release(): void;
}

interface Entry {
  readonly start: (ticket: QueueTicket) => void;
  isStarted: boolean;
  /**
   * Set as soon as the entry is made. On the entry rather than in a WeakMap
   * keyed by it: a WeakMap entry whose value (the ticket, whose release()
   * holds the entry) leads back to its own key kept the WebSocket behind it
   * alive through young-generation GCs, ~1.9 KB per WebSocket (session 11;
   * test/web/websocket-gc.test.ts).
   */
  ticket: QueueTicket | undefined;
}

/** Waiting and establishing entries per "host:port"; the first of each list is the one establishing. */
const queues = new Map<string, Entry[]>();

/** The key the rule applies to: the URL's host and port (default port per scheme). */
export function establishKey(url: URL): string {
  const port = url.port !== '' ? url.port : url.protocol === 'wss:' ? '443' : '80';
  return `${url.hostname.toLowerCase()}:${port}`;
}

/**
 * Calls `start` now when no connection to `key` is CONNECTING, or once the
 * ones before it have opened or failed. The returned ticket must be released
 * when this connection leaves CONNECTING, or when it is given up before it
 * started (close() while waiting): then `start` is never called.
 */
export function enqueueEstablish(key: string, start: (ticket: QueueTicket) => void): QueueTicket {
  let list = queues.get(key);
  if (list === undefined) {
    list = [];
    queues.set(key, list);
  }
  const entry: Entry = { start, isStarted: false, ticket: undefined };
  let isReleased = false;
  const ticket: QueueTicket = {
    release() {
      if (isReleased) return;
      isReleased = true;
      const current = queues.get(key);
      if (current === undefined) return;
      const index = current.indexOf(entry);
      if (index !== -1) current.splice(index, 1);
      if (current.length === 0) queues.delete(key);
      else if (!current[0].isStarted) startHead(current);
    },
  };
  entry.ticket = ticket;
  list.push(entry);
  if (list.length === 1) startHead(list);
  return ticket;
}

function startHead(list: Entry[]): void {
  const head = list[0];
  head.isStarted = true;
  head.start(head.ticket as QueueTicket);
}
