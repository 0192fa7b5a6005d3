/**
 * The fan-out step: where sockets meet topics. One `TopicFanout` per server
 * owns a TopicHub<NodeWebSocket> and is the `TopicPort` of every socket the
 * server accepts (socket/topics.ts), so `socket.subscribe()` and
 * `server.publish()` land here.
 *
 * A message is framed once: server frames are unmasked, so the same header
 * and payload buffers go to every subscriber (socket/send.ts `sendPrepared`,
 * the broadcast path, which keeps each socket's order with its own `send()`s
 * and applies its backpressure policy: a slow subscriber queues, drops or is
 * closed on its own and never holds up the loop).
 *
 * Compression, once per negotiated parameter set: a compressed frame can be
 * shared only by peers whose inflater starts every message from an empty
 * window, i.e. sockets that negotiated `server_no_context_takeover`; for
 * those the payload is deflated once per server window size. A socket with
 * context takeover decompresses each message against the ones before it on
 * that connection, so no shared bytes fit it: by default it gets the plain
 * (uncompressed) shared frame, which RFC 7692 allows at any time
 * (`contextTakeover: 'uncompressed'`); `contextTakeover: 'compress'` sends
 * through its own compressor instead (one deflate per subscriber: smaller
 * frames, CPU per subscriber; bench/topics.ts measures both).
 */
import * as zlib from 'node:zlib';
import { encodeFrame, Opcode } from '../../core/frame.js';
import type { ResolvedDeflateOptions } from '../../core/deflate/index.js';
import type { NodeWebSocket } from '../socket/websocket.js';
import { kState } from '../socket/state.js';
import { sendMessage, sendPrepared } from '../socket/send.js';
import type { SocketPublishOptions, TopicData, TopicPort, TopicSubscribeOptions } from '../topic-port.js';
import type { Backplane, BackplaneMessage, BackplaneState, GapInfo, Position } from './backplane.js';
import { TopicHub, type SubscribeResult } from './hub.js';
import type { PublishData } from './hub-options.js';

export interface ServerTopicsOptions {
  /** Where messages travel between processes. Default: an EmbeddedBackplane (this process only). The server closes it when it closes. */
  backplane?: Backplane;
  /** Longest topic name in UTF-8 bytes. Default 256. */
  maxTopicBytes?: number;
  /** Live messages held per socket while its history is read (subscribe with `since`). Default 10000. */
  maxRecoveryBufferMessages?: number;
  /**
   * Subscribers whose permessage-deflate keeps its context between messages
   * cannot share a compressed frame: 'uncompressed' (default) sends them the
   * shared plain frame, 'compress' compresses per subscriber.
   */
  contextTakeover?: 'uncompressed' | 'compress';
  /**
   * What a subscriber receives for a message, computed once per message
   * (before framing): for example a JSON envelope with `offset` and `epoch`,
   * so a client can resume with `since` after a reconnection. A string is
   * sent as text, bytes as binary. Default: the published data as is.
   */
  format?: (message: BackplaneMessage) => string | Buffer;
}

export interface ServerPublishOptions {
  /** Send as binary. Default: true for bytes, false for a string. */
  binary?: boolean;
}

/** Counters of the fan-out, for operations and for tests (framed once, compressed once). */
export interface TopicStats {
  /** Messages handed to the fan-out (live and recovered). */
  messages: number;
  /** Frames encoded (plain and compressed): at most one plain frame per message plus one per compressed parameter set. */
  framesEncoded: number;
  /** Shared deflate runs (once per message and parameter set). */
  sharedCompressions: number;
  /** Messages compressed by a subscriber's own compressor (contextTakeover: 'compress'). */
  perSocketCompressions: number;
  /** Writes to subscribers (each may be queued, dropped or refused by its backpressure policy). */
  deliveries: number;
  /** Topics with subscribers in this process, and their subscriptions. */
  topics: number;
  subscriptions: number;
}

export interface FanoutHooks {
  /** A subscriber's topic has a hole (see GapInfo). */
  onGap(socket: NodeWebSocket, gap: GapInfo): void;
  /** The backplane went down or came back. */
  onStateChange(state: BackplaneState, cause: unknown): void;
}

/** What one `extensions` value means for sharing a compressed frame. */
interface DeflateGroup {
  /** The server's sends start from an empty window: a shared compressed frame fits. */
  readonly isShareable: boolean;
  readonly windowBits: number;
}

const NO_DEFLATE: DeflateGroup = { isShareable: false, windowBits: 0 };
/** RFC 7692 §7.2.1: the empty stored block a sync flush ends with, removed from every message. */
const TRAILER_BYTES = 4;

function deflateGroupOf(extensions: string): DeflateGroup {
  if (!extensions.includes('permessage-deflate')) return NO_DEFLATE;
  const bits = /server_max_window_bits=(\d+)/.exec(extensions);
  // zlib cannot deflate with an 8-bit raw window; 9 bits never reaches back past 250 bytes (see deflate/compressor.ts).
  const windowBits = Math.max(9, bits === null ? 15 : Number(bits[1]));
  return { isShareable: extensions.includes('server_no_context_takeover'), windowBits };
}

function asPublishData(data: TopicData): PublishData {
  // Any typed array or DataView is bytes; the hub takes Uint8Array views, so wrap the others without copying.
  if (ArrayBuffer.isView(data) && !(data instanceof Uint8Array)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return data as PublishData;
}

export class TopicFanout implements TopicPort {
  readonly hub: TopicHub<NodeWebSocket>;
  readonly #deflate: ResolvedDeflateOptions | undefined;
  readonly #isCompressingTakeover: boolean;
  readonly #format: ((message: BackplaneMessage) => string | Buffer) | undefined;
  readonly #groups = new Map<string, DeflateGroup>();
  readonly #stats = { messages: 0, framesEncoded: 0, sharedCompressions: 0, perSocketCompressions: 0, deliveries: 0 };

  constructor(options: ServerTopicsOptions | undefined, deflate: ResolvedDeflateOptions | undefined, hooks: FanoutHooks) {
    if (options !== undefined && (typeof options !== 'object' || options === null)) throw new TypeError('option topics must be an object');
    const mode = options?.contextTakeover ?? 'uncompressed';
    if (mode !== 'uncompressed' && mode !== 'compress') {
      throw new RangeError(`option topics.contextTakeover must be 'uncompressed' or 'compress', got ${String(mode)}`);
    }
    this.#isCompressingTakeover = mode === 'compress';
    const format = options?.format;
    if (format !== undefined && typeof format !== 'function') throw new TypeError('option topics.format must be a function');
    this.#format = format;
    this.#deflate = deflate;
    this.hub = new TopicHub<NodeWebSocket>({
      backplane: options?.backplane,
      maxTopicBytes: options?.maxTopicBytes,
      maxRecoveryBufferMessages: options?.maxRecoveryBufferMessages,
      deliver: (_topic, message, subscribers) => this.#deliver(message, subscribers),
      onGap: (socket, gap) => hooks.onGap(socket, gap),
      onStateChange: (state, cause) => hooks.onStateChange(state, cause),
    });
  }

  // --- TopicPort (the socket's methods) ------------------------------------

  subscribe(socket: object, topic: string, options: TopicSubscribeOptions | undefined): Promise<SubscribeResult> {
    return this.hub.subscribe(socket as NodeWebSocket, topic, options);
  }

  unsubscribe(socket: object, topic: string): boolean {
    return this.hub.unsubscribe(socket as NodeWebSocket, topic);
  }

  isSubscribed(socket: object, topic: string): boolean {
    return this.hub.isSubscribed(socket as NodeWebSocket, topic);
  }

  topicsOf(socket: object): string[] {
    return this.hub.topicsOf(socket as NodeWebSocket);
  }

  publish(socket: object, topic: string, data: TopicData, options: SocketPublishOptions | undefined): Promise<Position> {
    const self = options?.self ?? false;
    if (typeof self !== 'boolean') throw new TypeError('options.self must be a boolean');
    return this.hub.publish(topic, asPublishData(data), {
      binary: options?.binary,
      exclude: self ? undefined : (socket as NodeWebSocket),
    });
  }

  // --- the server's side ---------------------------------------------------

  publishFromServer(topic: string, data: TopicData, options: ServerPublishOptions | undefined): Promise<Position> {
    return this.hub.publish(topic, asPublishData(data), { binary: options?.binary });
  }

  /** A socket closed: it leaves every topic. */
  removeSocket(socket: NodeWebSocket): void {
    this.hub.removeSubscriber(socket);
  }

  stats(): TopicStats {
    const registry = this.hub.registry;
    return { ...this.#stats, topics: registry.topicCount, subscriptions: registry.subscriptionCount };
  }

  close(): Promise<void> {
    return this.hub.close();
  }

  // --- fan-out -------------------------------------------------------------

  #deliver(message: BackplaneMessage, subscribers: Iterable<NodeWebSocket>): void {
    const stats = this.#stats;
    stats.messages++;
    let { payload, isBinary } = message;
    if (this.#format !== undefined) {
      const formatted = this.#format(message);
      if (typeof formatted === 'string') {
        payload = Buffer.from(formatted);
        isBinary = false;
      } else if (Buffer.isBuffer(formatted)) {
        payload = formatted;
        isBinary = true;
      } else {
        throw new TypeError('topics.format must return a string or a Buffer');
      }
    }
    const opcode = isBinary ? Opcode.BINARY : Opcode.TEXT;
    const deflate = this.#deflate;
    const isCompressible = deflate !== undefined && payload.length >= deflate.threshold;
    let plain: Buffer[] | undefined;
    // Compressed frames of this message by window bits (usually one entry).
    let compressed: Map<number, Buffer[]> | undefined;
    let count = 0;
    for (const ws of subscribers) {
      const s = ws[kState];
      count++;
      let frame: Buffer[] | undefined;
      if (isCompressible && s.extensions !== '') {
        const group = this.#groupOf(s.extensions);
        if (group.isShareable) {
          compressed ??= new Map();
          frame = compressed.get(group.windowBits);
          if (frame === undefined) {
            frame = this.#compressedFrame(opcode, payload, group.windowBits, deflate);
            compressed.set(group.windowBits, frame);
          }
        } else if (group !== NO_DEFLATE && this.#isCompressingTakeover) {
          // Its own compressor, its own context: ordered with its other sends by the core.
          if (s.conn !== undefined && !s.isClosedEmitted) {
            sendMessage(s, payload, isBinary ? BINARY : TEXT, undefined);
            stats.perSocketCompressions++;
          }
          continue;
        }
      }
      if (frame === undefined) {
        if (plain === undefined) {
          plain = encodeFrame(opcode, payload);
          stats.framesEncoded++;
        }
        frame = plain;
      }
      sendPrepared(s, frame, payload, isBinary);
    }
    stats.deliveries += count;
  }

  #groupOf(extensions: string): DeflateGroup {
    let group = this.#groups.get(extensions);
    if (group === undefined) {
      group = deflateGroupOf(extensions);
      this.#groups.set(extensions, group);
    }
    return group;
  }

  #compressedFrame(opcode: number, payload: Buffer, windowBits: number, deflate: ResolvedDeflateOptions): Buffer[] {
    const out = zlib.deflateRawSync(payload, {
      level: deflate.level,
      memLevel: deflate.memLevel,
      windowBits,
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    });
    this.#stats.sharedCompressions++;
    this.#stats.framesEncoded++;
    // §7.2.1: drop the trailing 00 00 ff ff; an empty result still needs one byte (an empty stored block's header).
    const body = out.length > TRAILER_BYTES ? out.subarray(0, out.length - TRAILER_BYTES) : Buffer.from([0x00]);
    return encodeFrame(opcode, body, { rsv1: true });
  }
}

const TEXT = { binary: false } as const;
const BINARY = { binary: true } as const;
