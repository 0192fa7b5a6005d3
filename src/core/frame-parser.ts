/**
 * Framing, the lower half of the receive side: bytes in -> frame headers and
 * payloads. It checks the rules a frame header alone decides (RFC 6455 §5.2
 * RSV bits and masking, §5.4 the fragment sequence, §5.5 control frames),
 * hands data frames to a DataFrameHandler (the message layer: limits, UTF-8,
 * reassembly, inflating) and control frames and faults to a FrameOwner (the
 * Connection). The parser knows nothing about messages or state: the policy
 * (role, whether compression was negotiated) is passed in.
 *
 * Parses straight out of the incoming chunk when a whole frame is inside it
 * (no copy; unmasked in place, so receive() takes ownership of the chunk);
 * only a frame that spans chunks is copied, once (payload-collector.ts).
 * A transport that reuses its read buffer hands chunks in as borrowed: then
 * whatever is kept (payloads, stored input) is copied first. A transport that
 * can choose where it reads asks readTarget() while a payload is incomplete
 * and reports with receivedInto(): those bytes land where the application
 * gets them and are not copied at all.
 * A header split across chunks is collected in a 14-byte buffer, and the
 * rules its first two bytes decide are checked as soon as they are in.
 * While an asynchronous step runs (pause() until resume()), input is only
 * stored, and parsed in order once the step is done.
 */
import { EMPTY_BUFFER } from './buffer-view.js';
import { MessageTooLargeError, ProtocolError } from './errors.js';
import { MAX_CONTROL_PAYLOAD_BYTES } from './frame.js';
import { applyMask, readKey, unmaskedPayload } from './mask.js';
import { firstBytesViolation, headerBytesFor, readPayloadLength } from './frame-header-rules.js';
import { PayloadCollector } from './payload-collector.js';
import type { DataFrameHandler, FrameOwner, FramePolicy } from './frame-parser-contracts.js';

export type { DataFrameHandler, FrameOwner, FramePolicy } from './frame-parser-contracts.js';

const PHASE_HEADER = 0;
const PHASE_PAYLOAD = 1;

export class FrameParser {
  private readonly isClient: boolean;
  private readonly hasCompressor: boolean;
  private readonly maxMessageBytes: number;
  private readonly messages: DataFrameHandler;
  private readonly owner: FrameOwner;

  // The current frame's header, read by the message layer during its callbacks.
  fin = false;
  rsv1 = false;
  opcode = 0;
  /**
   * The data message the current frame belongs to (RFC 6455 §5.4): its
   * opcode (1 or 2) and whether its first frame had RSV1 set. Kept across a
   * fragmented message's frames; control frames do not change it.
   */
  messageOpcode = 0;
  isMessageCompressed = false;

  /** False once stop() ran: later bytes are ignored. */
  private isReading = true;
  /** Data frame payloads are skipped unread (the connection is closing). */
  private isSkippingData = false;
  /** True between a non-final data frame and the final frame of its message. */
  private isInFragmentedMessage = false;
  // The frame being parsed.
  private phase = PHASE_HEADER;
  private head: Buffer | undefined;
  private headBytes = 0;
  private maskKey = 0;
  private payloadLength = 0;
  private payloadReceived = 0;
  /** The payload that spans chunks (made on the first one). */
  private collector: PayloadCollector | undefined;
  /** True once the current payload's collection started (its first piece, or a read target). */
  private isCollecting = false;
  /** True while parsing a borrowed chunk: what is kept of it is copied. */
  private isBorrowed = false;
  /** True when this frame's pieces go through validatePiece() as they arrive. */
  private isValidatingPieces = false;
  // Pausing while an asynchronous step runs.
  private isParsing = false;
  private isPaused = false;
  private pausedChunks: Buffer[] | undefined;
  private pausedBytes = 0;
  private consumedBytes = 0;
  /** A data frame header was parsed during the current receive() (see isAtRestAfterControlFrames). */
  private hasDataFrame = false;

  constructor(policy: FramePolicy, messages: DataFrameHandler, owner: FrameOwner) {
    this.isClient = policy.isClient;
    this.hasCompressor = policy.hasCompressor;
    this.maxMessageBytes = policy.maxMessageBytes;
    this.messages = messages;
    this.owner = owner;
  }

  /** True while an asynchronous step runs; receive() only stores chunks meanwhile. */
  get isReceivePaused(): boolean {
    return this.isPaused;
  }

  /** Bytes consumed so far; after a failure, where parsing stopped. */
  get parsedBytes(): number {
    return this.consumedBytes;
  }

  /** Bytes received while paused and not parsed yet. */
  get receiveBacklogBytes(): number {
    return this.pausedBytes;
  }

  /**
   * True when the last receive() parsed control frames only and left nothing
   * in progress: no partial header, payload or fragmented message, nothing
   * stored while paused, still reading, not skipping payloads. A fresh
   * parser then behaves exactly like this one on whatever comes next, so the
   * connection may drop it (an idle socket answering heartbeats keeps none).
   */
  get isAtRestAfterControlFrames(): boolean {
    return (
      !this.hasDataFrame &&
      this.phase === PHASE_HEADER &&
      this.headBytes === 0 &&
      !this.isInFragmentedMessage &&
      this.isReading &&
      !this.isSkippingData &&
      !this.isParsing &&
      !this.isPaused &&
      this.pausedChunks === undefined
    );
  }

  /**
   * Feed bytes from the transport. Never throws on peer faults. Takes
   * ownership of `chunk` (unmasked in place), unless `isBorrowed`: then the
   * chunk is left as it came and no reference to it is kept after the call.
   */
  receive(chunk: Buffer, isBorrowed = false): void {
    if (!this.isReading || chunk.length === 0) return;
    if (this.isParsing || this.isPaused) {
      (this.pausedChunks ??= []).push(isBorrowed ? Buffer.from(chunk) : chunk);
      this.pausedBytes += chunk.length;
      return;
    }
    this.isParsing = true;
    this.hasDataFrame = false;
    this.isBorrowed = isBorrowed;
    try {
      this.parse(chunk, 0);
      this.isBorrowed = false;
      if (this.pausedChunks !== undefined) this.drainPaused();
    } catch (error) {
      this.owner.abortAfterThrow();
      throw error;
    } finally {
      this.isParsing = false;
      this.isBorrowed = false;
    }
  }

  /**
   * Where the transport may put the next bytes it reads: the rest of the
   * current data frame's payload (or of its block, over 1 MiB), in the
   * buffer the application will get. Undefined when no payload is being
   * collected, or input must first go through receive() (paused, stored
   * chunks, skipping). Read at most its length, then call receivedInto().
   */
  readTarget(): Buffer | undefined {
    const isDataPayload = this.phase === PHASE_PAYLOAD && this.opcode < 8 && !this.isSkippingData && this.isReading;
    if (!isDataPayload || this.isParsing || this.isPaused || this.pausedChunks !== undefined) return undefined;
    if (!this.isCollecting) this.beginPayload();
    return (this.collector as PayloadCollector).target();
  }

  /** `byteCount` bytes (at most its length) were written at the start of the last readTarget(). */
  receivedInto(byteCount: number): void {
    const target = this.readTarget();
    if (target === undefined || byteCount <= 0) return;
    if (byteCount > target.length) throw new RangeError('receivedInto: more bytes than the read target holds');
    this.isParsing = true;
    try {
      const piece = (this.collector as PayloadCollector).filled(byteCount);
      applyMask(piece, 0, byteCount, this.maskKey, this.payloadReceived & 3);
      this.addPiece(piece);
    } catch (error) {
      this.owner.abortAfterThrow();
      throw error;
    } finally {
      this.isParsing = false;
    }
  }

  /** An asynchronous step starts (a decompression): parsing waits for resume(). */
  pause(): void {
    this.isPaused = true;
  }

  /**
   * The asynchronous step is done: runs `apply` (which hands its result on)
   * and parses what arrived meanwhile, in order. When the step answered
   * synchronously, from inside the parse loop, the loop simply goes on.
   */
  resume(apply: () => void): void {
    this.isPaused = false;
    if (this.isParsing) {
      apply();
      return;
    }
    this.isParsing = true;
    try {
      apply();
      if (this.pausedChunks !== undefined && this.isReading && !this.isPaused) this.drainPaused();
    } catch (thrown) {
      this.owner.abortAfterThrow();
      throw thrown;
    } finally {
      this.isParsing = false;
    }
    // Also once reading stopped meanwhile: a transport end may wait for this step (Connection.receiveEof).
    if (!this.isPaused) this.owner.onReceiveResumed();
  }

  /**
   * From now on data frame payloads are skipped unread; headers are still
   * checked and the fragment sequence still tracked, so framing stays
   * validated. A payload being collected is dropped.
   */
  skipDataPayloads(): void {
    this.isSkippingData = true;
    if (this.opcode < 8) {
      this.collector?.clear();
      this.isValidatingPieces = false;
    }
  }

  /** Stops receiving for good: later bytes are ignored. */
  stop(): void {
    this.isReading = false;
    this.isPaused = false;
    this.pausedChunks = undefined;
    this.pausedBytes = 0;
    this.collector?.clear();
    this.phase = PHASE_HEADER;
    this.headBytes = 0;
    this.messageOpcode = 0;
    this.isInFragmentedMessage = false;
  }

  /** Parses what arrived while parsing or paused, until done or paused again. */
  private drainPaused(): void {
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
        if (this.payloadReceived === this.payloadLength) this.phase = PHASE_HEADER;
        continue;
      }
      if (this.payloadReceived === 0 && available >= remaining) {
        // Fast path: the whole payload is inside this chunk (copied out of a borrowed one).
        const payload = unmaskedPayload(chunk, off, remaining, this.isBorrowed, this.maskKey, 0); // key 0: an unmasked frame
        off += remaining;
        this.phase = PHASE_HEADER;
        this.onFrame(payload, false);
        continue;
      }
      if (!this.isCollecting) this.beginPayload();
      // Copied and unmasked in one pass (the chunk is left as it came), or over 1 MiB a view unmasked in place.
      const count = available < remaining ? available : remaining;
      const piece = (this.collector as PayloadCollector).take(chunk, off, count, this.isBorrowed, this.maskKey);
      off += piece.length;
      if (!this.addPiece(piece)) break;
    }
    this.consumedBytes += off - offset;
    if (this.isPaused && off < length && this.isReading) {
      const rest = chunk.subarray(off);
      (this.pausedChunks ??= []).unshift(this.isBorrowed ? Buffer.from(rest) : rest);
      this.pausedBytes += length - off;
    }
  }

  /** The first bytes of a payload that spans chunks arrive. */
  private beginPayload(): void {
    this.isCollecting = true;
    (this.collector ??= new PayloadCollector()).start(this.payloadLength);
    // Control payloads (at most 125 bytes) are never validated piece by piece.
    this.isValidatingPieces = this.opcode < 8 && this.messages.startPieces();
  }

  /** A piece of the payload, unmasked, in place in the collector: validate, and finish the frame when complete. */
  private addPiece(piece: Buffer): boolean {
    this.payloadReceived += piece.length;
    if (this.isValidatingPieces && !this.messages.validatePiece(piece)) return false;
    if (this.payloadReceived === this.payloadLength) {
      this.phase = PHASE_HEADER;
      this.onFrame((this.collector as PayloadCollector).finish(), this.isValidatingPieces);
    }
    return true;
  }

  private onFrame(payload: Buffer, isValidated: boolean): void {
    if (this.opcode >= 8) this.owner.onControlFrame(this.opcode, payload);
    else if (!this.isSkippingData) this.messages.onDataFrame(payload, isValidated);
  }

  /** The rules the first two header bytes decide (see frame-header-rules.ts); fails and returns false on a violation. */
  private checkFirstBytes(b0: number, b1: number): boolean {
    const violation = firstBytesViolation(b0, b1, this.isClient, this.isInFragmentedMessage, this.hasCompressor);
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
    if (length === Infinity) {
      this.owner.failWith(new MessageTooLargeError(Number.MAX_SAFE_INTEGER, this.maxMessageBytes));
      return;
    }
    if (opcode >= 8) {
      // RFC 6455 §5.5: control frames carry at most 125 bytes.
      if (length > MAX_CONTROL_PAYLOAD_BYTES) {
        this.failProtocol('control frame payload over 125 bytes');
        return;
      }
    } else {
      this.hasDataFrame = true;
      if (!this.messages.checkDataFrame(opcode, fin, rsv1, length)) return;
      // RFC 6455 §5.4: the first frame names the message's opcode and (RFC 7692 §6) carries its RSV1.
      if (opcode !== 0) {
        this.messageOpcode = opcode;
        this.isMessageCompressed = rsv1;
      }
      this.isInFragmentedMessage = !fin;
    }
    this.fin = fin;
    this.rsv1 = rsv1;
    this.opcode = opcode;
    this.maskKey = isMasked ? readKey(buf, o + headerBytesFor(b1) - 4) : 0;
    this.payloadLength = length;
    this.payloadReceived = 0;
    this.isCollecting = false;
    if (length === 0) {
      this.onFrame(EMPTY_BUFFER, false);
    } else {
      this.phase = PHASE_PAYLOAD;
    }
  }

  /** Fails with 1002; returns false so rule checks can `return this.failProtocol(...)`. */
  private failProtocol(message: string): false {
    this.owner.failWith(new ProtocolError(message, 1002));
    return false;
  }
}
