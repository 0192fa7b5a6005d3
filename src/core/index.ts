/**
 * sockwave/core: the sans-I/O RFC 6455 core, for adapters and for people who
 * bring their own transport.
 */
export * from './errors.js';
export * from './options.js';
export * from './events.js';
export * from './connection.js';
export * from './frame.js';
export * from './mask.js';
export * from './utf8.js';
export * from './close.js';
export { MessageAssembler, FREE_FRAGMENT_ALLOWANCE } from './message-assembler.js';
export { writeFrame, writeBuffers, asBuffer } from './frame-writer.js';
// Handshake engineer: handshake.ts and deflate-params.ts exports go below.
export * from './handshake/rules.js';
export * from './deflate/index.js';
export type { MessageCompressor } from './deflate/compressor.js';
export { isToken, parseTokenList, listHasToken, splitList, trimOws } from './handshake/header-tokens.js';
