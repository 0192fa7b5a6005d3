/**
 * A SOCKS5 (RFC 1928, RFC 1929 auth) and SOCKS4/4a server on loopback for
 * the client's proxy tests. It is deliberately strict (wrong versions and
 * lengths end the connection) and records what each tunnel asked for and
 * how many bytes it relayed, so a test can prove the proxy carried the
 * upgrade. `hosts` maps the names it resolves itself (socks5h / socks4a),
 * so a test can use a name only the proxy knows.
 */
import net from 'node:net';

export interface SocksTunnel {
  version: 4 | 5;
  /** How the destination was sent: an address, or a name for the proxy to resolve. */
  addressType: 'ipv4' | 'ipv6' | 'name';
  host: string;
  port: number;
  /** Bytes relayed from client to server and back, updated while the tunnel lives. */
  bytesUp: number;
  bytesDown: number;
}

export interface SocksServer {
  url(scheme?: string, credentials?: string): string;
  port: number;
  tunnels: SocksTunnel[];
  /** Username/password attempts seen (RFC 1929). */
  authAttempts: Array<{ username: string; password: string }>;
  close(): Promise<void>;
}

export async function startSocksServer(
  options: { username?: string; password?: string; hosts?: Record<string, string>; refuseWith?: number } = {},
): Promise<SocksServer> {
  const tunnels: SocksTunnel[] = [];
  const authAttempts: SocksServer['authAttempts'] = [];
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  };
  const requireAuth = options.username !== undefined;

  const relay = (client: net.Socket, tunnel: SocksTunnel, rest: Buffer, reply: (ok: boolean) => void): void => {
    const address = options.hosts?.[tunnel.host] ?? tunnel.host;
    if (tunnel.addressType === 'name' && options.hosts !== undefined && !(tunnel.host in options.hosts)) {
      reply(false);
      return;
    }
    const upstream = net.connect({ host: address, port: tunnel.port });
    track(upstream);
    upstream.once('error', () => reply(false));
    upstream.once('connect', () => {
      tunnels.push(tunnel);
      reply(true);
      if (rest.length > 0) {
        tunnel.bytesUp += rest.length;
        upstream.write(rest);
      }
      client.on('data', (chunk: Buffer) => {
        tunnel.bytesUp += chunk.length;
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => {
        tunnel.bytesDown += chunk.length;
        client.write(chunk);
      });
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
    });
  };

  const onClient = (client: net.Socket): void => {
    track(client);
    let buffered = Buffer.alloc(0);
    let phase: 'greeting' | 'auth' | 'request' | 'done' = 'greeting';
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        if (phase === 'done') return;
        if (phase === 'greeting') {
          if (buffered.length < 2) return;
          if (buffered[0] === 4) return socks4();
          if (buffered[0] !== 5) return void client.destroy();
          const count = buffered[1];
          if (buffered.length < 2 + count) return;
          const methods = [...buffered.subarray(2, 2 + count)];
          buffered = buffered.subarray(2 + count);
          const method = requireAuth ? 2 : 0;
          if (!methods.includes(method)) return void client.end(Buffer.from([5, 0xff]));
          client.write(Buffer.from([5, method]));
          phase = requireAuth ? 'auth' : 'request';
        } else if (phase === 'auth') {
          if (buffered.length < 2) return;
          const userLength = buffered[1];
          if (buffered.length < 3 + userLength) return;
          const passwordLength = buffered[2 + userLength];
          if (buffered.length < 3 + userLength + passwordLength) return;
          const username = buffered.subarray(2, 2 + userLength).toString();
          const password = buffered.subarray(3 + userLength, 3 + userLength + passwordLength).toString();
          buffered = buffered.subarray(3 + userLength + passwordLength);
          authAttempts.push({ username, password });
          if (username !== options.username || password !== options.password) return void client.end(Buffer.from([1, 1]));
          client.write(Buffer.from([1, 0]));
          phase = 'request';
        } else {
          if (buffered.length < 5) return;
          const type = buffered[3];
          const length = type === 1 ? 10 : type === 4 ? 22 : 7 + buffered[4];
          if (buffered.length < length) return;
          if (buffered[1] !== 1) return void client.end(Buffer.from([5, 7, 0, 1, 0, 0, 0, 0, 0, 0]));
          const host =
            type === 1
              ? [...buffered.subarray(4, 8)].join('.')
              : type === 4
                ? formatIpv6(buffered.subarray(4, 20))
                : buffered.subarray(5, 5 + buffered[4]).toString();
          const port = buffered.readUInt16BE(length - 2);
          const rest = buffered.subarray(length);
          phase = 'done';
          client.removeListener('data', onData);
          if (options.refuseWith !== undefined) return void client.end(Buffer.from([5, options.refuseWith, 0, 1, 0, 0, 0, 0, 0, 0]));
          const tunnel: SocksTunnel = { version: 5, addressType: type === 1 ? 'ipv4' : type === 4 ? 'ipv6' : 'name', host, port, bytesUp: 0, bytesDown: 0 };
          relay(client, tunnel, rest, (ok) => {
            // Bound address 0.0.0.0:0: clients must not rely on it.
            if (ok) client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
            else client.end(Buffer.from([5, 4, 0, 1, 0, 0, 0, 0, 0, 0]));
          });
          return;
        }
      }
    };
    const socks4 = (): void => {
      // VN CD DSTPORT(2) DSTIP(4) USERID NUL [HOST NUL]
      const userEnd = buffered.indexOf(0, 8);
      if (userEnd === -1) return;
      const ip = [...buffered.subarray(4, 8)];
      const isName = ip[0] === 0 && ip[1] === 0 && ip[2] === 0 && ip[3] !== 0;
      let end = userEnd + 1;
      let host = ip.join('.');
      if (isName) {
        const nameEnd = buffered.indexOf(0, end);
        if (nameEnd === -1) return;
        host = buffered.subarray(end, nameEnd).toString();
        end = nameEnd + 1;
      }
      const port = buffered.readUInt16BE(2);
      const rest = buffered.subarray(end);
      phase = 'done';
      client.removeListener('data', onData);
      const tunnel: SocksTunnel = { version: 4, addressType: isName ? 'name' : 'ipv4', host, port, bytesUp: 0, bytesDown: 0 };
      relay(client, tunnel, rest, (ok) => client.write(Buffer.from([0, ok ? 0x5a : 0x5b, 0, 0, 0, 0, 0, 0])));
    };
    client.on('data', onData);
  };

  const server = net.createServer(onClient);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    url: (scheme = 'socks5', credentials = '') => `${scheme}://${credentials ? `${credentials}@` : ''}127.0.0.1:${port}`,
    tunnels,
    authAttempts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function formatIpv6(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(':');
}
