/**
 * The connection(s) to Redis behind a RedisBackplane, one shape for a single
 * server and for a Redis Cluster: a command path that routes by key, a
 * subscription path, and readiness signals. Everything node-redis specific
 * (client creation, events, error classes) stays in this file.
 *
 * node-redis reconnects by itself and re-subscribes before it reports the
 * subscriber connection ready again; the backplane still catches every topic
 * up from its stream after each reconnection, so a subscription that the
 * client failed to restore shows up as a test failure, not as silence.
 */
import { createClient, createCluster, ErrorReply, RESP_TYPES } from '@redis/client';

/**
 * How long loading the scripts may wait for one cluster master. Publishes to
 * every topic wait for the load (it runs between retries), so a master that
 * is down costs the others at most this per retry round.
 */
const SCRIPT_LOAD_TIMEOUT_MS = 500;

/** Replies with blob strings as Buffers (payloads are bytes). */
const BUFFERS = { [RESP_TYPES.BLOB_STRING]: Buffer } as const;

export interface RedisLinkEvents {
  /** The command path can take commands (after connecting or reconnecting). */
  onCommandReady(): void;
  /** The subscriptions are active again after a disconnection (or for the first time). */
  onSubscriberReady(): void;
  /** Some connection was lost; `cause` is the error node-redis reported. */
  onDown(cause: unknown): void;
}

export interface RedisLink {
  readonly isCluster: boolean;
  readonly isCommandReady: boolean;
  readonly isSubscriberReady: boolean;
  /** Runs a command on the node that serves `key`; blob replies come as Buffers. */
  call(key: string, args: string[] | (string | Buffer)[]): Promise<unknown>;
  /** PUBLISH or SPUBLISH, as the scripts must call it. */
  readonly publishCommand: 'PUBLISH' | 'SPUBLISH';
  subscribe(channel: string, listener: (message: Buffer) => void): Promise<void>;
  /** Removes this listener; the channel is unsubscribed when it has no listener left. */
  unsubscribe(channel: string, listener: (message: Buffer) => void): Promise<void>;
  /** SCRIPT LOAD on every node that serves keys (all masters in a cluster). */
  loadScripts(scripts: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export interface RedisLinkOptions {
  url?: string;
  rootNodes?: readonly { url: string }[];
  reconnectDelayMaxMs: number;
  connectTimeoutMs: number;
}

/**
 * Whether a failure is about reaching Redis (retry when it is back) rather
 * than about the command (report it). Error replies are the command's fault,
 * except the ones a recovering server or cluster sends while it gets ready.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof ErrorReply) {
    return /^(LOADING|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|BUSY|READONLY|MOVED|ASK|NOSCRIPT|ORDER)\b/.test(error.message);
  }
  return error instanceof Error && !(error instanceof TypeError) && !(error instanceof RangeError);
}

export function isNoScript(error: unknown): boolean {
  return error instanceof ErrorReply && error.message.startsWith('NOSCRIPT');
}

export function createRedisLink(options: RedisLinkOptions, events: RedisLinkEvents): RedisLink {
  return options.rootNodes !== undefined ? createClusterLink(options, events) : createSingleLink(options, events);
}

function reconnectStrategy(maxMs: number): (retries: number) => number {
  // Quick first retries (a restart takes well under a second), then at most maxMs apart.
  return (retries) => Math.min(25 * 2 ** Math.min(retries, 10), maxMs);
}

function createSingleLink(options: RedisLinkOptions, events: RedisLinkEvents): RedisLink {
  const socket = { reconnectStrategy: reconnectStrategy(options.reconnectDelayMaxMs), connectTimeout: options.connectTimeoutMs };
  // Commands fail fast while disconnected: the backplane keeps its own
  // bounded, ordered queue instead of node-redis's unbounded offline queue.
  const commands = createClient({ url: options.url, socket, disableOfflineQueue: true });
  const subscriber = createClient({ url: options.url, socket });
  let isClosed = false;
  let hasSubscriberBeenDown = true;
  for (const client of [commands, subscriber]) {
    client.on('error', (error: unknown) => {
      if (!isClosed) events.onDown(error);
    });
  }
  commands.on('ready', () => events.onCommandReady());
  subscriber.on('ready', () => {
    if (hasSubscriberBeenDown) {
      hasSubscriberBeenDown = false;
      events.onSubscriberReady();
    }
  });
  subscriber.on('reconnecting', () => (hasSubscriberBeenDown = true));
  subscriber.on('error', () => (hasSubscriberBeenDown = true));
  // connect() keeps retrying by itself; a first failure is reported through 'error'.
  commands.connect().catch(() => {});
  subscriber.connect().catch(() => {});
  return {
    isCluster: false,
    publishCommand: 'PUBLISH',
    get isCommandReady() {
      return commands.isReady;
    },
    get isSubscriberReady() {
      return subscriber.isReady;
    },
    call(_key, args) {
      return commands.sendCommand(args, { typeMapping: BUFFERS });
    },
    subscribe(channel, listener) {
      return subscriber.SUBSCRIBE(channel, listener as (message: Buffer) => void, true);
    },
    unsubscribe(channel, listener) {
      return subscriber.UNSUBSCRIBE(channel, listener as (message: Buffer) => void, true);
    },
    async loadScripts(scripts) {
      for (const script of scripts) await commands.sendCommand(['SCRIPT', 'LOAD', script]);
    },
    async close() {
      isClosed = true;
      await Promise.allSettled([commands.close(), subscriber.close()]);
      for (const client of [commands, subscriber]) {
        try {
          client.destroy();
        } catch {
          // Already closed.
        }
      }
    },
  };
}

function createClusterLink(options: RedisLinkOptions, events: RedisLinkEvents): RedisLink {
  const cluster = createCluster({
    rootNodes: options.rootNodes!.map((node) => ({ url: node.url })),
    defaults: {
      socket: { reconnectStrategy: reconnectStrategy(options.reconnectDelayMaxMs), connectTimeout: options.connectTimeoutMs },
      disableOfflineQueue: true,
    },
  });
  let isClosed = false;
  let isConnected = false;
  cluster.on('error', (error: unknown) => {
    if (!isClosed) events.onDown(error);
  });
  cluster.on('node-error', (error: unknown) => {
    if (!isClosed) events.onDown(error);
  });
  // Each node client, sharded pub/sub clients included, reports 'ready' after
  // restoring its subscriptions; the backplane then catches every topic up.
  cluster.on('node-ready', () => {
    if (isClosed || !isConnected) return;
    events.onCommandReady();
    events.onSubscriberReady();
  });
  const connect = (): void => {
    cluster.connect().then(
      () => {
        isConnected = true;
        events.onCommandReady();
        events.onSubscriberReady();
      },
      (error: unknown) => {
        if (isClosed) return;
        events.onDown(error);
        setTimeout(connect, options.reconnectDelayMaxMs).unref();
      },
    );
  };
  connect();
  return {
    isCluster: true,
    publishCommand: 'SPUBLISH',
    get isCommandReady() {
      return isConnected && cluster.isReady;
    },
    get isSubscriberReady() {
      return isConnected && cluster.isReady;
    },
    call(key, args) {
      return cluster.sendCommand(key, false, args, { typeMapping: BUFFERS });
    },
    subscribe(channel, listener) {
      return cluster.SSUBSCRIBE(channel, listener as (message: Buffer) => void, true);
    },
    unsubscribe(channel, listener) {
      return cluster.SUNSUBSCRIBE(channel, listener as (message: Buffer) => void, true);
    },
    async loadScripts(scripts) {
      // Every master that answers; one that does not yet gets its scripts on
      // the next round (its publishes fail with a transient error meanwhile).
      // A master that is down must not hold up publishes to the others: each
      // node gets a bounded time.
      await Promise.allSettled(
        cluster.masters.map((master) =>
          withTimeout(
            (async () => {
              const client = await cluster.nodeClient(master);
              for (const script of scripts) await client.sendCommand(['SCRIPT', 'LOAD', script]);
            })(),
            SCRIPT_LOAD_TIMEOUT_MS,
          ),
        ),
      );
    },
    async close() {
      isClosed = true;
      await cluster.close().catch(() => {});
      try {
        cluster.destroy();
      } catch {
        // Already closed.
      }
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
