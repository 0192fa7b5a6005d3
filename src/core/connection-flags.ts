/**
 * A Connection's small state as bits of one integer field (connection.ts:
 * `flags`), so an idle connection carries one field instead of eight
 * (issue 16: idle memory per connection).
 */
export const STATE_MASK = 3; // ReadyState (0..3) in the two low bits
export const IS_CLIENT = 4;
export const IS_SENDING_FRAGMENTED = 8;
/** The sink calls every write callback (sink.callsWriteCallbacks), so automatic pongs may wait for them (see answerPing). */
export const IS_PONG_WRITE_AWAITED = 16;
export const IS_AUTO_PONG = 32;
export const IS_RECEIVING_AFTER_CLOSE = 64;
/** Transport ends that wait for a running decompression (receiveEof, transportClosed). */
export const DEFERRED_EOF = 128;
export const DEFERRED_CLOSE = 256;
export const DEFERRED_END = DEFERRED_EOF | DEFERRED_CLOSE;
/** Receiving stopped for good (close frame, EOF, failure, transport gone): later bytes are ignored, with or without a receive side. */
export const IS_READ_STOPPED = 512;
/** A chunk of control frames is being handled without a receive side (see feed()). */
export const IS_HANDLING_CONTROL_CHUNK = 1024;
