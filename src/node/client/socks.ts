/**
 * SOCKS tunnels for the client's `proxy` option: SOCKS5 (RFC 1928) with
 * no authentication or username/password (RFC 1929), and SOCKS4/4a.
 * `socks5:` and `socks4:` resolve the target's name here (local DNS);
 * `socks5h:` and `socks4a:` send the name and let the proxy resolve it, which
 * is what a client behind a proxy that alone sees the internal DNS needs.
 * The WebSocket handshake (and TLS for wss:) then runs inside the tunnel.
 */
import dns from 'node:dns';
import net from 'node:net';
import { ProxyError } from './errors.js';
import { explainNetworkError } from './errors.js';
import { decodeUserinfo, stripBrackets, type TunnelTarget } from './proxy.js';
import { describeProxy, proxyPort } from './proxy-env.js';
import { converseWithProxy, type ProxyConversation } from './proxy-conversation.js';
import { plainConnectOptions } from './tcp-connect.js';

// RFC 1928 §6 reply field, for messages that say why.
const SOCKS5_REPLIES: Record<number, string> = {
  1: 'general SOCKS server failure',
  2: 'connection not allowed by ruleset',
  3: 'network unreachable',
  4: 'host unreachable',
  5: 'connection refused',
  6: 'TTL expired',
  7: 'command not supported',
  8: 'address type not supported',
};

const SOCKS4_REPLIES: Record<number, string> = {
  0x5b: 'request rejected or failed',
  0x5c: 'request rejected: the proxy cannot reach identd on the client',
  0x5d: 'request rejected: identd reported a different user id',
};

/**
 * Connects to the SOCKS `proxy` and asks for a tunnel to `target`. Calls
 * `done` once: with the socket, paused, any early bytes unshifted; or with a
 * ProxyError (or NetworkError for a local DNS failure). The returned socket
 * is the one to destroy on abort.
 */
export function openSocksTunnel(
  proxy: URL,
  target: TunnelTarget,
  done: (error: Error | null, socket?: net.Socket) => void,
): net.Socket {
  const name = describeProxy(proxy);
  const isVersion4 = proxy.protocol === 'socks4:' || proxy.protocol === 'socks4a:';
  const isRemoteDns = proxy.protocol === 'socks5h:' || proxy.protocol === 'socks4a:';
  const username = Buffer.from(decodeUserinfo(proxy.username));
  const password = Buffer.from(decodeUserinfo(proxy.password));
  const hasCredentials = username.length > 0 || password.length > 0;
  const socket = net.connect(plainConnectOptions(stripBrackets(proxy.hostname), proxyPort(proxy)));
  let buffered: Buffer = Buffer.alloc(0);
  /** Consumes a complete answer from `buffered` and returns true, or returns false to wait for more bytes. */
  let step: () => boolean = () => false;
  // Set right below, before any event can fire.
  let conversation!: ProxyConversation;
  const finish = (error: Error | null): void => conversation.finish(error, buffered);
  const fail = (message: string, socksReply?: number): void => finish(new ProxyError(name, message, { socksReply }));
  const take = (length: number): Buffer | null => {
    if (buffered.length < length) return null;
    const bytes = buffered.subarray(0, length);
    buffered = buffered.subarray(length);
    return bytes;
  };

  // The destination as the request carries it: an address, or the name for remote DNS.
  const withAddress = (then: (address: string) => void): void => {
    const host = target.host;
    if (net.isIP(host) !== 0 || isRemoteDns) {
      then(host);
      return;
    }
    // SOCKS4 carries IPv4 only.
    dns.lookup(host, isVersion4 ? { family: 4 } : {}, (error, address) => {
      if (conversation.isDone) return;
      if (error) finish(explainNetworkError(error, target, false));
      else then(address);
    });
  };

  const sendSocks5Request = (address: string): void => {
    const port = Buffer.from([target.port >> 8, target.port & 0xff]);
    let destination: Buffer;
    if (net.isIPv4(address)) destination = Buffer.from([1, ...address.split('.').map(Number)]);
    else if (net.isIPv6(address)) destination = Buffer.concat([Buffer.from([4]), ipv6Bytes(address)]);
    else {
      const host = Buffer.from(address);
      if (host.length > 255) return fail(`cannot be asked for a host name over 255 bytes`);
      destination = Buffer.concat([Buffer.from([3, host.length]), host]);
    }
    socket.write(Buffer.concat([Buffer.from([5, 1, 0]), destination, port]));
    step = () => {
      const head = buffered.length >= 5 ? buffered : null;
      if (head === null) return false;
      if (head[0] !== 5) {
        fail('does not speak SOCKS5 (bad reply version)');
        return false;
      }
      if (head[1] !== 0) {
        fail(`refused the tunnel to ${target.host}:${target.port}: ${SOCKS5_REPLIES[head[1]] ?? `reply ${head[1]}`}`, head[1]);
        return false;
      }
      const length = head[3] === 1 ? 10 : head[3] === 4 ? 22 : head[3] === 3 ? 7 + head[4] : -1;
      if (length === -1) {
        fail(`sent an unknown address type ${head[3]}`);
        return false;
      }
      if (take(length) === null) return false;
      finish(null);
      return false;
    };
  };

  const startSocks5 = (): void => {
    // RFC 1928 §3: offer "no authentication", and username/password (RFC 1929) when we have credentials.
    socket.write(Buffer.from(hasCredentials ? [5, 2, 0, 2] : [5, 1, 0]));
    step = () => {
      const answer = take(2);
      if (answer === null) return false;
      if (answer[0] !== 5) {
        fail('does not speak SOCKS5 (bad version in its method choice)');
        return false;
      }
      if (answer[1] === 0) {
        // Set before the request: sendSocks5Request may run synchronously and install the reply step.
        step = () => false;
        withAddress(sendSocks5Request);
        return true;
      }
      if (answer[1] !== 2 || !hasCredentials) {
        fail(hasCredentials || answer[1] !== 2 ? 'accepts none of the offered authentication methods' : 'requires a username and password');
        return false;
      }
      if (username.length > 255 || password.length > 255) {
        fail('cannot take a username or password over 255 bytes (RFC 1929)');
        return false;
      }
      socket.write(Buffer.concat([Buffer.from([1, username.length]), username, Buffer.from([password.length]), password]));
      step = () => {
        const status = take(2);
        if (status === null) return false;
        if (status[1] !== 0) {
          fail('rejected the username/password');
          return false;
        }
        step = () => false;
        withAddress(sendSocks5Request);
        return true;
      };
      return true;
    };
  };

  const startSocks4 = (address: string): void => {
    if (net.isIPv6(address)) return fail('cannot tunnel to an IPv6 address over SOCKS4');
    const isName = net.isIP(address) === 0;
    // SOCKS4a: the address 0.0.0.x (x != 0) says "the name follows the user id".
    const ip = isName ? [0, 0, 0, 1] : address.split('.').map(Number);
    const parts = [Buffer.from([4, 1, target.port >> 8, target.port & 0xff, ...ip]), username, Buffer.from([0])];
    if (isName) parts.push(Buffer.from(address), Buffer.from([0]));
    socket.write(Buffer.concat(parts));
    step = () => {
      const answer = take(8);
      if (answer === null) return false;
      if (answer[1] !== 0x5a) {
        fail(`refused the tunnel to ${target.host}:${target.port}: ${SOCKS4_REPLIES[answer[1]] ?? `reply ${answer[1]}`}`, answer[1]);
        return false;
      }
      finish(null);
      return false;
    };
  };

  conversation = converseWithProxy(socket, name, 'connect', {
    onConnected() {
      socket.setNoDelay(true);
      if (isVersion4) withAddress(startSocks4);
      else startSocks5();
    },
    onData(chunk, current) {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      // One chunk may hold several answers (method choice then auth status).
      while (!current.isDone && step()) {
        /* next step */
      }
    },
    closedEarly: () => new ProxyError(name, 'closed the connection during the SOCKS handshake'),
  }, done);
  return socket;
}

/** The 16 bytes of an IPv6 address (with "::" expanded and an embedded IPv4 tail). */
export function ipv6Bytes(address: string): Buffer {
  let text = address;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail[1].split('.').map(Number);
    text = `${text.slice(0, -tail[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [left, right] = text.split('::');
  const head = left ? left.split(':') : [];
  const rest = right === undefined ? [] : right ? right.split(':') : [];
  const groups = right === undefined ? head : [...head, ...Array<string>(8 - head.length - rest.length).fill('0'), ...rest];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16), i * 2));
  return bytes;
}
