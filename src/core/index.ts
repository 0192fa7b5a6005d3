/**
 * sockwave/core: the sans-I/O RFC 6455 core, for adapters and for people who
 * bring their own transport. Only the documented API is exported here
 * (docs/core.md): the Connection, the handshake objects and head parsers,
 * errors, options and defaults, constants and types. Everything else in
 * src/core is internal: the Node adapter imports it by file path.
 */

// The connection: bytes in, events out, bytes to write.
export { Connection } from './connection.js';
export type { ConnectionOptions, SendOptions } from './connection-options.js';
export type { FramePayload, WriteCallback } from './frame-writer.js';
export { ReadyState, type ConnectionSink, type CoreEvent, type CoreEventType, type MaskSource } from './events.js';
export { encodeFrame, Opcode, MAX_CONTROL_PAYLOAD_BYTES, type EncodeFrameOptions } from './frame.js';
export { CloseCode, MAX_CLOSE_REASON_BYTES } from './close.js';
export { fixedMaskSource } from './mask.js';

// The opening handshake.
export {
  ServerHandshake,
  type HandshakeAccepted,
  type HandshakeRefused,
  type ProtocolChooser,
  type ServerHandshakeOptions,
  type ServerHandshakeResult,
} from './handshake/server-handshake.js';
export { ClientHandshake, type ClientHandshakeOptions, type ClientHandshakeResult } from './handshake/client-handshake.js';
export { RequestHeadParser, type ParsedRequestHead } from './handshake/request-head.js';
export { ResponseHeadParser, type ParsedResponseHead } from './handshake/response-head.js';
export type { UpgradeRequestInfo, ValidatedUpgrade } from './handshake/rules.js';

// Compression: the interface an implementation provides, and the negotiated parameters.
export type { MessageCompressor } from './deflate/compressor.js';
export type { DeflateParams, PerMessageDeflateOptions } from './deflate/options.js';

// Errors, options and defaults.
export {
  ErrorCode,
  SockwaveError,
  ProtocolError,
  MessageTooLargeError,
  HandshakeError,
  ConnectionClosedError,
  TimeoutError,
  type CloseFrameInfo,
} from './errors.js';
export { DEFAULTS, DEFLATE_DEFAULTS } from './options.js';
