/**
 * Loopback helpers for the server tests: start a WebSocketServer on port 0,
 * open real `ws` clients and raw TCP sockets, wait for events with a bound.
 */
import net from 'node:net';
import { once } from 'node:events';
import WS from 'ws';
import { WebSocketServer, type ServerOptions } from '../../../src/node/server/server.js';

export async function startServer(options: Omit<ServerOptions, 'port'> = {}): Promise<{ wss: WebSocketServer; port: number; url: string }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  await once(wss, 'listening');
  const port = (wss.address() as net.AddressInfo).port;
  return { wss, port, url: `ws://127.0.0.1:${port}` };
}

/** Rejects after `ms` so a hang fails the test instead of the file. */
export function within<T>(promise: Promise<T>, ms = 5000, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]);
}

export async function openClient(url: string, options: WS.ClientOptions = {}, protocols?: string | string[]): Promise<WS> {
  const client = new WS(url, protocols, options);
  await within(once(client, 'open'), 5000, 'client open');
  return client;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function closeEvent(socket: { once(event: 'close', fn: (...args: any[]) => void): unknown }): Promise<[number, Buffer]> {
  return new Promise((resolve) => socket.once('close', (code: number, reason: Buffer) => resolve([code, reason])));
}

/** Sends raw bytes and collects everything the server answers until it closes the connection. */
export async function rawExchange(port: number, request: string | Buffer, ms = 3000): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  socket.write(request);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await within(once(socket, 'close'), ms, 'server closing the raw socket');
  return Buffer.concat(chunks).toString('latin1');
}

export function upgradeRequest(extra: Record<string, string> = {}, path = '/'): string {
  const headers: Record<string, string> = {
    Host: 'localhost',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version': '13',
    ...extra,
  };
  let head = `GET ${path} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) if (value !== '') head += `${name}: ${value}\r\n`;
  return `${head}\r\n`;
}

/** A masked client frame (fixed zero mask key, so the payload stays readable). */
export function clientFrame(opcode: number, payload: Buffer | string, fin = true): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  if (body.length > 125) throw new RangeError('helper handles short frames only');
  return Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | body.length, 0, 0, 0, 0]), body]);
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
