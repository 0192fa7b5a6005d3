/**
 * The RFC 6455 state machine: bytes in -> events, calls -> bytes out.
 * Imports nothing from Node I/O and owns no timers: the adapter arms the close
 * timer when told `shutdown`, and reports the transport's end with
 * `receiveEof()` / `transportClosed()`. This file has the app's calls and the
 * send side; the state, the receive side and the transport's events are in
 * connection-lifecycle.ts (its base class). A Connection owns its receive side
 * by composition: a MessageReader (message-reader.ts: limits, UTF-8,
 * reassembly, inflating) and the FrameParser it feeds from
 * (frame-parser.ts: framing and the header rules), which hands control frames
 * and faults back here. Frame writing is in frame-writer.ts and
 * send-queue.ts and pong-writer.ts, the close bookkeeping in
 * closing-state.ts, the options in connection-options.ts, the flag bits in
 * connection-flags.ts.
 *
 * Rules, in one place:
 * - States (RFC 6455 §4.1, §7): CONNECTING -open()-> OPEN -close()/peer close/
 *   fail()/EOF-> CLOSING -transportClosed()-> CLOSED. CLOSED only once the
 *   transport is gone; `closed` is emitted exactly once, then: code 1005 when
 *   the peer's close frame had no code, 1006 when none arrived.
 * - Receiving stops for good after the peer's close frame, after fail() and
 *   after EOF: later bytes are ignored (§5.5.1 "no more data frames").
 * - Once close() queued our close frame, data frames are still parsed (header
 *   violations still fail the connection, which then just ends: our close
 *   frame is already out) but their payloads are discarded: no inflating,
 *   no UTF-8 check, no message events; a partly received message is dropped.
 *   Unless `receiveAfterClose` (ws's behaviour): then they are delivered.
 *   Control frames are still handled, so the peer's close reply is seen.
 * - Once our close frame was sent and the peer's received: server emits
 *   shutdown 'end' (§7.1.1: the server closes TCP first), client
 *   'await-peer-close'. fail() and EOF emit 'end'.
 * - Nothing is answered after a close frame was sent or received (no pongs).
 * - Peer faults never throw: they fail the connection (close frame with the
 *   code, `error` event, shutdown 'end'). Local misuse throws at once.
 * - Order: data frames leave in send() order even when one waits for
 *   compression; ping/pong may overtake them (§5.4), the close frame never does.
 */
import { ErrorCode, ProtocolError, SockwaveError, type CloseFrameInfo } from './errors.js';
import { ReadyState } from './events.js';
import type { MessageCompressor } from './deflate/compressor.js';
import { ClosingState, notOpenError, truncateUtf8 } from './closing-state.js';
import { MAX_CONTROL_PAYLOAD_BYTES, Opcode, encodeFrame } from './frame.js';
import { encodeClosePayload, isValidWireCloseCode, validateCloseArguments, MAX_CLOSE_REASON_BYTES } from './close.js';
import { asBuffer, writeBuffers, writeCloseFrame, writeFrame, type FramePayload, type WriteCallback } from './frame-writer.js';
import { SendQueue } from './send-queue.js';
import { DEFERRED_END, IS_RECEIVING_AFTER_CLOSE } from './connection-flags.js';
import { ConnectionLifecycle } from './connection-lifecycle.js';
import { EMPTY_BUFFER } from './buffer-view.js';
import type { SendOptions } from './connection-options.js';

export type { WriteCallback, FramePayload } from './frame-writer.js';

export type { ConnectionOptions, SendOptions } from './connection-options.js';

/** The app's calls and the send side, over the lifecycle in connection-lifecycle.ts. */
export class Connection extends ConnectionLifecycle {
  // -------------------------------------------------------------- app calls

  /** Queue a data message. Throws ConnectionClosedError unless OPEN. */
  send(data: FramePayload, options?: SendOptions, cb?: WriteCallback): void {
    if (this.state !== ReadyState.OPEN) throw this.notOpenError();
    const isBinary = options?.isBinary ?? typeof data !== 'string';
    const fin = options?.fin !== false;
    const isContinuation = this.isSendingFragmented;
    const opcode = isContinuation ? Opcode.CONTINUATION : isBinary ? Opcode.BINARY : Opcode.TEXT;
    this.isSendingFragmented = !fin;
    if (this.compressor !== undefined && fin && !isContinuation && options?.compress !== false) {
      const length = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
      if (length >= this.compressThresholdBytes) return this.sendCompressed(opcode, asBuffer(data), cb);
    }
    if (this.sendQueue !== undefined) {
      const body = asBuffer(data);
      this.sendQueue.push(encodeFrame(opcode, body, { fin, mask: this.maskSource ?? false }), body.length, cb);
      return;
    }
    writeFrame(this.sink, opcode, data, fin, false, this.maskSource, cb);
  }

  /**
   * Sends a whole data message already encoded with encodeFrame() (server
   * broadcast: encode once, send to many). Keeps the same order and state
   * rules as send(): queues behind a pending compression, throws
   * ConnectionClosedError unless OPEN, and refuses to interleave with a
   * fragmented message this side is sending. The buffers are not copied.
   */
  sendEncoded(frame: Buffer[], cb?: WriteCallback): void {
    if (this.state !== ReadyState.OPEN) throw this.notOpenError();
    if (this.isSendingFragmented) {
      throw new SockwaveError(ErrorCode.INVALID_ARGUMENT, 'a fragmented message is in progress; finish it with fin: true first');
    }
    if (this.sendQueue !== undefined) {
      let bytes = 0;
      for (let i = 0; i < frame.length; i++) bytes += frame[i].length;
      this.sendQueue.push(frame, bytes, cb);
      return;
    }
    writeBuffers(this.sink, frame, cb);
  }

  ping(data?: FramePayload, cb?: WriteCallback): void {
    this.sendControl(Opcode.PING, data, cb);
  }

  pong(data?: FramePayload, cb?: WriteCallback): void {
    this.sendControl(Opcode.PONG, data, cb);
  }

  /**
   * Start the closing handshake (RFC 6455 §7.1.2). Throws RangeError for a
   * code that may not be sent, a reason without a code, or a reason over 123
   * UTF-8 bytes. A no-op once our close frame is on its way.
   */
  close(code?: number, reason?: string): void {
    validateCloseArguments(code, reason);
    const c = this.closing;
    if (this.state === ReadyState.CLOSED || (c !== undefined && (c.isQueued || c.hasFailed))) return;
    if (this.state === ReadyState.CONNECTING) {
      // No frame may precede the handshake; just drop the transport.
      this.state = ReadyState.CLOSING;
      this.stopReading();
      this.emitShutdown('end');
      return;
    }
    this.state = ReadyState.CLOSING;
    if ((this.flags & IS_RECEIVING_AFTER_CLOSE) === 0) this.reader.discard();
    this.queueClose(code, reason ?? '');
  }

  /**
   * Fail the WebSocket Connection (RFC 6455 §7.1.7): stop reading, drop what
   * waits to be sent, send a close frame with `closeCode` if none was sent
   * and the code may go on the wire (not 1005/1006/1015), then report
   * `error` (only when given: peer faults pass one) and shutdown 'end'.
   */
  fail(closeCode: number, reason = '', error?: SockwaveError): void {
    const c = (this.closing ??= new ClosingState());
    if (this.state === ReadyState.CLOSED || c.hasFailed) return;
    c.hasFailed = true;
    this.state = ReadyState.CLOSING;
    this.stopReading();
    this.cancelQueue();
    if (c.sent === null && isValidWireCloseCode(closeCode)) {
      const text = truncateUtf8(reason, MAX_CLOSE_REASON_BYTES);
      c.isQueued = true;
      writeCloseFrame(this.sink, closeCode, text, this.maskSource);
      c.sent = { code: closeCode, reason: text };
    }
    if (error !== undefined) this.sink.event({ type: 'error', error });
    this.emitShutdown('end');
    // stopReading() dropped a running decompression: a transport end that waited for it happens now.
    if ((this.flags & DEFERRED_END) !== 0) this.runDeferredEnd();
  }

  // ---------------------------------------------------------------- sending

  private sendControl(opcode: number, data: FramePayload | undefined, cb: WriteCallback | undefined): void {
    if (this.state !== ReadyState.OPEN) throw this.notOpenError();
    const body = data === undefined ? EMPTY_BUFFER : data;
    const length = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    if (length > MAX_CONTROL_PAYLOAD_BYTES) {
      throw new RangeError(`control frame payload is ${length} bytes, the limit is ${MAX_CONTROL_PAYLOAD_BYTES}`);
    }
    writeFrame(this.sink, opcode, body, true, false, this.maskSource, cb);
  }

  private notOpenError(): SockwaveError {
    return notOpenError(this.state === ReadyState.CONNECTING, this.closing);
  }

  protected queueClose(code: number | undefined, reason: string): void {
    (this.closing ??= new ClosingState()).isQueued = true;
    const info = { code: code ?? 1005, reason };
    if (this.sendQueue !== undefined) {
      const buffers = encodeFrame(Opcode.CLOSE, encodeClosePayload(code, reason), { mask: this.maskSource ?? false });
      this.sendQueue.push(buffers, 0, undefined, info);
      return;
    }
    writeCloseFrame(this.sink, code, reason, this.maskSource);
    this.onCloseWritten(info);
  }

  private onCloseWritten(info: CloseFrameInfo): void {
    const c = this.closing as ClosingState;
    c.sent = info;
    if (c.received !== null && !c.isHandlingCloseFrame) this.onCloseExchanged();
  }

  private sendCompressed(opcode: number, body: Buffer, cb: WriteCallback | undefined): void {
    const item = (this.sendQueue ??= new SendQueue()).push(undefined, body.length, cb);
    (this.compressor as MessageCompressor).compress(body, (error, result) => {
      if (item.isCancelled) return;
      if (error || result === undefined) {
        this.fail(1011, '', new ProtocolError('compression failed', 1011, ErrorCode.INTERNAL));
        return;
      }
      // RFC 7692 §6: RSV1 on the first (here: only) frame marks the message compressed.
      item.buffers = encodeFrame(opcode, result, { rsv1: true, mask: this.maskSource ?? false });
      this.flushQueue();
    });
  }

  private flushQueue(): void {
    const queue = this.sendQueue;
    if (queue === undefined) return;
    const close = queue.flush(this.sink);
    if (queue.isEmpty && this.sendQueue === queue) this.sendQueue = undefined;
    if (close !== undefined) this.onCloseWritten(close);
  }

  protected cancelQueue(): void {
    const queue = this.sendQueue;
    if (queue === undefined) return;
    this.sendQueue = undefined;
    queue.cancel(() => this.notOpenError());
  }
}

