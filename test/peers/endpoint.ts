/**
 * One connection end seen through a small uniform interface, so the same
 * behaviour suite and the same echo bot drive any implementation: a ws-style
 * Node socket (ws, sockwave's server and connect() sockets) or a WHATWG
 * WebSocket (undici's, sockwave's). Chromium and python speak for themselves
 * (page script, bot.py); they only report what they saw.
 */
import type { EventEmitter } from 'node:events';

export interface Received {
  /** Text arrives as a string, binary as a Buffer. */
  data: string | Buffer;
  isBinary: boolean;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

export interface Endpoint {
  readonly label: string;
  /** WHATWG sockets cannot ping or send fragments; ws-style ones can. */
  readonly canPing: boolean;
  readonly canFragment: boolean;
  protocol(): string;
  extensions(): string;
  /** `binary: false` with a Buffer sends those bytes as a text frame (ws-style sockets only). */
  send(data: string | Buffer, options?: { fin?: boolean; binary?: boolean }): void;
  ping(data: Buffer): void;
  /** Next message not yet consumed (rejects after timeoutMs or when the connection closes first). */
  next(timeoutMs?: number): Promise<Received>;
  nextPong(timeoutMs?: number): Promise<Buffer>;
  close(code?: number, reason?: string): void;
  terminate(): void;
  /** Resolves once, with the code and reason this end reports. */
  readonly closed: Promise<CloseInfo>;
  /** Routes every later message to fn instead of the queue (used by the echo bot). */
  onMessage(fn: (message: Received) => void): void;
  readonly errors: unknown[];
}

/** The ws-style surface both `ws` and sockwave's Node socket offer. */
export interface NodeStyleSocket extends EventEmitter {
  readonly protocol: string;
  readonly extensions: string | object;
  readonly readyState: number;
  send(data: string | Buffer, options?: { binary?: boolean; fin?: boolean }, cb?: (error?: Error) => void): unknown;
  ping(data?: Buffer, mask?: boolean, cb?: (error?: Error) => void): void;
  close(code?: number, reason?: string | Buffer): void;
  terminate(): void;
}

/** The WHATWG surface (undici, sockwave's web class). */
export interface WhatwgSocket extends EventTarget {
  readonly protocol: string;
  readonly extensions: string;
  readonly readyState: number;
  binaryType: string;
  send(data: string | ArrayBufferView | ArrayBuffer | Blob): void;
  close(code?: number, reason?: string): void;
}

const DEFAULT_TIMEOUT_MS = 10_000;

class Queue<T> {
  private items: T[] = [];
  private waiters: Array<{ resolve: (v: T) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }> = [];
  private failure: Error | undefined;

  push(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(item);
    } else {
      this.items.push(item);
    }
  }

  fail(error: Error): void {
    this.failure = error;
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
  }

  take(timeoutMs: number, what: string): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift() as T);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }
}

abstract class BaseEndpoint {
  readonly errors: unknown[] = [];
  protected messages = new Queue<Received>();
  protected pongs = new Queue<Buffer>();
  private handler: ((message: Received) => void) | undefined;
  private resolveClosed!: (info: CloseInfo) => void;
  readonly closed: Promise<CloseInfo>;

  constructor(readonly label: string) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  protected deliver(message: Received): void {
    if (this.handler) this.handler(message);
    else this.messages.push(message);
  }

  protected finish(info: CloseInfo): void {
    const error = new Error(`${this.label} closed (${info.code} ${info.reason})`);
    this.messages.fail(error);
    this.pongs.fail(error);
    this.resolveClosed(info);
  }

  onMessage(fn: (message: Received) => void): void {
    this.handler = fn;
  }

  next(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Received> {
    return this.messages.take(timeoutMs, `a message on ${this.label}`);
  }

  nextPong(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Buffer> {
    return this.pongs.take(timeoutMs, `a pong on ${this.label}`);
  }
}

export function wrapNodeSocket(socket: NodeStyleSocket, label: string): Endpoint {
  class NodeEndpoint extends BaseEndpoint implements Endpoint {
    readonly canPing = true;
    readonly canFragment = true;
    constructor() {
      super(label);
      socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
        const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
        this.deliver({ data: isBinary ? bytes : bytes.toString('utf8'), isBinary });
      });
      socket.on('pong', (data: Buffer) => this.pongs.push(Buffer.from(data)));
      socket.on('error', (error: unknown) => this.errors.push(error));
      socket.on('close', (code: number, reason: Buffer | string) => this.finish({ code, reason: String(reason) }));
    }
    protocol(): string {
      return socket.protocol ?? '';
    }
    extensions(): string {
      const value = socket.extensions;
      if (typeof value === 'string') return value;
      return value ? Object.keys(value).join(', ') : '';
    }
    send(data: string | Buffer, options: { fin?: boolean; binary?: boolean } = {}): void {
      socket.send(data, { binary: options.binary ?? Buffer.isBuffer(data), fin: options.fin ?? true });
    }
    ping(data: Buffer): void {
      socket.ping(data);
    }
    close(code?: number, reason?: string): void {
      if (code === undefined) socket.close();
      else socket.close(code, reason);
    }
    terminate(): void {
      socket.terminate();
    }
  }
  return new NodeEndpoint();
}

export function wrapWhatwgSocket(socket: WhatwgSocket, label: string): Endpoint {
  class WhatwgEndpoint extends BaseEndpoint implements Endpoint {
    readonly canPing = false;
    readonly canFragment = false;
    constructor() {
      super(label);
      socket.binaryType = 'arraybuffer';
      socket.addEventListener('message', (event) => {
        const data = (event as MessageEvent).data as unknown;
        if (typeof data === 'string') this.deliver({ data, isBinary: false });
        else this.deliver({ data: Buffer.from(data as ArrayBuffer), isBinary: true });
      });
      socket.addEventListener('error', (event) => this.errors.push(event));
      socket.addEventListener('close', (event) => {
        const close = event as CloseEvent;
        this.finish({ code: close.code, reason: close.reason });
      });
    }
    protocol(): string {
      return socket.protocol;
    }
    extensions(): string {
      return socket.extensions;
    }
    send(data: string | Buffer, options: { fin?: boolean; binary?: boolean } = {}): void {
      if (options.fin === false || options.binary === false) throw new Error('a WHATWG WebSocket cannot send fragments');
      socket.send(typeof data === 'string' ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
    ping(): void {
      throw new Error('a WHATWG WebSocket cannot ping');
    }
    close(code?: number, reason?: string): void {
      if (code === undefined) socket.close();
      else socket.close(code, reason);
    }
    terminate(): void {
      // WHATWG has no terminate; closing without waiting is the closest.
      if (socket.readyState < 2) socket.close();
    }
  }
  return new WhatwgEndpoint();
}

/** Resolves on the socket's open event, rejects on error/close before it. */
export function whenOpen(socket: EventTarget | EventEmitter, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no open event within ${timeoutMs} ms`)), timeoutMs);
    const done = (error?: Error) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    };
    if ('addEventListener' in socket && !('on' in socket)) {
      socket.addEventListener('open', () => done(), { once: true });
      socket.addEventListener('close', (e) => done(new Error(`closed before open (${(e as CloseEvent).code})`)), { once: true });
    } else {
      const emitter = socket as EventEmitter;
      emitter.once('open', () => done());
      emitter.once('error', (e: Error) => done(e));
      emitter.once('close', (code: number) => done(new Error(`closed before open (${code})`)));
    }
  });
}
