/**
 * The RFC 6455 state machine: bytes in -> events, calls -> bytes out.
 * Imports nothing from Node I/O and owns no timers: the adapter arms the close
 * timer when told `shutdown`, and reports the transport's end with
 * `receiveEof()` / `transportClosed()`.
 *
 * Rules, in one place:
 * - States (RFC 6455 §4.1, §7): CONNECTING -open()-> OPEN -close()/peer close/
 *   fail()/EOF-> CLOSING -transportClosed()-> CLOSED. CLOSED only once the
 *   transport is gone; `closed` is emitted exactly once, then.
 * - Receiving stops for good after the peer's close frame, after fail() and
 *   after EOF: later bytes are ignored (§5.5.1 "no more data frames").
 * - Once our close frame was sent and the peer's received: server emits
 *   shutdown 'end' (§7.1.1: the server closes TCP first), client
 *   'await-peer-close'. fail() and EOF emit 'end'.
 * - Nothing is answered after a close frame was sent or received (no pongs).
 * - Peer faults never throw: they fail the connection (close frame with the
 *   code, `error` event, shutdown 'end'). Local misuse throws at once.
 * - Order: data frames leave in send() order even when one waits for
 *   compression; control frames (ping/pong) may overtake them (§5.4), the
 *   close frame never does.
 *
 * The receive path parses straight out of the incoming chunk when a whole
 * frame is inside it (no copy, unmasked in place: receive() takes ownership
 * of the chunk); only partial frames are kept, as a list copied once.
 */
import { isUtf8 } from 'node:buffer';
import {
  ConnectionClosedError,
  ErrorCode,
  MessageTooLargeError,
  ProtocolError,
  SockwaveError,
  type CloseFrameInfo,
} from './errors.js';
import { DEFAULTS, validateLimit } from './options.js';
import { ReadyState, type ConnectionSink, type MaskSource, type MessageCompressor } from './events.js';
import { COPY_THRESHOLD_BYTES, MAX_CONTROL_PAYLOAD_BYTES, Opcode, encodeFrame, headerLength, writeHeader } from './frame.js';
import { applyMask, randomMaskSource } from './mask.js';
import { Utf8Validator } from './utf8.js';
import { encodeClosePayload, isValidWireCloseCode, parseClosePayload, validateCloseArguments, MAX_CLOSE_REASON_BYTES } from './close.js';
import { MessageAssembler } from './message-assembler.js';

export interface ConnectionOptions {
  /** 'client' masks outgoing frames and fails masked incoming ones; 'server' the reverse. */
  role: 'client' | 'server';
  /** See DEFAULTS.maxMessageBytes. */
  maxMessageBytes?: number;
  /** See DEFAULTS.maxFragments. */
  maxFragments?: number;
  /** See DEFAULTS.fragmentOverheadBytes. */
  fragmentOverheadBytes?: number;
  /** Negotiated permessage-deflate, or undefined (then RSV1 is a protocol error). */
  compressor?: MessageCompressor;
  /**
   * Messages smaller than this many bytes are sent uncompressed. Default
   * 1024 (DEFAULT_COMPRESS_THRESHOLD_BYTES): below it, deflate's framing
   * and CPU cost outweigh the bytes saved.
   */
  compressThresholdBytes?: number;
  /** Masking key source for clients (default: crypto-random keys, batched). */
  maskSource?: MaskSource;
  /** Start OPEN (the adapter completed the handshake). Default true. */
  isOpen?: boolean;
}

export interface SendOptions {
  /** Send as binary (opcode 2) instead of text (opcode 1). Default: binary for Buffers, text for strings. */
  isBinary?: boolean;
  /** Compress when an extension is negotiated (default true, subject to the threshold). */
  compress?: boolean;
  /**
   * False sends a non-final fragment; the next send continues the message
   * (opcode 0). Fragmented messages are never compressed.
   */
  fin?: boolean;
}

export type WriteCallback = (error?: Error | null) => void;

export const DEFAULT_COMPRESS_THRESHOLD_BYTES = 1024;

/** A frame waiting its turn behind a message that is being compressed. */
interface QueuedFrame {
  /** Encoded frame, or undefined while compression runs. */
  buffers: Buffer[] | undefined;
  /** Bytes counted in pendingBytes. */
  bytes: number;
  cb: WriteCallback | undefined;
  /** Set for our close frame. */
  close: CloseFrameInfo | undefined;
  isCancelled: boolean;
}

const PHASE_HEADER = 0;
const PHASE_PAYLOAD = 1;
const EMPTY = Buffer.alloc(0);
/** Slack for deflate's worst-case expansion of incompressible data (RFC 1951 stored blocks). */
const COMPRESSED_SLACK_BYTES = 1024;

export class Connection {
  readonly role: 'client' | 'server';
  private readonly isClient: boolean;
  private readonly sink: ConnectionSink;
  private readonly maxMessageBytes: number;
  private readonly maxFragments: number;
  private readonly fragmentOverheadBytes: number;
  private readonly compressor: MessageCompressor | undefined;
  private readonly compressThresholdBytes: number;
  private readonly maskSource: MaskSource | undefined;
  private state: ReadyState;

  // Receive side: the frame being parsed.
  private isReading = true;
  private phase = PHASE_HEADER;
  private head: Buffer | undefined;
  private headBytes = 0;
  private fin = false;
  private opcode = 0;
  private isMasked = false;
  private maskKey = 0;
  private payloadLength = 0;
  private payloadReceived = 0;
  /** Pieces of a payload that spans chunks (already unmasked). */
  private pieces: Buffer[] | undefined;
  /** True when this frame's text is validated piece by piece as it arrives. */
  private isValidatingPieces = false;
  // Receive side: the message being reassembled (opcode 0 = none).
  private messageOpcode = 0;
  private isMessageCompressed = false;
  private messageWireBytes = 0;
  private assembler: MessageAssembler | undefined;
  private utf8: Utf8Validator | undefined;
  // Receive side: pausing while a decompression runs.
  private isParsing = false;
  private isInflating = false;
  private inflateToken = 0;
  private pausedChunks: Buffer[] | undefined;

  // Send side.
  private isSendingFragmented = false;
  private sendQueue: QueuedFrame[] | undefined;
  private queuedBytes = 0;
  private isCloseQueued = false;
  private closeSent: CloseFrameInfo | null = null;
  private closeReceived: CloseFrameInfo | null = null;
  private isReceivedFirst = false;
  private hasFailed = false;
  private shutdownMode: 'end' | 'await-peer-close' | undefined;
  private isClosedEmitted = false;
  private isHandlingCloseFrame = false;

  constructor(options: ConnectionOptions, sink: ConnectionSink) {
    if (options.role !== 'client' && options.role !== 'server') {
      throw new RangeError(`option role must be 'client' or 'server', got ${String(options.role)}`);
    }
    this.role = options.role;
    this.isClient = options.role === 'client';
    this.sink = sink;
    this.maxMessageBytes = validateLimit('maxMessageBytes', options.maxMessageBytes ?? DEFAULTS.maxMessageBytes);
    this.maxFragments = validateLimit('maxFragments', options.maxFragments ?? DEFAULTS.maxFragments);
    this.fragmentOverheadBytes = validateLimit(
      'fragmentOverheadBytes',
      options.fragmentOverheadBytes ?? DEFAULTS.fragmentOverheadBytes,
      { allowZero: true },
    );
    if (this.fragmentOverheadBytes === Infinity) throw new RangeError('option fragmentOverheadBytes must be finite');
    this.compressor = options.compressor;
    this.compressThresholdBytes = validateLimit(
      'compressThresholdBytes',
      options.compressThresholdBytes ?? DEFAULT_COMPRESS_THRESHOLD_BYTES,
      { allowZero: true },
    );
    this.maskSource = this.isClient ? (options.maskSource ?? randomMaskSource) : undefined;
    this.state = options.isOpen === false ? ReadyState.CONNECTING : ReadyState.OPEN;
  }

  get readyState(): ReadyState {
    return this.state;
  }

  /** Bytes accepted by send()/ping()/pong() not yet handed to sink.write (e.g. waiting for compression). */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /** True while the reader should pause (an asynchronous decompression is running). */
  get isReceivePaused(): boolean {
    return this.isInflating;
  }

  /** Close frames so far, for diagnostics and ConnectionClosedError. */
  get closeFrames(): { sent: CloseFrameInfo | null; received: CloseFrameInfo | null; isReceivedFirst: boolean } {
    return { sent: this.closeSent, received: this.closeReceived, isReceivedFirst: this.isReceivedFirst };
  }

  /** CONNECTING -> OPEN, once the adapter completed the opening handshake. */
  open(): void {
    if (this.state === ReadyState.CONNECTING) this.state = ReadyState.OPEN;
  }

  // ---------------------------------------------------------------- receive

  /** Feed bytes from the transport. Never throws on peer faults. Takes ownership of `chunk` (unmasked in place). */
  receive(chunk: Buffer): void {
    if (!this.isReading || chunk.length === 0) return;
    if (this.isParsing || this.isInflating) {
      (this.pausedChunks ??= []).push(chunk);
      return;
    }
    this.isParsing = true;
    try {
      this.parse(chunk, 0);
      if (this.pausedChunks !== undefined) this.drainPaused();
    } finally {
      this.isParsing = false;
    }
  }

  /** The peer half-closed or the transport ended (EOF). */
  receiveEof(): void {
    if (this.state === ReadyState.CLOSED) return;
    this.stopReading();
    if (this.state === ReadyState.OPEN || this.state === ReadyState.CONNECTING) this.state = ReadyState.CLOSING;
    this.emitShutdown('end');
  }

  /** The transport is gone; emits the final `closed` event if not yet emitted. */
  transportClosed(): void {
    if (this.isClosedEmitted) return;
    this.isClosedEmitted = true;
    this.state = ReadyState.CLOSED;
    this.stopReading();
    this.cancelQueue();
    this.compressor?.close();
    const received = this.closeReceived;
    this.sink.event({
      type: 'closed',
      code: received === null ? 1006 : received.code,
      reason: received === null ? '' : received.reason,
      wasClean: received !== null && this.closeSent !== null,
    });
  }

  private drainPaused(): void {
    const chunks = this.pausedChunks as Buffer[];
    while (chunks.length > 0 && this.isReading && !this.isInflating) {
      this.parse(chunks.shift() as Buffer, 0);
    }
    if (chunks.length === 0 && this.pausedChunks === chunks) this.pausedChunks = undefined;
  }

  private parse(chunk: Buffer, offset: number): void {
    const length = chunk.length;
    let off = offset;
    while (off < length && this.isReading && !this.isInflating) {
      if (this.phase === PHASE_HEADER) {
        if (this.headBytes === 0 && length - off >= 2) {
          const b1 = chunk[off + 1];
          const len7 = b1 & 0x7f;
          const need = (len7 < 126 ? 2 : len7 === 126 ? 4 : 10) + (b1 & 0x80 ? 4 : 0);
          if (length - off >= need) {
            off += need;
            this.onHeader(chunk, off - need);
            continue;
          }
        }
        // A header split across chunks: collect it byte by byte (at most 14).
        const head = (this.head ??= Buffer.allocUnsafe(14));
        head[this.headBytes++] = chunk[off++];
        if (this.headBytes >= 2) {
          const b1 = head[1];
          const len7 = b1 & 0x7f;
          const need = (len7 < 126 ? 2 : len7 === 126 ? 4 : 10) + (b1 & 0x80 ? 4 : 0);
          if (this.headBytes === need) {
            this.headBytes = 0;
            this.onHeader(head, 0);
          }
        }
        continue;
      }
      const remaining = this.payloadLength - this.payloadReceived;
      const available = length - off;
      if (this.payloadReceived === 0 && available >= remaining) {
        // Fast path: the whole payload is inside this chunk.
        const payload = chunk.subarray(off, off + remaining);
        off += remaining;
        if (this.isMasked) applyMask(payload, 0, remaining, this.maskKey, 0);
        this.phase = PHASE_HEADER;
        this.onFrame(payload, false);
        continue;
      }
      const take = available < remaining ? available : remaining;
      const piece = chunk.subarray(off, off + take);
      off += take;
      if (this.isMasked) applyMask(piece, 0, take, this.maskKey, this.payloadReceived & 3);
      if (this.payloadReceived === 0) this.startPieces();
      this.payloadReceived += take;
      if (this.isValidatingPieces && (this.utf8 as Utf8Validator).write(piece) !== -1) {
        this.failUtf8();
        return;
      }
      (this.pieces as Buffer[]).push(piece);
      if (this.payloadReceived === this.payloadLength) {
        const pieces = this.pieces as Buffer[];
        this.pieces = undefined;
        this.phase = PHASE_HEADER;
        this.onFrame(pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, this.payloadLength), this.isValidatingPieces);
      }
    }
    if (this.isInflating && off < length && this.isReading) (this.pausedChunks ??= []).unshift(chunk.subarray(off));
  }

  /** A payload starts arriving in pieces; text is validated as it comes (fail fast). */
  private startPieces(): void {
    this.pieces = [];
    const opcode = this.opcode;
    this.isValidatingPieces =
      (opcode === Opcode.TEXT && !this.isCompressedFrame()) ||
      (opcode === Opcode.CONTINUATION && this.messageOpcode === Opcode.TEXT && !this.isMessageCompressed);
    if (this.isValidatingPieces) {
      if (opcode === Opcode.TEXT) (this.utf8 ??= new Utf8Validator()).reset();
    }
  }

  private rsv1 = false;
  private isCompressedFrame(): boolean {
    return this.rsv1;
  }

  /** Validates a complete header at `buf[o]`; fails the connection on any violation. */
  private onHeader(buf: Buffer, o: number): void {
    const b0 = buf[o];
    const b1 = buf[o + 1];
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    const rsv1 = (b0 & 0x40) !== 0;
    const isMasked = (b1 & 0x80) !== 0;
    let length = b1 & 0x7f;
    let p = o + 2;
    if (length === 126) {
      length = buf.readUInt16BE(p);
      p += 2;
    } else if (length === 127) {
      const high = buf.readUInt32BE(p);
      // RFC 6455 §5.2: "the most significant bit MUST be 0".
      if (high >= 0x80000000) return this.failProtocol('64-bit payload length with the most significant bit set');
      if (high > 0x1fffff) return this.failWith(new MessageTooLargeError(Number.MAX_SAFE_INTEGER, this.maxMessageBytes));
      length = high * 0x100000000 + buf.readUInt32BE(p + 4);
      p += 8;
    }
    if ((b0 & 0x30) !== 0) return this.failProtocol('RSV2 or RSV3 set without a negotiated extension');
    // RFC 6455 §5.1: servers fail unmasked frames, clients fail masked ones.
    if (isMasked === this.isClient) {
      return this.failProtocol(this.isClient ? 'server sent a masked frame' : 'client sent an unmasked frame');
    }
    if (opcode >= 8) {
      if (opcode > 10) return this.failProtocol(`reserved opcode ${opcode}`);
      // RFC 6455 §5.5: control frames are final, at most 125 bytes, and RFC 7692 §6: never compressed.
      if (!fin) return this.failProtocol('fragmented control frame');
      if (length > MAX_CONTROL_PAYLOAD_BYTES) return this.failProtocol('control frame payload over 125 bytes');
      if (rsv1) return this.failProtocol('RSV1 set on a control frame');
    } else {
      if (opcode > 2) return this.failProtocol(`reserved opcode ${opcode}`);
      if (opcode === Opcode.CONTINUATION) {
        if (this.messageOpcode === 0) return this.failProtocol('continuation frame without a message to continue');
        if (rsv1) return this.failProtocol('RSV1 set on a continuation frame');
      } else {
        if (this.messageOpcode !== 0) return this.failProtocol('new data frame inside a fragmented message');
        if (rsv1 && this.compressor === undefined) return this.failProtocol('RSV1 set without a negotiated extension');
      }
      // Limits are checked here, before any payload byte is buffered.
      if (fin && opcode !== Opcode.CONTINUATION && !rsv1) {
        if (length > this.maxMessageBytes) return this.failWith(new MessageTooLargeError(length, this.maxMessageBytes));
      } else {
        const assembler = (this.assembler ??= new MessageAssembler(
          this.maxMessageBytes,
          this.maxFragments,
          this.fragmentOverheadBytes,
        ));
        if (opcode !== Opcode.CONTINUATION) {
          assembler.reset();
          this.messageWireBytes = 0;
        }
        const isCompressed = opcode === Opcode.CONTINUATION ? this.isMessageCompressed : rsv1;
        if (isCompressed) {
          this.messageWireBytes += length;
          const wireLimit = this.maxMessageBytes + COMPRESSED_SLACK_BYTES + this.maxMessageBytes / 64;
          if (this.messageWireBytes > wireLimit) {
            return this.failWith(new MessageTooLargeError(this.messageWireBytes, this.maxMessageBytes));
          }
          const error = assembler.check(0);
          if (error !== undefined) return this.failWith(error);
        } else {
          const error = assembler.check(length);
          if (error !== undefined) return this.failWith(error);
        }
      }
    }
    this.fin = fin;
    this.rsv1 = rsv1;
    this.opcode = opcode;
    this.isMasked = isMasked;
    if (isMasked) this.maskKey = buf.readInt32LE(p);
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
      this.onInflated(error, result, isFinal);
      if (!this.isParsing && this.pausedChunks !== undefined && this.isReading) {
        this.isParsing = true;
        try {
          this.drainPaused();
        } finally {
          this.isParsing = false;
        }
      }
    });
  }

  private onInflated(error: Error | null, result: Buffer[] | undefined, isFinal: boolean): void {
    if (error) {
      if (error instanceof ProtocolError) return this.failWith(error);
      if (error instanceof SockwaveError) return this.failWith(new ProtocolError(error.message, 1011, error.code));
      return this.failWith(new ProtocolError('invalid compressed data', 1002, ErrorCode.EXTENSION));
    }
    const assembler = this.assembler as MessageAssembler;
    const isText = this.messageOpcode === Opcode.TEXT;
    for (const piece of result ?? []) {
      if (assembler.bytes + piece.length > this.maxMessageBytes) {
        return this.failWith(new MessageTooLargeError(assembler.bytes + piece.length, this.maxMessageBytes));
      }
      if (isText && (this.utf8 as Utf8Validator).write(piece) !== -1) return this.failUtf8();
      assembler.append(piece);
    }
    if (isFinal) this.finishMessage();
  }

  private onControlFrame(opcode: number, payload: Buffer): void {
    if (opcode === Opcode.PING) {
      // RFC 6455 §5.5.2/§5.5.3: answer with the same payload, unless closing.
      if (this.closeSent === null && !this.isCloseQueued && this.state === ReadyState.OPEN) {
        this.writeFrame(Opcode.PONG, payload, true, false, undefined);
      }
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
    this.closeReceived = parsed;
    this.isReceivedFirst = this.closeSent === null && !this.isCloseQueued;
    this.stopReading();
    if (this.state !== ReadyState.CLOSED) this.state = ReadyState.CLOSING;
    // RFC 6455 §5.5.1: echo the status code we received (shutdown follows the event).
    this.isHandlingCloseFrame = true;
    if (!this.isCloseQueued && this.closeSent === null) this.queueClose(parsed.code, '');
    this.isHandlingCloseFrame = false;
    this.sink.event({ type: 'close-frame', code: parsed.code, reason: parsed.reason });
    if (this.closeSent !== null) this.onCloseExchanged();
  }

  private stopReading(): void {
    this.isReading = false;
    this.isInflating = false;
    this.inflateToken++;
    this.pausedChunks = undefined;
    this.pieces = undefined;
    this.phase = PHASE_HEADER;
    this.headBytes = 0;
    this.messageOpcode = 0;
    this.assembler?.reset();
  }

  private onCloseExchanged(): void {
    this.emitShutdown(this.isClient ? 'await-peer-close' : 'end');
  }

  private emitShutdown(mode: 'end' | 'await-peer-close'): void {
    if (this.shutdownMode === 'end' || this.shutdownMode === mode || this.isClosedEmitted) return;
    this.shutdownMode = mode;
    this.sink.event({ type: 'shutdown', mode });
  }

  private failProtocol(message: string): void {
    this.failWith(new ProtocolError(message, 1002));
  }

  private failUtf8(): void {
    this.failWith(new ProtocolError('text is not valid UTF-8', 1007, ErrorCode.INVALID_UTF8));
  }

  private failWith(error: ProtocolError): void {
    // 1011 hides internal details from the peer; our protocol messages are safe to share.
    this.fail(error.closeCode, error.closeCode === 1011 ? '' : error.message, error);
  }

  // ------------------------------------------------------------------- send

  /** Queue a data message. Throws ConnectionClosedError unless OPEN. */
  send(data: Buffer | Uint8Array | string, options?: SendOptions, cb?: WriteCallback): void {
    if (this.state !== ReadyState.OPEN) throw this.notOpenError();
    const isBinary = options?.isBinary ?? typeof data !== 'string';
    const fin = options?.fin !== false;
    const isContinuation = this.isSendingFragmented;
    const opcode = isContinuation ? Opcode.CONTINUATION : isBinary ? Opcode.BINARY : Opcode.TEXT;
    this.isSendingFragmented = !fin;
    if (this.compressor !== undefined && fin && !isContinuation && options?.compress !== false) {
      const length = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
      if (length >= this.compressThresholdBytes) return this.sendCompressed(opcode, data, length, cb);
    }
    if (this.sendQueue !== undefined) {
      const body = typeof data === 'string' ? Buffer.from(data) : data;
      return this.enqueue(encodeFrame(opcode, body, { fin, mask: this.maskSource ?? false }), body.length, cb);
    }
    this.writeFrame(opcode, data, fin, false, cb);
  }

  ping(data?: Buffer | Uint8Array | string, cb?: WriteCallback): void {
    this.sendControl(Opcode.PING, data, cb);
  }

  pong(data?: Buffer | Uint8Array | string, cb?: WriteCallback): void {
    this.sendControl(Opcode.PONG, data, cb);
  }

  /**
   * Start the closing handshake (RFC 6455 §7.1.2). Throws RangeError for a
   * code that may not be sent, a reason without a code, or a reason over 123
   * UTF-8 bytes. A no-op once our close frame is on its way.
   */
  close(code?: number, reason?: string): void {
    validateCloseArguments(code, reason);
    if (this.state === ReadyState.CLOSED || this.isCloseQueued || this.closeSent !== null || this.hasFailed) return;
    if (this.state === ReadyState.CONNECTING) {
      // No frame may precede the handshake; just drop the transport.
      this.state = ReadyState.CLOSING;
      this.stopReading();
      this.emitShutdown('end');
      return;
    }
    this.state = ReadyState.CLOSING;
    this.queueClose(code, reason ?? '');
  }

  /**
   * Fail the WebSocket Connection (RFC 6455 §7.1.7): stop reading, drop what
   * waits to be sent, send a close frame with `closeCode` if none was sent
   * and the code may go on the wire (not 1005/1006/1015), then report
   * `error` (when given) and shutdown 'end'.
   */
  fail(closeCode: number, reason = '', error?: SockwaveError): void {
    if (this.state === ReadyState.CLOSED || this.hasFailed) return;
    this.hasFailed = true;
    this.state = ReadyState.CLOSING;
    this.stopReading();
    this.cancelQueue();
    if (this.closeSent === null && isValidWireCloseCode(closeCode)) {
      const text = truncateUtf8(reason, MAX_CLOSE_REASON_BYTES);
      const info = { code: closeCode, reason: text };
      this.isCloseQueued = true;
      this.writeBuffers(encodeFrame(Opcode.CLOSE, encodeClosePayload(closeCode, text), { mask: this.maskSource ?? false }), undefined);
      this.closeSent = info;
    }
    if (error !== undefined) this.sink.event({ type: 'error', error });
    this.emitShutdown('end');
  }

  private sendControl(opcode: number, data: Buffer | Uint8Array | string | undefined, cb: WriteCallback | undefined): void {
    if (this.state !== ReadyState.OPEN) throw this.notOpenError();
    const body = data === undefined ? EMPTY : typeof data === 'string' ? Buffer.from(data) : data;
    if (body.length > MAX_CONTROL_PAYLOAD_BYTES) {
      throw new RangeError(`control frame payload is ${body.length} bytes, the limit is ${MAX_CONTROL_PAYLOAD_BYTES}`);
    }
    this.writeFrame(opcode, body, true, false, cb);
  }

  private notOpenError(): SockwaveError {
    if (this.state === ReadyState.CONNECTING) {
      return new SockwaveError(ErrorCode.CONNECTION_CLOSED, 'the connection is not open yet');
    }
    return new ConnectionClosedError(
      this.closeSent !== null || this.closeReceived !== null
        ? 'the connection is closing or closed'
        : 'the connection failed or ended',
      this.closeSent,
      this.closeReceived,
      this.isReceivedFirst,
    );
  }

  private queueClose(code: number | undefined, reason: string): void {
    this.isCloseQueued = true;
    const info = { code: code ?? 1005, reason };
    const buffers = encodeFrame(Opcode.CLOSE, encodeClosePayload(code, reason), { mask: this.maskSource ?? false });
    if (this.sendQueue !== undefined) {
      this.sendQueue.push({ buffers, bytes: 0, cb: undefined, close: info, isCancelled: false });
      return;
    }
    this.writeBuffers(buffers, undefined);
    this.onCloseWritten(info);
  }

  private onCloseWritten(info: CloseFrameInfo): void {
    this.closeSent = info;
    if (this.closeReceived !== null && !this.isHandlingCloseFrame) this.onCloseExchanged();
  }

  private sendCompressed(opcode: number, data: Buffer | Uint8Array | string, length: number, cb: WriteCallback | undefined): void {
    const item: QueuedFrame = { buffers: undefined, bytes: length, cb, close: undefined, isCancelled: false };
    (this.sendQueue ??= []).push(item);
    this.queuedBytes += length;
    const body = typeof data === 'string' ? Buffer.from(data) : Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
    (this.compressor as MessageCompressor).compress(body, (error, result) => {
      if (item.isCancelled) return;
      if (error || result === undefined) {
        const cause = new SockwaveError(ErrorCode.EXTENSION, 'compression failed', { cause: error });
        this.fail(1011, '', new ProtocolError(cause.message, 1011, ErrorCode.INTERNAL));
        return;
      }
      // RFC 7692 §6: RSV1 on the first (here: only) frame marks the message compressed.
      item.buffers = encodeFrame(opcode, result, { rsv1: true, mask: this.maskSource ?? false });
      this.flushQueue();
    });
  }

  private enqueue(buffers: Buffer[], bytes: number, cb: WriteCallback | undefined): void {
    (this.sendQueue as QueuedFrame[]).push({ buffers, bytes, cb, close: undefined, isCancelled: false });
    this.queuedBytes += bytes;
  }

  private flushQueue(): void {
    const queue = this.sendQueue;
    if (queue === undefined) return;
    while (queue.length > 0 && queue[0].buffers !== undefined) {
      const item = queue.shift() as QueuedFrame;
      this.queuedBytes -= item.bytes;
      this.writeBuffers(item.buffers as Buffer[], item.cb);
      if (item.close !== undefined) this.onCloseWritten(item.close);
    }
    if (queue.length === 0 && this.sendQueue === queue) this.sendQueue = undefined;
  }

  private cancelQueue(): void {
    const queue = this.sendQueue;
    if (queue === undefined) return;
    this.sendQueue = undefined;
    this.queuedBytes = 0;
    for (const item of queue) {
      item.isCancelled = true;
      item.cb?.(this.notOpenError());
    }
  }

  private writeBuffers(buffers: Buffer[], cb: WriteCallback | undefined): void {
    const last = buffers.length - 1;
    for (let i = 0; i < last; i++) this.sink.write(buffers[i]);
    this.sink.write(buffers[last], cb);
  }

  /**
   * Hot path: header and small payload in one allocation and one write; a
   * large server payload goes as header + the caller's buffer, uncopied.
   * Client payloads are always copied, since masking must not touch the caller's bytes.
   */
  private writeFrame(opcode: number, data: Buffer | Uint8Array | string, fin: boolean, rsv1: boolean, cb: WriteCallback | undefined): void {
    const isClient = this.isClient;
    const isString = typeof data === 'string';
    const length = isString ? Buffer.byteLength(data) : data.length;
    const headerBytes = headerLength(length, isClient);
    if (isClient || length < COPY_THRESHOLD_BYTES) {
      const out = Buffer.allocUnsafe(headerBytes + length);
      const keyOffset = writeHeader(out, 0, opcode, length, fin, rsv1, isClient);
      if (isString) out.write(data, headerBytes, 'utf8');
      else out.set(data, headerBytes);
      if (isClient) {
        (this.maskSource as MaskSource)(out, keyOffset);
        applyMask(out, headerBytes, headerBytes + length, out.readInt32LE(keyOffset), 0);
      }
      this.sink.write(out, cb);
      return;
    }
    const header = Buffer.allocUnsafe(headerBytes);
    writeHeader(header, 0, opcode, length, fin, rsv1, false);
    this.sink.write(header);
    this.sink.write(
      isString ? Buffer.from(data) : Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length),
      cb,
    );
  }
}

/** Cuts `text` to at most `maxBytes` UTF-8 bytes without splitting a character. */
function truncateUtf8(text: string, maxBytes: number): string {
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
