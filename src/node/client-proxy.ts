/**
 * HTTP CONNECT tunnels (RFC 9110 §9.3.6) for the client's `proxy` option:
 * the proxy opens a TCP connection to the WebSocket server and relays bytes;
 * the opening handshake (and TLS for wss:) then runs inside the tunnel.
 */
import net from 'node:net';
import { HandshakeError } from '../core/errors.js';
import { ResponseHeadParser } from '../core/handshake.js';

export interface TunnelTarget {
  /** Host name or IP address of the WebSocket server (no brackets). */
  host: string;
  port: number;
}

/**
 * Connects to `proxy` and asks it for a tunnel to `target`. Calls `done` once:
 * with the connected socket (any bytes the proxy sent after its 2xx head are
 * unshifted back) or with an error. The returned socket is the one to destroy
 * on abort.
 */
export function openProxyTunnel(
  proxy: URL,
  target: TunnelTarget,
  limits: { maxHeaderBytes: number; maxHeaderCount: number },
  done: (error: Error | null, socket?: net.Socket) => void,
): net.Socket {
  const proxyHost = stripBrackets(proxy.hostname);
  const socket = net.connect({ host: proxyHost, port: Number(proxy.port || 80) });
  const parser = new ResponseHeadParser(limits);
  let isDone = false;
  const finish = (error: Error | null): void => {
    if (isDone) return;
    isDone = true;
    socket.removeListener('data', onData);
    socket.removeListener('error', onError);
    socket.removeListener('close', onClose);
    if (error) {
      socket.destroy();
      done(error);
    } else {
      done(null, socket);
    }
  };
  const onError = (error: Error): void => finish(error);
  const onClose = (): void => finish(new HandshakeError('proxy closed the connection before answering CONNECT', 502));
  const onData = (chunk: Buffer): void => {
    let head;
    try {
      head = parser.push(chunk);
    } catch (error) {
      finish(error as Error);
      return;
    }
    if (head === null) return;
    if (head.status < 200 || head.status > 299) {
      finish(new HandshakeError(`proxy refused CONNECT with status ${head.status}`, head.status));
      return;
    }
    socket.pause();
    if (head.rest.length > 0) socket.unshift(head.rest);
    finish(null);
  };
  socket.on('data', onData);
  socket.on('error', onError);
  socket.on('close', onClose);
  socket.once('connect', () => {
    const authority = `${net.isIPv6(target.host) ? `[${target.host}]` : target.host}:${target.port}`;
    let request = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
    if (proxy.username || proxy.password) {
      const credentials = `${decodeUserinfo(proxy.username)}:${decodeUserinfo(proxy.password)}`;
      request += `Proxy-Authorization: Basic ${Buffer.from(credentials).toString('base64')}\r\n`;
    }
    socket.write(`${request}\r\n`);
  });
  return socket;
}

/**
 * Percent-decodes a URL's username or password for Basic credentials. A
 * malformed escape ("%zz") is kept as written instead of throwing a URIError
 * from inside a socket callback.
 */
export function decodeUserinfo(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export function stripBrackets(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}
