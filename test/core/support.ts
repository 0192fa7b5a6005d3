/**
 * Shared helpers for the core tests: a recording sink, byte-vector feeders
 * and two test compressors (the real zlib adapter is tested in test/node/).
 */
import { deflateRawSync, inflateRawSync, constants as zlibConstants } from 'node:zlib';
import { Connection, type ConnectionOptions } from '../../src/core/connection.js';
import type { CoreEvent } from '../../src/core/events.js';
import type { MessageCompressor } from '../../src/core/deflate/compressor.js';
import { MessageTooLargeError, ProtocolError } from '../../src/core/errors.js';

export const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** Events in a comparable form (data as hex, errors as code + closeCode). */
export function plain(event: CoreEvent): Record<string, unknown> {
  switch (event.type) {
    case 'message':
      return { type: 'message', data: event.data.toString('hex'), isBinary: event.isBinary };
    case 'ping':
    case 'pong':
      return { type: event.type, data: event.data.toString('hex') };
    case 'error':
      return { type: 'error', code: event.error.code, closeCode: (event.error as { closeCode?: number }).closeCode };
    default:
      return { ...event };
  }
}

export interface Recorder {
  conn: Connection;
  writes: Buffer[];
  events: CoreEvent[];
  /** Everything written, as one hex string. */
  written(): string;
  plainEvents(): Record<string, unknown>[];
  types(): string[];
  /** Times the core called the sink's optional receiveResumed(). */
  resumed: number;
}

export function record(options: ConnectionOptions): Recorder {
  const writes: Buffer[] = [];
  const events: CoreEvent[] = [];
  const recorder = { resumed: 0 } as Recorder;
  const sink = {
    write(data: Buffer, cb?: (error?: Error | null) => void) {
      writes.push(Buffer.from(data));
      cb?.(null);
    },
    event(event: CoreEvent) {
      events.push(event);
    },
    receiveResumed() {
      recorder.resumed++;
    },
  };
  const conn = new Connection(options, sink);
  return Object.assign(recorder, {
    conn,
    writes,
    events,
    written: () => Buffer.concat(writes).toString('hex'),
    plainEvents: () => events.map(plain),
    types: () => events.map((e) => e.type),
  });
}

/** The three ways each vector is fed (receive() takes ownership, so every feed gets a fresh copy). */
export const feeds = {
  whole(conn: Connection, bytes: Buffer): void {
    conn.receive(Buffer.from(bytes));
  },
  byteByByte(conn: Connection, bytes: Buffer): void {
    for (let i = 0; i < bytes.length; i++) conn.receive(Buffer.from(bytes.subarray(i, i + 1)));
  },
  withTrailingBytes(conn: Connection, bytes: Buffer): void {
    // The start of another frame follows in the same chunk; it must stay buffered, unreported.
    conn.receive(Buffer.concat([bytes, hex('81')]));
  },
};

/** Feeds `bytes` split at the given sizes (cycled). */
/**
 * Sends `payload` as one message fragmented at `cuts` (each taken modulo the
 * length + 1, duplicates dropped), with a ping after each non-final fragment
 * when `withPing`: the fragment sequences the property tests feed a receiver.
 */
export function sendFragmented(conn: Connection, payload: Buffer, cuts: readonly number[], isBinary: boolean, withPing: boolean): void {
  const points = [...new Set(cuts.map((c) => c % (payload.length + 1)))].sort((a, b) => a - b);
  let start = 0;
  for (const point of points) {
    conn.send(payload.subarray(start, point), { isBinary, fin: false });
    if (withPing) conn.ping('p');
    start = point;
  }
  conn.send(payload.subarray(start), { isBinary });
}

export function feedChunked(conn: Connection, bytes: Buffer, sizes: number[]): void {
  let offset = 0;
  let i = 0;
  while (offset < bytes.length) {
    const size = Math.max(1, sizes[i++ % sizes.length]);
    conn.receive(Buffer.from(bytes.subarray(offset, offset + size)));
    offset += size;
  }
}

export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Waits until `predicate` holds, polling on the event loop (bounded). */
export async function until(predicate: () => boolean, rounds = 1000): Promise<void> {
  for (let i = 0; i < rounds && !predicate(); i++) await tick();
  if (!predicate()) throw new Error('condition not reached');
}

/**
 * RFC 7692 permessage-deflate with no context takeover, on node:zlib, both
 * directions asynchronous (answers on setImmediate) so the core's ordering
 * and pausing are exercised. Inflation happens at the final frame and is
 * capped with maxOutputLength.
 */
export function zlibTestCompressor(): MessageCompressor & { closed: boolean } {
  let frames: Buffer[] = [];
  let budget = Infinity;
  const compressor = {
    closed: false,
    compress(data: Buffer, done: (error: Error | null, result?: Buffer) => void) {
      const out = deflateRawSync(data, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
      setImmediate(() => done(null, out.subarray(0, out.length - 4)));
    },
    decompress(data: Buffer, isFinal: boolean, maxBytes: number, done: (error: Error | null, result?: Buffer[]) => void) {
      if (frames.length === 0) budget = maxBytes;
      frames.push(Buffer.from(data));
      setImmediate(() => {
        if (!isFinal) return done(null, []);
        const input = Buffer.concat([...frames, Buffer.from([0, 0, 0xff, 0xff])]);
        frames = [];
        try {
          const limit = Number.isFinite(budget) ? budget + 1 : undefined;
          const out = inflateRawSync(input, {
            finishFlush: zlibConstants.Z_SYNC_FLUSH,
            ...(limit === undefined ? {} : { maxOutputLength: limit }),
          });
          if (out.length > budget) return done(new MessageTooLargeError(out.length, budget));
          done(null, [out]);
        } catch (error) {
          if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
            return done(new MessageTooLargeError(budget + 1, budget));
          }
          done(error as Error);
        }
      });
    },
    close() {
      compressor.closed = true;
    },
  };
  return compressor;
}

/**
 * A streaming toy compressor: "compressed" bytes are the data XOR 0x55,
 * inflated frame by frame, answering synchronously or on setImmediate.
 * `expand` repeats each output byte (a miniature decompression bomb).
 */
export function xorTestCompressor(o: { isSync?: boolean; expand?: number; ignoresBudget?: boolean } = {}): MessageCompressor & {
  decompressCalls: number;
} {
  const expand = o.expand ?? 1;
  const later = (fn: () => void) => (o.isSync ? fn() : setImmediate(fn));
  const compressor = {
    decompressCalls: 0,
    compress(data: Buffer, done: (error: Error | null, result?: Buffer) => void) {
      const out = Buffer.from(data);
      for (let i = 0; i < out.length; i++) out[i] ^= 0x55;
      later(() => done(null, out));
    },
    decompress(data: Buffer, _isFinal: boolean, maxBytes: number, done: (error: Error | null, result?: Buffer[]) => void) {
      compressor.decompressCalls++;
      const size = data.length * expand;
      if (size > maxBytes && !o.ignoresBudget) return later(() => done(new MessageTooLargeError(size, maxBytes)));
      const out = Buffer.allocUnsafe(size);
      for (let i = 0; i < size; i++) out[i] = data[Math.floor(i / expand)] ^ 0x55;
      later(() => done(null, [out]));
    },
    close() {},
  };
  return compressor;
}

export interface FrameSpec {
  opcode: number;
  payload?: Buffer | string;
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  /** Masking key (4 bytes); omit for an unmasked frame. */
  mask?: Buffer;
  /** Force the 16- or 64-bit length form (non-minimal encodings). */
  lengthForm?: 7 | 16 | 64;
}

/** Builds raw frame bytes independently of src/ (so tests don't check the encoder with itself). */
export function frame(spec: FrameSpec): Buffer {
  const payload = typeof spec.payload === 'string' ? Buffer.from(spec.payload) : (spec.payload ?? Buffer.alloc(0));
  const b0 =
    (spec.fin === false ? 0 : 0x80) | (spec.rsv1 ? 0x40 : 0) | (spec.rsv2 ? 0x20 : 0) | (spec.rsv3 ? 0x10 : 0) | spec.opcode;
  const form = spec.lengthForm ?? (payload.length < 126 ? 7 : payload.length < 65536 ? 16 : 64);
  const bytes: number[] = [b0];
  const maskBit = spec.mask ? 0x80 : 0;
  if (form === 7) bytes.push(maskBit | payload.length);
  else if (form === 16) bytes.push(maskBit | 126, payload.length >> 8, payload.length & 0xff);
  else {
    bytes.push(maskBit | 127);
    const big = BigInt(payload.length);
    for (let i = 7; i >= 0; i--) bytes.push(Number((big >> BigInt(8 * i)) & 0xffn));
  }
  const body = Buffer.from(payload);
  if (spec.mask) {
    bytes.push(...spec.mask);
    for (let i = 0; i < body.length; i++) body[i] ^= spec.mask[i % 4];
  }
  return Buffer.concat([Buffer.from(bytes), body]);
}

/** A frame as the given receiving role expects it: masked for servers, plain for clients. */
export function frameFor(role: 'client' | 'server', spec: Omit<FrameSpec, 'mask'>): Buffer {
  return frame(role === 'server' ? { ...spec, mask: hex('a1b2c3d4') } : spec);
}

/** Decodes the frames a Connection wrote (masked or not), independently of src/. */
export function decodeWritten(bytes: Buffer): Array<{ fin: boolean; rsv1: boolean; opcode: number; masked: boolean; payload: Buffer }> {
  const frames = [];
  let o = 0;
  while (o < bytes.length) {
    const b0 = bytes[o];
    const b1 = bytes[o + 1];
    let length = b1 & 0x7f;
    let p = o + 2;
    if (length === 126) {
      length = bytes.readUInt16BE(p);
      p += 2;
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(p));
      p += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    let key: Buffer | undefined;
    if (masked) {
      key = bytes.subarray(p, p + 4);
      p += 4;
    }
    const payload = Buffer.from(bytes.subarray(p, p + length));
    if (key) for (let i = 0; i < payload.length; i++) payload[i] ^= key[i % 4];
    frames.push({ fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, opcode: b0 & 0x0f, masked, payload });
    o = p + length;
  }
  return frames;
}

/** The close frames a recorder wrote, as { code, reason } (code 1005 for an empty payload). */
export function closeFramesWritten(r: Recorder): Array<{ code: number; reason: string }> {
  return decodeWritten(Buffer.concat(r.writes))
    .filter((f) => f.opcode === 8)
    .map((f) => ({
      code: f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005,
      reason: f.payload.subarray(2).toString(),
    }));
}

/** The ProtocolError of the recorder's first `error` event (throws when there is none). */
export function firstError(r: Recorder): ProtocolError {
  const event = r.events.find((e) => e.type === 'error');
  if (event === undefined || event.type !== 'error') throw new Error('no error event');
  if (!(event.error instanceof ProtocolError)) throw new Error(`not a ProtocolError: ${event.error.name}`);
  return event.error;
}
