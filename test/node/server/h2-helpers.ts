/**
 * HTTP/2 helpers for the RFC 8441 tests: a self-signed certificate made with
 * openssl at test time, a node:http2 secure server with a WebSocketServer
 * attached, and a hand-written extended CONNECT client that writes masked
 * frames and reads the server's frames off the stream.
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type ServerOptions } from '../../../src/node/server/server.js';
import { within } from './helpers.js';

export interface Credentials {
  key: Buffer;
  cert: Buffer;
}

/** A certificate for localhost and 127.0.0.1, or why there is none (the tests skip with it). */
export function makeCertificate(): Credentials | string {
  const dir = mkdtempSync(join(tmpdir(), 'sockwave-h2-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '1',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } catch (error) {
    return `openssl is not available (${(error as Error).message})`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface H2Fixture {
  server: http2.Http2SecureServer;
  wss: WebSocketServer;
  port: number;
  origin: string;
  /** TCP connections the server accepted. */
  connections(): number;
  stop(): Promise<void>;
}

export async function startH2Server(
  credentials: Credentials,
  options: Omit<ServerOptions, 'port' | 'server' | 'noServer'> = {},
  serverOptions: http2.SecureServerOptions = {},
): Promise<H2Fixture> {
  const server = http2.createSecureServer({ ...credentials, allowHTTP1: true, ...serverOptions });
  let connections = 0;
  server.on('connection', () => connections++);
  const wss = new WebSocketServer({ server, ...options });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    wss,
    port,
    origin: `https://localhost:${port}`,
    connections: () => connections,
    async stop() {
      await wss.close({ timeoutMs: 200 });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function connectSession(fixture: H2Fixture, credentials: Credentials): Promise<ClientHttp2Session> {
  const session = http2.connect(fixture.origin, { ca: credentials.cert });
  session.on('error', () => {});
  await within(once(session, 'remoteSettings'), 5000, 'remote settings');
  return session;
}

/** Sends an extended CONNECT with `headers` over the defaults; resolves with the response headers. */
export async function extendedConnect(
  session: ClientHttp2Session,
  headers: Record<string, string | string[] | number | null> = {},
  options: { omitDefaults?: boolean } = {},
): Promise<{ stream: ClientHttp2Stream; response: IncomingHttpHeaders }> {
  const defaults = options.omitDefaults
    ? {}
    : { ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'https', ':path': '/', 'sec-websocket-version': '13' };
  // A null value removes a default field (a request without it).
  const merged = Object.fromEntries(Object.entries({ ...defaults, ...headers }).filter(([, value]) => value !== null));
  const stream = session.request(merged, { endStream: false });
  stream.on('error', () => {});
  const [response] = (await within(once(stream, 'response'), 5000, 'response')) as [IncomingHttpHeaders];
  return { stream, response };
}

/** A masked client frame (RFC 6455 §5.2), payload under 64 KiB. */
export function maskedFrame(opcode: number, payload: Buffer | string, { fin = true, rsv1 = false } = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const mask = randomBytes(4);
  const lengthBytes = data.length < 126 ? 0 : 2;
  const head = Buffer.alloc(2 + lengthBytes + 4);
  head[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  if (lengthBytes === 0) head[1] = 0x80 | data.length;
  else {
    head[1] = 0x80 | 126;
    head.writeUInt16BE(data.length, 2);
  }
  mask.copy(head, 2 + lengthBytes);
  const masked = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) masked[i] = data[i] ^ mask[i & 3];
  return Buffer.concat([head, masked]);
}

export interface ServerFrame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  payload: Buffer;
}

/** Reads the server's (unmasked) frames off a stream, one promise per frame. */
export function frameReader(stream: ClientHttp2Stream): { next(ms?: number): Promise<ServerFrame> } {
  let buffered = Buffer.alloc(0);
  const frames: ServerFrame[] = [];
  const waiters: ((frame: ServerFrame) => void)[] = [];
  stream.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (;;) {
      if (buffered.length < 2) return;
      let length = buffered[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffered.length < 4) return;
        length = buffered.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffered.length < 10) return;
        length = Number(buffered.readBigUInt64BE(2));
        offset = 10;
      }
      if (buffered.length < offset + length) return;
      const frame = {
        fin: (buffered[0] & 0x80) !== 0,
        rsv1: (buffered[0] & 0x40) !== 0,
        opcode: buffered[0] & 0x0f,
        payload: buffered.subarray(offset, offset + length),
      };
      buffered = buffered.subarray(offset + length);
      const waiter = waiters.shift();
      if (waiter !== undefined) waiter(frame);
      else frames.push(frame);
    }
  });
  return {
    next(ms = 5000) {
      const frame = frames.shift();
      if (frame !== undefined) return Promise.resolve(frame);
      return within(new Promise<ServerFrame>((resolve) => waiters.push(resolve)), ms, 'server frame');
    },
  };
}
