/**
 * What a socket asks of its server's topics (a shared leaf of node/, below socket/): the
 * `TopicPort` the server hands each of its sockets, and the checks behind
 * `socket.subscribe()`, `publish()` and friends in websocket.ts.
 *
 * The topic machinery lives above this folder (node/topics/, rank 3), so a
 * socket knows it only through this interface; the position and result types
 * are restated structurally (they match node/topics/backplane.ts and
 * hub-options.ts) because socket/ (rank 2) may not import from topics/ (rank 3), not even types.
 * Client sockets have no port: their topic methods throw.
 */
/** What may be published: text (a string) or bytes. Numbers are refused (ws's send() stringifies them; a topic message should say what it is). */
export type TopicData = string | Buffer | ArrayBuffer | ArrayBufferView;

/** A message's place in its topic's stream (see node/topics/backplane.ts). */
export interface TopicPosition {
  readonly offset: number;
  readonly epoch: string;
}

export interface TopicSubscribeOptions {
  /** The last position this client has; it gets everything after it, or `recovered: false`. */
  since?: TopicPosition;
}

export interface TopicSubscribeResult {
  /** True when nothing was missed: no `since`, or every message after it was delivered. */
  readonly recovered: boolean;
  /** Messages after this position reach the socket (recovered ones included). */
  readonly position: TopicPosition;
}

export interface SocketPublishOptions {
  /** Send as binary. Default: true for bytes, false for a string. */
  binary?: boolean;
  /** Deliver to the publishing socket too when it is subscribed. Default false. */
  self?: boolean;
}

/** The server's side of a socket's topic methods (node/topics/fanout.ts implements it). */
export interface TopicPort {
  subscribe(socket: object, topic: string, options: TopicSubscribeOptions | undefined): Promise<TopicSubscribeResult>;
  unsubscribe(socket: object, topic: string): boolean;
  isSubscribed(socket: object, topic: string): boolean;
  topicsOf(socket: object): string[];
  publish(socket: object, topic: string, data: TopicData, options: SocketPublishOptions | undefined): Promise<TopicPosition>;
}

/** The port, or a clear error for a socket that has none (the client role). */
export function requirePort(port: TopicPort | undefined): TopicPort {
  if (port === undefined) {
    throw new TypeError('topics are a server feature: this socket was not accepted by a sockwave WebSocketServer');
  }
  return port;
}

/** Swallows a rejection nobody may be waiting for, without hiding it from those who are. */
export function markHandled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}
