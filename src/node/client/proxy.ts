/**
 * HTTP CONNECT tunnels (RFC 9110 §9.3.6) for the client's `proxy` option:
 * the proxy opens a TCP connection to the WebSocket server and relays bytes;
 * the opening handshake (and TLS for wss:) then runs inside the tunnel.
 * An https: proxy is reached over TLS first (so wss: through it is TLS in TLS).
 */
import net from 'node:net';
import tls from 'node:tls';
import { HandshakeError } from '../../core/errors.js';
import { ProxyError } from './errors.js';
import { describeProxy, proxyPort } from './proxy-env.js';
import { converseWithProxy } from './proxy-conversation.js';
import { plainConnectOptions } from './tcp-connect.js';

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
  limits: { maxHeaderBytes: number },
  tlsOptions: tls.ConnectionOptions,
  done: (error: Error | null, socket?: net.Socket) => void,
): net.Socket {
  const proxyHost = stripBrackets(proxy.hostname);
  const isSecure = proxy.protocol === 'https:';
  // The same `tls` options (ca, ...) verify the proxy's certificate; SNI only for host names.
  const socket = isSecure
    ? tls.connect({
        ALPNProtocols: ['http/1.1'],
        ...tlsOptions,
        host: proxyHost,
        port: proxyPort(proxy),
        servername: net.isIP(proxyHost) === 0 ? proxyHost : undefined,
      })
    : net.connect(plainConnectOptions(proxyHost, proxyPort(proxy)));
  const name = describeProxy(proxy);
  const reader = new ConnectResponseReader(limits.maxHeaderBytes);
  converseWithProxy(socket, name, isSecure ? 'secureConnect' : 'connect', {
    onConnected() {
      const authority = `${net.isIPv6(target.host) ? `[${target.host}]` : target.host}:${target.port}`;
      let request = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
      if (proxy.username || proxy.password) {
        const credentials = `${decodeUserinfo(proxy.username)}:${decodeUserinfo(proxy.password)}`;
        request += `Proxy-Authorization: Basic ${Buffer.from(credentials).toString('base64')}\r\n`;
      }
      socket.write(`${request}\r\n`);
    },
    onData(chunk, conversation) {
      let head;
      try {
        head = reader.push(chunk);
      } catch (error) {
        conversation.finish(new ProxyError(name, `answered CONNECT badly: ${(error as Error).message}`, { cause: error }));
        return;
      }
      if (head === null) return;
      if (head.status < 200 || head.status > 299) {
        const reason = head.reason === '' ? '' : ` ${head.reason}`;
        conversation.finish(new ProxyError(name, `refused the tunnel: ${head.status}${reason}`, { status: head.status }));
        return;
      }
      conversation.finish(null, head.rest);
    },
    closedEarly: () => new ProxyError(name, 'closed the connection before answering CONNECT', { status: 502 }),
  }, done);
  return socket;
}

/**
 * Reads the proxy's answer to CONNECT: only the status matters, and the
 * headers are skipped. Unlike the WebSocket response (which must be HTTP/1.1,
 * RFC 6455 §4.1), HTTP/1.0 is accepted here: several proxies (tinyproxy,
 * older Squid) answer CONNECT with "HTTP/1.0 200 Connection established".
 * The head is bounded by `maxHeaderBytes` and each byte is scanned once,
 * whatever the chunking.
 */
export class ConnectResponseReader {
  readonly #maxHeaderBytes: number;
  readonly #chunks: Buffer[] = [];
  #length = 0;
  /** How much of CR LF CR LF the bytes scanned so far end with (0..3). */
  #matched = 0;

  constructor(maxHeaderBytes: number) {
    this.#maxHeaderBytes = maxHeaderBytes;
  }

  /** Null while the head is incomplete; throws HandshakeError when it is malformed or too large. */
  push(chunk: Buffer): { status: number; reason: string; rest: Buffer } | null {
    let end = -1;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      // CR LF CR LF: even positions expect CR, odd ones LF; a CR always restarts at 1.
      if (byte === (this.#matched % 2 === 0 ? 0x0d : 0x0a)) this.#matched++;
      else this.#matched = byte === 0x0d ? 1 : 0;
      if (this.#matched === 4) {
        end = i + 1;
        break;
      }
    }
    const headPart = end === -1 ? chunk : chunk.subarray(0, end);
    this.#length += headPart.length;
    if (this.#length > this.#maxHeaderBytes) {
      throw new HandshakeError(`proxy response head exceeds ${this.#maxHeaderBytes} bytes`, 0);
    }
    this.#chunks.push(headPart);
    if (end === -1) return null;
    const head = Buffer.concat(this.#chunks, this.#length);
    const lineEnd = head.indexOf('\r\n', 0, 'latin1');
    const statusLine = head.subarray(0, lineEnd).toString('latin1');
    const match = /^HTTP\/1\.[01] ([1-5][0-9][0-9])(?: |$)(.*)$/.exec(statusLine);
    if (match === null) throw new HandshakeError(`malformed proxy response: ${JSON.stringify(statusLine.slice(0, 64))}`, 0);
    // The reason phrase ends up in an error message: printable ASCII only, bounded.
    const reason = match[2].replace(/[^\x20-\x7e]/g, '').slice(0, 64).trim();
    return { status: Number(match[1]), reason, rest: chunk.subarray(end) };
  }
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
