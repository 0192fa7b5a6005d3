/**
 * Framing, the lower half of the receive side: bytes in -> frame headers and
 * payloads, for Receiver (messages) to act on.
 *
 * Parses straight out of the incoming chunk when a whole frame is inside it
 * (no copy; unmasked in place, so receive() takes ownership of the chunk);
 * only a frame that spans chunks is kept, as a list of pieces copied once.
 * A header split across chunks is collected in a 14-byte buffer, and the
 * rules its first two bytes decide are checked as soon as they are in.
 * While an asynchronous step runs (isPaused), input is only stored, and
 * parsed in order once the step is done.
 */
import { viewOf } from './buffer-view.js';
import type { ConnectionSink } from './events.js';
import { MessageTooLargeError, ProtocolError } from './errors.js';
import { MAX_CONTROL_PAYLOAD_BYTES } from './frame.js';
import { applyMask, readKey } from './mask.js';
import { headerBytesFor, readPayloadLength } from './frame-header-rules.js';
import type { ReceiverLimits } from './receiver-limits.js';

const PHASE_HEADER = 0;
const PHASE_PAYLOAD = 1;
const EMPTY = Buffer.alloc(0);

export abstract class FrameReceiver {
  protected readonly isClient: boolean;
  protected readonly sink: ConnectionSink;
  /** Shared between connections with equal limits (see sharedLimits) to keep idle connections small. */
  protected readonly limits: Readonly<ReceiverLimits>;

  /** False once the peer's close frame arrived, after fail() and after EOF. */
  protected isReading = true;
  /** Data frame payloads are skipped unread (set by the message layer while closing). */
  protected isSkippingData = false;
  // The frame being parsed.
  private phase = PHASE_HEADER;
  private head: Buffer | undefined;
  private headBytes = 0;
  protected fin = false;
  protected rsv1 = false;
  protected opcode = 0;
  private maskKey = 0;
  private payloadLength = 0;
  private payloadReceived = 0;
  /** Pieces of a payload that spans chunks (already unmasked). */
  protected pieces: Buffer[] | undefined;
  /** True when this frame's pieces go through validatePiece() as they arrive. */
  protected isValidatingPieces = false;
  // Pausing while an asynchronous step runs.
  protected isParsing = false;
  protected isPaused = false;
  protected pausedChunks: Buffer[] | undefined;
  private pausedBytes = 0;
  private consumedBytes = 0;

  constructor(isClient: boolean, limits: Readonly<ReceiverLimits>, sink: ConnectionSink) {
    this.isClient = isClient;
    this.limits = limits;
    this.sink = sink;
  }

  /** The rules the first two header bytes decide; fails and returns false on a violation. */
  protected abstract checkFirstBytes(b0: number, b1: number): boolean;
  /** The limits a data frame header must meet before its payload is read; fails and returns false. */
  protected abstract checkDataFrame(opcode: number, fin: boolean, rsv1: boolean, length: number): boolean;
  /** A complete frame payload (unmasked). `isValidated`: its pieces already went through validatePiece(). */
  protected abstract onFrame(payload: Buffer, isValidated: boolean): void;
  /** A data frame whose payload was skipped (isSkippingData). */
  protected abstract onSkippedFrame(): void;
  /** A payload starts arriving in pieces: set `pieces` (and `isValidatingPieces`). */
  protected abstract startPieces(): void;
  /** Validates one piece as it arrives; fails and returns false. */
  protected abstract validatePiece(piece: Buffer): boolean;
  /** A peer fault: fail the connection with `error.closeCode`. */
  protected abstract failWith(error: ProtocolError): void;
  /**
   * The sink threw while we were parsing (an application handler bug): the
   * rest of the input can no longer be parsed in step, so the connection
   * must end. Called before the exception propagates.
   */
  protected abstract abortAfterThrow(): void;

  /**
   * True while an asynchronous step (a decompression) runs: parsing waits for
   * it (to keep event order) and receive() only stores chunks. An adapter should
   * stop reading the transport and resume when the sink's optional
   * `receiveResumed()` is called, so a peer cannot pile up bytes meanwhile.
   */
  get isReceivePaused(): boolean {
    return this.isPaused;
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
    if (this.isParsing || this.isPaused) {
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

  /** Parses what arrived while parsing or paused, until done or paused again. */
  protected drainPaused(): void {
    const chunks = this.pausedChunks as Buffer[];
    while (chunks.length > 0 && this.isReading && !this.isPaused) {
      const chunk = chunks.shift() as Buffer;
      this.pausedBytes -= chunk.length;
      this.parse(chunk, 0);
    }
    if (chunks.length === 0 && this.pausedChunks === chunks) this.pausedChunks = undefined;
  }

  private parse(chunk: Buffer, offset: number): void {
    const length = chunk.length;
    let off = offset;
    while (off < length && this.isReading && !this.isPaused) {
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
      if (this.isSkippingData && this.opcode < 8) {
        // Closing: skip the payload of a data frame without touching it.
        const skip = available < remaining ? available : remaining;
        off += skip;
        this.payloadReceived += skip;
        if (this.payloadReceived === this.payloadLength) {
          this.phase = PHASE_HEADER;
          this.onSkippedFrame();
        }
        continue;
      }
      if (this.payloadReceived === 0 && available >= remaining) {
        // Fast path: the whole payload is inside this chunk.
        const payload = viewOf(chunk.buffer, chunk.byteOffset + off, remaining);
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
      if (this.isValidatingPieces && !this.validatePiece(piece)) break;
      (this.pieces as Buffer[]).push(piece);
      if (this.payloadReceived === this.payloadLength) {
        const pieces = this.pieces as Buffer[];
        this.pieces = undefined;
        this.phase = PHASE_HEADER;
        this.onFrame(pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, this.payloadLength), this.isValidatingPieces);
      }
    }
    this.consumedBytes += off - offset;
    if (this.isPaused && off < length && this.isReading) {
      (this.pausedChunks ??= []).unshift(chunk.subarray(off));
      this.pausedBytes += length - off;
    }
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
      if (!this.checkDataFrame(opcode, fin, rsv1, length)) return;
    }
    this.fin = fin;
    this.rsv1 = rsv1;
    this.opcode = opcode;
    this.maskKey = isMasked ? readKey(buf, o + headerBytesFor(b1) - 4) : 0;
    this.payloadLength = length;
    this.payloadReceived = 0;
    if (length === 0) {
      this.onFrame(EMPTY, false);
    } else {
      this.phase = PHASE_PAYLOAD;
    }
  }

  /** Stops receiving for good: later bytes are ignored. */
  protected stopReading(): void {
    this.isReading = false;
    this.isPaused = false;
    this.pausedChunks = undefined;
    this.pausedBytes = 0;
    this.pieces = undefined;
    this.phase = PHASE_HEADER;
    this.headBytes = 0;
  }

  /** Fails with 1002; returns false so rule checks can `return this.failProtocol(...)`. */
  protected failProtocol(message: string): false {
    this.failWith(new ProtocolError(message, 1002));
    return false;
  }
}
