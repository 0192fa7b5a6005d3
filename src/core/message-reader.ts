/**
 * The message layer of the receive side: data frames (from the FrameParser
 * in frame-parser.ts) -> `message` events. It owns the receive limits, text
 * validation, reassembly and inflating; control frames and faults go
 * straight from the parser to the Connection, which owns both objects.
 *
 * Every rule is checked before any of the payload is buffered (RFC 6455
 * §5.2, §5.4, §5.5; RFC 7692 §6; limits): those that need only the first two
 * header bytes (RSV bits, opcode, mask bit, FIN of control frames, fragment
 * sequence) in the parser as soon as those two bytes are in, even when the
 * rest of the header is still to come; the length rules here once the header
 * is complete. Text is validated as it arrives, across pieces and fragments
 * (§8.1).
 *
 * Once our close frame is on its way (discard()), data frames are still
 * framed and their headers still checked, but their payloads are skipped by
 * the parser: no unmasking, inflating, UTF-8 validation, assembly or message
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
import { FrameParser, type DataFrameHandler, type FrameOwner } from './frame-parser.js';

export class MessageReader implements DataFrameHandler {
  /** The framing layer this reader is the data frame handler of. */
  readonly parser: FrameParser;
  private readonly limits: Readonly<ReceiverLimits>;
  private readonly compressor: MessageCompressor | undefined;
  private readonly sink: ConnectionSink;
  private readonly owner: FrameOwner;
  /** Payloads are skipped (set once closing starts). */
  private isDiscarding = false;
  private messageWireBytes = 0;
  private assembler: MessageAssembler | undefined;
  private utf8: Utf8Validator | undefined;
  /** Identifies the decompression in flight; bumped to ignore its answer. */
  private inflateToken = 0;

  /**
   * `limits` are shared between connections with equal limits (see
   * sharedLimits) to keep idle connections small. Makes its FrameParser, with
   * `owner` (the Connection) receiving control frames and faults.
   */
  constructor(
    isClient: boolean,
    limits: Readonly<ReceiverLimits>,
    compressor: MessageCompressor | undefined,
    sink: ConnectionSink,
    owner: FrameOwner,
  ) {
    this.limits = limits;
    this.compressor = compressor;
    this.sink = sink;
    this.owner = owner;
    this.parser = new FrameParser(
      { isClient, hasCompressor: compressor !== undefined, maxMessageBytes: limits.maxMessageBytes },
      this,
      owner,
    );
  }

  /** A payload starts arriving in pieces; text is validated as it comes (fail fast). */
  startPieces(): boolean {
    const parser = this.parser;
    const opcode = parser.opcode;
    const isValidating =
      (opcode === Opcode.TEXT && !parser.rsv1) ||
      (opcode === Opcode.CONTINUATION && parser.messageOpcode === Opcode.TEXT && !parser.isMessageCompressed);
    if (isValidating && opcode === Opcode.TEXT) (this.utf8 ??= new Utf8Validator()).reset();
    return isValidating;
  }

  /** A piece of a text payload: fail at the first invalid byte. */
  validatePiece(piece: Buffer): boolean {
    if ((this.utf8 as Utf8Validator).write(piece) === -1) return true;
    this.failUtf8();
    return false;
  }

  /** The message limits, checked from a data frame's header before any payload byte is buffered. */
  checkDataFrame(opcode: number, fin: boolean, rsv1: boolean, length: number): boolean {
    const isCompressed = opcode === Opcode.CONTINUATION ? this.parser.isMessageCompressed : rsv1;
    let error: ProtocolError | undefined;
    if (this.isDiscarding) {
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
    this.owner.failWith(error);
    return false;
  }

  /** A complete data frame payload (unmasked). `isValidated`: its text already went through the validator. */
  onDataFrame(payload: Buffer, isValidated: boolean): void {
    const parser = this.parser;
    const opcode = parser.opcode;
    const fin = parser.fin;
    if (opcode !== Opcode.CONTINUATION) {
      if (fin && !parser.rsv1) {
        // Single-frame message: the common case, no reassembly.
        if (opcode === Opcode.TEXT) {
          if (isValidated ? !(this.utf8 as Utf8Validator).isComplete : !(payload.length === 0 || isUtf8(payload))) {
            return this.failUtf8();
          }
        }
        this.emitMessage(payload, opcode === Opcode.BINARY);
        return;
      }
      if (opcode === Opcode.TEXT && !isValidated) (this.utf8 ??= new Utf8Validator()).reset();
    }
    const assembler = this.assembler as MessageAssembler;
    assembler.countFragment();
    if (parser.isMessageCompressed) return this.inflate(payload, fin);
    if (parser.messageOpcode === Opcode.TEXT && !isValidated && (this.utf8 as Utf8Validator).write(payload) !== -1) {
      return this.failUtf8();
    }
    assembler.append(payload);
    if (fin) this.finishMessage();
  }

  /**
   * Our close frame is on its way: from now on data payloads are skipped
   * (see the file comment), and a partly received message is dropped. Its
   * fragment sequence is still tracked by the parser, so its continuation
   * frames stay valid. A decompression already running finishes; its output
   * is dropped, and the decompressor is never fed again.
   */
  discard(): void {
    if (this.isDiscarding) return;
    this.isDiscarding = true;
    this.parser.skipDataPayloads();
    this.assembler?.reset();
  }

  /** Receiving stopped for good: a pending decompression is dropped. */
  stop(): void {
    this.parser.stop();
    this.inflateToken++;
    this.assembler?.reset();
  }

  private finishMessage(): void {
    const isText = this.parser.messageOpcode === Opcode.TEXT;
    if (isText && !(this.utf8 as Utf8Validator).isComplete) return this.failUtf8();
    const data = (this.assembler as MessageAssembler).take();
    this.emitMessage(data, !isText);
  }

  private emitMessage(data: Buffer, isBinary: boolean): void {
    const sink = this.sink;
    if (sink.message !== undefined) sink.message(data, isBinary);
    else sink.event({ type: 'message', data, isBinary });
  }

  /** RFC 7692: hands one frame to the decompressor and pauses the parser until it answers. */
  private inflate(payload: Buffer, isFinal: boolean): void {
    const compressor = this.compressor as MessageCompressor;
    const token = ++this.inflateToken;
    this.parser.pause();
    if (this.parser.opcode === Opcode.TEXT) (this.utf8 ??= new Utf8Validator()).reset();
    const remaining = (this.assembler as MessageAssembler).remainingBytes;
    compressor.decompress(payload, isFinal, remaining, (error, result) => {
      if (token !== this.inflateToken) return; // failed or closed meanwhile
      this.parser.resume(() => this.onInflated(error, result, isFinal));
    });
  }

  private onInflated(error: Error | null, result: Buffer[] | undefined, isFinal: boolean): void {
    // Closing started while this frame was inflating: its output (or error) no longer matters.
    if (this.isDiscarding) return;
    if (error) {
      if (error instanceof ProtocolError) return this.owner.failWith(error);
      if (error instanceof SockwaveError) return this.owner.failWith(new ProtocolError(error.message, 1011, error.code));
      return this.owner.failWith(new ProtocolError('invalid compressed data', 1002, ErrorCode.EXTENSION));
    }
    const assembler = this.assembler as MessageAssembler;
    const isText = this.parser.messageOpcode === Opcode.TEXT;
    for (const piece of result ?? []) {
      // The compressor should have stopped already; the core does not rely on it.
      if (piece.length > assembler.remainingBytes) {
        return this.owner.failWith(new MessageTooLargeError(assembler.bytes + piece.length, this.limits.maxMessageBytes));
      }
      if (isText && (this.utf8 as Utf8Validator).write(piece) !== -1) return this.failUtf8();
      assembler.append(piece);
    }
    if (isFinal) this.finishMessage();
  }

  private failUtf8(): void {
    this.owner.failWith(new ProtocolError('text is not valid UTF-8', 1007, ErrorCode.INVALID_UTF8));
  }
}
