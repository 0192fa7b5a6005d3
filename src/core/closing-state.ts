/**
 * The closing handshake's bookkeeping for a Connection (RFC 6455 §7): which
 * close frames went out and came in, in what order, and what was already
 * reported. Created only when closing starts, so idle connections carry none.
 */
import { ConnectionClosedError, ErrorCode, SockwaveError, type CloseFrameInfo } from './errors.js';

/** Closing handshake bookkeeping (RFC 6455 §7), in the spirit of tungstenite's close sub-states. */
export class ClosingState {
  /** Our close frame, once written to the sink. */
  sent: CloseFrameInfo | null = null;
  /** The peer's close frame. */
  received: CloseFrameInfo | null = null;
  /** The peer's close frame arrived before ours was queued. */
  isReceivedFirst = false;
  /** Our close frame is written or waiting in the send queue. */
  isQueued = false;
  hasFailed = false;
  shutdownMode: 'end' | 'await-peer-close' | undefined = undefined;
  isClosedEmitted = false;
  /** Defers shutdown until the close-frame event was emitted. */
  isHandlingCloseFrame = false;
}

/** Cuts `text` to at most `maxBytes` UTF-8 bytes without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let out = '';
  let bytes = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > maxBytes) break;
    out += char;
    bytes += size;
  }
  return out;
}

/** What send(), ping() and pong() throw unless the connection is OPEN: the close frames so far tell why. */
export function notOpenError(isConnecting: boolean, c: ClosingState | undefined): SockwaveError {
  if (isConnecting) return new SockwaveError(ErrorCode.NOT_OPEN_YET, 'the connection is not open yet');
  const sent = c?.sent ?? null;
  const received = c?.received ?? null;
  return new ConnectionClosedError(
    sent !== null || received !== null ? 'the connection is closing or closed' : 'the connection failed or ended',
    sent,
    received,
    c?.isReceivedFirst ?? false,
  );
}
