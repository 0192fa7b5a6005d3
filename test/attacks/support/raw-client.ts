/**
 * A deliberately small, independent WebSocket client for attacking a server:
 * raw TCP, hand-written upgrade requests, hand-built (masked) frames and a
 * minimal reader for server frames. It shares no code with sockwave, so a bug
 * in sockwave's parser cannot hide a bug in the server under attack.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import net from 'node:net';

type MaskFn = (source: Buffer, mask: Buffer, output: Buffer, offset: number, length: number) => void;
/**
 * bufferutil (a dev dependency, ws's native helper) masks at memory speed;
 * the soak and the floods send gigabytes. Plain JS when it is missing.
 */
const nativeMask: MaskFn | undefined = (() => {
  try {
    return (createRequire(import.meta.url)('bufferutil') as { mask: MaskFn }).mask;
  } catch {
    return undefined;
  }
})();

export const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface ResponseHead {
  status: number;
  headers: Map<string, string>;
  raw: string;
  /** Bytes received after the head (the first frames). */
  rest: Buffer;
}

export function connectTcp(port: number, host = '127.0.0.1', timeoutMs = 5000): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`TCP connect timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

export function upgradeRequest(o: { host?: string; path?: string; key?: string; headers?: Array<[string, string]> } = {}): string {
  const lines = [
    `GET ${o.path ?? '/'} HTTP/1.1`,
    `Host: ${o.host ?? '127.0.0.1'}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${o.key ?? randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
    ...(o.headers ?? []).map(([name, value]) => `${name}: ${value}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Reads until the end of the HTTP head (or close/timeout). */
export function readHead(socket: net.Socket, timeoutMs = 5000): Promise<ResponseHead> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error(`no response head within ${timeoutMs} ms`)), timeoutMs);
    function finish(error?: Error, head?: ResponseHead) {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      socket.removeListener('error', onError);
      if (error) reject(error);
      else resolve(head!);
    }
    function onData(chunk: Buffer) {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.pause();
      const raw = buffered.subarray(0, end).toString('latin1');
      const [statusLine, ...lines] = raw.split('\r\n');
      const headers = new Map<string, string>();
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      finish(undefined, { status: Number(statusLine.split(' ')[1]), headers, raw, rest: buffered.subarray(end + 4) });
    }
    function onClose() {
      finish(new Error(`connection closed before a response head (got ${JSON.stringify(buffered.toString('latin1').slice(0, 200))})`));
    }
    function onError() {
      // 'close' follows
    }
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onError);
    socket.resume();
  });
}

/** Resolves with the elapsed ms once the socket is closed by the other side (or rejects after timeoutMs). */
export function whenClosed(socket: net.Socket, timeoutMs: number): Promise<number> {
  const started = performance.now();
  if (socket.destroyed) return Promise.resolve(0);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(performance.now() - started);
    });
    socket.on('error', () => undefined);
    // Drain whatever the server writes so its close is not held up by our window.
    socket.resume();
  });
}

export const Op = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** A client frame (masked unless mask: false), RFC 6455 §5.2. */
export function clientFrame(
  opcode: number,
  payload: Buffer | string = Buffer.alloc(0),
  o: { fin?: boolean; rsv1?: boolean; mask?: boolean; maskingKey?: Buffer } = {},
): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const isMasked = o.mask !== false;
  const length = data.length;
  const extended = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + extended + (isMasked ? 4 : 0));
  header[0] = ((o.fin ?? true) ? 0x80 : 0) | (o.rsv1 ? 0x40 : 0) | opcode;
  header[1] = (isMasked ? 0x80 : 0) | (extended === 0 ? length : extended === 2 ? 126 : 127);
  if (extended === 2) header.writeUInt16BE(length, 2);
  else if (extended === 8) header.writeBigUInt64BE(BigInt(length), 2);
  if (!isMasked) return Buffer.concat([header, data]);
  const key = o.maskingKey ?? randomBytes(4);
  key.copy(header, 2 + extended);
  const frame = Buffer.allocUnsafe(header.length + length);
  header.copy(frame, 0);
  if (nativeMask && length > 0) nativeMask(data, key, frame, header.length, length);
  else for (let i = 0; i < length; i++) frame[header.length + i] = data[i] ^ key[i & 3];
  return frame;
}

export function closeFrame(code?: number, reason = ''): Buffer {
  if (code === undefined) return clientFrame(Op.close);
  const body = Buffer.alloc(2 + Buffer.byteLength(reason));
  body.writeUInt16BE(code, 0);
  body.write(reason, 2);
  return clientFrame(Op.close, body);
}

export interface ServerFrame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  payload: Buffer;
}

/** Incremental reader for unmasked server frames. Keeps only what it has not parsed. */
export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  push(chunk: Buffer): ServerFrame[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const frames: ServerFrame[] = [];
    let buffer = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    let offset = 0;
    for (;;) {
      if (buffer.length - offset < 2) break;
      const b0 = buffer[offset];
      const b1 = buffer[offset + 1];
      let length = b1 & 0x7f;
      let headerLength = 2;
      if (length === 126) {
        if (buffer.length - offset < 4) break;
        length = buffer.readUInt16BE(offset + 2);
        headerLength = 4;
      } else if (length === 127) {
        if (buffer.length - offset < 10) break;
        length = Number(buffer.readBigUInt64BE(offset + 2));
        headerLength = 10;
      }
      if (b1 & 0x80) throw new Error('server sent a masked frame');
      if (buffer.length - offset < headerLength + length) break;
      const start = offset + headerLength;
      frames.push({ fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, opcode: b0 & 0x0f, payload: buffer.subarray(start, start + length) });
      offset = start + length;
    }
    buffer = buffer.subarray(offset);
    this.pending = buffer.length > 0 ? [Buffer.from(buffer)] : [];
    this.pendingBytes = buffer.length;
    return frames;
  }
}

export function closeCodeOf(frame: ServerFrame): number {
  return frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
}

export interface RawConnection {
  socket: net.Socket;
  head: ResponseHead;
  /** Frames read so far (when collecting). */
  frames: ServerFrame[];
  /** Resolves with the server's close frame code (1006 if the TCP connection ended without one). */
  closeCode: Promise<number>;
}

/**
 * Connects, upgrades, checks the 101 and the accept key, then collects
 * server frames (onFrame, or into `frames`).
 */
export async function rawWebSocket(
  port: number,
  o: { headers?: Array<[string, string]>; path?: string; onFrame?: (frame: ServerFrame) => void; timeoutMs?: number } = {},
): Promise<RawConnection> {
  const socket = await connectTcp(port);
  socket.on('error', () => undefined);
  const key = randomBytes(16).toString('base64');
  socket.write(upgradeRequest({ key, headers: o.headers, path: o.path }));
  const head = await readHead(socket, o.timeoutMs ?? 5000);
  if (head.status !== 101) {
    socket.destroy();
    throw new Error(`expected 101, got ${head.status}: ${head.raw.split('\r\n')[0]}`);
  }
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  if (head.headers.get('sec-websocket-accept') !== accept) throw new Error('bad Sec-WebSocket-Accept');
  const reader = new FrameReader();
  const frames: ServerFrame[] = [];
  let resolveClose!: (code: number) => void;
  const closeCode = new Promise<number>((resolve) => (resolveClose = resolve));
  let sawClose = false;
  const handle = (chunk: Buffer) => {
    for (const frame of reader.push(chunk)) {
      if (frame.opcode === Op.close && !sawClose) {
        sawClose = true;
        resolveClose(closeCodeOf(frame));
      }
      if (o.onFrame) o.onFrame(frame);
      else frames.push(frame);
    }
  };
  socket.on('close', () => resolveClose(1006));
  if (head.rest.length > 0) handle(head.rest);
  socket.on('data', handle);
  socket.resume();
  return { socket, head, frames, closeCode };
}
