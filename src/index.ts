/**
 * sockwave's public API, in one place.
 * - `WebSocket`: the browser-standard class (stands in for the global one).
 * - `WebSocketServer`: the ws-compatible server; its sockets are `NodeWebSocket`.
 * - `connect()`: a Node-style client socket (same API as server sockets).
 * - `sockwave/ws` is the drop-in entry for code written against `ws`.
 */
export { WebSocket } from './web/websocket.js';
export type { WebSocketOptions } from './web/websocket.js';
export { MessageEvent, CloseEvent, ErrorEvent } from './web/events.js';
export { WebSocketStream } from './web/websocket-stream.js';
export type { WebSocketStreamOptions, WebSocketOpenInfo, WebSocketCloseInfo } from './web/websocket-stream.js';
export { WebSocketError } from './web/websocket-error.js';
export type { CloseEventInit, ErrorEventInit } from './web/events.js';
export { connect } from './node/socket/connect.js';
export { ReconnectingWebSocket } from './node/reconnect/reconnecting-websocket.js';
export type { UrlSource, DropReason, DisconnectEventInfo } from './node/reconnect/reconnecting-websocket.js';
export type { ReconnectingClientOptions, ReconnectOptions, QueueOverflowPolicy, DisconnectInfo } from './node/reconnect/options.js';
export type { ClientOptions, ClientKeepaliveOptions, UpgradeResponse } from './node/socket/connect.js';
export { WebSocketServer } from './node/server/server.js';
export { limitRequestHeadTime } from './node/server/head-timeout.js';
export type {
  BroadcastOptions,
  Http2UpgradeRequest,
  ServerOptions,
  ServerPublishOptions,
  ServerTopicsOptions,
  TopicStats,
  ServerStats,
  ShutdownOptions,
  VerifyClient,
  VerifyHook,
  VerifyInfo,
  VerifyResult,
} from './node/server/server.js';
export { NodeWebSocket } from './node/socket/websocket.js';
export type {
  /** @deprecated Use NodeWebSocket: the same class, kept for code written against the old alias. */
  NodeWebSocket as Socket,
  BackpressurePolicy,
  BinaryType as NodeBinaryType,
  SendData,
  SocketSendOptions,
  SocketPublishOptions,
  TopicData,
  TopicPosition,
} from './node/socket/websocket.js';
export type { HeartbeatOptions } from './node/heartbeat.js';
export type { OriginRule } from './node/server/origin-policy.js';
export {
  SockwaveError,
  ProtocolError,
  MessageTooLargeError,
  HandshakeError,
  ConnectionClosedError,
  TimeoutError,
  ErrorCode,
} from './core/errors.js';
export { ProxyError, NetworkError } from './node/client/errors.js';
export { UnexpectedResponseError } from './node/client/unexpected-response.js';
export { ReadyState } from './core/events.js';
export { DEFAULTS } from './core/options.js';
export type { PerMessageDeflateOptions } from './core/deflate/index.js';
export { TopicHub } from './node/topics/hub.js';
export type { TopicHubOptions, SubscribeOptions, SubscribeResult, HubPublishOptions, PublishData } from './node/topics/hub.js';
export { TopicRegistry } from './node/topics/registry.js';
export type { TopicRegistryOptions } from './node/topics/registry.js';
export { EmbeddedBackplane } from './node/topics/embedded-backplane.js';
export type { EmbeddedBackplaneOptions } from './node/topics/embedded-backplane.js';
export type {
  Backplane,
  BackplaneListener,
  BackplaneMessage,
  BackplaneState,
  GapInfo,
  HistoryResult,
  Position,
  PublishMeta,
} from './node/topics/backplane.js';
export { BackplaneError, BackplaneQueueFullError, TopicErrorCode } from './node/topics/errors.js';
