/**
 * The lower half of the RFC 6455 state machine (connection.ts has the rules
 * and the upper half): the state and its flag bits, the receive side and
 * what comes from the transport (bytes, EOF, the transport's close) and from
 * the frame parser (control frames, faults). How to answer (fail, send our
 * close frame, cancel what waits to be sent) is the subclass's: Connection
 * in connection.ts. One class split over two files, not two objects, so a
 * connection stays one heap object (issue 16: idle memory).
 */
import { ProtocolError, SockwaveError, type CloseFrameInfo } from './errors.js';
import { ReadyState, type ConnectionSink, type MaskSource } from './events.js';
import type { MessageCompressor } from './deflate/compressor.js';
import { resolveConnectionOptions, type ConnectionOptions, type ConnectionSettings } from './connection-options.js';
import { ClosingState } from './closing-state.js';
import { Opcode } from './frame.js';
import { parseClosePayload } from './close.js';
import { MessageReader } from './message-reader.js';
import type { FrameOwner } from './frame-parser-contracts.js';
import type { ReceiverLimits } from './receiver-limits.js';
import { writeFrame } from './frame-writer.js';
import type { SendQueue } from './send-queue.js';
import { PongWriter } from './pong-writer.js';
import { controlFrameBytesAt, controlPayloadAt, isControlFramesOnly } from './control-frames.js';
import {
  DEFERRED_CLOSE,
  DEFERRED_END,
  DEFERRED_EOF,
  IS_AUTO_PONG,
  IS_CLIENT,
  IS_HANDLING_CONTROL_CHUNK,
  IS_PONG_WRITE_AWAITED,
  IS_READ_STOPPED,
  IS_RECEIVING_AFTER_CLOSE,
  IS_SENDING_FRAGMENTED,
  STATE_MASK,
} from './connection-flags.js';

/**
 * Chunks received from inside a handler while a control chunk is handled
 * without a receive side (rare: a handler feeding its own connection), kept
 * here rather than in a field every connection would carry.
 */
const nestedChunks = new WeakMap<object, Buffer[]>();

export abstract class ConnectionLifecycle implements FrameOwner {
  protected readonly sink: ConnectionSink;
  protected readonly compressor: MessageCompressor | undefined;
  /**
   * The receive side (the message layer and the framing layer under it),
   * made on the first bytes received and dropped again after a chunk of
   * control frames only that left it at rest (see receive()): an idle socket
   * carries none of it (about 340 bytes), heartbeat or not.
   */
  private receiver: MessageReader | undefined;
  /** Bytes parsed by receive sides dropped earlier, so `parsedBytes` keeps counting. */
  private droppedParsedBytes = 0;
  /** The limits, the compression threshold and the client's mask source: one object shared by a server's connections. */
  private readonly settings: ConnectionSettings;
  /** ReadyState and the small booleans, as bits (connection-flags.ts: STATE_MASK, IS_*, DEFERRED_*). */
  protected flags: number;
  protected sendQueue: SendQueue | undefined;
  private pongWriter: PongWriter | undefined;
  /** Created when closing starts, so idle connections carry none of it. */
  protected closing: ClosingState | undefined;

  constructor(options: ConnectionOptions, sink: ConnectionSink) {
    const resolved = resolveConnectionOptions(options);
    this.sink = sink;
    this.compressor = options.compressor;
    this.settings = resolved.settings;
    this.flags =
      (options.isOpen === false ? ReadyState.CONNECTING : ReadyState.OPEN) |
      (resolved.isClient ? IS_CLIENT : 0) |
      (sink.callsWriteCallbacks === true ? IS_PONG_WRITE_AWAITED : 0) |
      (options.autoPong !== false ? IS_AUTO_PONG : 0) |
      (options.receiveAfterClose === true ? IS_RECEIVING_AFTER_CLOSE : 0);
  }

  private get limits(): Readonly<ReceiverLimits> {
    return this.settings.limits;
  }

  protected get compressThresholdBytes(): number {
    return this.settings.compressThresholdBytes;
  }

  /** Set for clients only: every frame they send is masked. */
  protected get maskSource(): MaskSource | undefined {
    return this.settings.maskSource;
  }

  private get isClient(): boolean {
    return (this.flags & IS_CLIENT) !== 0;
  }

  protected get state(): ReadyState {
    return (this.flags & STATE_MASK) as ReadyState;
  }

  protected set state(value: ReadyState) {
    this.flags = (this.flags & ~STATE_MASK) | value;
  }

  protected get isSendingFragmented(): boolean {
    return (this.flags & IS_SENDING_FRAGMENTED) !== 0;
  }

  protected set isSendingFragmented(value: boolean) {
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

  /** Both close frames are through: ours was handed to the sink and the peer's was received. */
  get isCloseExchanged(): boolean {
    const c = this.closing;
    return c !== undefined && c.sent !== null && c.received !== null;
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
  protected get reader(): MessageReader {
    let receiver = this.receiver;
    if (receiver === undefined) {
      receiver = this.receiver = new MessageReader(this.isClient, this.limits, this.compressor, this.sink, this);
      if ((this.flags & IS_READ_STOPPED) !== 0) receiver.stop();
    }
    return receiver;
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
    if ((this.flags & IS_READ_STOPPED) !== 0) return;
    if ((this.flags & IS_HANDLING_CONTROL_CHUNK) !== 0) {
      // Received from inside a handler of that chunk: after the rest of it, in order.
      const waiting = nestedChunks.get(this);
      const kept = isBorrowed ? Buffer.from(chunk) : chunk;
      if (waiting === undefined) nestedChunks.set(this, [kept]);
      else waiting.push(kept);
      return;
    }
    // Without a receive side (fresh, or dropped below), a chunk of control frames only needs none.
    if (this.receiver === undefined && isControlFramesOnly(chunk, this.isClient)) {
      this.receiveControlChunk(chunk, isBorrowed);
      return;
    }
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

  /** Each control frame of `chunk` (checked by isControlFramesOnly) to onControlFrame, as the parser would hand them. */
  private receiveControlChunk(chunk: Buffer, isBorrowed: boolean): void {
    const isClient = this.isClient;
    this.flags |= IS_HANDLING_CONTROL_CHUNK;
    try {
      for (let offset = 0; offset < chunk.length && (this.flags & IS_READ_STOPPED) === 0; ) {
        const payload = controlPayloadAt(chunk, offset, isClient, isBorrowed);
        const opcode = chunk[offset] & 0x0f;
        const frameBytes = controlFrameBytesAt(chunk, offset, isClient);
        offset += frameBytes;
        this.droppedParsedBytes += frameBytes;
        this.onControlFrame(opcode, payload);
      }
    } catch (error) {
      this.flags &= ~IS_HANDLING_CONTROL_CHUNK;
      nestedChunks.delete(this);
      this.abortAfterThrow();
      throw error;
    }
    this.flags &= ~IS_HANDLING_CONTROL_CHUNK;
    const waiting = nestedChunks.get(this);
    if (waiting === undefined) return;
    nestedChunks.delete(this);
    for (const next of waiting) this.feed(next, false);
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
  protected runDeferredEnd(): void {
    const deferred = this.flags & DEFERRED_END;
    this.flags &= ~DEFERRED_END;
    if ((deferred & DEFERRED_EOF) !== 0) this.receiveEof();
    if ((deferred & DEFERRED_CLOSE) !== 0) this.transportClosed();
  }

  protected stopReading(): void {
    this.flags |= IS_READ_STOPPED;
    this.receiver?.stop();
  }

  protected onCloseExchanged(): void {
    this.emitShutdown(this.isClient ? 'await-peer-close' : 'end');
  }

  protected emitShutdown(mode: 'end' | 'await-peer-close'): void {
    const c = (this.closing ??= new ClosingState());
    if (c.shutdownMode === 'end' || c.shutdownMode === mode || c.isClosedEmitted) return;
    c.shutdownMode = mode;
    this.sink.event({ type: 'shutdown', mode });
  }

  /** Fail the WebSocket Connection (RFC 6455 §7.1.7); see Connection.fail. */
  abstract fail(closeCode: number, reason?: string, error?: SockwaveError): void;

  /** Send our close frame (behind anything waiting to be sent). */
  protected abstract queueClose(code: number | undefined, reason: string): void;

  /** Drop what waits to be sent (the transport is gone). */
  protected abstract cancelQueue(): void;
}
