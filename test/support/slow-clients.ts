/**
 * Slowloris-style clients for head-phase tests: each resolves with the
 * milliseconds until the server closed the connection (or null if it was
 * still open at `giveUpMs`).
 */
import net from 'node:net';

const UPGRADE_HEAD =
  'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
  `X-Padding: ${'a'.repeat(200)}\r\n\r\n`;

function watch(port: number, giveUpMs: number, onConnect: (socket: net.Socket) => () => void): Promise<number | null> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = net.connect(port, '127.0.0.1');
    let stop = (): void => {};
    socket.on('connect', () => (stop = onConnect(socket)));
    socket.on('error', () => {});
    socket.resume();
    const giveUp = setTimeout(() => {
      stop();
      socket.destroy();
      resolve(null);
    }, giveUpMs);
    socket.on('close', () => {
      stop();
      clearTimeout(giveUp);
      resolve(performance.now() - started);
    });
  });
}

/** Sends an upgrade request one byte every `everyMs`, never finishing within `giveUpMs`. */
export function dribbleHead(port: number, everyMs: number, giveUpMs: number): Promise<number | null> {
  return watch(port, giveUpMs, (socket) => {
    let index = 0;
    const timer = setInterval(() => {
      if (index < UPGRADE_HEAD.length - 2) socket.write(UPGRADE_HEAD[index++]);
    }, everyMs);
    return () => clearInterval(timer);
  });
}

/** Sends the first half of an upgrade request, then nothing. */
export function halfHead(port: number, giveUpMs: number): Promise<number | null> {
  return watch(port, giveUpMs, (socket) => {
    socket.write(UPGRADE_HEAD.slice(0, 60));
    return () => {};
  });
}

/** Connects and sends nothing at all. */
export function silentConnection(port: number, giveUpMs: number): Promise<number | null> {
  return watch(port, giveUpMs, () => () => {});
}
