/**
 * The receive half of a Connection: bytes in -> validated frames -> message,
 * ping, pong events; close frames and peer faults go to the subclass.
 *
 * Parses straight out of the incoming chunk when a whole frame is inside it
 * (no copy; unmasked in place, so receive() takes ownership of the chunk);
 * only a frame that spans chunks is kept, as a list of pieces copied once.
 * A header split across chunks is collected in a 14-byte buffer.
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
import type { ConnectionSink, MessageCompressor } from './events.js';
import { MAX_CONTROL_PAYLOAD_BYTES, Opcode } from './frame.js';
import { applyMask } from './mask.js';
import { Utf8Validator } from './utf8.js';
import { MessageAssembler } from './message-assembler.js';
import { discardedFrameLimitError, fragmentLimitError, type ReceiverLimits } from './receiver-limits.js';
import { firstBytesViolation, headerBytesFor, readPayloadLength } from './frame-header-rules.js';

const PHASE_HEADER = 0;
const PHASE_PAYLOAD = 1;
const EMPTY = Buffer.alloc(0);

/**
 * A sink may also implement `receiveResumed`: called (outside receive())
 * when an asynchronous decompression finished and everything received
 * meanwhile has been parsed, i.e. when isReceivePaused turned false.
 */
export interface ResumableSink extends ConnectionSink {
  receiveResumed?(): void;
}

export abstract class Receiver {
  protected readonly isClient: boolean;
  protected readonly sink: ConnectionSink;
  protected readonly compressor: MessageCompressor | undefined;
  /** Shared between connections with equal limits (see sharedLimits) to keep idle connections small. */
  private readonly limits: Readonly<ReceiverLimits>;

  /** False once the peer's close frame arrived, after fail() and after EOF. */
  protected isReading = true;
  /** True once our close frame is queued: data payloads are skipped, not delivered. */
  private isDiscarding = false;
  // The frame being parsed.
  private phase = PHASE_HEADER;
  private head: Buffer | undefined;
  private headBytes = 0;
  private fin = false;
  private rsv1 = false;
  private opcode = 0;
  private maskKey = 0;
  private payloadLength = 0;
  private payloadReceived = 0;
  /** Pieces of a payload that spans chunks (already unmasked). */
  private pieces: Buffer[] | undefined;
  /** True when this frame's text is validated piece by piece as it arrives. */
  private isValidatingPieces = false;
  // The message being reassembled (opcode 0 = none).
  private messageOpcode = 0;
  private isMessageCompressed = false;
  private messageWireBytes = 0;
  private assembler: MessageAssembler | undefined;
  private utf8: Utf8Validator | undefined;
  // Pausing while a decompression runs.
  private isParsing = false;
  private isInflating = false;
  private inflateToken = 0;
  private pausedChunks: Buffer[] | undefined;
  private pausedBytes = 0;
  private consumedBytes = 0;

  constructor(isClient: boolean, limits: Readonly<ReceiverLimits>, compressor: MessageCompressor | undefined, sink: ConnectionSink) {
    this.isClient = isClient;
    this.sink = sink;
    this.compressor = compressor;
    this.limits = limits;
  }

  /** A complete, valid control frame (ping, pong or close). */
  protected abstract onControlFrame(opcode: number, payload: Buffer): void;
  /** A peer fault: fail the connection with `error.closeCode`. */
  protected abstract failWith(error: ProtocolError): void;
  /**
   * The sink threw while we were parsing (an application handler bug): the
   * rest of the input can no longer be parsed in step, so the connection
   * must end. Called before the exception propagates.
   */
  protected abstract abortAfterThrow(): void;

  /**
   * True while an asynchronous decompression runs: parsing waits for it (to
   * keep event order) and receive() only stores chunks. An adapter should
   * stop reading the transport and resume when the sink's optional
   * `receiveResumed()` is called, so a peer cannot pile up bytes meanwhile.
   */
  get isReceivePaused(): boolean {
    return this.isInflating;
  }

  /**
   * Bytes the parser has consumed so far. After a failure it tells where
   * parsing stopped (the rest of that chunk was ignored); fuzzers use it to
   * hand the rest to a fresh Connection.
   */
  get parsedBytes(): number {
    return this.consumedBytes;
  }

  /** Bytes received while paused and not parsed yet. */
  get receiveBacklogBytes(): number {
    return this.pausedBytes;
  }

  /** Feed bytes from the transport. Never throws on peer faults. Takes ownership of `chunk` (unmasked in place). */
  receive(chunk: Buffer): void {
    if (!this.isReading || chunk.length === 0) return;
    if (this.isParsing || this.isInflating) {
      (this.pausedChunks ??= []).push(chunk);
      this.pausedBytes += chunk.length;
      return;
    }
    this.isParsing = true;
    try {
      this.parse(chunk, 0);
      if (this.pausedChunks !== undefined) this.drainPaused();
    } catch (error) {
      this.abortAfterThrow();
      throw error;
    } finally {
      this.isParsing = false;
    }
  }

  private drainPaused(): void {
    const chunks = this.pausedChunks as Buffer[];
    while (chunks.length > 0 && this.isReading && !this.isInflating) {
      const chunk = chunks.shift() as Buffer;
      this.pausedBytes -= chunk.length;
      this.parse(chunk, 0);
    }
    if (chunks.length === 0 && this.pausedChunks === chunks) this.pausedChunks = undefined;
  }

  private parse(chunk: Buffer, offset: number): void {
    const length = chunk.length;
    let off = offset;
    while (off < length && this.isReading && !this.isInflating) {
      if (this.phase === PHASE_HEADER) {
        if (this.headBytes === 0 && length - off >= 2) {
          const need = headerBytesFor(chunk[off + 1]);
          if (length - off >= need) {
            off += need;
            this.onHeader(chunk, off - need);
            continue;
          }
        }
        // A header split across chunks: collect it byte by byte (at most 14).
        const head = (this.head ??= Buffer.allocUnsafe(14));
        head[this.headBytes++] = chunk[off++];
        if (this.headBytes === 2 && !this.checkFirstBytes(head[0], head[1])) break;
        if (this.headBytes >= 2 && this.headBytes === headerBytesFor(head[1])) {
          this.headBytes = 0;
          this.onHeader(head, 0, true);
        }
        continue;
      }
      const remaining = this.payloadLength - this.payloadReceived;
      const available = length - off;
      if (this.isDiscarding && this.opcode < 8) {
        // Closing: skip the payload of a data frame without touching it.
        const skip = available < remaining ? available : remaining;
        off += skip;
        this.payloadReceived += skip;
        if (this.payloadReceived === this.payloadLength) {
          this.phase = PHASE_HEADER;
          this.onDiscardedFrame();
        }
        continue;
      }
      if (this.payloadReceived === 0 && available >= remaining) {
        // Fast path: the whole payload is inside this chunk.
        const payload = chunk.subarray(off, off + remaining);
        off += remaining;
        applyMask(payload, 0, remaining, this.maskKey, 0); // key 0 (unmasked frame) is a no-op
        this.phase = PHASE_HEADER;
        this.onFrame(payload, false);
        continue;
      }
      const take = available < remaining ? available : remaining;
      const piece = chunk.subarray(off, off + take);
      off += take;
      applyMask(piece, 0, take, this.maskKey, this.payloadReceived & 3);
      if (this.payloadReceived === 0) this.startPieces();
      this.payloadReceived += take;
      if (this.isValidatingPieces && (this.utf8 as Utf8Validator).write(piece) !== -1) {
        this.failUtf8();
        break;
      }
      (this.pieces as Buffer[]).push(piece);
      if (this.payloadReceived === this.payloadLength) {
        const pieces = this.pieces as Buffer[];
        this.pieces = undefined;
        this.phase = PHASE_HEADER;
        this.onFrame(pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, this.payloadLength), this.isValidatingPieces);
      }
    }
    this.consumedBytes += off - offset;
    if (this.isInflating && off < length && this.isReading) {
      (this.pausedChunks ??= []).unshift(chunk.subarray(off));
      this.pausedBytes += length - off;
    }
  }

  /** A payload starts arriving in pieces; text is validated as it comes (fail fast). */
  private startPieces(): void {
    this.pieces = [];
    const opcode = this.opcode;
    this.isValidatingPieces =
      (opcode === Opcode.TEXT && !this.rsv1) ||
      (opcode === Opcode.CONTINUATION && this.messageOpcode === Opcode.TEXT && !this.isMessageCompressed);
    if (this.isValidatingPieces) {
      if (opcode === Opcode.TEXT) (this.utf8 ??= new Utf8Validator()).reset();
    }
  }

  /** The rules the first two header bytes decide (see frame-header-rules.ts); fails and returns false on a violation. */
  private checkFirstBytes(b0: number, b1: number): boolean {
    const violation = firstBytesViolation(b0, b1, this.isClient, this.messageOpcode, this.compressor !== undefined);
    return violation === undefined || this.failProtocol(violation);
  }

  /**
   * Validates a complete header at `buf[o]`; fails the connection on any
   * violation. `isChecked`: checkFirstBytes already passed (split header).
   */
  private onHeader(buf: Buffer, o: number, isChecked = false): void {
    const b0 = buf[o];
    const b1 = buf[o + 1];
    if (!isChecked && !this.checkFirstBytes(b0, b1)) return;
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    const rsv1 = (b0 & 0x40) !== 0;
    const isMasked = (b1 & 0x80) !== 0;
    const length = readPayloadLength(buf, o);
    if (length < 0) {
      this.failProtocol('64-bit payload length with the most significant bit set');
      return;
    }
    if (length === Infinity) return this.failWith(new MessageTooLargeError(Number.MAX_SAFE_INTEGER, this.limits.maxMessageBytes));
    if (opcode >= 8) {
      // RFC 6455 §5.5: control frames carry at most 125 bytes.
      if (length > MAX_CONTROL_PAYLOAD_BYTES) {
        this.failProtocol('control frame payload over 125 bytes');
        return;
      }
    } else {
      // Limits are checked here, before any payload byte is buffered.
      const isCompressed = opcode === Opcode.CONTINUATION ? this.isMessageCompressed : rsv1;
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
      if (error !== undefined) return this.failWith(error);
    }
    this.fin = fin;
    this.rsv1 = rsv1;
    this.opcode = opcode;
    this.maskKey = isMasked ? buf.readInt32LE(o + headerBytesFor(b1) - 4) : 0;
    this.payloadLength = length;
    this.payloadReceived = 0;
    if (length === 0) {
      this.onFrame(EMPTY, false);
    } else {
      this.phase = PHASE_PAYLOAD;
    }
  }

  /** A complete frame payload (unmasked). `isValidated`: its text already went through the validator. */
  private onFrame(payload: Buffer, isValidated: boolean): void {
    const opcode = this.opcode;
    if (opcode >= 8) return this.onControlFrame(opcode, payload);
    if (this.isDiscarding) return this.onDiscardedFrame();
    if (opcode !== Opcode.CONTINUATION) {
      if (this.fin && !this.rsv1) {
        // Single-frame message: the common case, no reassembly.
        if (opcode === Opcode.TEXT) {
          if (isValidated ? !(this.utf8 as Utf8Validator).isComplete : !(payload.length === 0 || isUtf8(payload))) {
            return this.failUtf8();
          }
        }
        this.sink.event({ type: 'message', data: payload, isBinary: opcode === Opcode.BINARY });
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
  private onDiscardedFrame(): void {
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
    if (this.isDiscarding) return;
    this.isDiscarding = true;
    this.pieces = undefined;
    this.isValidatingPieces = false;
    this.assembler?.reset();
  }

  private finishMessage(): void {
    const isText = this.messageOpcode === Opcode.TEXT;
    if (isText && !(this.utf8 as Utf8Validator).isComplete) return this.failUtf8();
    const data = (this.assembler as MessageAssembler).take();
    this.messageOpcode = 0;
    this.sink.event({ type: 'message', data, isBinary: !isText });
  }

  /** RFC 7692: hands one frame to the decompressor and stops parsing until it answers. */
  private inflate(payload: Buffer, isFinal: boolean): void {
    const compressor = this.compressor as MessageCompressor;
    const token = ++this.inflateToken;
    this.isInflating = true;
    if (this.opcode === Opcode.TEXT) (this.utf8 ??= new Utf8Validator()).reset();
    const remaining = (this.assembler as MessageAssembler).remainingBytes;
    compressor.decompress(payload, isFinal, remaining, (error, result) => {
      if (token !== this.inflateToken) return; // failed or closed meanwhile
      this.isInflating = false;
      if (this.isParsing) {
        // Answered synchronously (or from within a drain): the parse loop goes on.
        this.onInflated(error, result, isFinal);
        return;
      }
      this.isParsing = true;
      try {
        this.onInflated(error, result, isFinal);
        if (this.pausedChunks !== undefined && this.isReading && !this.isInflating) this.drainPaused();
      } catch (thrown) {
        this.abortAfterThrow();
        throw thrown;
      } finally {
        this.isParsing = false;
      }
      if (!this.isInflating && this.isReading) (this.sink as ResumableSink).receiveResumed?.();
    });
  }

  private onInflated(error: Error | null, result: Buffer[] | undefined, isFinal: boolean): void {
    if (this.isDiscarding) {
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
  protected stopReading(): void {
    this.isReading = false;
    this.isInflating = false;
    this.inflateToken++;
    this.pausedChunks = undefined;
    this.pausedBytes = 0;
    this.pieces = undefined;
    this.phase = PHASE_HEADER;
    this.headBytes = 0;
    this.messageOpcode = 0;
    this.assembler?.reset();
  }

  /** Fails with 1002; returns false so rule checks can `return this.failProtocol(...)`. */
  private failProtocol(message: string): false {
    this.failWith(new ProtocolError(message, 1002));
    return false;
  }

  private failUtf8(): void {
    this.failWith(new ProtocolError('text is not valid UTF-8', 1007, ErrorCode.INVALID_UTF8));
  }

}
