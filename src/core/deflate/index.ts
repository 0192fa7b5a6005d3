/**
 * RFC 7692 permessage-deflate negotiation, sans-I/O. This module gathers the
 * public names; the work is split by concern: options and defaults
 * (options.ts), reading Sec-WebSocket-Extensions
 * (extension-header.ts), the server's choice among offers
 * (negotiate-server.ts), the client's offer and its check of the
 * server's response (negotiate-client.ts). The zlib work lives in
 * node/deflate/compressor.ts.
 *
 * Window bits 8. zlib refuses a 256-byte raw deflate window (Node turns 8
 * into 9), and a peer that asked for server/client_max_window_bits=8 may
 * inflate with only 256 bytes of history. We still agree to 8: zlib's
 * deflate never emits a distance larger than its window minus
 * MIN_LOOKAHEAD (262 bytes), i.e. 512 - 262 = 250 bytes for a 9-bit window,
 * so a 9-bit zlib compressor produces streams valid for a 256-byte window
 * (test/node/deflate.test.ts decodes our output and checks every distance).
 * Inflating an 8-bit-window stream with a larger window is always safe.
 * Declining instead would silently lose compression with such peers.
 */
export { EXTENSION_NAME, parseExtensionsHeader, type ParsedExtension } from './extension-header.js';
export {
  resolveDeflateOptions,
  type DeflateParams,
  type PerMessageDeflateOptions,
  type ResolvedDeflateOptions,
} from './options.js';
export { negotiateServer } from './negotiate-server.js';
export { buildClientOffer, acceptServerResponse } from './negotiate-client.js';
