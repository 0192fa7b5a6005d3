/**
 * The receive half of a Connection: frames (from FrameReceiver, the framing
 * layer in frame-receiver.ts) -> message, ping, pong events; close frames
 * and peer faults go to the subclass.
 *
 * Every rule is checked before any of the payload is buffered (RFC 6455
 * §5.2, §5.4, §5.5; RFC 7692 §6; limits): those that need only the first two
 * header bytes (RSV bits, opcode, mask bit, FIN of control frames, fragment
 * sequence) as soon as those two bytes are in, even when the rest of the
 * header is still to come; the length rules once the header is complete.
 * Text is validated as it arrives, across pieces and fragments (§8.1).
 *
 * Once our close frame is on its way (startDiscarding()), data frames are
 * still framed and their headers still checked, but their payloads are
 * skipped: no unmasking, inflating, UTF-8 validation, assembly or message
 * events (RFC 6455 §5.5.1 lets a closing endpoint discard them; WHATWG drops
 * messages once readyState is not OPEN). The peer's close reply behind a
 * backlog of compressed frames is then reached at parsing speed.
 */
import { isUtf8 } from 'node:buffer';
import { ErrorCode, MessageTooLargeError, ProtocolError, SockwaveError } from './errors.js';
import type { ConnectionSink } from './events.js';
import type { MessageCompressor } from './deflate/compressor.js';
import { Opcode } from './frame.js';
import { Utf8Validator } from './utf8.js';
import { MessageAssembler } from './message-assembler.js';
import { discardedFrameLimitError, fragmentLimitError, type ReceiverLimits } from './receiver-limits.js';
import { firstBytesViolation } from './frame-header-rules.js';
import { FrameReceiver } from './frame-receiver.js';

/**
 * A sink may also implement `receiveResumed`: called (outside receive())
 * when an asynchronous decompression finished and everything received
 * meanwhile has been parsed, i.e. when isReceivePaused turned false.
 */
export interface ResumableSink extends ConnectionSink {
  receiveResumed?(): void;
}

export abstract class Receiver extends FrameReceiver {
  protected readonly compressor: MessageCompressor | undefined;
  // The message being reassembled (opcode 0 = none).
  private messageOpcode = 0;
  private isMessageCompressed = false;
  private messageWireBytes = 0;
  private assembler: MessageAssembler | undefined;
  private utf8: Utf8Validator | undefined;
  /** Identifies the decompression in flight; bumped to ignore its answer. */
  private inflateToken = 0;

  constructor(isClient: boolean, limits: Readonly<ReceiverLimits>, compressor: MessageCompressor | undefined, sink: ConnectionSink) {
    super(isClient, limits, sink);
    this.compressor = compressor;
  }

  /** A complete, valid control frame (ping, pong or close). */
  protected abstract onControlFrame(opcode: number, payload: Buffer): void;

  /** A payload starts arriving in pieces; text is validated as it comes (fail fast). */
  protected startPieces(): void {
    this.pieces = [];
    const opcode = this.opcode;
    this.isValidatingPieces =
      (opcode === Opcode.TEXT && !this.rsv1) ||
      (opcode === Opcode.CONTINUATION && this.messageOpcode === Opcode.TEXT && !this.isMessageCompressed);
    if (this.isValidatingPieces) {
      if (opcode === Opcode.TEXT) (this.utf8 ??= new Utf8Validator()).reset();
    }
  }

  /** A piece of a text payload (isValidatingPieces): fail at the first invalid byte. */
  protected validatePiece(piece: Buffer): boolean {
    if ((this.utf8 as Utf8Validator).write(piece) === -1) return true;
    this.failUtf8();
    return false;
  }

  /** The rules the first two header bytes decide (see frame-header-rules.ts); fails and returns false on a violation. */
  protected checkFirstBytes(b0: number, b1: number): boolean {
    const violation = firstBytesViolation(b0, b1, this.isClient, this.messageOpcode, this.compressor !== undefined);
    return violation === undefined || this.failProtocol(violation);
  }

  /** The message limits, checked from a data frame's header before any payload byte is buffered. */
  protected checkDataFrame(opcode: number, fin: boolean, rsv1: boolean, length: number): boolean {
    const isCompressed = opcode === Opcode.CONTINUATION ? this.isMessageCompressed : rsv1;
    let error: ProtocolError | undefined;
    if (this.isSkippingData) {
      error = discardedFrameLimitError(this.limits, length, isCompressed);
    } else if (fin && opcode !== Opcode.CONTINUATION && !rsv1) {
      if (length > this.limits.maxMessageBytes) error = new MessageTooLargeError(length, this.limits.maxMessageBytes);
    } else {
      const limits = this.limits;
      const assembler = (this.assembler ??= new MessageAssembler(limits.maxMessageBytes, limits.maxFragments, limits.fragmentOverheadBytes));
      if (opcode !== Opcode.CONTINUATION) {
        assembler.reset();
        this.messageWireBytes = 0;
      }
      if (isCompressed) this.messageWireBytes += length;
      error = fragmentLimitError(limits, assembler, length, isCompressed, this.messageWireBytes);
    }
    if (error === undefined) return true;
    this.failWith(error);
    return false;
  }

  /** A complete frame payload (unmasked). `isValidated`: its text already went through the validator. */
  protected onFrame(payload: Buffer, isValidated: boolean): void {
    const opcode = this.opcode;
    if (opcode >= 8) return this.onControlFrame(opcode, payload);
    if (this.isSkippingData) return this.onSkippedFrame();
    if (opcode !== Opcode.CONTINUATION) {
      if (this.fin && !this.rsv1) {
        // Single-frame message: the common case, no reassembly.
        if (opcode === Opcode.TEXT) {
          if (isValidated ? !(this.utf8 as Utf8Validator).isComplete : !(payload.length === 0 || isUtf8(payload))) {
            return this.failUtf8();
          }
        }
        this.emitMessage(payload, opcode === Opcode.BINARY);
        return;
      }
      this.messageOpcode = opcode;
      this.isMessageCompressed = this.rsv1;
      if (opcode === Opcode.TEXT && !isValidated) (this.utf8 ??= new Utf8Validator()).reset();
    }
    const assembler = this.assembler as MessageAssembler;
    assembler.countFragment();
    if (this.isMessageCompressed) return this.inflate(payload, this.fin);
    if (this.messageOpcode === Opcode.TEXT && !isValidated && (this.utf8 as Utf8Validator).write(payload) !== -1) {
      return this.failUtf8();
    }
    assembler.append(payload);
    if (this.fin) this.finishMessage();
  }

  /** A data frame skipped while closing: only the fragment sequence is tracked, so framing stays checked. */
  protected onSkippedFrame(): void {
    if (this.opcode !== Opcode.CONTINUATION) {
      if (!this.fin) {
        this.messageOpcode = this.opcode;
        this.isMessageCompressed = this.rsv1;
      }
    } else if (this.fin) {
      this.messageOpcode = 0;
    }
  }

  /**
   * Our close frame is on its way: from now on data payloads are skipped
   * (see the file comment), and a partly received message is dropped. Its
   * fragment sequence is still tracked, so its continuation frames stay
   * valid. A decompression already running finishes; its output is dropped,
   * and the decompressor is never fed again (its state no longer matters).
   */
  protected startDiscarding(): void {
    if (this.isSkippingData) return;
    this.isSkippingData = true;
    this.pieces = undefined;
    this.isValidatingPieces = false;
    this.assembler?.reset();
  }

  private finishMessage(): void {
    const isText = this.messageOpcode === Opcode.TEXT;
    if (isText && !(this.utf8 as Utf8Validator).isComplete) return this.failUtf8();
    const data = (this.assembler as MessageAssembler).take();
    this.messageOpcode = 0;
    this.emitMessage(data, !isText);
  }

  private emitMessage(data: Buffer, isBinary: boolean): void {
    const sink = this.sink;
    if (sink.message !== undefined) sink.message(data, isBinary);
    else sink.event({ type: 'message', data, isBinary });
  }

  /** RFC 7692: hands one frame to the decompressor and stops parsing until it answers. */
  private inflate(payload: Buffer, isFinal: boolean): void {
    const compressor = this.compressor as MessageCompressor;
    const token = ++this.inflateToken;
    this.isPaused = true;
    if (this.opcode === Opcode.TEXT) (this.utf8 ??= new Utf8Validator()).reset();
    const remaining = (this.assembler as MessageAssembler).remainingBytes;
    compressor.decompress(payload, isFinal, remaining, (error, result) => {
      if (token !== this.inflateToken) return; // failed or closed meanwhile
      this.isPaused = false;
      if (this.isParsing) {
        // Answered synchronously (or from within a drain): the parse loop goes on.
        this.onInflated(error, result, isFinal);
        return;
      }
      this.isParsing = true;
      try {
        this.onInflated(error, result, isFinal);
        if (this.pausedChunks !== undefined && this.isReading && !this.isPaused) this.drainPaused();
      } catch (thrown) {
        this.abortAfterThrow();
        throw thrown;
      } finally {
        this.isParsing = false;
      }
      if (!this.isPaused && this.isReading) (this.sink as ResumableSink).receiveResumed?.();
    });
  }

  private onInflated(error: Error | null, result: Buffer[] | undefined, isFinal: boolean): void {
    if (this.isSkippingData) {
      // Closing started while this frame was inflating: its output (or error) no longer matters.
      if (isFinal) this.messageOpcode = 0;
      return;
    }
    if (error) {
      if (error instanceof ProtocolError) return this.failWith(error);
      if (error instanceof SockwaveError) return this.failWith(new ProtocolError(error.message, 1011, error.code));
      return this.failWith(new ProtocolError('invalid compressed data', 1002, ErrorCode.EXTENSION));
    }
    const assembler = this.assembler as MessageAssembler;
    const isText = this.messageOpcode === Opcode.TEXT;
    for (const piece of result ?? []) {
      // The compressor should have stopped already; the core does not rely on it.
      if (piece.length > assembler.remainingBytes) {
        return this.failWith(new MessageTooLargeError(assembler.bytes + piece.length, this.limits.maxMessageBytes));
      }
      if (isText && (this.utf8 as Utf8Validator).write(piece) !== -1) return this.failUtf8();
      assembler.append(piece);
    }
    if (isFinal) this.finishMessage();
  }

  /** Stops receiving for good: later bytes are ignored, a pending decompression is dropped. */
  protected override stopReading(): void {
    super.stopReading();
    this.inflateToken++;
    this.messageOpcode = 0;
    this.assembler?.reset();
  }

  private failUtf8(): void {
    this.failWith(new ProtocolError('text is not valid UTF-8', 1007, ErrorCode.INVALID_UTF8));
  }
}
