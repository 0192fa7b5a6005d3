/**
 * The last step of every accepted handshake, HTTP/1.1 (upgrade.ts) or
 * HTTP/2 extended CONNECT (h2-upgrade.ts): a socket of the server's class
 * on the transport, with the server's limits, registered and announced.
 * One place, so both transports honour the same options (the `WebSocket`
 * class option, autoPong, heartbeats, limits) and cannot drift apart.
 */
import type { Socket } from 'node:net';
import type { DeflateParams } from '../../core/deflate/index.js';
import { createDeflateCompressor } from '../deflate/compressor.js';
import type { NodeWebSocket } from '../socket/websocket.js';
import { kState } from '../socket/state.js';
import { socketConfig, type SocketConfig } from '../socket-config.js';
import { attachTransport } from '../socket/transport.js';
import { channels } from '../diagnostics.js';
import type { Decision } from './verify.js';
import type { ResolvedServerOptions } from './options.js';
import type { ConnectionRegistry } from './connection-registry.js';

/** What opening a socket needs from its server (both handshakes' servers have it). */
export interface SocketOwner {
  readonly options: ResolvedServerOptions;
  readonly registry: ConnectionRegistry;
}

export interface AcceptedHandshake {
  protocol: string | undefined;
  deflate: { params: DeflateParams; responseHeader: string } | null;
  decision: Decision | undefined;
  /** What the 'sockwave:connection-open' channel reports as the request. */
  request: unknown;
}

/** What every socket of the server shares (made with its first socket: the options and the topics are set by then). */
function serverSocketConfig(o: ResolvedServerOptions, registry: ConnectionRegistry): SocketConfig {
  return Object.freeze(
    socketConfig({
      closeTimeoutMs: o.closeTimeoutMs,
      highWaterMarkBytes: o.highWaterMarkBytes,
      policy: o.backpressurePolicy,
      heartbeat: o.heartbeat,
      idleTimeoutMs: o.idleTimeoutMs,
      counters: registry.counters,
      onClose: registry.remove,
      topicPort: registry.topics,
      ownReadBuffers: o.ownReadBuffers,
    }),
  );
}

/** Opens the server-side socket on `transport` (the 101 or the 200 is already sent). */
export function openServerSocket(server: SocketOwner, transport: Socket, head: Buffer, accepted: AcceptedHandshake): NodeWebSocket {
  const o = server.options;
  const { protocol, deflate, decision } = accepted;
  const compressor = deflate !== null ? createDeflateCompressor(deflate.params, 'server', o.deflate ?? {}) : undefined;
  const ws = new o.socketClass(null);
  if (decision?.accept === true && decision.data !== undefined) ws.data = decision.data;
  const registry = server.registry;
  attachTransport(ws[kState], transport, head, {
    role: 'server',
    protocol,
    extensions: deflate?.responseHeader,
    compressor,
    compressThresholdBytes: o.deflate?.threshold,
    maxMessageBytes: o.maxMessageBytes,
    maxFragments: o.maxFragments,
    autoPong: o.autoPong,
    config: (registry.socketConfig ??= serverSocketConfig(o, registry)),
  });
  registry.add(ws);
  if (channels.connectionOpen.hasSubscribers) {
    channels.connectionOpen.publish({ socket: ws, request: accepted.request, response: undefined, protocol: ws.protocol, extensions: ws.extensions });
  }
  return ws;
}
