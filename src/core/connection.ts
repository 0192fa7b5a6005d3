/**
 * The RFC 6455 state machine: bytes in -> events, calls -> bytes out.
 * Imports nothing from Node I/O and owns no timers: the adapter arms the close
 * timer when told `shutdown`, and reports the transport's end with
 * `receiveEof()` / `transportClosed()`. A Connection owns its receive side
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
import { ReadyState, type ConnectionSink, type MaskSource } from './events.js';
import type { MessageCompressor } from './deflate/compressor.js';
import { resolveConnectionOptions, type ConnectionOptions, type SendOptions } from './connection-options.js';
import { ClosingState, notOpenError, truncateUtf8 } from './closing-state.js';
import { MAX_CONTROL_PAYLOAD_BYTES, Opcode, encodeFrame } from './frame.js';
import {
  encodeClosePayload,
  isValidWireCloseCode,
  parseClosePayload,
  validateCloseArguments,
  MAX_CLOSE_REASON_BYTES,
} from './close.js';
import { MessageReader } from './message-reader.js';
import type { FrameOwner } from './frame-parser.js';
import type { ReceiverLimits } from './receiver-limits.js';
import { asBuffer, writeBuffers, writeFrame, type FramePayload, type WriteCallback } from './frame-writer.js';
import { SendQueue } from './send-queue.js';
import { PongWriter } from './pong-writer.js';
import {
  DEFERRED_CLOSE,
  DEFERRED_END,
  DEFERRED_EOF,
  IS_AUTO_PONG,
  IS_CLIENT,
  IS_PONG_WRITE_AWAITED,
  IS_RECEIVING_AFTER_CLOSE,
  IS_SENDING_FRAGMENTED,
  STATE_MASK,
} from './connection-flags.js';

export type { WriteCallback, FramePayload } from './frame-writer.js';

export type { ConnectionOptions, SendOptions } from './connection-options.js';

export class Connection implements FrameOwner {
  private readonly sink: ConnectionSink;
  private readonly compressor: MessageCompressor | undefined;
  /**
   * The receive side (the message layer and the framing layer under it),
   * made on the first bytes received and dropped again after a chunk of
   * control frames only that left it at rest (see receive()): an idle socket
   * carries none of it (about 340 bytes), heartbeat or not.
   */
  private receiver: MessageReader | undefined;
  /** Bytes parsed by receive sides dropped earlier, so `parsedBytes` keeps counting. */
  private droppedParsedBytes = 0;
  private readonly limits: Readonly<ReceiverLimits>;
  private readonly compressThresholdBytes: number;
  /** Set for clients only: every frame they send is masked. */
  private readonly maskSource: MaskSource | undefined;
  /** ReadyState and the small booleans, as bits (connection-flags.ts: STATE_MASK, IS_*, DEFERRED_*). */
  private flags: number;
  private sendQueue: SendQueue | undefined;
  private pongWriter: PongWriter | undefined;
  /** Created when closing starts, so idle connections carry none of it. */
  private closing: ClosingState | undefined;

  constructor(options: ConnectionOptions, sink: ConnectionSink) {
    const resolved = resolveConnectionOptions(options);
    this.sink = sink;
    this.compressor = options.compressor;
    this.limits = resolved.limits;
    this.compressThresholdBytes = resolved.compressThresholdBytes;
    this.maskSource = resolved.maskSource;
    this.flags =
      (options.isOpen === false ? ReadyState.CONNECTING : ReadyState.OPEN) |
      (resolved.isClient ? IS_CLIENT : 0) |
      (sink.callsWriteCallbacks === true ? IS_PONG_WRITE_AWAITED : 0) |
      (options.autoPong !== false ? IS_AUTO_PONG : 0) |
      (options.receiveAfterClose === true ? IS_RECEIVING_AFTER_CLOSE : 0);
  }

  private get isClient(): boolean {
    return (this.flags & IS_CLIENT) !== 0;
  }

  private get state(): ReadyState {
    return (this.flags & STATE_MASK) as ReadyState;
  }

  private set state(value: ReadyState) {
    this.flags = (this.flags & ~STATE_MASK) | value;
  }

  private get isSendingFragmented(): boolean {
    return (this.flags & IS_SENDING_FRAGMENTED) !== 0;
  }

  private set isSendingFragmented(value: boolean) {
    this.flags = value ? this.flags | IS_SENDING_FRAGMENTED : this.flags & ~IS_SENDING_FRAGMENTED;
  }

  /** 'client' masks outgoing frames and fails masked incoming ones; 'server' the reverse. */
  get role(): 'client' | 'server' {
    return this.isClient ? 'client' : 'server';
  }

  get readyState(): ReadyState {
    return this.state;
  }

  /** Bytes accepted by send() not yet handed to sink.write (waiting behind a compression). */
  get pendingBytes(): number {
    return this.sendQueue === undefined ? 0 : this.sendQueue.pendingBytes;
  }

  /** Close frames so far, for diagnostics and ConnectionClosedError. */
  get closeFrames(): { sent: CloseFrameInfo | null; received: CloseFrameInfo | null; isReceivedFirst: boolean } {
    const c = this.closing;
    return { sent: c?.sent ?? null, received: c?.received ?? null, isReceivedFirst: c?.isReceivedFirst ?? false };
  }

  /**
   * True while an asynchronous step (a decompression) runs: parsing waits for
   * it (to keep event order) and receive() only stores chunks. An adapter should
   * stop reading the transport and resume when the sink's optional
   * `receiveResumed()` is called, so a peer cannot pile up bytes meanwhile.
   */
  get isReceivePaused(): boolean {
    return this.receiver !== undefined && this.receiver.parser.isReceivePaused;
  }

  /**
   * Bytes the parser has consumed so far. After a failure it tells where
   * parsing stopped (the rest of that chunk was ignored); fuzzers use it to
   * hand the rest to a fresh Connection.
   */
  get parsedBytes(): number {
    return this.droppedParsedBytes + (this.receiver === undefined ? 0 : this.receiver.parser.parsedBytes);
  }

  /** True when transportClosed() waits for a running decompression; `closed` follows once it is done. */
  get isTransportCloseDeferred(): boolean {
    return (this.flags & DEFERRED_CLOSE) !== 0;
  }

  /** Bytes received while paused and not parsed yet. */
  get receiveBacklogBytes(): number {
    return this.receiver === undefined ? 0 : this.receiver.parser.receiveBacklogBytes;
  }

  /** CONNECTING -> OPEN, once the adapter completed the opening handshake. */
  open(): void {
    if (this.state === ReadyState.CONNECTING) this.state = ReadyState.OPEN;
  }

  /** The receive side, made when first needed (see `receiver`). */
  private get reader(): MessageReader {
    return (this.receiver ??= new MessageReader(this.isClient, this.limits, this.compressor, this.sink, this));
  }

  // ------------------------------------------------------- transport events

  /** Feed bytes from the transport. Never throws on peer faults. Takes ownership of `chunk` (unmasked in place). */
  receive(chunk: Buffer): void {
    this.feed(chunk, false);
  }

  /** Like receive(), but `chunk` stays the transport's: it is not modified, and what is kept of it is copied. */
  receiveBorrowed(chunk: Buffer): void {
    this.feed(chunk, true);
  }

  private feed(chunk: Buffer, isBorrowed: boolean): void {
    const parser = (this.receiver ?? this.reader).parser;
    parser.receive(chunk, isBorrowed);
    // Issue 16: a chunk of control frames only (a heartbeat's ping or pong)
    // that left the parser at rest: drop the receive side, so an idle socket
    // does not keep it after every heartbeat. Chunks with data frames keep it
    // (a busy socket does not remake it per chunk).
    if (parser.isAtRestAfterControlFrames && this.state === ReadyState.OPEN && this.receiver?.parser === parser) {
      this.droppedParsedBytes += parser.parsedBytes;
      this.receiver = undefined;
    }
  }

  /**
   * Where a transport that can choose its read buffer may read next: the
   * rest of a large payload, in the buffer the application will get (no
   * copy). Undefined when input must go through receive(). See docs/core.md.
   */
  readTarget(): Buffer | undefined {
    return this.receiver?.parser.readTarget();
  }

  /** `byteCount` bytes were read into the start of the last readTarget(). */
  receivedInto(byteCount: number): void {
    this.receiver?.parser.receivedInto(byteCount);
  }

  /** The peer half-closed or the transport ended (EOF). */
  receiveEof(): void {
    if (this.state === ReadyState.CLOSED) return;
    // A decompression is running with frames waiting behind it: they arrived
    // before the EOF, so they are parsed first (issue #12: compressed
    // messages just before the peer's FIN were lost).
    if (this.isReceivePaused) {
      this.flags |= DEFERRED_EOF;
      return;
    }
    this.stopReading();
    if (this.state !== ReadyState.CLOSING) this.state = ReadyState.CLOSING;
    this.emitShutdown('end');
  }

  /** The transport is gone; emits the final `closed` event if not yet emitted. */
  transportClosed(): void {
    const c = (this.closing ??= new ClosingState());
    if (c.isClosedEmitted) return;
    // The bytes already received are in memory: finish them (as after EOF) before `closed`.
    if (this.isReceivePaused) {
      this.flags |= DEFERRED_CLOSE;
      if (this.state === ReadyState.OPEN) this.state = ReadyState.CLOSING;
      return;
    }
    c.isClosedEmitted = true;
    this.state = ReadyState.CLOSED;
    this.stopReading();
    this.cancelQueue();
    this.compressor?.close();
    const received = c.received;
    this.sink.event({
      type: 'closed',
      code: received === null ? 1006 : received.code,
      reason: received === null ? '' : received.reason,
      wasClean: received !== null && c.sent !== null,
    });
  }

  // ------------------------------------------------ from the frame parser
  // (FrameOwner: called by this connection's own parser, not by adapters)

  /** @internal A complete, valid control frame. */
  onControlFrame(opcode: number, payload: Buffer): void {
    if (opcode === Opcode.PING) {
      // RFC 6455 §5.5.2/§5.5.3: answer with the same payload, unless closing.
      if (this.state === ReadyState.OPEN && (this.flags & IS_AUTO_PONG) !== 0) this.answerPing(payload);
      this.sink.event({ type: 'ping', data: payload });
      return;
    }
    if (opcode === Opcode.PONG) {
      this.sink.event({ type: 'pong', data: payload });
      return;
    }
    let parsed;
    try {
      parsed = parseClosePayload(payload);
    } catch (error) {
      return this.failWith(error as ProtocolError);
    }
    const c = (this.closing ??= new ClosingState());
    c.received = parsed;
    c.isReceivedFirst = !c.isQueued;
    this.stopReading();
    this.state = ReadyState.CLOSING;
    // RFC 6455 §5.5.1: echo the status code we received (shutdown follows the event).
    c.isHandlingCloseFrame = true;
    if (!c.isQueued) this.queueClose(parsed.code, '');
    c.isHandlingCloseFrame = false;
    this.sink.event({ type: 'close-frame', code: parsed.code, reason: parsed.reason });
    if (c.sent !== null) this.onCloseExchanged();
  }

  /** Every ping is answered at once with the same payload; pong-writer.ts when the sink calls every write callback. */
  private answerPing(payload: Buffer): void {
    if ((this.flags & IS_PONG_WRITE_AWAITED) === 0) {
      writeFrame(this.sink, Opcode.PONG, payload, true, false, this.maskSource, undefined);
      return;
    }
    (this.pongWriter ??= new PongWriter(this.sink, this.maskSource, this)).answer(payload);
  }

  /** @internal A peer fault found while receiving. */
  failWith(error: ProtocolError): void {
    // 1011 hides internal details from the peer; our protocol messages are safe to share.
    this.fail(error.closeCode, error.closeCode === 1011 ? '' : error.message, error);
  }

  /** @internal A sink handler threw inside receive(). */
  abortAfterThrow(): void {
    // RFC 6455 §7.4.1: 1011, "an unexpected condition"; no error event (the exception itself propagates).
    this.fail(1011);
  }

  /** @internal A pause ended; the adapter may read the transport again. */
  onReceiveResumed(): void {
    if ((this.flags & DEFERRED_END) !== 0) this.runDeferredEnd();
    else this.sink.receiveResumed?.();
  }

  /** The EOF and/or transport close that waited for a decompression (receiveEof, transportClosed). */
  private runDeferredEnd(): void {
    const deferred = this.flags & DEFERRED_END;
    this.flags &= ~DEFERRED_END;
    if ((deferred & DEFERRED_EOF) !== 0) this.receiveEof();
    if ((deferred & DEFERRED_CLOSE) !== 0) this.transportClosed();
  }

  private stopReading(): void {
    this.reader.stop();
  }

  private onCloseExchanged(): void {
    this.emitShutdown(this.isClient ? 'await-peer-close' : 'end');
  }

  private emitShutdown(mode: 'end' | 'await-peer-close'): void {
    const c = (this.closing ??= new ClosingState());
    if (c.shutdownMode === 'end' || c.shutdownMode === mode || c.isClosedEmitted) return;
    c.shutdownMode = mode;
    this.sink.event({ type: 'shutdown', mode });
  }

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
      writeBuffers(this.sink, encodeFrame(Opcode.CLOSE, encodeClosePayload(closeCode, text), { mask: this.maskSource ?? false }), undefined);
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
    const body = data === undefined ? EMPTY : data;
    const length = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    if (length > MAX_CONTROL_PAYLOAD_BYTES) {
      throw new RangeError(`control frame payload is ${length} bytes, the limit is ${MAX_CONTROL_PAYLOAD_BYTES}`);
    }
    writeFrame(this.sink, opcode, body, true, false, this.maskSource, cb);
  }

  private notOpenError(): SockwaveError {
    return notOpenError(this.state === ReadyState.CONNECTING, this.closing);
  }

  private queueClose(code: number | undefined, reason: string): void {
    (this.closing ??= new ClosingState()).isQueued = true;
    const info = { code: code ?? 1005, reason };
    const buffers = encodeFrame(Opcode.CLOSE, encodeClosePayload(code, reason), { mask: this.maskSource ?? false });
    if (this.sendQueue !== undefined) {
      this.sendQueue.push(buffers, 0, undefined, info);
      return;
    }
    writeBuffers(this.sink, buffers, undefined);
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

  private cancelQueue(): void {
    const queue = this.sendQueue;
    if (queue === undefined) return;
    this.sendQueue = undefined;
    queue.cancel(() => this.notOpenError());
  }
}

const EMPTY = Buffer.alloc(0);
